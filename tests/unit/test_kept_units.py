"""Units of the parked archive and the failure envelope's size handling (no AWS)."""

from __future__ import annotations

import json

import pytest
from leadhooks import archive
from leadhooks.archive import StoredObject
from leadhooks.failures import FailureEnvelope, parse_envelope
from leadhooks.queues import SQS_MAX_MESSAGE_BYTES, fits_in_a_message, message_size


def test_keys_keep_ids_readable_and_escape_anything_else() -> None:
    assert (
        archive.parked_key("tf-123:abc@x", "vitec_person_lead")
        == "parked/tf-123:abc@x/vitec_person_lead.json"
    )
    assert archive.parked_key("../../etc", "op") == "parked/..%2F..%2Fetc/op.json"
    assert archive.parked_key("..", "op") == "parked/_/op.json"
    assert archive.body_key("d/1", "op") == "bodies/d%2F1/op.bin"
    assert archive.queued_key("d", "op").startswith("queued/d/op/")
    assert archive.parked_prefix("d") == "parked/d/"


def test_message_size_counts_body_and_attributes_as_sqs_does() -> None:
    attributes = {"deliveryId": {"DataType": "String", "StringValue": "åäö"}}
    assert message_size("ab", attributes) == 2 + len("deliveryId") + len("String") + len("åäö".encode())
    assert fits_in_a_message("x" * (SQS_MAX_MESSAGE_BYTES - 100), {})
    assert not fits_in_a_message("x" * SQS_MAX_MESSAGE_BYTES, attributes)


def test_a_pointer_keeps_ids_and_drops_the_payload() -> None:
    envelope = FailureEnvelope(
        delivery_id="d-1", operation="vitec_person_lead", request={"message": "x"}, vendor_request={"a": 1}
    )
    pointer = envelope.pointer(StoredObject(bucket="b", key="parked/d-1/vitec_person_lead.json"))
    data = json.loads(pointer.to_message())
    assert data["deliveryId"] == "d-1" and data["envelopeRef"]["key"].startswith("parked/d-1/")
    assert "request" not in data and "vendorRequest" not in data
    assert parse_envelope(pointer.to_message(), resolve=False).envelope_ref is not None


@pytest.mark.parametrize("body", ["[" * 100_000, '{"a":' * 100_000])
def test_a_message_nested_past_the_parser_is_not_an_envelope(body: str) -> None:
    with pytest.raises(ValueError, match="nested too deeply"):
        parse_envelope(body)


class StubSQS:
    def __init__(self, fail: bool = False) -> None:
        self.sent: list[dict[str, object]] = []
        self.fail = fail

    def send_message(self, **kwargs: object) -> None:
        if self.fail:
            raise ConnectionError("queue down")
        self.sent.append(kwargs)


def _big_envelope() -> FailureEnvelope:
    return FailureEnvelope(
        delivery_id="d-big", operation="vitec_person_lead", request={"message": "x" * 300_000}
    )


def test_park_survives_an_archive_outage_when_the_queue_can_hold_it(monkeypatch: pytest.MonkeyPatch) -> None:
    from leadhooks import queues

    sqs = StubSQS()
    monkeypatch.setattr(queues, "sqs", lambda: sqs)

    def down(*_: object, **__: object) -> StoredObject:
        raise ConnectionError("s3 down")

    monkeypatch.setattr(queues.archive, "put_text", down)
    queues.park(FailureEnvelope(delivery_id="d-1", operation="vitec_person_lead"), "vendor_rejected")
    (message,) = sqs.sent
    assert json.loads(str(message["MessageBody"]))["reason"] == "vendor_rejected"


def test_park_of_a_large_envelope_needs_the_archive(monkeypatch: pytest.MonkeyPatch) -> None:
    from leadhooks import queues
    from leadhooks.errors import QueueUnavailableError

    sqs = StubSQS()
    monkeypatch.setattr(queues, "sqs", lambda: sqs)

    def down(*_: object, **__: object) -> StoredObject:
        raise ConnectionError("s3 down")

    monkeypatch.setattr(queues.archive, "put_text", down)
    with pytest.raises(QueueUnavailableError):
        queues.park(_big_envelope(), "vendor_rejected")
    assert sqs.sent == []


def test_park_of_a_large_envelope_queues_a_pointer_to_its_archived_copy(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from leadhooks import queues

    sqs = StubSQS()
    written: list[str] = []
    monkeypatch.setattr(queues, "sqs", lambda: sqs)

    def put(key: str, text: str) -> StoredObject:
        written.append(key)
        return StoredObject(bucket="b", key=key, version_id="v1")

    monkeypatch.setattr(queues.archive, "put_text", put)
    queues.park(_big_envelope(), "answer_lost")
    assert written == ["parked/d-big/vitec_person_lead.json"]  # one copy: the archive is the payload
    body = json.loads(str(sqs.sent[0]["MessageBody"]))
    assert body["envelopeRef"] == {"bucket": "b", "key": written[0], "versionId": "v1"}
    assert body["reason"] == "answer_lost" and "request" not in body
