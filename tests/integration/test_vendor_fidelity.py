"""Every doc sample and every case of tests/fixtures/cases, sent over real HTTP through the API to the
vendor sandbox: the body the sandbox received (`GET /_sandbox/records`) is what the vendor should get,
with the values unchanged (DESIGN §6). The unit tests in tests/unit/test_models.py check the same files
against the models alone; docs/vendor-fidelity.md says which test shows which rule."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest
import requests
from leadhooks.catalog import BY_NAME

from tests.integration.conftest import API_KEY_HEADERS, Stack

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
CASES = sorted((FIXTURES / "cases").glob("*.json"))

OPERATIONS = {
    "vitec_person_lead": "person_lead",
    "vitec_area_interest": "area_interest",
    "vitec_viewing_participant": "viewing_participant",
    "omnicasa_contact_on_me": "contact_on_me",
}
VIEWING = {
    "customerId": "M10001",
    "viewingId": "v-m10001-1",
    "timeSlotId": "t-m10001-1a",
    "contactId": "c-m10001-003",
}


def load(name: str) -> Any:
    return json.loads((FIXTURES / "bodies" / name).read_text(encoding="utf-8"))


def same_json(a: Any, b: Any) -> bool:
    """Equal as JSON text: key order aside, every value and number type (1 is not 1.0) the same."""
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


def _with(sample: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """The sample with one placeholder id replaced by a local one (the sandbox only knows its own)."""
    out = json.loads(json.dumps(sample))
    node = out
    *parents, last = path.split(".")
    for part in parents:
        node = node[part]
    node[last] = value
    return out


def _doc_samples() -> list[Any]:
    """(name, operation, query, body sent, body the vendor should receive)."""
    area = _with(
        _with(load("vitec_area_interest_doc_sample.json"), "updatePerson.customerId", "M10001"),
        "updatePerson.contactId",
        "c-m10001-006",  # a contact no other test reads: the sample's update overwrites its e-mail
    )
    omnicasa = {**load("omnicasa_contact_on_me_doc_sample.json"), "CustomerId": 101}
    plumbing = ("Password", "IsWriteLogSQL")  # DESIGN §6: never taken from a caller
    without_plumbing = {k: v for k, v in omnicasa.items() if k not in plumbing}
    lead, area_op, viewing, omni = (
        "vitec_person_lead",
        "vitec_area_interest",
        "vitec_viewing_participant",
        "omnicasa_contact_on_me",
    )
    m1 = {"customerId": "M10001"}
    samples = [
        ("vitec_person_lead_doc_sample", lead, m1, load("vitec_person_lead_doc_sample.json"), None),
        ("vitec_person_lead_doc_curl", lead, m1, load("vitec_person_lead_doc_curl.json"), None),
        ("vitec_area_interest_doc_sample", area_op, {}, area, None),
        ("vitec_area_interest_doc_curl", area_op, m1, load("vitec_area_interest_doc_curl.json"), None),
        ("vitec_viewing_participant_doc_sample", viewing, VIEWING, load(f"{viewing}_doc_sample.json"), None),
        ("vitec_viewing_participant_doc_curl", viewing, VIEWING, load(f"{viewing}_doc_curl.json"), None),
        ("omnicasa_contact_on_me_doc_sample", omni, {}, omnicasa, without_plumbing),
    ]
    return [
        pytest.param(
            operation,
            query,
            body,
            body if expected is None else expected,
            id=name,
        )
        for name, operation, query, body, expected in samples
    ]


def post(stack: Stack, operation: str, query: dict[str, str], body: Any) -> requests.Response:
    return requests.post(
        f"{stack.api}{BY_NAME[operation].route}",
        params=query,
        json=body,
        headers={**API_KEY_HEADERS, "Idempotency-Key": str(uuid.uuid4())},
        timeout=30,
    )


def _delivered_as(stack: Stack, operation: str, response: requests.Response, expected: Any) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    assert answer["status"] == "delivered"
    [record] = stack.records(operation=OPERATIONS[operation])
    assert same_json(record["body"], expected), json.dumps(record["body"], ensure_ascii=False)
    return answer


@pytest.mark.parametrize(("operation", "query", "body", "expected"), _doc_samples())
def test_doc_sample_reaches_the_vendor_unchanged(
    clean: Stack, operation: str, query: dict[str, str], body: Any, expected: Any
) -> None:
    _delivered_as(clean, operation, post(clean, operation, query, body), expected)


def _cases() -> list[Any]:
    return [
        pytest.param(
            json.loads(path.read_text(encoding="utf-8")),
            id=path.stem,
        )
        for path in CASES
    ]


@pytest.mark.parametrize("case", _cases())
def test_case_over_http(clean: Stack, case: dict[str, Any]) -> None:
    response = post(clean, case["operation"], case["query"], case["body"])
    if "errors" in case:
        assert response.status_code == 422, response.text
        assert sorted(e["field"] for e in response.json()["errors"]) == sorted(case["errors"])
        assert clean.records() == []
        return
    answer = _delivered_as(clean, case["operation"], response, case["vendorBody"])
    assert answer.get("warnings", []) == case["warnings"]


def test_dry_run_shows_the_warnings_and_sends_nothing(clean: Stack) -> None:
    case = json.loads(
        (FIXTURES / "cases" / "vitec_person_lead_unknown_fields.json").read_text(encoding="utf-8")
    )
    response = post(clean, case["operation"], {**case["query"], "dryRun": "true"}, case["body"])
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["status"] == "dry_run"
    assert same_json(answer["vendorRequest"]["body"], case["vendorBody"])
    assert answer["warnings"] == case["warnings"]
    assert clean.records() == []


def test_notify_user_for_a_new_person_is_vitecs_to_refuse(clean: Stack) -> None:
    """No userId, no contactId, and Vitec's duplicate check finds nobody: the vendor, not leadhooks, says
    that a new contact needs a UserId (vitec-interest-on-area.txt:20); the delivery is parked with it."""
    body = {
        "updatePerson": {
            "customerId": "M10001",
            "firstName": "Ny",
            "email": {"emailAddress": "ny.person@example.se"},
        },
        "lookingForAccommodations": [{"areaIds": ["a-1"]}],
        "notifyUser": True,
    }
    response = post(clean, "vitec_area_interest", {}, body)
    assert response.status_code == 422, response.text
    answer = response.json()
    assert answer["parked"] is True and answer["vendorStatus"] == 400
    assert clean.records() == []
