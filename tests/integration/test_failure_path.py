"""The failure path end to end on the local stack, real HTTP and real (emulated) SQS, no mocks:
API → failure queue → replay worker → vendor sandbox; permanent failures → parked queue → ops CLI."""

from __future__ import annotations

import io
import json
import uuid
from typing import Any

import pytest
import requests
from leadhooks.settings import get_settings
from leadhooks_ops.cli import main as ops

from functions.failure_replay.app import lambda_handler
from local import config
from local.replay_worker import LocalLambdaContext, Worker, build_event, drain_once
from tests.integration.conftest import Stack
from tests.integration.test_delivery import body, post

pytestmark = [pytest.mark.integration, pytest.mark.filterwarnings("ignore:No application metrics")]

SECRETS = (
    "local-pass-m10001",
    "api-m10001",
    "local-omnicasa-secret-key",
    config.API_KEY,
    "Authorization",
    "password",
)


def send(stack: Stack, route: str, payload: Any, key: str) -> requests.Response:
    return post(stack, route, payload, **{"Idempotency-Key": key})


def envelopes(stack: Stack, queue_url: str) -> list[dict[str, Any]]:
    return [json.loads(m["Body"]) for m in stack.messages(queue_url)]


def ops_cli(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    return ops(list(argv), out=out), out.getvalue()


def unknown_contact_participant() -> dict[str, Any]:
    payload = body("vitec_viewing_participant.json")
    payload["contactId"] = "c-m10001-999"  # valid for the model, unknown to the vendor: 404
    return payload


def park_one(stack: Stack) -> str:
    key = f"perm-{uuid.uuid4()}"
    response = send(stack, "/vitec/viewing-participants", unknown_contact_participant(), key)
    assert response.status_code == 422, response.text
    return key


# ---- (a) transient failure → queued → replayed exactly once ------------------------------------


def test_transient_failure_is_queued_then_replayed_exactly_once(clean: Stack) -> None:
    clean.faults(errorRate=1, statuses=[503])
    key = f"transient-{uuid.uuid4()}"
    response = send(clean, "/vitec/person-leads", body("vitec_person_lead.json"), key)
    assert response.status_code == 202, response.text
    assert (response.json()["status"], response.json()["deliveryId"]) == ("queued", key)

    [message] = clean.messages(clean.failure_queue)
    assert set(message["MessageAttributes"]) == {"operation", "deliveryId"}
    assert message["MessageAttributes"]["deliveryId"]["StringValue"] == key
    assert message["MessageAttributes"]["operation"]["StringValue"] == "vitec_person_lead"
    for secret in SECRETS:
        assert secret not in message["Body"]
    envelope = json.loads(message["Body"])
    assert (envelope["deliveryId"], envelope["attempt"]) == (key, 1)
    assert envelope["operation"] == "vitec_person_lead"
    assert envelope["lastError"]["status"] == 503
    assert envelope["request"]["person"]["firstName"] == "Anna"
    assert clean.records(operation="person_lead") == []

    requests.delete(f"{clean.sandbox}/_sandbox/faults", timeout=5)
    assert drain_once() == 1
    [record] = clean.records(operation="person_lead")
    assert record["body"]["person"]["firstName"] == "Anna"
    assert clean.messages(clean.failure_queue) == [] and clean.messages(clean.parked_queue) == []

    # Nothing left to do, and a second delivery of the very same SQS event writes nothing.
    assert drain_once() == 0
    worker = Worker()
    event = build_event([message], worker.queue_arn, worker.region)
    assert lambda_handler(event, LocalLambdaContext(worker.region)) == {"batchItemFailures": []}
    # The same envelope queued once more (e.g. an operator replay of a stale copy): still one write.
    clean.sqs().send_message(
        QueueUrl=clean.failure_queue,
        MessageBody=message["Body"],
        MessageAttributes={
            k: {"DataType": v["DataType"], "StringValue": v["StringValue"]}
            for k, v in message["MessageAttributes"].items()
        },
    )
    assert drain_once() == 1
    assert len(clean.records(operation="person_lead")) == 1
    assert clean.messages(clean.failure_queue) == [] and clean.messages(clean.parked_queue) == []


def test_queued_omnicasa_delivery_keeps_no_secret_key(clean: Stack) -> None:
    clean.faults(errorRate=1, statuses=[500])
    key = f"omni-{uuid.uuid4()}"
    response = send(clean, "/omnicasa/contact-on-me", body("omnicasa_contact_on_me.json"), key)
    assert response.status_code == 202, response.text
    [message] = clean.messages(clean.failure_queue)
    for secret in SECRETS:
        assert secret not in message["Body"]
    requests.delete(f"{clean.sandbox}/_sandbox/faults", timeout=5)
    assert drain_once() == 1
    assert len(clean.records(operation="contact_on_me")) == 1


def test_vendor_down_through_every_replay_parks_attempts_exhausted(clean: Stack) -> None:
    clean.faults(errorRate=1, statuses=[503])
    key = f"exhaust-{uuid.uuid4()}"
    response = send(clean, "/vitec/area-interests", body("vitec_area_interest.json"), key)
    assert response.status_code == 202, response.text
    steps = len(get_settings().replay_backoff_s)
    # REPLAY_BACKOFF_S is all zeros here: each failed replay is visible again at once.
    assert drain_once(max_batches=steps + 3) == steps
    assert clean.messages(clean.failure_queue) == []
    [parked] = envelopes(clean, clean.parked_queue)
    assert (parked["deliveryId"], parked["reason"], parked["attempt"]) == (key, "attempts_exhausted", steps)
    assert parked["lastError"]["kind"] == "TransientVendorError"
    assert clean.records(operation="area_interest") == []

    # The vendor is back: an operator replays it, and it is delivered once.
    requests.delete(f"{clean.sandbox}/_sandbox/faults", timeout=5)
    code, out = ops_cli("parked", "replay", "--all", "--reason", "attempts_exhausted")
    assert code == 0 and out.startswith("re-queued 1 on the failure queue"), out
    assert "not replayable 0, failed 0" in out
    assert drain_once() == 1
    assert len(clean.records(operation="area_interest")) == 1
    assert clean.messages(clean.parked_queue) == []


# ---- (b) permanent vendor rejection → 422 + parked -------------------------------------------


def test_permanent_vendor_rejection_answers_422_and_parks(clean: Stack) -> None:
    key = f"perm-{uuid.uuid4()}"
    response = send(clean, "/vitec/viewing-participants", unknown_contact_participant(), key)
    assert response.status_code == 422, response.text
    answer = response.json()
    assert answer["deliveryId"] == key
    assert answer["parked"] is True
    assert answer["error"] == "vendor_rejected"
    assert answer["vendorStatus"] == 404
    assert answer["vendorMessage"]
    assert clean.messages(clean.failure_queue) == []
    [message] = clean.messages(clean.parked_queue)
    assert message["MessageAttributes"]["reason"]["StringValue"] == "vendor_rejected"
    parked = json.loads(message["Body"])
    assert (parked["deliveryId"], parked["reason"], parked["operation"]) == (
        key,
        "vendor_rejected",
        "vitec_viewing_participant",
    )
    assert parked["lastError"]["status"] == 404
    for secret in SECRETS:
        assert secret not in message["Body"]
    assert clean.records(operation="viewing_participant") == []


# ---- (c) the ops CLI on parked deliveries -----------------------------------------------------


def test_ops_cli_lists_shows_replays_and_discards(clean: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    first, second = park_one(clean), park_one(clean)
    message_text = unknown_contact_participant()["contactMessage"]

    code, out = ops_cli("parked", "list")
    assert code == 0
    assert first in out and second in out and "vendor_rejected" in out
    assert out.splitlines()[-1] == "2 parked deliveries"
    assert len(clean.messages(clean.parked_queue)) == 2  # listing consumed nothing

    code, out = ops_cli("parked", "show", first)
    shown = json.loads(out)
    assert code == 0 and shown["deliveryId"] == first
    assert shown["request"]["contactMessage"] == "*****"
    assert message_text not in out
    code, out = ops_cli("parked", "show", first, "--reveal")
    assert json.loads(out)["request"]["contactMessage"] == message_text

    code, out = ops_cli("parked", "replay", first)
    assert code == 0 and out.startswith("re-queued 1 on the failure queue"), out
    assert "not replayable 0, failed 0" in out
    [queued] = envelopes(clean, clean.failure_queue)
    assert (queued["deliveryId"], queued["attempt"]) == (first, 1)
    assert "reason" not in queued
    assert [e["deliveryId"] for e in envelopes(clean, clean.parked_queue)] == [second]
    # Still unknown to the vendor: the replay parks it again, with the vendor's reason.
    assert drain_once() == 1
    assert sorted(e["deliveryId"] for e in envelopes(clean, clean.parked_queue)) == sorted([first, second])

    monkeypatch.setattr("builtins.input", lambda _prompt: "n")
    assert ops_cli("parked", "discard", second) == (1, f"kept {second}\n")
    assert len(clean.messages(clean.parked_queue)) == 2
    assert ops_cli("parked", "discard", second, "--yes") == (0, f"discarded {second}\n")
    assert [e["deliveryId"] for e in envelopes(clean, clean.parked_queue)] == [first]

    code, out = ops_cli("queue", "stats")
    assert code == 0
    rows = {line.split()[0]: line.split()[1:4] for line in out.splitlines()[1:]}
    assert rows["parked"][0] == "1" and rows["failure"] == ["0", "0", "0"]


# ---- (d) malformed messages are parked -------------------------------------------------------


def test_malformed_messages_are_parked_not_looped(clean: Stack) -> None:
    sqs = clean.sqs()
    sqs.send_message(
        QueueUrl=clean.failure_queue,
        MessageBody="this is not json",
        MessageAttributes={
            "deliveryId": {"DataType": "String", "StringValue": "bad-1"},
            "operation": {"DataType": "String", "StringValue": "vitec_person_lead"},
        },
    )
    sqs.send_message(
        QueueUrl=clean.failure_queue,
        MessageBody=json.dumps({"deliveryId": "bad-2", "operation": "no_such_operation", "request": {}}),
    )
    stale = {"deliveryId": "bad-3", "operation": "vitec_person_lead", "request": {"customerId": "M10001"}}
    sqs.send_message(QueueUrl=clean.failure_queue, MessageBody=json.dumps(stale))
    assert drain_once() == 3
    assert clean.messages(clean.failure_queue) == []
    parked = {e["deliveryId"]: e for e in envelopes(clean, clean.parked_queue)}
    assert set(parked) == {"bad-1", "bad-2", "bad-3"}
    assert {e["reason"] for e in parked.values()} == {"malformed_message"}
    assert parked["bad-1"]["request"] == {"rawBody": "this is not json"}
    assert {e["field"] for e in parked["bad-3"]["errors"]} >= {"person", "leadSource"}
    assert clean.records() == []


# ---- (e) neither delivered nor queued → 503 not_kept -------------------------------------------


def test_vendor_down_and_queue_unavailable_answers_503_not_kept(
    clean: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    clean.faults(errorRate=1, statuses=[503])
    key = f"notkept-{uuid.uuid4()}"
    # The API runs in this process: its cached settings can point at a queue that does not exist.
    monkeypatch.setattr(get_settings(), "failure_queue_url", f"{clean.failure_queue}-does-not-exist")
    response = send(clean, "/vitec/person-leads", body("vitec_person_lead.json"), key)
    assert response.status_code == 503, response.text
    answer = response.json()
    assert (answer["error"], answer["deliveryId"]) == ("not_kept", key)
    assert clean.messages(clean.failure_queue) == []
    monkeypatch.undo()
    # Nothing was remembered for this deliveryId: the caller's retry is the net, and it is queued now.
    retry = send(clean, "/vitec/person-leads", body("vitec_person_lead.json"), key)
    assert retry.status_code == 202, retry.text
    assert [e["deliveryId"] for e in envelopes(clean, clean.failure_queue)] == [key]
