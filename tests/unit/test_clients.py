"""Vendor clients: URL building, status classification, Omnicasa's HTTP-200 errors; `send` is stubbed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import requests
from leadhooks.errors import AnswerLostError, PermanentVendorError, VendorAuthError
from leadhooks.vendors.omnicasa import client as omnicasa_module
from leadhooks.vendors.omnicasa import operations as omnicasa_operations
from leadhooks.vendors.omnicasa.client import OmnicasaClient
from leadhooks.vendors.omnicasa.models import ContactOnMeRequest
from leadhooks.vendors.omnicasa.operations import contact_on_me_request
from leadhooks.vendors.vitec import client as vitec_module
from leadhooks.vendors.vitec import operations as vitec_operations
from leadhooks.vendors.vitec.client import VitecClient
from leadhooks.vendors.vitec.models import PersonLeadRequest, ViewingParticipantRequest
from leadhooks.vendors.vitec.operations import PERSON_LEAD, VIEWING_PARTICIPANT, viewing_participant_request

BODIES = Path(__file__).resolve().parent.parent / "fixtures" / "bodies"
KEY = "very-secret-key"


def body(name: str) -> dict[str, Any]:
    return dict(json.loads((BODIES / name).read_text()))


def response(status: int, payload: Any = None, raw: bytes | None = None) -> requests.Response:
    r = requests.Response()
    r.status_code = status
    r._content = raw if raw is not None else (json.dumps(payload).encode() if payload is not None else b"")
    return r


class Recorder:
    def __init__(self, answer: requests.Response) -> None:
        self.answer = answer
        self.calls: list[tuple[str, str, dict[str, Any]]] = []

    def __call__(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        self.calls.append((method, url, kwargs))
        return self.answer


@pytest.fixture
def vitec_send(monkeypatch: pytest.MonkeyPatch):
    def install(answer: requests.Response) -> Recorder:
        recorder = Recorder(answer)
        monkeypatch.setattr(vitec_module, "send", recorder)
        return recorder

    return install


class _Vitec:
    """The operations' view of a client: each call goes through the operation, as the pipeline does."""

    def __init__(self, client: VitecClient) -> None:
        self.client = client

    def create_person_lead(self, req: PersonLeadRequest) -> str:
        return str(PERSON_LEAD.call(req)["lead_id"])

    def add_viewing_participant(self, req: ViewingParticipantRequest) -> None:
        VIEWING_PARTICIPANT.call(req)


