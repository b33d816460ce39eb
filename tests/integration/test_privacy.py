"""Canary personal data and secrets through every outcome: none of it may appear in a log line,
an error body or a queue message attribute."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest
import requests

from local import config
from tests.integration.conftest import API_KEY_HEADERS, Stack

BODIES = Path(__file__).resolve().parent.parent / "fixtures" / "bodies"
PNR = "19811228-9874"
EMAIL = "canary.person@example.se"
PHONE = "+46701740605"
CANARIES = (
    PNR,
    "198112289874",
    EMAIL,
    PHONE,
    "0701740605",
    "Kanarieson",
    "local-pass-m10001",
    config.OMNICASA_SECRET_KEY,
)


def lead(**overrides: Any) -> dict[str, Any]:
    data = dict(json.loads((BODIES / "vitec_person_lead.json").read_text()))
    data["person"].update(
        {
            "lastName": "Kanarieson",
            "socialSecurityNumber": PNR,
            "email": {"emailAddress": EMAIL},
            "telephone": {"cell": PHONE},
        }
    )
    data.update(overrides)
    return data


def post(stack: Stack, route: str, payload: Any) -> requests.Response:
    return requests.post(
        f"{stack.api}{route}",
        json=payload,
        headers={**API_KEY_HEADERS, "Idempotency-Key": str(uuid.uuid4())},
        timeout=30,
    )


def test_no_canary_leaks_from_any_outcome(
    clean: Stack, capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("DEBUG")
    answers = [post(clean, "/vitec/person-leads", lead())]  # delivered
    invalid = lead()
    del invalid["leadSource"]  # vitec-person-lead.txt:28: "En leadskälla måste anges"
    answers.append(post(clean, "/vitec/person-leads", invalid))  # 422 invalid
    omni = dict(json.loads((BODIES / "omnicasa_contact_on_me.json").read_text()))
    omni.update({"Email": EMAIL, "GSM": PHONE, "Name": "Kanarieson"})
    # No doc says Omnicasa refuses any particular value, so the sandbox refuses the next call instead.
    clean.faults(failNext=1, statuses=[400])
    answers.append(post(clean, "/omnicasa/contact-on-me", omni))  # vendor rejects
    clean.faults(errorRate=1.0, statuses=[503])
    answers.append(post(clean, "/vitec/person-leads", lead()))  # queued
    clean.faults(errorRate=0.0)
    clean.faults(lostAnswerRate=1.0)
    viewing = dict(json.loads((BODIES / "vitec_viewing_participant.json").read_text()))
    viewing["contactMessage"] = f"Ring {PHONE} eller {EMAIL}, pnr {PNR}"
    answers.append(post(clean, "/vitec/viewing-participants", viewing))  # answer lost → parked
    requests.delete(f"{clean.sandbox}/_sandbox/faults", timeout=5)

    assert [a.status_code for a in answers] == [200, 422, 422, 202, 202], [a.text for a in answers]
    out, err = capfd.readouterr()
    # Every record with all its structured fields (Powertools puts `extra` keys on the record).
    records = "\n".join(json.dumps(r.__dict__, default=str, ensure_ascii=False) for r in caplog.records)
    logs = "\n".join((out, err, records))
    assert "delivery queued" in logs and "delivery parked" in logs, "the logs were captured"
    attributes = json.dumps(
        [
            m.get("MessageAttributes", {})
            for q in (clean.failure_queue, clean.parked_queue)
            for m in clean.messages(q)
        ]
    )
    for canary in CANARIES:
        assert canary not in logs, f"log leaks {canary!r}"
        assert all(canary not in a.text for a in answers), f"an answer leaks {canary!r}"
        assert canary not in attributes
