"""The delivery journal end to end on the local stack (issue 15): a signed Typeform lead with a bad
field is parked, `leadhooks-ops find --email` finds it by the local pepper, `edit` fixes it, the replay
worker delivers it, and the vendor holds exactly one record. Real HTTP and emulated AWS, no mocks."""

from __future__ import annotations

import io
import json
import uuid

import boto3
import pytest
import requests
from leadhooks_ops.cli import main as ops

from local import config
from local.replay_worker import drain_once
from tests.integration.conftest import Stack
from tests.integration.test_inbound import typeform_event, typeform_headers

pytestmark = [pytest.mark.integration, pytest.mark.filterwarnings("ignore:No application metrics")]


def ops_cli(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    return ops(list(argv), out=out), out.getvalue()


def test_a_parked_typeform_lead_is_found_by_email_fixed_and_delivered_once(clean: Stack) -> None:
    event_id = f"tf{uuid.uuid4().hex}"
    email = f"{event_id}@example.se"
    event = typeform_event(event_id)
    # The form's e-mail question points at the `person.email` object instead of its emailAddress.
    form = event["form_response"]
    form["definition"]["fields"][2]["ref"] = form["answers"][2]["field"]["ref"] = "person.email"
    raw = json.dumps(event).encode()
    response = requests.post(
        f"{clean.api}/vitec/person-leads", data=raw, headers=typeform_headers(raw), timeout=30
    )
    assert response.status_code == 422 and response.json()["parked"] is True, response.text

    # The journal holds the address only as a keyed hash; typed in any case, it is found.
    table = boto3.client("dynamodb").scan(TableName=config.IDEMPOTENCY_TABLE)["Items"]
    [item] = [i for i in table if i["deliveryId"]["S"] == event_id]
    assert email not in json.dumps(item) and "+46701234567" not in json.dumps(item)
    assert (item["format"]["S"], item["sourceEventId"]["S"], item["sourceFormId"]["S"]) == (
        "typeform",
        event_id,
        "lh-form",
    )
    code, out = ops_cli("find", "--email", f"  {email.upper()} ")
    assert code == 0, out
    [row] = [line for line in out.splitlines() if event_id in line]
    assert "parked" in row and "invalid_input" in row and "vitec_person_lead" in row
    assert email not in out
    code, out = ops_cli("find", "--phone", "070-123 45 67", "--since", "1h", "--status", "parked")
    assert code == 0 and event_id in out, out

    # An edit that is still invalid queues nothing.
    code, out = ops_cli("edit", event_id, "--set", "person.email=still-not-an-object")
    assert code == 1 and "person.email" in out
    assert len(clean.messages(clean.parked_queue)) == 1
    assert clean.messages(clean.failure_queue) == []

    code, out = ops_cli(
        "edit", event_id, "--unset", "person.email", "--set", f"person.email.emailAddress={email}"
    )
    assert code == 0 and "re-queued" in out, out
    assert clean.messages(clean.parked_queue) == []
    assert drain_once() == 1
    code, out = ops_cli("find", "--email", email)
    [row] = [line for line in out.splitlines() if event_id in line]
    assert "delivered" in row, out
    records = clean.records(operation="person_lead")
    assert len(records) == 1
    assert clean.messages(clean.parked_queue) == []
