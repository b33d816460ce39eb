"""Issue 15 over real HTTP: a portal posting its own JSON shape is delivered through the client's
mapping (the vendor sandbox receives the native body), dry run shows the mapped request, and every
answer, 401 included, names a deliveryId."""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import requests
from leadhooks.secrets import clear_cache

from local import config
from tests.integration.conftest import API_KEY_HEADERS, Stack

PORTAL_MAPPING: dict[str, Any] = {
    "format": "json",
    "fields": {
        "person.firstName": {"from": "$.contact.name", "transform": "firstName"},
        "person.lastName": {"from": "$.contact.name", "transform": "lastName"},
        "person.email.emailAddress": "$.contact.email",
        "person.telephone.cell": {"from": "$.contact.phone", "transform": "e164"},
        "leadSource.leadType": {"const": "AcceptObjectFlow"},
        "leadSource.name": {"const": "Bostadsportal"},
        "message": "$.message",
        "marketing.utmTags.0.name": {"const": "listing"},
        "marketing.utmTags.0.value": "$.listing.id",
    },
    "ignore": ["$.source"],
}


def portal_payload() -> dict[str, Any]:
    return {
        "source": "bostadsportal",
        "leadId": f"bp-{uuid.uuid4().hex[:8]}",
        "contact": {"name": "Anna Maria Svensson", "email": "anna@example.com", "phone": "070-123 45 67"},
        "listing": {"id": "obj-77", "address": "Storgatan 1"},
        "message": "Jag vill boka visning",
    }


@contextmanager
def client_mappings(stack: Stack, mappings: dict[str, Any]) -> Iterator[None]:
    """Give the local client `mappings` in the inbound secret for the duration (DESIGN §4's client
    entry; a secret without `clients` is one client), then put the seeded secret back."""
    secrets = stack.client("secretsmanager")
    seeded = config.SECRETS[config.INBOUND_SECRET_ID]
    changed = copy.deepcopy(seeded)
    clients = changed.get("clients")
    entry: Any = clients[next(iter(clients))] if isinstance(clients, dict) else changed
    entry["mappings"] = mappings
    secrets.put_secret_value(SecretId=config.INBOUND_SECRET_ID, SecretString=json.dumps(changed))
    clear_cache()  # the API runs in this process: read the new value now, not after SECRETS_MAX_AGE_S
    try:
        yield
    finally:
        secrets.put_secret_value(SecretId=config.INBOUND_SECRET_ID, SecretString=json.dumps(seeded))
        clear_cache()


def test_a_portal_payload_in_its_own_shape_is_delivered_through_the_clients_mapping(clean: Stack) -> None:
    payload = portal_payload()
    with client_mappings(clean, {"person-leads": PORTAL_MAPPING}):
        answer = requests.post(
            f"{clean.api}/vitec/person-leads?customerId=M10001",
            json=payload,
            headers=API_KEY_HEADERS,
            timeout=30,
        )
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "delivered"
    records = clean.records(operation="person_lead")
    assert len(records) == 1
    record = records[0]
    assert record["customerId"] == "M10001"
    assert record["body"] == {
        "person": {
            "firstName": "Anna Maria",
            "lastName": "Svensson",
            "email": {"emailAddress": "anna@example.com"},
            "telephone": {"cell": "+46701234567"},
        },
        "leadSource": {"leadType": "AcceptObjectFlow", "name": "Bostadsportal"},
        "marketing": {"utmTags": [{"name": "listing", "value": "obj-77"}]},
        # What no rule reads is kept, not dropped; `source` is ignored by the mapping.
        "message": f"Jag vill boka visning\n\nleadId: {payload['leadId']}\nlisting.address: Storgatan 1",
    }


def test_the_same_payload_without_a_mapping_is_refused_and_nothing_is_sent(clean: Stack) -> None:
    answer = requests.post(
        f"{clean.api}/vitec/person-leads?customerId=M10001",
        json=portal_payload(),
        headers=API_KEY_HEADERS,
        timeout=30,
    )
    assert answer.status_code == 422
    assert clean.records() == []


def test_dry_run_shows_the_mapped_vendor_request(clean: Stack) -> None:
    with client_mappings(clean, {"person-leads": PORTAL_MAPPING}):
        answer = requests.post(
            f"{clean.api}/vitec/person-leads?customerId=M10001&dryRun=true",
            json=portal_payload(),
            headers=API_KEY_HEADERS,
            timeout=30,
        )
    assert answer.status_code == 200, answer.text
    request = answer.json()["vendorRequest"]
    assert request["path"] == "PublicAdvertising/M10001/Contact/Person/Lead"
    assert request["body"]["person"]["lastName"] == "Svensson"
    assert clean.records() == []


def test_a_mapping_that_does_not_fit_names_the_field_without_echoing_the_value(clean: Stack) -> None:
    mapping = {
        **PORTAL_MAPPING,
        "fields": {
            **PORTAL_MAPPING["fields"],
            "message": {"from": "$.when", "transform": "date", "format": "%d/%m/%Y"},
        },
    }
    payload = {**portal_payload(), "when": "tomorrow-anna@example.com"}
    with client_mappings(clean, {"person-leads": mapping}):
        answer = requests.post(
            f"{clean.api}/vitec/person-leads?customerId=M10001",
            json=payload,
            headers=API_KEY_HEADERS,
            timeout=30,
        )
    assert answer.status_code == 422
    body = answer.json()
    assert body["deliveryId"]
    assert {
        "field": "message",
        "reason": "does not match the mapping's format '%d/%m/%Y' (from 'when')",
    } in body["errors"]
    assert "anna@example.com" not in answer.text


