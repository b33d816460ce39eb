"""The one way to SQS (DESIGN §8): the failure queue and the parked queue, on the shared boto3 session.

The product (API pipeline, replay worker), the ops CLI and the test harness all go through here:
enqueue with a delay, park with a reason, back off a received message (visibility), receive, delete,
depth. Message attributes carry ids only, never personal data.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from leadhooks import archive
from leadhooks.archive import StoredObject
from leadhooks.aws import get_client
from leadhooks.errors import QueueUnavailableError
from leadhooks.failures import FailureEnvelope, ParkReason
from leadhooks.observability import count, logger
from leadhooks.settings import get_settings

# SQS limits: DelaySeconds at most 15 minutes, a visibility timeout at most 12 hours.
MAX_DELAY_S = 900
MAX_VISIBILITY_S = 43200
# SQS's message size limit: body plus message attributes (names, types and values).
SQS_MAX_MESSAGE_BYTES = 256 * 1024
DEPTH_ATTRIBUTES = (
    "ApproximateNumberOfMessages",
    "ApproximateNumberOfMessagesNotVisible",
    "ApproximateNumberOfMessagesDelayed",
)


def sqs(region: str | None = None) -> Any:
    """The SQS client (built once, lazily: boto3 costs hundreds of ms and most requests never queue)."""
    return get_client("sqs", region)


def attributes(envelope: FailureEnvelope) -> dict[str, Any]:
    attrs = {
        "operation": {"DataType": "String", "StringValue": envelope.operation},
        "deliveryId": {"DataType": "String", "StringValue": envelope.delivery_id},
    }
    if envelope.reason:
        attrs["reason"] = {"DataType": "String", "StringValue": envelope.reason}
    if envelope.pacing_slot_at is not None:  # lets the replay worker take a batch in slot order
        attrs["pacingSlotAt"] = {"DataType": "Number", "StringValue": f"{envelope.pacing_slot_at:.3f}"}
    return attrs


def message_size(body: str, attrs: dict[str, Any]) -> int:
    """The size SQS counts against its limit: the body and every attribute's name, type and value."""
    size = len(body.encode("utf-8"))
    for name, value in attrs.items():
        size += len(name.encode()) + len(str(value.get("DataType", "")).encode())
        size += len(str(value.get("StringValue", "")).encode())
    return size


def fits_in_a_message(body: str, attrs: dict[str, Any]) -> bool:
    return message_size(body, attrs) <= SQS_MAX_MESSAGE_BYTES


def _not_kept(envelope: FailureEnvelope, what: str, exc: Exception) -> QueueUnavailableError:
    logger.error(what, extra={"deliveryId": envelope.delivery_id, "error": type(exc).__name__})
    return QueueUnavailableError("the lead could not be delivered or queued; please retry", details=[])


def send(
    queue_url: str,
    envelope: FailureEnvelope,
    *,
    delay_s: int = 0,
    client: Any = None,
    stored: StoredObject | None = None,
) -> None:
    """One envelope onto one queue, or a pointer to its archived copy when it is larger than an SQS
    message (`stored`: the copy already written, else one is written under `queued/`).
    QueueUnavailableError (503 not_kept) when it cannot be kept."""
    attrs = attributes(envelope)
    body = envelope.to_message()
    if not fits_in_a_message(body, attrs):
        if stored is None:
            try:
                stored = archive.put_text(archive.queued_key(envelope.delivery_id, envelope.operation), body)
            except Exception as exc:  # botocore errors and connection failures alike
                raise _not_kept(envelope, "archive write of a large envelope failed", exc) from None
        body = envelope.pointer(stored).to_message()
    try:
        (client or sqs()).send_message(
            QueueUrl=queue_url,
            MessageBody=body,
            MessageAttributes=attrs,
            DelaySeconds=max(0, min(delay_s, MAX_DELAY_S)),
        )
    except Exception as exc:  # botocore errors and connection failures alike
        raise _not_kept(envelope, "queue write failed", exc) from None


def enqueue(
    envelope: FailureEnvelope, *, delay_s: int = 0, queue_url: str | None = None, client: Any = None
) -> None:
    """Put a delivery on the failure queue for the replay worker."""
    send(queue_url or get_settings().failure_queue_url, envelope, delay_s=delay_s, client=client)
    count("Queued", operation=envelope.operation)
    logger.info("delivery queued", extra={"deliveryId": envelope.delivery_id, "attempt": envelope.attempt})


def park(envelope: FailureEnvelope, reason: ParkReason, *, queue_url: str | None = None) -> None:
    """Hand a delivery to an operator: on the parked DLQ with the reason (its alarm; 14 days) and in the
    parked archive (beyond 14 days, at any size); its record says `parked`.

    The DLQ message is what must succeed (QueueUnavailableError otherwise: the caller's retry is the
    net). An archive write that fails is logged and counted (`ArchiveWriteFailed`) but does not undo
    the park, unless the envelope is too large for SQS: then the archive is the only copy.
    """
    envelope.reason = reason
    envelope.parked_at = datetime.now(UTC)
    stored: StoredObject | None = None
    try:
        key = archive.parked_key(envelope.delivery_id, envelope.operation)
        stored = archive.put_text(key, envelope.to_message())
    except Exception as exc:  # botocore errors and connection failures alike
        count("ArchiveWriteFailed", operation=envelope.operation)
        logger.error(
            "parked archive write failed; the parked queue still has it",
            extra={"deliveryId": envelope.delivery_id, "error": type(exc).__name__},
        )
    send(queue_url or get_settings().parked_queue_url, envelope, stored=stored)
    count("Parked", operation=envelope.operation, reason=reason)
    logger.warning("delivery parked", extra={"deliveryId": envelope.delivery_id, "reason": reason})


def retry_later(receipt_handle: str, delay_s: int, *, queue_url: str | None = None) -> bool:
    """Hide a received failure-queue message for `delay_s` (the replay's back-off). False when SQS
    refused: the message then returns after the queue's own visibility timeout."""
    try:
        sqs().change_message_visibility(
            QueueUrl=queue_url or get_settings().failure_queue_url,
            ReceiptHandle=receipt_handle,
            VisibilityTimeout=max(0, min(delay_s, MAX_VISIBILITY_S)),
        )
    except Exception as exc:
        logger.warning("could not set the replay backoff", extra={"error": type(exc).__name__})
        return False
    return True


def receive(
    queue_url: str, *, max_messages: int = 10, visibility_s: int = 30, wait_s: int = 1, client: Any = None
) -> list[dict[str, Any]]:
    answer = (client or sqs()).receive_message(
        QueueUrl=queue_url,
        MaxNumberOfMessages=max(1, min(max_messages, 10)),
        VisibilityTimeout=visibility_s,
        WaitTimeSeconds=wait_s,
        AttributeNames=["All"],
        MessageAttributeNames=["All"],
    )
    return list(answer.get("Messages", []))


def delete(queue_url: str, receipt_handle: str, *, client: Any = None) -> None:
    (client or sqs()).delete_message(QueueUrl=queue_url, ReceiptHandle=receipt_handle)


def depth(queue_url: str, *, client: Any = None) -> dict[str, int]:
    """Visible, in flight and delayed messages (approximate, as SQS counts them)."""
    found = (client or sqs()).get_queue_attributes(QueueUrl=queue_url, AttributeNames=list(DEPTH_ATTRIBUTES))
    values = found.get("Attributes", {})
    return {name: int(values.get(name, 0)) for name in DEPTH_ATTRIBUTES}
