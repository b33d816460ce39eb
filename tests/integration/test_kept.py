"""Nothing is lost to a size limit or to SQS's 14 days (DESIGN §5, §8), over real HTTP against the
sandbox and the moto server: oversized signed bodies are kept and parked once, every park is archived in
S3, and envelopes larger than an SQS message travel as pointers to the archive."""

from __future__ import annotations

import io
import json
import uuid
from typing import Any

import pytest
import requests

from local.replay_worker import drain_once
from tests.integration.conftest import API_KEY_HEADERS, Stack
from tests.integration.test_delivery import body, post
from tests.integration.test_inbound import typeform_event, typeform_headers, webhook_headers

pytestmark = [pytest.mark.integration, pytest.mark.filterwarnings("ignore:No application metrics")]

LIMIT = 256 * 1024


def oversized_typeform(event_id: str) -> bytes:
    event = typeform_event(event_id)
    event["form_response"]["hidden"]["padding"] = "x" * (LIMIT + 1000)
    return json.dumps(event).encode()


def parked_bodies(stack: Stack) -> list[dict[str, Any]]:
    return [json.loads(m["Body"]) for m in stack.messages(stack.parked_queue)]


def test_an_oversized_signed_body_is_kept_and_parked_once(clean: Stack) -> None:
    event_id = f"tf-big-{uuid.uuid4().hex[:12]}"
    raw = oversized_typeform(event_id)
    first = requests.post(
        f"{clean.api}/vitec/person-leads", data=raw, headers=typeform_headers(raw), timeout=30
    )
    assert first.status_code == 413, first.text
    answer = first.json()
    assert answer["parked"] is True and answer["reason"] == "too_large"
    assert answer["errors"] == [{"field": "body", "reason": "too large"}]
    delivery_id = answer["deliveryId"]
    assert delivery_id == event_id, "known by its Typeform event_id, as every Typeform delivery"
    # The sender retries the same delivery: same answer, not parked a second time.
    again = requests.post(
        f"{clean.api}/vitec/person-leads", data=raw, headers=typeform_headers(raw), timeout=30
    )
    assert again.status_code == 413 and again.json() == answer
    (parked,) = parked_bodies(clean)
    assert parked["deliveryId"] == delivery_id and parked["reason"] == "too_large"
    ref = parked["bodyRef"]
    kept = clean.client("s3").get_object(Bucket=ref["bucket"], Key=ref["key"])["Body"].read()
    assert kept == raw, "the body is kept byte for byte as received"
    assert ref["bytes"] == len(raw)
    archived = clean.archived()
    assert [e["reason"] for e in archived.values()] == ["too_large"]
    assert clean.records() == []


def test_an_oversized_standard_webhook_is_kept_under_its_webhook_id(clean: Stack) -> None:
    payload = body("vitec_area_interest.json")
    payload["updatePerson"]["note"] = "y" * (LIMIT + 10)
    raw = json.dumps(payload).encode()
    msg_id = f"msg_{uuid.uuid4().hex}"
    response = requests.post(
        f"{clean.api}/vitec/area-interests", data=raw, headers=webhook_headers(raw, msg_id), timeout=30
    )
    assert response.status_code == 413, response.text
    assert response.json()["deliveryId"] == msg_id and response.json()["parked"] is True
    assert [p["deliveryId"] for p in parked_bodies(clean)] == [msg_id]


def test_an_oversized_body_from_an_api_key_caller_is_refused_and_not_kept(clean: Stack) -> None:
    raw = json.dumps({"message": "z" * (LIMIT + 10)}).encode()
    response = requests.post(f"{clean.api}/vitec/person-leads", data=raw, headers=API_KEY_HEADERS, timeout=30)
    assert response.status_code == 413
    assert response.json().get("parked", False) is False
    assert clean.messages(clean.parked_queue) == []
    assert clean.archived("") == {}


def test_an_oversized_signed_dry_run_keeps_nothing(clean: Stack) -> None:
    raw = oversized_typeform("tf-big-dry")
    response = requests.post(
        f"{clean.api}/vitec/person-leads?dryRun=true", data=raw, headers=typeform_headers(raw), timeout=30
    )
    assert response.status_code == 413
    assert clean.messages(clean.parked_queue) == [] and clean.archived("") == {}


def test_every_park_is_archived_beyond_the_queue(clean: Stack) -> None:
    payload = body("vitec_viewing_participant.json")
    payload["contactId"] = "c-m10001-999"  # unknown to the vendor: 404, parked vendor_rejected
    key = f"arch-{uuid.uuid4()}"
    response = post(clean, "/vitec/viewing-participants", payload, **{"Idempotency-Key": key})
    assert response.status_code == 422, response.text
    (queued,) = parked_bodies(clean)
    archived = clean.archived()
    (path,) = archived
    assert path == f"parked/{key}/vitec_viewing_participant.json"
    assert archived[path] == queued, "the archive holds the same envelope as the parked queue"