@pytest.fixture(autouse=True)
def _clients(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(vitec_operations, "get_vitec_client", vitec_client)
    monkeypatch.setattr(omnicasa_operations, "get_omnicasa_client", omnicasa_client)


def vitec_client() -> VitecClient:
    return VitecClient("http://vitec.test/", credentials=lambda customer: (f"u-{customer}", "pw"))


def vitec() -> _Vitec:
    return _Vitec(vitec_client())


def test_person_lead_posts_vendor_body_with_basic_auth(vitec_send) -> None:
    recorder = vitec_send(response(200, "lead-1"))
    req = PersonLeadRequest.model_validate(body("vitec_person_lead.json"))
    assert vitec().create_person_lead(req) == "lead-1"
    method, url, kwargs = recorder.calls[0]
    assert (method, url) == ("POST", "http://vitec.test/PublicAdvertising/M10001/Contact/Person/Lead")
    assert kwargs["auth"] == ("u-M10001", "pw")
    assert "customerId" not in kwargs["json"]
    assert kwargs["idempotent"] is False  # a write: an ambiguous outcome is the policy's, not a retry


def test_viewing_participant_ids_cannot_escape_the_path() -> None:
    data = {**body("vitec_viewing_participant.json"), "contactId": "../../CRM?x=1"}
    path = viewing_participant_request(ViewingParticipantRequest.model_validate(data)).path
    assert path.endswith("/Participant/..%2F..%2FCRM%3Fx%3D1")


def test_vitec_400_is_permanent_with_every_field(vitec_send) -> None:
    vitec_send(
        response(
            400,
            {
                "message": "The request is invalid.",
                "modelState": {
                    "lead.person.firstName": ["Förnamn måste vara mellan 0 och 30 tecken"],
                    "lead.leadSource": ["Krävs"],
                },
            },
        )
    )
    with pytest.raises(PermanentVendorError) as info:
        vitec().create_person_lead(PersonLeadRequest.model_validate(body("vitec_person_lead.json")))
    assert {d["field"] for d in info.value.details} == {"lead.person.firstName", "lead.leadSource"}
    assert info.value.status == 422


@pytest.mark.parametrize("status", [401, 403])
def test_vitec_auth_failures_name_the_customer_not_the_password(vitec_send, status: int) -> None:
    vitec_send(response(status))
    with pytest.raises(VendorAuthError) as info:
        vitec().create_person_lead(PersonLeadRequest.model_validate(body("vitec_person_lead.json")))
    assert "M10001" in info.value.message and "pw" not in info.value.message


def test_html_200_is_not_a_success(vitec_send) -> None:
    vitec_send(response(200, raw=b"<html>maintenance</html>"))
    with pytest.raises(AnswerLostError):
        vitec().create_person_lead(PersonLeadRequest.model_validate(body("vitec_person_lead.json")))


def test_viewing_participant_is_not_retried_after_a_lost_answer(vitec_send) -> None:
    recorder = vitec_send(response(204))
    vitec().add_viewing_participant(
        ViewingParticipantRequest.model_validate(body("vitec_viewing_participant.json"))
    )
    assert recorder.calls[0][2]["idempotent"] is False


@pytest.fixture
def omnicasa_send(monkeypatch: pytest.MonkeyPatch):
    def install(answer: requests.Response) -> Recorder:
        recorder = Recorder(answer)
        monkeypatch.setattr(omnicasa_module, "send", recorder)
        return recorder

    return install


def omnicasa_client() -> OmnicasaClient:
    return OmnicasaClient("http://omni.test/api/v3", secret_key=lambda: KEY)


class _Omnicasa:
    def contact_on_me(self, req: ContactOnMeRequest) -> int:
        return int(omnicasa_operations.CONTACT_ON_ME.call(req)["person_id"])


def omnicasa() -> _Omnicasa:
    return _Omnicasa()


def test_contact_on_me_returns_person_id_and_puts_the_key_in_the_path(omnicasa_send) -> None:
    recorder = omnicasa_send(response(200, {"Success": True, "Code": 0, "Message": "", "Value": 42}))
    req = ContactOnMeRequest.model_validate(body("omnicasa_contact_on_me.json"))
    assert omnicasa().contact_on_me(req) == 42
    assert recorder.calls[0][1] == f"http://omni.test/api/v3/techworks/contactonme/{KEY}"
    assert recorder.calls[0][2]["json"]["LanguageId"] in (1, 2, 3)
    assert KEY not in contact_on_me_request(req).path


def test_success_false_is_a_permanent_error_without_the_key(omnicasa_send) -> None:
    omnicasa_send(response(200, {"Success": False, "Code": 401, "Message": f"bad key {KEY}", "Value": 0}))
    with pytest.raises(PermanentVendorError) as info:
        omnicasa().contact_on_me(ContactOnMeRequest.model_validate(body("omnicasa_contact_on_me.json")))
    assert info.value.vendor_code == 401
    assert KEY not in info.value.message


def test_repeated_auth_failures_pause_calls_for_that_customer_only(vitec_send, monkeypatch) -> None:
    from leadhooks.vendors import common

    monkeypatch.setattr(vitec_module, "auth_cooldown", common.AuthCooldown(threshold=2, cooldown_s=60))
    recorder = vitec_send(response(401))
    req = PersonLeadRequest.model_validate(body("vitec_person_lead.json"))
    for _ in range(2):
        with pytest.raises(VendorAuthError):
            vitec().create_person_lead(req)
    with pytest.raises(VendorAuthError, match="paused"):
        vitec().create_person_lead(req)
    assert len(recorder.calls) == 2, "the third call never reached the vendor"
    other = PersonLeadRequest.model_validate({**body("vitec_person_lead.json"), "customerId": "M10002"})
    recorder.answer = response(200, "lead-2")
    assert vitec().create_person_lead(other) == "lead-2"