@contextmanager
def inbound_secret(stack: Stack, secret: dict[str, Any]) -> Iterator[None]:
    """Store `secret` as the inbound secret for the duration, then put the seeded one back."""
    secrets = stack.client("secretsmanager")
    secrets.put_secret_value(SecretId=config.INBOUND_SECRET_ID, SecretString=json.dumps(secret))
    clear_cache()
    try:
        yield
    finally:
        seeded = config.SECRETS[config.INBOUND_SECRET_ID]
        secrets.put_secret_value(SecretId=config.INBOUND_SECRET_ID, SecretString=json.dumps(seeded))
        clear_cache()


PORTAL_KEY = "portal-key-0123456789abcdef"


def with_portal(portal: dict[str, Any]) -> dict[str, Any]:
    """The seeded secret plus a client `portal` (its own key, customer M10001)."""
    secret = copy.deepcopy(config.SECRETS[config.INBOUND_SECRET_ID])
    secret["clients"]["portal"] = {"apiKeys": [PORTAL_KEY], "vitecCustomers": ["M10001"], **portal}
    return secret


def test_the_mapping_is_the_authenticated_clients_own(clean: Stack) -> None:
    """Another client's mapping never reads this client's requests."""
    url = f"{clean.api}/vitec/person-leads?customerId=M10001"
    with inbound_secret(clean, with_portal({"mappings": {"person-leads": PORTAL_MAPPING}})):
        local = requests.post(url, json=portal_payload(), headers=API_KEY_HEADERS, timeout=30)
        portal = requests.post(url, json=portal_payload(), headers={"x-api-key": PORTAL_KEY}, timeout=30)
    assert local.status_code == 422, local.text
    assert portal.status_code == 200, portal.text
    assert len(clean.records(operation="person_lead")) == 1


def test_a_broken_mapping_disables_only_that_operation_of_that_client(clean: Stack) -> None:
    """DESIGN §4's malformed entry: skipped and reported by client name; no 500, nothing sent, and the
    client's other operations and every other client keep working."""
    broken = {"fields": {"person.firstName": {"from": "$.contact.name", "transform": "shout"}}}
    secret = with_portal({"mappings": {"person-leads": broken}})
    url = f"{clean.api}/vitec/person-leads?customerId=M10001"
    with inbound_secret(clean, secret):
        refused = requests.post(url, json=portal_payload(), headers={"x-api-key": PORTAL_KEY}, timeout=30)
        area = requests.post(
            f"{clean.api}/vitec/area-interests?dryRun=true",
            json={
                "updatePerson": {"customerId": "M10001", "firstName": "Anna"},
                "lookingForAccommodations": [{"areaIds": ["a-1"], "house": True}],
            },
            headers={"x-api-key": PORTAL_KEY},
            timeout=30,
        )
        local = requests.post(
            url,
            json={"person": {"firstName": "Anna"}, "leadSource": {"name": "Web"}},
            headers=API_KEY_HEADERS,
            timeout=30,
        )
    assert refused.status_code == 403, refused.text
    assert refused.json()["deliveryId"]
    assert refused.json()["errors"] == [
        {"field": "operation", "reason": "'person-leads' is not among this client's operations"}
    ]
    assert area.status_code == 200, area.text  # the client's other operation still works (dry run)
    assert local.status_code == 200, local.text
    assert len(clean.records(operation="person_lead")) == 1  # the local client's lead only


def test_every_answer_carries_a_delivery_id_401_included(stack: Stack) -> None:
    missing = requests.post(
        f"{stack.api}/vitec/person-leads", json={"customerId": "M10001"}, headers={}, timeout=30
    )
    assert missing.status_code == 401
    assert missing.json()["deliveryId"].startswith("lh-")
    wrong = requests.post(
        f"{stack.api}/vitec/person-leads",
        json={"customerId": "M10001"},
        headers={"x-api-key": "wrong-key-0123456789", "Idempotency-Key": "order-4711"},
        timeout=30,
    )
    assert wrong.status_code == 401
    assert wrong.json()["deliveryId"] == "order-4711", "the sender's own id when it gave one"
    read = requests.get(f"{stack.api}/vitec/contacts?customerId=M10001&ids=1", timeout=30)
    assert read.status_code == 401 and read.json()["deliveryId"].startswith("lh-")


def test_bodies_the_api_cannot_read_still_get_a_delivery_id(stack: Stack) -> None:
    headers = {**API_KEY_HEADERS, "Idempotency-Key": "order-4712"}
    not_utf8 = requests.post(
        f"{stack.api}/vitec/person-leads", data=b'{"a": "\xff"}', headers=headers, timeout=30
    )
    assert not_utf8.status_code == 400 and not_utf8.json()["deliveryId"] == "order-4712"
    too_big = requests.post(
        f"{stack.api}/vitec/person-leads", data=b"x" * (300 * 1024), headers=API_KEY_HEADERS, timeout=30
    )
    assert too_big.status_code == 413 and too_big.json()["deliveryId"].startswith("lh-")
