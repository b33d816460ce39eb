"""The vendor sandbox over real HTTP: shapes, auth, limits, duplicate check, records, faults, CLI."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests

from local.sandbox import SandboxHandle, start_sandbox

ROOT = Path(__file__).resolve().parents[2]
A = ("api-m10001", "local-pass-m10001")
B = ("api-m10002", "local-pass-m10002")
SECRET = "local-omnicasa-secret-key"
TIMEOUT = 5


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxHandle]:
    handle = start_sandbox(port=0)
    yield handle
    handle.stop()


@pytest.fixture(autouse=True)
def clean(sandbox: SandboxHandle) -> None:
    requests.delete(f"{sandbox.url}/_sandbox/faults", timeout=TIMEOUT).raise_for_status()
    requests.delete(f"{sandbox.url}/_sandbox/records", timeout=TIMEOUT).raise_for_status()
    requests.delete(f"{sandbox.url}/_sandbox/stats", timeout=TIMEOUT).raise_for_status()


@pytest.fixture
def url(sandbox: SandboxHandle) -> str:
    return sandbox.url


_unique = iter(range(1_000_000))


def unique_email() -> str:
    return f"test.{time.time_ns()}.{next(_unique)}@example.com"


def lead_body(**person: Any) -> dict[str, Any]:
    return {
        "person": {"firstName": "Greta", "lastName": "Lindholm", **person},
        "leadSource": {"leadType": "AcceptObjectFlow", "name": "Hemsida"},
        "message": "Vill boka visning.",
    }


def interest_body(customer_id: str = "M10001", **person: Any) -> dict[str, Any]:
    return {
        "updatePerson": {"customerId": customer_id, "firstName": "Olle", "lastName": "Berg", **person},
        "lookingForAccommodations": [
            {"id": "s-1", "areaIds": ["a-1"], "house": True, "price": {"max": 4.5e6}}
        ],
    }


def post_lead(url: str, body: Any, customer: str = "M10001", auth: Any = A) -> requests.Response:
    return requests.post(
        f"{url}/PublicAdvertising/{customer}/Contact/Person/Lead", json=body, auth=auth, timeout=TIMEOUT
    )


def post_interest(url: str, body: Any, auth: Any = A) -> requests.Response:
    return requests.post(
        f"{url}/Interest/SendInterestAndContactOnArea", json=body, auth=auth, timeout=TIMEOUT
    )


def post_participant(url: str, path: str, body: Any = None, auth: Any = A) -> requests.Response:
    return requests.post(f"{url}/Viewing/{path}", json=body or {}, auth=auth, timeout=TIMEOUT)


def get_contacts(url: str, ids: list[str], customer: str = "M10001", auth: Any = A) -> requests.Response:
    return requests.get(f"{url}/CRM/Contact/{customer}/{','.join(ids)}", auth=auth, timeout=TIMEOUT)


def post_omnicasa(url: str, body: Any, key: str = SECRET) -> requests.Response:
    return requests.post(f"{url}/omnicasa/techworks/contactonme/{key}", json=body, timeout=TIMEOUT)


def records(url: str, **filters: str) -> list[dict[str, Any]]:
    response = requests.get(f"{url}/_sandbox/records", params=filters, timeout=TIMEOUT)
    response.raise_for_status()
    data: list[dict[str, Any]] = response.json()
    return data


def set_faults(url: str, **faults: Any) -> dict[str, Any]:
    response = requests.post(f"{url}/_sandbox/faults", json=faults, timeout=TIMEOUT)
    response.raise_for_status()
    data: dict[str, Any] = response.json()
    return data


def model_state(response: requests.Response) -> dict[str, list[str]]:
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["message"] == "The request is invalid."
    state: dict[str, list[str]] = body["modelState"]
    return state


# --- inspection ------------------------------------------------------------------------------
def test_health(url: str) -> None:
    response = requests.get(f"{url}/_sandbox/health", timeout=TIMEOUT)
    assert response.status_code == 200
    assert response.json() == {"ok": True}


def test_fixtures_lists_the_documented_seed_ids_and_no_credentials(url: str) -> None:
    response = requests.get(f"{url}/_sandbox/fixtures", timeout=TIMEOUT)
    assert response.status_code == 200
    data = response.json()
    assert set(data["vitec"]) == {"M10001", "M10002"}
    for customer in ("M10001", "M10002"):
        low = customer.lower()
        seed = data["vitec"][customer]
        assert seed["contactIds"] == [f"c-{low}-{n:03d}" for n in range(1, 61)]
        assert seed["viewings"] == [
            {"viewingId": f"v-{low}-{n}", "timeSlotIds": [f"t-{low}-{n}a", f"t-{low}-{n}b"]}
            for n in (1, 2, 3)
        ]
    assert data["omnicasa"] == {"customerIds": [101, 102]}
    assert "password" not in response.text
    assert "local-pass" not in response.text
    assert SECRET not in response.text


def test_seed_contact_types_follow_the_documented_ranges(url: str) -> None:
    ids = [f"c-m10001-{n:03d}" for n in (1, 50, 51, 58, 59, 60)]
    contacts = get_contacts(url, ids).json()
    assert [c["type"] for c in contacts] == [
        "Person",
        "Person",
        "Company",
        "Company",
        "DeceasedEstate",
        "DeceasedEstate",
    ]


# --- person lead -----------------------------------------------------------------------------
def test_person_lead_returns_a_lead_id_and_creates_a_contact(url: str) -> None:
    email = unique_email()
    response = post_lead(url, lead_body(email={"emailAddress": email}, telephone={"cell": "070-111 22 33"}))
    assert response.status_code == 200, response.text
    lead_id = response.json()
    assert isinstance(lead_id, str)
    assert re.fullmatch(r"lead-m10001-\d{6}", lead_id)
    [record] = records(url)
    assert record["vendor"] == "vitec"
    assert record["operation"] == "person_lead"
    assert record["customerId"] == "M10001"
    assert record["result"] == lead_id
    assert record["path"] == "/PublicAdvertising/M10001/Contact/Person/Lead"
    assert record["body"]["person"]["email"]["emailAddress"] == email
    assert record["receivedAt"].startswith("20")
    [contact] = get_contacts(url, [record["contactId"]]).json()
    assert contact["type"] == "Person"
    assert contact["firstName"] == "Greta"
    assert contact["email"]["emailAddress"] == email
    assert contact["telephone"]["cell"] == "070-111 22 33"


def test_person_lead_accepts_numeric_lead_type_receiver_and_unknown_fields(url: str) -> None:
    body = lead_body()
    body["leadSource"]["leadType"] = 0
    body["receiver"] = {"office": {"id": "o-1", "customerId": "M10001"}}
    body["somethingNew"] = {"ignored": True}
    body["marketing"] = {"referrer": "https://hemnet.se", "utmTags": [{"name": "utm_source", "value": "x"}]}
    assert post_lead(url, body).status_code == 200


def test_person_lead_has_no_length_limits(url: str) -> None:
    # The CRM doc's limits (names <= 30, ids <= 40) describe the stored contact, not this write.
    body = lead_body(firstName="F" * 31, lastName="L" * 300, socialSecurityNumber="1" * 21)
    body["receiver"] = {
        "agent": {"id": "a" * 41, "office": {"id": "o" * 41, "customerId": "c" * 41}},
        "userGroup": {"id": "g" * 41},
        "office": {"id": "o" * 41, "customerId": "c" * 41},
    }
    body["leadSource"]["name"] = "n" * 500
    response = post_lead(url, body)
    assert response.status_code == 200, response.text
    [record] = records(url)
    assert record["body"]["person"]["lastName"] == "L" * 300


def test_person_lead_required_parts(url: str) -> None:
    state = model_state(post_lead(url, {}))
    assert state == {"person": ["En kontaktperson måste anges"], "leadSource": ["En leadskälla måste anges"]}
    # null is "not given"
    state = model_state(post_lead(url, {"person": None, "leadSource": None, "message": None}))
    assert set(state) == {"person", "leadSource"}
    assert records(url) == []


@pytest.mark.parametrize("receiver", [{}, {"agent": None, "userGroup": None, "office": None}, {"other": 1}])
def test_person_lead_receiver_must_name_agent_user_group_or_office(url: str, receiver: Any) -> None:
    body = lead_body()
    body["receiver"] = receiver
    state = model_state(post_lead(url, body))
    assert list(state) == ["receiver"]
    assert "handläggare, användargrupp eller kontor" in state["receiver"][0]


@pytest.mark.parametrize(
    "lead_source",
    [
        {},
        {"name": "Hemsida"},
        {"leadType": "AcceptObjectFlow"},
        {"leadType": "SomeOtherFlow", "name": "x"},
        {"leadType": "not a flow!", "name": "x"},
        {"leadType": 0, "name": "x"},
        {"leadType": 3, "name": "x"},
        {"LEADTYPE": "AcceptObjectFlow", "Name": "x"},
    ],
)
def test_person_lead_source_has_no_rules_beyond_being_given(url: str, lead_source: Any) -> None:
    body = lead_body()
    body["leadSource"] = lead_source
    response = post_lead(url, body)
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    "receiver",
    [{"agent": {"id": "a-1"}}, {"userGroup": {"id": "g-1"}}, {"office": {"id": "o-1"}}, {"agent": {}}, None],
)
def test_person_lead_receiver_accepted(url: str, receiver: Any) -> None:
    body = lead_body()
    body["receiver"] = receiver
    assert post_lead(url, body).status_code == 200


def test_person_lead_keys_in_any_casing_unknown_fields_and_coercible_values(url: str) -> None:
    body = {
        "PERSON": {
            "FirstName": "Greta",
            "EMAIL": {"EmailAddress": "casing.test@example.com"},
            "isForeignSocialSecurityNumber": "false",
            "zodiac": "Leo",
        },
        "LeadSource": {"LeadType": "AcceptObjectFlow", "Name": "Hemsida"},
        "Message": 12345,
        "unknownTopLevel": [1, 2, {"x": None}],
    }
    response = post_lead(url, body)
    assert response.status_code == 200, response.text
    [record] = records(url)
    assert record["body"] == body  # as received
    [contact] = get_contacts(url, [record["contactId"]]).json()
    assert contact["firstName"] == "Greta"
    assert contact["email"]["emailAddress"] == "casing.test@example.com"


def test_person_lead_malformed_json_and_wrong_media_type(url: str) -> None:
    response = requests.post(
        f"{url}/PublicAdvertising/M10001/Contact/Person/Lead",
        data=b'{"person": {',
        headers={"Content-Type": "application/json"},
        auth=A,
        timeout=TIMEOUT,
    )
    assert "body" in model_state(response)
    response = requests.post(
        f"{url}/PublicAdvertising/M10001/Contact/Person/Lead", data=b"person=x", auth=A, timeout=TIMEOUT
    )
    assert response.status_code == 415


def test_person_lead_wrong_types_are_field_errors(url: str) -> None:
    body = lead_body(email="not-an-object", isForeignSocialSecurityNumber="yes")
    state = model_state(post_lead(url, body))
    assert set(state) == {"person.email", "person.isForeignSocialSecurityNumber"}


# --- auth ------------------------------------------------------------------------------------
VITEC_CALLS = [
    ("POST", "/PublicAdvertising/{c}/Contact/Person/Lead"),
    ("POST", "/Viewing/{c}/v-m10001-1/t-m10001-1a/Participant/c-m10001-001"),
    ("GET", "/CRM/Contact/{c}/c-m10001-001"),
]


@pytest.mark.parametrize(("method", "path"), VITEC_CALLS)
@pytest.mark.parametrize(
    "auth",
    [None, ("api-m10001", "wrong"), ("nobody", "local-pass-m10001"), ("api-m10002", "local-pass-m10001")],
)
def test_bad_or_missing_credentials_are_401(url: str, method: str, path: str, auth: Any) -> None:
    response = requests.request(
        method, url + path.format(c="M10001"), json=lead_body(), auth=auth, timeout=TIMEOUT
    )
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].lower().startswith("basic")


@pytest.mark.parametrize(("method", "path"), VITEC_CALLS)
@pytest.mark.parametrize("customer", ["M10002", "M99999"])
def test_valid_credentials_for_another_customer_are_403(
    url: str, method: str, path: str, customer: str
) -> None:
    response = requests.request(
        method, url + path.format(c=customer), json=lead_body(), auth=A, timeout=TIMEOUT
    )
    assert response.status_code == 403


def test_garbage_authorization_header_is_401(url: str) -> None:
    for header in ("Basic !!!", "Bearer abc", "Basic " + "bm9jb2xvbg=="):
        response = requests.get(
            f"{url}/CRM/Contact/M10001/c-m10001-001", headers={"Authorization": header}, timeout=5
        )
        assert response.status_code == 401


def test_area_interest_auth(url: str) -> None:
    assert post_interest(url, interest_body(), auth=None).status_code == 401
    assert post_interest(url, interest_body(customer_id="M10002"), auth=A).status_code == 403
    assert post_interest(url, interest_body(customer_id="M10002"), auth=B).status_code == 204


# --- duplicate check -------------------------------------------------------------------------
def test_same_email_twice_gives_one_contact_and_two_leads(url: str) -> None:
    email = unique_email()
    first = post_lead(url, lead_body(email={"emailAddress": email}))
    second = post_lead(url, lead_body(firstName="Annan", email={"emailAddress": email.upper()}))
    assert first.status_code == second.status_code == 200
    assert first.json() != second.json()
    found = records(url, operation="person_lead")
    assert [r["result"] for r in found] == [first.json(), second.json()]
    assert found[0]["contactId"] == found[1]["contactId"]


def test_duplicate_check_by_cell_phone_and_ssn_and_seed_contacts(url: str) -> None:
    # Seed c-m10001-001 (Anna Andersson): 070-174 06 05, anna.andersson@example.com, 19830327-6029.
    post_lead(url, lead_body(telephone={"cell": "+46 70 174 06 05"}))
    post_lead(url, lead_body(socialSecurityNumber="830327-6029"))
    post_lead(url, lead_body(email={"emailAddress": "Anna.Andersson@example.com"}))
    assert [r["contactId"] for r in records(url)] == ["c-m10001-001"] * 3


def test_duplicate_check_is_per_customer(url: str) -> None:
    email = unique_email()
    post_lead(url, lead_body(email={"emailAddress": email}))
    post_lead(url, lead_body(email={"emailAddress": email}), customer="M10002", auth=B)
    first, second = records(url)
    assert first["contactId"].startswith("c-m10001-")
    assert second["contactId"].startswith("c-m10002-")


def test_person_without_identifiers_is_always_new(url: str) -> None:
    post_lead(url, lead_body())
    post_lead(url, lead_body())
    first, second = records(url)
    assert first["contactId"] != second["contactId"]


def test_concurrent_leads_with_one_email_create_one_contact(url: str) -> None:
    email = unique_email()
    with ThreadPoolExecutor(max_workers=8) as pool:
        responses = list(
            pool.map(lambda _: post_lead(url, lead_body(email={"emailAddress": email})), range(16))
        )
    assert all(r.status_code == 200 for r in responses)
    assert len({r.json() for r in responses}) == 16
    assert len({r["contactId"] for r in records(url)}) == 1


# --- area interest ---------------------------------------------------------------------------
def test_area_interest_success_is_204_and_recorded(url: str) -> None:
    email = unique_email()
    response = post_interest(url, interest_body(email={"emailAddress": email}, cellPhone="070-555 00 11"))
    assert response.status_code == 204
    assert response.content == b""
    [record] = records(url)
    assert record["operation"] == "area_interest"
    assert record["customerId"] == "M10001"
    assert record["result"] is None
    [contact] = get_contacts(url, [record["contactId"]]).json()
    assert contact["email"]["emailAddress"] == email
    assert contact["telephone"]["cell"] == "070-555 00 11"


def test_area_interest_required_parts(url: str) -> None:
    state = model_state(post_interest(url, {}))
    assert state == {
        "updatePerson": ["Uppgift om personen krävs"],
        "lookingForAccommodations": ["Minst en sökpreferens måste anges"],
    }
    body = interest_body()
    body["lookingForAccommodations"] = []
    state = model_state(post_interest(url, body))
    assert state == {"lookingForAccommodations": ["Minst en sökpreferens måste anges"]}
    assert records(url) == []


def test_area_interest_without_customer_id_uses_the_logins_customer(url: str) -> None:
    body = interest_body(email={"emailAddress": unique_email()})
    del body["updatePerson"]["customerId"]
    assert post_interest(url, body, auth=B).status_code == 204
    [record] = records(url)
    assert record["customerId"] == "M10002"
    assert record["contactId"].startswith("c-m10002-")


def test_area_interest_has_no_length_limits(url: str) -> None:
    body = interest_body(
        firstName="F" * 31,
        lastName="L" * 31,
        socialSecurityNumber="1" * 21,
        userId="u" * 41,
        categoryIds=["k" * 41],
        note="n" * 5000,
    )
    body["lookingForAccommodations"][0].update(id="s" * 41, areaIds=["a" * 41])
    assert post_interest(url, body).status_code == 204


@pytest.mark.parametrize(
    "person",
    [
        {"email": {"emailAddress": "anna.andersson@example.com"}},  # an existing person
        {"contactId": "c-m10001-002"},  # named
    ],
)
def test_notify_user_without_user_id_is_accepted_for_an_existing_contact(
    url: str, person: dict[str, Any]
) -> None:
    # vitec-interest-on-area.txt:20: the notification needs a UserId only for new contacts.
    body = interest_body(**person)
    body["notifyUser"] = True
    response = post_interest(url, body)
    assert response.status_code == 204, response.text
    assert len(records(url)) == 1


@pytest.mark.parametrize(
    "person",
    [
        {"email": {"emailAddress": "brand.new.person@example.com"}},  # the duplicate check finds nobody
        {},  # nothing to match on: new
    ],
)
def test_notify_user_without_user_id_is_refused_for_a_new_contact(url: str, person: dict[str, Any]) -> None:
    # vitec-interest-on-area.txt:20: NotifyUser "kräver UserId för nya kontakter".
    body = interest_body(**person)
    body["notifyUser"] = True
    response = post_interest(url, body)
    assert response.status_code == 400, response.text
    assert "updatePerson.userId" in response.json()["modelState"]
    assert records(url) == []


def test_notify_user_with_user_id_sets_the_agent_of_a_new_person(url: str) -> None:
    body = interest_body(email={"emailAddress": unique_email()}, userId="a-m10001-1")
    body["notifyUser"] = True
    assert post_interest(url, body).status_code == 204
    [contact] = get_contacts(url, [records(url)[0]["contactId"]]).json()
    assert contact["agentId"] == "a-m10001-1"


def test_area_interest_by_contact_id_updates_that_contact(url: str) -> None:
    assert post_interest(url, interest_body(contactId="c-m10001-002", lastName="Nyman")).status_code == 204
    [contact] = get_contacts(url, ["c-m10001-002"]).json()
    assert contact["lastName"] == "Nyman"
    assert records(url)[0]["contactId"] == "c-m10001-002"


def test_area_interest_unknown_contact_id_is_not_an_error(url: str) -> None:
    # No doc line refuses it: the duplicate check decides (here: Anna Andersson by e-mail).
    body = interest_body(contactId="c-m10001-999", email={"emailAddress": "anna.andersson@example.com"})
    assert post_interest(url, body).status_code == 204
    assert records(url)[0]["contactId"] == "c-m10001-001"
    assert post_interest(url, interest_body(contactId="sample string 7")).status_code == 204


@pytest.mark.parametrize(
    "extra",
    [
        {"presentAccommodation": {"estateType": "Apartment"}},
        {"presentAccommodation": {"estateType": "House"}},
        {"presentAccommodation": {"estateType": 0}},
        {"presentAccommodation": {"estateType": 7, "livingSpace": "72.5", "numberOfRooms": 3}},
        {"watched": 1},
        {"watched": 0},
        {"watched": "Yes"},
        {"watched": "No"},
        {"watched": "SomethingElse"},
        {"watched": None, "notifyUser": None, "presentAccommodation": None},
        {"notifyUser": "true", "updatePerson": {"customerId": "M10001", "userId": "a-m10001-1"}},
        {"UPDATEPERSON": {"CustomerId": "M10001", "FIRSTNAME": "Olle", "ObtainThrough": "Web"}},
        {"updatePerson": {"obtainThrough": 2, "leadScore": "3", "approval": 1}},
        {"updatePerson": {"approvalDate": "2024-11-21", "gdprApprovalDate": "2024-11-21T11:23:40Z"}},
        {"updatePerson": {"approvalDate": "2024-11-21T11:23:40.6983026+01:00"}},
        {"updatePerson": {"gdprApprovalDate": "2024-11-21T11:23:40"}},
        {"somethingNew": {"nested": True}, "updatePerson": {"firstName": "Olle", "futureField": 1}},
    ],
)
def test_area_interest_tolerant_values_are_accepted(url: str, extra: dict[str, Any]) -> None:
    body = interest_body()
    for key, value in extra.items():
        if key.lower() == "updateperson":
            del body["updatePerson"]
        body[key] = value
    response = post_interest(url, body)
    assert response.status_code == 204, response.text
    assert len(records(url)) == 1


def test_area_interest_watched_number_is_stored(url: str) -> None:
    body = interest_body(email={"emailAddress": unique_email()})
    body["watched"] = 1
    assert post_interest(url, body).status_code == 204
    [contact] = get_contacts(url, [records(url)[0]["contactId"]]).json()
    assert contact["wantsToBeMatched"] == 1


def test_area_interest_values_that_cannot_bind_are_field_errors(url: str) -> None:
    body = interest_body(approvalDate="21/11/2024", leadScore="many", email="x@example.com")
    body["watched"] = {"yes": True}
    body["presentAccommodation"] = {"estateType": True, "price": "cheap"}
    state = model_state(post_interest(url, body))
    assert set(state) == {
        "updatePerson.approvalDate",
        "updatePerson.leadScore",
        "updatePerson.email",
        "watched",
        "presentAccommodation.estateType",
        "presentAccommodation.price",
    }


# --- viewing participant ---------------------------------------------------------------------
def test_viewing_participant_is_recorded_every_time(url: str) -> None:
    body = {
        "participated": False,
        "reminderTime": 60,
        "sMSReminder": True,
        "options": {"enableBookingLimitValidation": True},
    }
    path = "M10001/v-m10001-2/t-m10001-2b/Participant/c-m10001-003"
    assert post_participant(url, path, body).status_code == 204
    assert post_participant(url, path, body).status_code == 204
    found = records(url, operation="viewing_participant")
    assert len(found) == 2
    assert found[0]["path"] == f"/Viewing/{path}"
    assert found[0]["body"]["sMSReminder"] is True
    assert found[0]["contactId"] == "c-m10001-003"


@pytest.mark.parametrize(
    ("path", "word"),
    [
        ("M10001/v-m10001-9/t-m10001-1a/Participant/c-m10001-001", "Visningen"),
        ("M10001/v-m10001-1/t-m10001-2a/Participant/c-m10001-001", "Visningstillfället"),
        ("M10001/v-m10001-1/t-m10001-1a/Participant/c-m10001-999", "Kontakten"),
        ("M10001/v-m10002-1/t-m10002-1a/Participant/c-m10001-001", "Visningen"),
        ("M10001/v-m10001-1/t-m10001-1a/Participant/c-m10002-001", "Kontakten"),
    ],
)
def test_viewing_participant_unknown_ids_are_404(url: str, path: str, word: str) -> None:
    response = post_participant(url, path)
    assert response.status_code == 404
    assert word in response.json()["message"]
    assert records(url) == []


def test_viewing_participant_types_and_no_length_limits(url: str) -> None:
    path = "M10001/v-m10001-1/t-m10001-1a/Participant/c-m10001-001"
    body = {"reminderTime": "soon", "smsConfirmation": "yes", "options": []}
    state = model_state(post_participant(url, path, body))
    assert set(state) == {"reminderTime", "smsConfirmation", "options"}
    body = {"leadSourceId": "x" * 41, "contactMessage": "m" * 4000}
    assert post_participant(url, path, body).status_code == 204


@pytest.mark.parametrize(
    "body",
    [
        {"SMSReminder": True},
        {"smsReminder": True},
        {"sMSReminder": True},
        {"SMSREMINDER": "true", "reminderTime": "15", "participated": 0},
        {"Options": {"IsDeadlineValidationEnabled": False}, "newField": "x"},
        {"reminderTime": None, "options": None},
    ],
)
def test_viewing_participant_any_casing_and_coercible_values(url: str, body: dict[str, Any]) -> None:
    path = "M10001/v-m10001-1/t-m10001-1b/Participant/c-m10001-004"
    assert post_participant(url, path, body).status_code == 204
    [record] = records(url)
    assert record["body"] == body


def test_contact_created_by_a_lead_can_join_a_viewing(url: str) -> None:
    post_lead(url, lead_body(email={"emailAddress": unique_email()}))
    contact_id = records(url)[0]["contactId"]
    assert post_participant(url, f"M10001/v-m10001-3/t-m10001-3a/Participant/{contact_id}").status_code == 204


# --- CRM contacts ----------------------------------------------------------------------------
def test_contacts_in_the_order_asked_unknown_ids_omitted(url: str) -> None:
    asked = ["c-m10001-059", "nope", "c-m10001-051", "c-m10002-001", "c-m10001-001"]
    response = get_contacts(url, asked)
    assert response.status_code == 200
    contacts = response.json()
    assert [c["id"] for c in contacts] == ["c-m10001-059", "c-m10001-051", "c-m10001-001"]
    estate, company, person = contacts
    common = {
        "id",
        "customerId",
        "agentId",
        "address",
        "advertisingEnabled",
        "note",
        "categories",
        "createdAt",
        "changedAt",
    }
    for contact in contacts:
        assert common <= set(contact)
        assert contact["customerId"] == "M10001"
        assert set(contact["address"]) == {"streetAddress", "zipCode", "city", "countryCode"}
    assert estate["type"] == "DeceasedEstate"
    assert estate["name"].startswith("Dödsbo")
    assert len(estate["name"]) <= 30
    assert company["type"] == "Company"
    assert {"name", "corporateNumber", "homePage", "telephone"} <= set(company)
    assert (
        len(company["name"]) <= 50
        and len(company["corporateNumber"]) <= 20
        and len(company["homePage"]) <= 60
    )
    assert person["type"] == "Person"
    person_fields = {
        "firstName", "lastName", "socialSecurityNumber", "isForeignSocialSecurityNumber", "telephone",
        "email", "leadScore", "wantsToBeMatched", "isDeceased", "isCompanyPerson", "gdprApprovalDate",
    }  # fmt: skip
    assert person_fields <= set(person)
    assert set(person["telephone"]) == {"home", "work", "cell", "other"}
    assert set(person["email"]) == {"emailAddress", "emailAddress2"}


def test_twenty_ids_are_fine_twenty_one_are_400(url: str) -> None:
    ids = [f"c-m10001-{n:03d}" for n in range(1, 22)]
    assert len(get_contacts(url, ids[:20]).json()) == 20
    state = model_state(get_contacts(url, ids))
    assert list(state) == ["contactIds"]


# --- Omnicasa --------------------------------------------------------------------------------
def test_omnicasa_success_and_same_email_is_same_person(url: str) -> None:
    email = unique_email()
    first = post_omnicasa(url, {"CustomerId": 101, "Name": "Peeters", "FirstName": "Jan", "Email": email})
    assert first.status_code == 200
    body = first.json()
    assert body["Success"] is True and body["Code"] == 0 and body["Message"] == ""
    assert isinstance(body["Value"], int) and body["Value"] > 0
    again = post_omnicasa(
        url, {"CustomerId": 101, "Name": "Peeters", "Email": email.upper(), "Content": "Bel mij"}
    )
    assert again.json()["Value"] == body["Value"]
    other_customer = post_omnicasa(url, {"CustomerId": 102, "Name": "Peeters", "Email": email})
    assert other_customer.json()["Value"] != body["Value"]
    [record, *_] = records(url, operation="contact_on_me")
    assert record["vendor"] == "omnicasa"
    assert record["customerId"] == "101"
    assert record["result"] == body["Value"]
    assert record["path"] == "/omnicasa/techworks/contactonme/*****"
    assert SECRET not in json.dumps(records(url))


def test_omnicasa_wrong_secret_key_is_http_200_with_success_false(url: str) -> None:
    response = post_omnicasa(url, {"CustomerId": 101, "Name": "X", "Email": "x@example.com"}, key="wrong")
    assert response.status_code == 200
    answer = response.json()
    assert answer["Success"] is False
    assert answer["Code"] == 401
    assert answer["Value"] == 0
    assert answer["Message"]
    assert records(url) == []


@pytest.mark.parametrize(
    ("body", "customer"),
    [
        ({"Name": "X", "Email": "x@example.com"}, "omnicasa"),  # CustomerId is not required
        ({"CustomerId": 999, "Name": "X"}, "999"),  # any customer, no Email/phone
        ({"CustomerId": 101, "Email": "x@example.com"}, "101"),  # no Name
        ({"CustomerId": 101}, "101"),
        ({}, "omnicasa"),
        ({"customerid": "102", "name": "x", "LANGUAGEID": 21, "languageId": None}, "102"),
        ({"CustomerId": 101, "LanguageId": 21, "Password": "p", "IsWriteLogSQL": True}, "101"),
        ({"CustomerId": 101, "PropertyId": "15", "IsReceivedEmail": "false", "Zip": 1000}, "101"),
        ({"CustomerId": 101, "SomeFutureField": {"a": 1}}, "101"),
    ],
)
def test_omnicasa_accepts_what_the_doc_does_not_forbid(url: str, body: dict[str, Any], customer: str) -> None:
    answer = post_omnicasa(url, body).json()
    assert answer["Success"] is True, answer
    assert answer["Code"] == 0
    [record] = records(url)
    assert record["customerId"] == customer
    assert record["body"] == body
    assert record["result"] == answer["Value"]


def test_omnicasa_values_that_cannot_bind_are_a_code_400(url: str) -> None:
    body = {"CustomerId": "abc", "IsReceivedEmail": "maybe", "Name": {"x": 1}, "OfficeId": True}
    answer = post_omnicasa(url, body).json()
    assert answer["Success"] is False
    assert answer["Code"] == 400
    for name in ("CustomerId", "IsReceivedEmail", "Name", "OfficeId"):
        assert name in answer["Message"]
    assert records(url) == []


def test_omnicasa_malformed_json_is_a_code_400(url: str) -> None:
    response = requests.post(
        f"{url}/omnicasa/techworks/contactonme/{SECRET}",
        data=b"{nope",
        headers={"Content-Type": "application/json"},
        timeout=TIMEOUT,
    )
    assert response.status_code == 200
    assert response.json()["Success"] is False
    assert response.json()["Code"] == 400


def test_omnicasa_phone_alone_is_enough(url: str) -> None:
    answer = post_omnicasa(url, {"CustomerId": "102", "Name": "Dubois", "GSM": "+32 470 12 34 56"}).json()
    assert answer["Success"] is True


# --- records ---------------------------------------------------------------------------------
def test_records_filters_and_delete(url: str) -> None:
    post_lead(url, lead_body())
    post_lead(url, lead_body(), customer="M10002", auth=B)
    post_omnicasa(url, {"CustomerId": 101, "Name": "X", "Email": unique_email()})
    post_lead(url, {})  # rejected: not recorded
    assert [r["operation"] for r in records(url)] == ["person_lead", "person_lead", "contact_on_me"]
    assert len(records(url, operation="person_lead")) == 2
    assert [r["customerId"] for r in records(url, customerId="M10002")] == ["M10002"]
    assert len(records(url, operation="person_lead", customerId="101")) == 0
    assert requests.delete(f"{url}/_sandbox/records", timeout=TIMEOUT).status_code == 204
    assert records(url) == []
    assert len(get_contacts(url, ["c-m10001-001"]).json()) == 1  # seed data survives


# --- faults ----------------------------------------------------------------------------------
def test_fail_next_uses_the_first_status_then_recovers(url: str) -> None:
    config = set_faults(url, failNext=2, statuses=[500, 429])
    assert config["failNext"] == 2
    first = get_contacts(url, ["c-m10001-001"])
    assert first.status_code == 500
    assert first.json() == {"message": "An error has occurred."}
    assert requests.get(f"{url}/_sandbox/health", timeout=TIMEOUT).status_code == 200  # never faulted
    assert post_omnicasa(url, {"CustomerId": 101, "Name": "X", "Email": unique_email()}).status_code == 500
    assert get_contacts(url, ["c-m10001-001"]).status_code == 200
    assert records(url) == []


def test_429_carries_retry_after_and_503_is_html(url: str) -> None:
    set_faults(url, failNext=1, statuses=[429])
    response = post_lead(url, lead_body())
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "1"
    set_faults(url, failNext=1, statuses=[429], retryAfterS=3)
    assert post_lead(url, lead_body()).headers["Retry-After"] == "3"
    set_faults(url, failNext=1, statuses=[503], retryAfterS=2)
    response = post_lead(url, lead_body())
    assert response.status_code == 503
    assert response.headers["Content-Type"].startswith("text/html")
    assert response.headers["Retry-After"] == "2"
    assert "<html>" in response.text
    assert records(url) == []


def test_drop_rate_one_closes_the_connection_without_processing(url: str) -> None:
    set_faults(url, dropRate=1)
    with pytest.raises(requests.ConnectionError):
        post_lead(url, lead_body())
    requests.delete(f"{url}/_sandbox/faults", timeout=TIMEOUT)
    assert records(url) == []


def test_lost_answer_processes_every_write_once_but_answers_nothing(url: str) -> None:
    set_faults(url, lostAnswerRate=1)
    with pytest.raises(requests.ConnectionError):
        post_lead(url, lead_body())
    with pytest.raises(requests.ConnectionError):
        post_interest(url, interest_body())
    with pytest.raises(requests.ConnectionError):
        post_participant(url, "M10001/v-m10001-1/t-m10001-1a/Participant/c-m10001-001")
    with pytest.raises(requests.ConnectionError):
        post_omnicasa(url, {"CustomerId": 101, "Name": "X", "Email": unique_email()})
    with pytest.raises(requests.ConnectionError):
        get_contacts(url, ["c-m10001-001"])  # a read: answer lost, nothing recorded
    assert [r["operation"] for r in records(url)] == [
        "person_lead",
        "area_interest",
        "viewing_participant",
        "contact_on_me",
    ]
    for record in records(url):
        assert {"vendor", "operation", "customerId", "body", "receivedAt"} <= set(record)


def test_latency(url: str) -> None:
    set_faults(url, latencyMs=400)
    started = time.monotonic()
    assert get_contacts(url, ["c-m10001-001"]).status_code == 200
    assert time.monotonic() - started >= 0.39
    started = time.monotonic()
    requests.get(f"{url}/_sandbox/health", timeout=TIMEOUT)  # inspection is never delayed
    assert time.monotonic() - started < 0.3


def test_error_rate_with_a_seed_is_reproducible(url: str) -> None:
    def run() -> list[int]:
        set_faults(url, errorRate=0.5, seed=42)
        return [get_contacts(url, ["c-m10001-001"]).status_code for _ in range(16)]

    first = run()
    assert first == run()
    assert 200 in first
    assert set(first) - {200} <= {500, 503, 429}
    assert set(first) != {200}


def test_fault_settings_get_merge_delete_and_validation(url: str) -> None:
    set_faults(url, errorRate=0.2)
    merged = set_faults(url, latencyMs=5)
    assert merged["errorRate"] == 0.2 and merged["latencyMs"] == 5
    assert merged["statuses"] == [500, 503, 429]
    assert requests.get(f"{url}/_sandbox/faults", timeout=TIMEOUT).json() == merged
    bad = requests.post(f"{url}/_sandbox/faults", json={"errorRate": 2, "bogus": 1}, timeout=TIMEOUT)
    assert bad.status_code == 400
    assert set(bad.json()["fields"]) == {"errorRate", "bogus"}
    cleared = requests.delete(f"{url}/_sandbox/faults", timeout=TIMEOUT).json()
    assert cleared["errorRate"] == 0 and cleared["latencyMs"] == 0 and cleared["failNext"] == 0


# --- the command line ------------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _wait_healthy(base: str) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{base}/_sandbox/health", timeout=1).ok:
                return
        except requests.ConnectionError:
            time.sleep(0.05)
    raise AssertionError("sandbox did not start")


def test_cli_port_taken_is_one_clear_line_and_exit_1(sandbox: SandboxHandle, tmp_path: Path) -> None:
    db = tmp_path / "in-use.db"
    db.write_bytes(b"another sandbox's data")
    result = subprocess.run(
        [sys.executable, "-m", "local.sandbox", "--port", str(sandbox.port), "--db", str(db)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=20,
    )
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "already in use" in lines[0] and str(sandbox.port) in lines[0]
    assert db.read_bytes() == b"another sandbox's data"  # bind fails before the wipe


def test_cli_runs_with_env_faults_logs_no_personal_data_and_stops_on_sigterm(tmp_path: Path) -> None:
    port = _free_port()
    db = tmp_path / "nested" / "sandbox.db"
    env = {
        **os.environ,
        "LEADHOOKS_SANDBOX_PORT": str(port),
        "SANDBOX_FAULTS": '{"latencyMs": 1, "seed": 7, "rateLimitRps": 50}',
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "local.sandbox", "--db", str(db)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_healthy(base)
        settings = requests.get(f"{base}/_sandbox/faults", timeout=TIMEOUT).json()
        assert settings["latencyMs"] == 1
        assert settings["rateLimitRps"] == 50
        assert db.exists()
        email = "hemlig.person@example.com"
        assert post_lead(
            base, lead_body(email={"emailAddress": email}, socialSecurityNumber="19900101-0017")
        ).ok
        assert post_omnicasa(base, {"CustomerId": 101, "Name": "Hemlig", "Email": email}).ok
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0
    output = out + err
    assert "POST /PublicAdvertising/M10001/Contact/Person/Lead 200" in output
    assert "POST /omnicasa/techworks/contactonme/***** 200" in output
    for secret in (email, "19900101-0017", "Hemlig", SECRET, "local-pass"):
        assert secret not in output


def test_cli_rejects_a_bad_rate_limit_in_sandbox_faults() -> None:
    env = {
        **os.environ,
        "LEADHOOKS_SANDBOX_PORT": str(_free_port()),
        "SANDBOX_FAULTS": '{"rateLimitRps": -1}',
    }
    result = subprocess.run(
        [sys.executable, "-m", "local.sandbox", "--db", ":memory:"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=20,
    )
    assert result.returncode == 1
    assert "rateLimitRps" in result.stderr


# --- the docs' own samples -------------------------------------------------------------------
# Copied from /work/shared/vendor-docs. Only what names the caller's own customer and seed data
# (the path's "StringValue", updatePerson.customerId "sample string 8") is replaced, as a real
# caller would; every other value is the doc's.
PERSON_LEAD_SAMPLE = {  # vitec-person-lead.txt:1
    "person": {
        "firstName": "sample string 1",
        "lastName": "sample string 2",
        "socialSecurityNumber": "sample string 3",
        "isForeignSocialSecurityNumber": True,
        "address": {
            "streetAddress": "sample string 1",
            "zipCode": "sample string 2",
            "city": "sample string 3",
        },
        "email": {"emailAddress": "sample string 1", "emailAddress2": "sample string 2"},
        "telephone": {
            "home": "sample string 1",
            "work": "sample string 2",
            "cell": "sample string 3",
            "other": "sample string 4",
        },
    },
    "receiver": {
        "agent": {
            "id": "sample string 1",
            "email": "sample string 2",
            "office": {"id": "sample string 1", "customerId": "sample string 2"},
        },
        "userGroup": {"id": "sample string 1"},
        "office": {"id": "sample string 1", "customerId": "sample string 2"},
    },
    "leadSource": {"leadType": "AcceptObjectFlow", "name": "sample string 1"},
    "marketing": {
        "referrer": "sample string 1",
        "utmTags": [
            {"name": "sample string 1", "value": "sample string 2"},
            {"name": "sample string 1", "value": "sample string 2"},
        ],
    },
    "message": "sample string 1",
}
PERSON_LEAD_CURL = (  # vitec-person-lead.txt:33 (and the same body at :35, :44, :71)
    '{"person":{"firstName":"StringValue","lastName":"StringValue","socialSecurityNumber":"StringValue"},'
    '"receiver":{"agent":{"id":"StringValue","email":"StringValue","office":{"id":"StringValue",'
    '"customerId":"StringValue"}},"userGroup":{"id":"StringValue"},"office":{"id":"StringValue",'
    '"customerId":"StringValue"}},"leadSource":{"leadType":0,"name":"StringValue"}}'
)
_SEARCH = {
    "id": "sample string 1",
    "areaIds": ["sample string 1", "sample string 2"],
    "countys": ["sample string 1", "sample string 2"],
    "countryCode": "sample string 2",
    "polygon": [{"longitud": 1.1, "latitud": 2.1}, {"longitud": 1.1, "latitud": 2.1}],
    "foreignProperty": True,
    "house": True,
    "rowHouse": True,
    "housingCooperative": True,
    "cottage": True,
    "premises": True,
    "plot": True,
    "farm": True,
    "tenancy": True,
    "otherHousing": True,
    "livingSpace": {"min": 1.1, "max": 1.1},
    "numberOfRooms": {"min": 1.1, "max": 1.1},
    "price": {"min": 1.1, "max": 1.1},
    "plotArea": {"min": 1.1, "max": 1.1},
    "specialRequset": "sample string 13",
    "increasedRequirementIDs": ["sample string 1", "sample string 2"],
    "active": True,
}
AREA_INTEREST_SAMPLE = {  # vitec-interest-on-area.txt:1, customerId "sample string 8" → M10001
    "updatePerson": {
        "firstName": "sample string 1",
        "lastName": "sample string 2",
        "socialSecurityNumber": "sample string 3",
        "isForeignSocialSecurityNumber": True,
        "telePhone": "sample string 4",
        "workPhone": "sample string 5",
        "cellPhone": "sample string 6",
        "approval": True,
        "approvalDate": "2024-11-21T11:23:40.6983026+01:00",
        "gdprApprovalDate": "2024-11-21T11:23:40.6983026+01:00",
        "obtainThrough": "Interest",
        "contactId": "sample string 7",
        "customerId": "M10001",
        "categoryIds": ["sample string 1", "sample string 2"],
        "address": {
            "streetAddress": "sample string 1",
            "zipCode": "sample string 2",
            "city": "sample string 3",
            "countryCode": "sample string 4",
        },
        "email": {"emailAddress": "sample string 1", "emailAddress2": "sample string 2"},
        "userId": "sample string 9",
        "otherPhone": "sample string 10",
        "wishAdvertising": True,
        "note": "sample string 11",
        "coordinate": {"longitud": 1.1, "latitud": 2.1},
        "task": {
            "predefinedTaskId": "sample string 1",
            "note": "sample string 2",
            "estateId": "sample string 3",
            "assignedTo": "sample string 4",
        },
        "customField": {"name": "sample string 1", "value": "sample string 2"},
        "leadScore": 1,
    },
    "lookingForAccommodations": [_SEARCH, _SEARCH],
    "presentAccommodation": {
        "estateType": "House",
        "livingSpace": 1.1,
        "numberOfRooms": 1.1,
        "price": 1.1,
        "other": "sample string 1",
        "coordinate": {"longitud": 1.1, "latitud": 2.1},
    },
    "notifyUser": True,
    "watched": "Yes",
}
AREA_INTEREST_CURL = (  # vitec-interest-on-area.txt:24 (no updatePerson.customerId, no notifyUser)
    '{"updatePerson":{"firstName":"StringValue","lastName":"StringValue","socialSecurityNumber":"StringValue"},'
    '"lookingForAccommodations":[{"id":"StringValue","areaIds":["StringValue"],"countys":["StringValue"]}],'
    '"presentAccommodation":{"estateType":0,"livingSpace":0.0,"numberOfRooms":0.0}}'
)
VIEWING_SAMPLE = {  # vitec-viewing-participant.txt:1
    "participated": True,
    "reminderTime": 2,
    "smsReminder": True,
    "mailConfirmation": True,
    "smsConfirmation": True,
    "contactMessage": "sample string 6",
    "leadSourceId": "sample string 7",
    "options": {"isDeadlineValidationEnabled": True, "enableBookingLimitValidation": True},
}
VIEWING_CURL = (
    '{"participated":false,"reminderTime":0,"sMSReminder":false}'  # vitec-viewing-participant.txt:34
)
OMNICASA_SAMPLE = {  # omnicasa-contactonme.txt:237-264
    "CustomerId": 1,
    "Name": "sample string 2",
    "FirstName": "sample string 3",
    "AddressTitle": "sample string 4",
    "LetterTitle": "sample string 5",
    "Address": "sample string 6",
    "City": "sample string 7",
    "Zip": "sample string 8",
    "Email": "sample string 9",
    "Password": "sample string 10",
    "PhoneNumber": "sample string 11",
    "GSM": "sample string 12",
    "OfficeId": 1,
    "IsReceivedEmail": True,
    "SourceId": 1,
    "CountryId": 1,
    "Subject": "sample string 13",
    "Content": "sample string 14",
    "PropertyId": 15,
    "Profession": "sample string 16",
    "Fax": "sample string 17",
    "CategorieIds": "sample string 18",
    "CompanyName": "sample string 19",
    "LanguageIdFromParameter": 20,
    "LanguageId": 21,
    "IsWriteLogSQL": True,
}


def _post_raw(url: str, path: str, data: str, auth: Any = A) -> requests.Response:
    return requests.post(
        url + path,
        data=data.encode(),
        headers={"Content-Type": "application/json"},
        auth=auth,
        timeout=TIMEOUT,
    )


def test_doc_samples_person_lead(url: str) -> None:
    first = post_lead(url, PERSON_LEAD_SAMPLE)
    assert first.status_code == 200, first.text
    second = _post_raw(url, "/PublicAdvertising/M10001/Contact/Person/Lead", PERSON_LEAD_CURL)
    assert second.status_code == 200, second.text
    assert [r["operation"] for r in records(url)] == ["person_lead", "person_lead"]


def test_doc_samples_area_interest(url: str) -> None:
    first = post_interest(url, AREA_INTEREST_SAMPLE)
    assert first.status_code == 204, first.text
    second = _post_raw(url, "/Interest/SendInterestAndContactOnArea", AREA_INTEREST_CURL)
    assert second.status_code == 204, second.text
    found = records(url, operation="area_interest")
    assert [r["customerId"] for r in found] == ["M10001", "M10001"]
    assert found[1]["body"] == json.loads(AREA_INTEREST_CURL)


def test_doc_samples_viewing_participant(url: str) -> None:
    path = "/Viewing/M10001/v-m10001-2/t-m10001-2a/Participant/c-m10001-010"
    first = _post_raw(url, path, json.dumps(VIEWING_SAMPLE))
    assert first.status_code == 204, first.text
    second = _post_raw(url, path, VIEWING_CURL)
    assert second.status_code == 204, second.text
    assert len(records(url, operation="viewing_participant")) == 2


def test_doc_sample_omnicasa(url: str) -> None:
    answer = post_omnicasa(url, OMNICASA_SAMPLE).json()
    assert answer["Success"] is True, answer
    assert answer["Code"] == 0 and answer["Message"] == ""
    [record] = records(url)
    assert record["customerId"] == "1"
    assert record["body"] == OMNICASA_SAMPLE


# --- stats and the rate limit ----------------------------------------------------------------
def stats(url: str) -> dict[str, Any]:
    response = requests.get(f"{url}/_sandbox/stats", timeout=TIMEOUT)
    response.raise_for_status()
    data: dict[str, Any] = response.json()
    return data


def test_stats_count_vendor_requests_per_customer(url: str) -> None:
    assert stats(url) == {"requests": 0, "throttled": 0, "byCustomer": {}}
    post_lead(url, lead_body())
    get_contacts(url, ["c-m10001-001"])
    post_participant(url, "M10001/v-m10001-1/t-m10001-1a/Participant/c-m10001-001")
    post_lead(url, lead_body(), auth=None)  # refused (401) but still a request for M10001
    body = interest_body()
    del body["updatePerson"]["customerId"]
    post_interest(url, body, auth=B)  # no customerId in the body: the login's customer
    post_interest(url, interest_body(customer_id="M10002"), auth=A)  # 403, counted for M10002
    post_omnicasa(url, {"CustomerId": 101, "Name": "X"})
    post_omnicasa(url, {"CustomerId": "102", "Name": "X"})
    post_omnicasa(url, {"Name": "X"})
    requests.get(f"{url}/_sandbox/health", timeout=TIMEOUT)  # not a vendor request
    records(url)
    assert stats(url) == {
        "requests": 9,
        "throttled": 0,
        "byCustomer": {
            "M10001": {"requests": 4, "throttled": 0},
            "M10002": {"requests": 2, "throttled": 0},
            "101": {"requests": 1, "throttled": 0},
            "102": {"requests": 1, "throttled": 0},
            "omnicasa": {"requests": 1, "throttled": 0},
        },
    }
    assert requests.delete(f"{url}/_sandbox/stats", timeout=TIMEOUT).status_code == 200
    assert stats(url) == {"requests": 0, "throttled": 0, "byCustomer": {}}


def test_stats_count_faulted_requests_too(url: str) -> None:
    set_faults(url, failNext=2, statuses=[500])
    get_contacts(url, ["c-m10001-001"])
    get_contacts(url, ["c-m10001-001"])
    get_contacts(url, ["c-m10001-001"])
    assert stats(url)["byCustomer"] == {"M10001": {"requests": 3, "throttled": 0}}


def test_rate_limit_throttles_one_customer_only(url: str) -> None:
    assert set_faults(url, rateLimitRps=5)["rateLimitRps"] == 5
    burst = [get_contacts(url, ["c-m10001-001"]) for _ in range(15)]
    codes = [r.status_code for r in burst]
    assert codes[:5] == [200] * 5  # burst = rate
    throttled = [r for r in burst if r.status_code == 429]
    assert len(throttled) >= 5
    assert set(codes) == {200, 429}
    for response in throttled:
        retry_after = response.headers["Retry-After"]
        assert retry_after.isdigit() and int(retry_after) >= 1
    other = [get_contacts(url, ["c-m10002-001"], customer="M10002", auth=B) for _ in range(5)]
    assert [r.status_code for r in other] == [200] * 5
    counted = stats(url)
    assert counted["requests"] == 20
    assert counted["throttled"] == len(throttled)
    assert counted["byCustomer"]["M10001"] == {"requests": 15, "throttled": len(throttled)}
    assert counted["byCustomer"]["M10002"] == {"requests": 5, "throttled": 0}


def test_rate_limited_writes_are_not_processed_and_pass_after_retry_after(url: str) -> None:
    set_faults(url, rateLimitRps=1)
    assert post_lead(url, lead_body()).status_code == 200
    refused = post_lead(url, lead_body())
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "1"
    assert len(records(url)) == 1  # a throttled write leaves no record
    time.sleep(int(refused.headers["Retry-After"]) + 0.05)
    assert post_lead(url, lead_body()).status_code == 200
    assert len(records(url)) == 2


def test_rate_limit_applies_per_omnicasa_customer(url: str) -> None:
    set_faults(url, rateLimitRps=2)
    first = [post_omnicasa(url, {"CustomerId": 101, "Name": "X"}).status_code for _ in range(6)]
    assert 429 in first
    assert [post_omnicasa(url, {"CustomerId": 102, "Name": "X"}).status_code for _ in range(2)] == [200, 200]
    assert len(records(url, customerId="101")) == first.count(200)


def test_rate_limit_off_by_zero_and_by_delete(url: str) -> None:
    set_faults(url, rateLimitRps=1)
    get_contacts(url, ["c-m10001-001"])
    assert get_contacts(url, ["c-m10001-001"]).status_code == 429
    set_faults(url, rateLimitRps=0)
    assert all(get_contacts(url, ["c-m10001-001"]).status_code == 200 for _ in range(10))
    set_faults(url, rateLimitRps=1)
    get_contacts(url, ["c-m10001-001"])
    cleared = requests.delete(f"{url}/_sandbox/faults", timeout=TIMEOUT).json()
    assert cleared["rateLimitRps"] == 0
    assert all(get_contacts(url, ["c-m10001-001"]).status_code == 200 for _ in range(10))


@pytest.mark.parametrize("value", [-1, "5", True, None, [5]])
def test_rate_limit_bad_values_are_400(url: str, value: Any) -> None:
    response = requests.post(f"{url}/_sandbox/faults", json={"rateLimitRps": value}, timeout=TIMEOUT)
    assert response.status_code == 400
    assert list(response.json()["fields"]) == ["rateLimitRps"]
    assert requests.get(f"{url}/_sandbox/faults", timeout=TIMEOUT).json()["rateLimitRps"] == 0


def test_rate_limit_from_start_sandbox_faults() -> None:
    with start_sandbox(port=0, faults={"rateLimitRps": 2}) as other:
        codes = [get_contacts(other.url, ["c-m10001-001"]).status_code for _ in range(6)]
        assert codes[:2] == [200, 200]
        assert 429 in codes


@pytest.mark.parametrize("customer_id", [2**63, 1e300, "99999999999999999999"])
def test_omnicasa_integer_beyond_64_bits_is_a_field_error_not_a_crash(customer_id: object) -> None:
    """Found by the hostile suite: such a value made the sandbox answer 500 (SQLite overflow), so the
    product queued a lead the vendor would refuse. Newtonsoft cannot bind it: a binding error."""
    with start_sandbox(port=0) as sandbox:
        answer = requests.post(
            f"{sandbox.omnicasa_url}/techworks/contactonme/local-omnicasa-secret-key",
            json={"CustomerId": customer_id, "Name": "Test"},
            timeout=10,
        )
    assert answer.status_code == 200
    assert answer.json()["Success"] is False and "CustomerId" in answer.json()["Message"]
