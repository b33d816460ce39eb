"""Typeform, Zapier and Standard Webhooks senders, over real HTTP to the local stack."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import requests

from local import config
from tests.integration.conftest import Stack


def typeform_event(
    event_id: str, *, first: str = "Sofia", extra_answers: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    fields = [
        {"id": "f1", "ref": "person.firstName", "type": "short_text", "title": "Förnamn"},
        {"id": "f2", "ref": "person.lastName", "type": "short_text", "title": "Efternamn"},
        {"id": "f3", "ref": "person.email.emailAddress", "type": "email", "title": "E-post"},
        {"id": "f4", "ref": "person.telephone.cell", "type": "phone_number", "title": "Mobil"},
        {"id": "f5", "ref": "budget", "type": "multiple_choice", "title": "Budget"},
        {"id": "f6", "ref": "message", "type": "long_text", "title": "Meddelande"},
    ]
    answers = [
        {
            "field": {"id": "f1", "ref": "person.firstName", "type": "short_text"},
            "type": "text",
            "text": first,
        },
        {
            "field": {"id": "f2", "ref": "person.lastName", "type": "short_text"},
            "type": "text",
            "text": "Berg",
        },
        {
            "field": {"id": "f3", "ref": "person.email.emailAddress", "type": "email"},
            "type": "email",
            "email": f"{event_id}@example.se",
        },
        {
            "field": {"id": "f4", "ref": "person.telephone.cell", "type": "phone_number"},
            "type": "phone_number",
            "phone_number": "+46701234567",
        },
        {
            "field": {"id": "f5", "ref": "budget", "type": "multiple_choice"},
            "type": "choice",
            "choice": {"label": "3-4 miljoner"},
        },
        {
            "field": {"id": "f6", "ref": "message", "type": "long_text"},
            "type": "text",
            "text": "Ring mig gärna.",
        },
        *(extra_answers or []),
    ]
    return {
        "event_id": event_id,
        "event_type": "form_response",
        "form_response": {
            "form_id": "lh-form",
            "token": event_id,
            "submitted_at": "2026-11-23T10:00:00Z",
            "hidden": {
                "customerId": "M10001",
                "leadSource.leadType": "AcceptObjectFlow",
                "leadSource.name": "Typeform",
            },
            "definition": {"id": "lh-form", "title": "Intresse", "fields": fields},
            "answers": answers,
        },
    }


def typeform_headers(raw: bytes, secret: str = config.TYPEFORM_SECRET) -> dict[str, str]:
    digest = hmac.new(secret.encode(), raw, hashlib.sha256).digest()
    return {
        "Typeform-Signature": "sha256=" + base64.b64encode(digest).decode(),
        "Content-Type": "application/json",
    }


def webhook_headers(raw: bytes, msg_id: str, *, ts: int | None = None) -> dict[str, str]:
    timestamp = str(ts if ts is not None else int(time.time()))
    key = base64.b64decode(config.WEBHOOK_SECRET.removeprefix("whsec_"))
    sig = hmac.new(key, f"{msg_id}.{timestamp}.".encode() + raw, hashlib.sha256).digest()
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": timestamp,
        "webhook-signature": "v1," + base64.b64encode(sig).decode(),
        "Content-Type": "application/json",
    }


def test_signed_typeform_sent_three_times_concurrently_creates_one_lead(clean: Stack) -> None:
    event_id = f"tf{uuid.uuid4().hex}"
    raw = json.dumps(typeform_event(event_id)).encode()

    def send(_: int) -> requests.Response:
        return requests.post(
            f"{clean.api}/vitec/person-leads", data=raw, headers=typeform_headers(raw), timeout=30
        )

    with ThreadPoolExecutor(3) as pool:
        answers = list(pool.map(send, range(3)))
    statuses = sorted(a.status_code for a in answers)
    assert statuses.count(200) >= 1 and set(statuses) <= {200, 409}, [a.text for a in answers]
    assert all(a.json().get("deliveryId") in (event_id, None) for a in answers)
    # A later repeat (Typeform retrying) gets the first answer.
    again = send(0)
    assert again.status_code == 200 and again.json()["deliveryId"] == event_id
    records = clean.records(operation="person_lead")
    assert len(records) == 1
    sent = records[0]["body"]
    assert sent["person"]["telephone"]["cell"] == "+46701234567"
    assert "Budget: 3-4 miljoner" in sent["message"], "unmapped answers are kept in the message"
    assert "Ring mig gärna." in sent["message"]


def test_tampered_typeform_signature_is_rejected_and_nothing_is_sent(clean: Stack) -> None:
    raw = json.dumps(typeform_event(f"tf{uuid.uuid4().hex}")).encode()
    headers = typeform_headers(raw)
    tampered = raw.replace(b"Sofia", b"Mallory")
    response = requests.post(f"{clean.api}/vitec/person-leads", data=tampered, headers=headers, timeout=30)
    assert response.status_code == 401
    assert headers["Typeform-Signature"] not in response.text
    wrong = typeform_headers(raw, secret="not-the-secret")
    assert (
        requests.post(f"{clean.api}/vitec/person-leads", data=raw, headers=wrong, timeout=30).status_code
        == 401
    )
    assert clean.records() == []


def test_zapier_form_encoded_post_is_delivered(clean: Stack) -> None:
    form = {
        "person__firstName": "Nils",
        "person__lastName": "Ek",
        "person__email__emailAddress": f"nils-{uuid.uuid4().hex[:8]}@example.se",
        "leadSource.leadType": "AcceptObjectFlow",
        "leadSource.name": "Zapier",
        "marketing.utmTags.0.name": "utm_source",
        "marketing.utmTags.0.value": "facebook",
        "Property wish": "Villa nära skolan",
    }
    response = requests.post(
        f"{clean.api}/vitec/person-leads?customerId=M10001",
        data=form,
        headers={"x-api-key": config.API_KEY},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    sent = clean.records(operation="person_lead")[0]["body"]
    assert sent["person"]["firstName"] == "Nils"
    assert sent["marketing"]["utmTags"] == [{"name": "utm_source", "value": "facebook"}]
    assert "Villa nära skolan" in sent["message"]


def test_standard_webhooks_portal_post_is_delivered_once(clean: Stack) -> None:
    body = {
        "CustomerId": 101,
        "Name": "Peeters",
        "FirstName": "Lotte",
        "Email": f"lotte-{uuid.uuid4().hex[:6]}@example.be",
        "GSM": "0470 12 34 56",
        "Subject": "Portal",
        "Content": "Interesse in woning 42",
    }
    raw = json.dumps(body).encode()
    msg_id = f"msg_{uuid.uuid4().hex}"
    first = requests.post(
        f"{clean.api}/omnicasa/contact-on-me", data=raw, headers=webhook_headers(raw, msg_id), timeout=30
    )
    assert first.status_code == 200, first.text
    assert first.json()["deliveryId"] == msg_id
    again = requests.post(
        f"{clean.api}/omnicasa/contact-on-me", data=raw, headers=webhook_headers(raw, msg_id), timeout=30
    )
    assert again.json() == first.json()
    records = clean.records(operation="contact_on_me")
    assert len(records) == 1
    assert records[0]["body"]["GSM"] == "+32470123456", "a Belgian mobile becomes E.164"


def test_stale_standard_webhook_is_rejected(clean: Stack) -> None:
    raw = json.dumps({"CustomerId": 101, "Name": "X", "Email": "x@example.be"}).encode()
    headers = webhook_headers(raw, "msg_stale", ts=int(time.time()) - 600)
    response = requests.post(f"{clean.api}/omnicasa/contact-on-me", data=raw, headers=headers, timeout=30)
    assert response.status_code == 401
    assert "expired" in response.json()["message"]
    assert clean.records() == []


def test_signed_but_invalid_payload_is_parked_with_the_form_field_title(clean: Stack) -> None:
    event = typeform_event(f"tf{uuid.uuid4().hex}")
    # A form whose e-mail question points at the `person.email` object instead of its emailAddress.
    form = event["form_response"]
    form["definition"]["fields"][2]["ref"] = form["answers"][2]["field"]["ref"] = "person.email"
    raw = json.dumps(event).encode()
    response = requests.post(
        f"{clean.api}/vitec/person-leads", data=raw, headers=typeform_headers(raw), timeout=30
    )
    assert response.status_code == 422, response.text
    answer = response.json()
    assert answer["parked"] is True
    [error] = [e for e in answer["errors"] if e["field"] == "person.email"]
    assert "E-post" in error["reason"]
    parked = clean.messages(clean.parked_queue)
    assert [json.loads(m["Body"])["reason"] for m in parked] == ["invalid_input"]
    assert clean.records() == []


def test_signed_get_is_refused_because_a_signature_cannot_cover_its_query(clean: Stack) -> None:
    headers = webhook_headers(b"", f"msg_{uuid.uuid4().hex}")
    response = requests.get(
        f"{clean.api}/vitec/contacts",
        params={"customerId": "M10001", "ids": "c-m10001-001"},
        headers=headers,
        timeout=30,
    )
    assert response.status_code == 401
    assert response.json()["errors"] == [{"field": "webhook-signature", "reason": "unsupported"}]
    assert "x-api-key" in response.json()["message"]


def test_signed_but_unparseable_payload_is_parked_not_lost(clean: Stack) -> None:
    raw = b'{"event_id": "tf-broken", "form_response": "not an object"}'
    response = requests.post(
        f"{clean.api}/vitec/person-leads", data=raw, headers=typeform_headers(raw), timeout=30
    )
    assert response.status_code == 400, response.text
    assert response.json()["parked"] is True
    parked = clean.messages(clean.parked_queue)
    assert [json.loads(m["Body"])["reason"] for m in parked] == ["invalid_input"]
