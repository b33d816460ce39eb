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


def test_person_lead_reports_every_length_limit_by_field(url: str) -> None:
    body = lead_body(firstName="F" * 31, lastName="L" * 31, socialSecurityNumber="1" * 21)
    body["receiver"] = {
        "agent": {"id": "a" * 41, "office": {"id": "o" * 41, "customerId": "c" * 41}},
        "userGroup": {"id": "g" * 41},
        "office": {"id": "o" * 41, "customerId": "c" * 41},
    }
    state = model_state(post_lead(url, body))
    assert set(state) == {
        "person.firstName",
        "person.lastName",
        "person.socialSecurityNumber",
        "receiver.agent.id",
        "receiver.agent.office.id",
        "receiver.agent.office.customerId",
        "receiver.userGroup.id",
        "receiver.office.id",
        "receiver.office.customerId",
    }
    assert state["person.firstName"] == ["Förnamn måste vara mellan 0 och 30 tecken"]
    assert state["person.lastName"] == ["Efternamn måste vara mellan 0 och 30 tecken"]
    assert state["person.socialSecurityNumber"] == ["Personnummer måste vara mellan 0 och 20 tecken"]
    assert records(url) == []


def test_person_lead_accepts_values_exactly_at_the_limits(url: str) -> None:
    body = lead_body(firstName="F" * 30, lastName="L" * 30, socialSecurityNumber="1" * 20)
    body["receiver"] = {"agent": {"id": "a" * 40}, "userGroup": {"id": "g" * 40}, "office": {"id": "o" * 40}}
    assert post_lead(url, body).status_code == 200


def test_person_lead_required_parts(url: str) -> None:
    state = model_state(post_lead(url, {}))
    assert state == {"person": ["En kontaktperson måste anges"], "leadSource": ["En leadskälla måste anges"]}

    body = lead_body()
    body["receiver"] = {}
    body["leadSource"] = {"leadType": "not a flow!"}
    state = model_state(post_lead(url, body))
    assert set(state) == {"receiver", "leadSource.leadType", "leadSource.name"}
    assert "handläggare, användargrupp eller kontor" in state["receiver"][0]


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
    del body["updatePerson"]["customerId"]
    body["lookingForAccommodations"] = []
    state = model_state(post_interest(url, body))
    assert state == {
        "updatePerson.customerId": ["Kund-id krävs"],
        "lookingForAccommodations": ["Minst en sökpreferens måste anges"],
    }


def test_area_interest_reports_every_length_limit(url: str) -> None:
    body = interest_body(
        firstName="F" * 31,
        lastName="L" * 31,
        socialSecurityNumber="1" * 21,
        userId="u" * 41,
        contactId="c" * 41,
        categoryIds=["k" * 41],
    )
    body["lookingForAccommodations"][0].update(id="s" * 41, areaIds=["a" * 41])
    state = model_state(post_interest(url, body))
    assert set(state) == {
        "updatePerson.firstName",
        "updatePerson.lastName",
        "updatePerson.socialSecurityNumber",
        "updatePerson.userId",
        "updatePerson.contactId",
        "updatePerson.categoryIds[0]",
        "lookingForAccommodations[0].id",
        "lookingForAccommodations[0].areaIds[0]",
    }


def test_notify_user_needs_user_id_for_a_new_person_only(url: str) -> None:
    body = interest_body(email={"emailAddress": unique_email()})
    body["notifyUser"] = True
    assert model_state(post_interest(url, body)) == {
        "updatePerson.userId": ["NotifyUser kräver UserId för nya kontakter"]
    }
    body["updatePerson"]["userId"] = "a-m10001-1"
    assert post_interest(url, body).status_code == 204
    existing = interest_body(email={"emailAddress": "anna.andersson@example.com"})
    existing["notifyUser"] = True
    assert post_interest(url, existing).status_code == 204
    assert records(url)[-1]["contactId"] == "c-m10001-001"


def test_area_interest_by_contact_id_updates_that_contact(url: str) -> None:
    assert post_interest(url, interest_body(contactId="c-m10001-002", lastName="Nyman")).status_code == 204
    [contact] = get_contacts(url, ["c-m10001-002"]).json()
    assert contact["lastName"] == "Nyman"
    assert records(url)[0]["contactId"] == "c-m10001-002"
    state = model_state(post_interest(url, interest_body(contactId="c-m10001-999")))
    assert list(state) == ["updatePerson.contactId"]


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


def test_viewing_participant_types_and_limits(url: str) -> None:
    body = {"reminderTime": "soon", "smsConfirmation": "yes", "leadSourceId": "x" * 41}
    state = model_state(post_participant(url, "M10001/v-m10001-1/t-m10001-1a/Participant/c-m10001-001", body))
    assert set(state) == {"reminderTime", "smsConfirmation", "leadSourceId"}


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


@pytest.mark.parametrize(
    ("key", "body", "code", "words"),
    [
        ("wrong-key", {"CustomerId": 101, "Name": "X", "Email": "x@example.com"}, 401, []),
        (SECRET, {"CustomerId": 999, "Name": "X", "Email": "x@example.com"}, 404, []),
        (SECRET, {"CustomerId": 101, "Email": "x@example.com"}, 400, ["Name"]),
        (SECRET, {"CustomerId": 101, "Name": "X"}, 400, ["Email", "PhoneNumber", "GSM"]),
        (SECRET, {"CustomerId": 101}, 400, ["Name", "Email"]),
    ],
)
def test_omnicasa_errors_are_http_200_with_success_false(
    url: str, key: str, body: dict[str, Any], code: int, words: list[str]
) -> None:
    response = post_omnicasa(url, body, key=key)
    assert response.status_code == 200
    answer = response.json()
    assert answer["Success"] is False
    assert answer["Code"] == code
    assert answer["Value"] == 0
    assert answer["Message"]
    for word in words:
        assert word in answer["Message"]
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


def test_lost_answer_processes_the_write_but_answers_nothing(url: str) -> None:
    set_faults(url, lostAnswerRate=1)
    with pytest.raises(requests.ConnectionError):
        post_lead(url, lead_body())
    with pytest.raises(requests.ConnectionError):
        post_omnicasa(url, {"CustomerId": 101, "Name": "X", "Email": unique_email()})
    assert [r["operation"] for r in records(url)] == ["person_lead", "contact_on_me"]


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
    env = {**os.environ, "LEADHOOKS_SANDBOX_PORT": str(port), "SANDBOX_FAULTS": '{"latencyMs": 1, "seed": 7}'}
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
        assert requests.get(f"{base}/_sandbox/faults", timeout=TIMEOUT).json()["latencyMs"] == 1
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