def test_an_envelope_larger_than_an_sqs_message_is_queued_as_a_pointer_and_replayed(clean: Stack) -> None:
    payload = body("vitec_person_lead.json")
    payload["message"] = "Ring mig. " * 15_000  # 150 KB; the envelope holds it twice (request, vendorRequest)
    key = f"large-{uuid.uuid4()}"
    clean.faults(errorRate=1.0, statuses=[503])
    response = post(clean, "/vitec/person-leads", payload, **{"Idempotency-Key": key})
    assert response.status_code == 202 and response.json()["status"] == "queued", response.text
    (message,) = clean.messages(clean.failure_queue)
    assert len(message["Body"]) < 16 * 1024
    pointer = json.loads(message["Body"])
    assert pointer["deliveryId"] == key and "request" not in pointer
    assert pointer["envelopeRef"]["key"].startswith(f"queued/{key}/vitec_person_lead/")
    requests.delete(f"{clean.sandbox}/_sandbox/faults", timeout=5)
    assert drain_once() == 1
    (record,) = clean.records()
    assert record["body"]["message"] == payload["message"].strip()
    assert clean.messages(clean.failure_queue) == []


def test_a_parked_envelope_larger_than_an_sqs_message_points_at_its_archived_copy(clean: Stack) -> None:
    payload = body("vitec_viewing_participant.json")
    payload["contactId"] = "c-m10001-999"
    payload["contactMessage"] = "Hej! " * 30_000  # 150 KB
    key = f"large-park-{uuid.uuid4()}"
    response = post(clean, "/vitec/viewing-participants", payload, **{"Idempotency-Key": key})
    assert response.status_code == 422, response.text
    (pointer,) = parked_bodies(clean)
    assert pointer["reason"] == "vendor_rejected" and "request" not in pointer
    assert pointer["envelopeRef"]["key"] == f"parked/{key}/vitec_viewing_participant.json"
    full = clean.archived()[pointer["envelopeRef"]["key"]]
    assert full["request"]["contactMessage"] == payload["contactMessage"].strip()


# ---- the ops CLI over the real (emulated) queue and archive -----------------------------------------


def ops_cli(*argv: str) -> tuple[int, str]:
    from leadhooks_ops.cli import main

    out = io.StringIO()
    return main(list(argv), out=out), out.getvalue()


def park_rejected(stack: Stack) -> str:
    payload = body("vitec_viewing_participant.json")
    payload["contactId"] = "c-m10001-999"
    key = f"ops-{uuid.uuid4()}"
    assert post(stack, "/vitec/viewing-participants", payload, **{"Idempotency-Key": key}).status_code == 422
    return key


def test_ops_lists_and_replays_from_the_archive_after_the_queue_dropped_it(clean: Stack) -> None:
    key = park_rejected(clean)
    clean.drain(clean.parked_queue)  # what SQS does after 14 days
    code, out = ops_cli("parked", "list")
    assert code == 0 and key in out and "archive" in out and "1 parked delivery" in out
    code, out = ops_cli("parked", "replay", key)
    assert code == 0 and out.startswith("re-queued 1"), out
    (queued,) = [json.loads(m["Body"]) for m in clean.messages(clean.failure_queue)]
    assert (queued["deliveryId"], queued["attempt"]) == (key, 1)
    assert clean.archived() == {}, "replayed: no longer parked in the archive"


def test_ops_survives_poison_on_the_parked_queue(clean: Stack, capsys: pytest.CaptureFixture[str]) -> None:
    sqs = clean.sqs()
    poison = {
        "not JSON": "<html>gateway</html>",
        "nested too deeply": "[" * 50_000 + "]" * 50_000,
        "wrong shape": json.dumps({"deliveryId": 5}),
        "huge": json.dumps({"blob": "z" * 200_000}),
    }
    ids = {
        kind: sqs.send_message(QueueUrl=clean.parked_queue, MessageBody=text)["MessageId"]
        for kind, text in poison.items()
    }
    good = park_rejected(clean)
    for argv in (
        ["parked", "list"],
        ["parked", "show", ids["nested too deeply"]],
        ["parked", "replay", "--all"],
        ["parked", "archive"],
        ["queue", "stats"],
    ):
        code, out = ops_cli(*argv)
        assert code in (0, 1), argv
        assert "Traceback" not in capsys.readouterr().err, argv
    code, out = ops_cli("parked", "list")
    assert "4 message(s) on the parked queue could not be read" in out
    assert all(mid in out for mid in ids.values())
    code, out = ops_cli("parked", "discard", ids["nested too deeply"], "--yes")
    assert code == 0
    remaining = {m["MessageId"] for m in clean.drain(clean.parked_queue)}
    assert remaining == {ids["not JSON"], ids["wrong shape"], ids["huge"]}
    # replay --all re-queued the good one; `parked archive` kept a copy of each unreadable one.
    assert [json.loads(m["Body"])["deliveryId"] for m in clean.messages(clean.failure_queue)] == [good]
    assert len([k for k in clean.archived() if k.startswith("parked/sqs-")]) == 4
