"""The failure envelope and the two queues it travels on (DESIGN §8).

Transient failures go to the failure queue and are replayed; permanent ones, exhausted ones and
anything a person must look at go to the parked dead-letter queue with a reason. Message
attributes carry only ids, never personal data.

Every parked envelope is also written to the parked archive (`leadhooks.archive`, S3), which outlives
SQS's 14 days. An envelope larger than one SQS message (256 KB) is kept in the archive and the queue
carries a pointer to it (`envelopeRef`); `parse_envelope` follows the pointer.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from leadhooks import archive
from leadhooks.archive import StoredObject
from leadhooks.errors import LeadhooksError, QueueUnavailableError, VendorError
from leadhooks.masking import mask_text
from leadhooks.observability import count, logger
from leadhooks.settings import get_settings

ParkReason = Literal[
    "vendor_rejected",
    "invalid_input",
    "answer_lost",
    "attempts_exhausted",
    "malformed_message",
    "operator",
    "forbidden",  # a signed sender's delivery for a customer or operation its client may not reach
]
# Reasons parked by code outside the pipeline above (kept apart so parallel additions merge cleanly).
ParkReasonKept = Literal["too_large"]

# SQS's message size limit: body plus message attributes (names, types and values).
SQS_MAX_MESSAGE_BYTES = 256 * 1024


class LastError(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, serialize_by_alias=True)

    kind: str
    status: int | None = None
    code: str | int | None = None
    message: str

    @classmethod
    def from_exception(cls, exc: LeadhooksError) -> LastError:
        status = exc.vendor_status if isinstance(exc, VendorError) else exc.status
        code = exc.vendor_code if isinstance(exc, VendorError) and exc.vendor_code is not None else exc.code
        return cls(kind=type(exc).__name__, status=status, code=code, message=mask_text(exc.message)[:500])


class FailureEnvelope(BaseModel):
    """Everything needed to deliver later, and nothing that grants access (no credentials)."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, serialize_by_alias=True)

    delivery_id: str
    operation: str
    customer_id: str | None = None
    attempt: int = Field(1, ge=1)
    first_seen_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    # The validated native request (vendor names, path parameters included): replay re-validates it.
    request: dict[str, Any] | None = None
    # The vendor call as it would be sent (secrets as placeholders), for operators.
    vendor_request: dict[str, Any] | None = None
    last_error: LastError | None = None
    errors: list[dict[str, Any]] = Field(default_factory=list)
    reason: ParkReason | ParkReasonKept | None = None
    parked_at: datetime | None = None
    # A body kept as received in the archive (reason too_large): nothing else holds the lead.
    body_ref: StoredObject | None = None
    # On a queue message: the whole envelope is in the archive (it did not fit in one SQS message).
    envelope_ref: StoredObject | None = None

    def to_message(self) -> str:
        return self.model_dump_json(by_alias=True, exclude_none=True)

    def pointer(self, ref: StoredObject) -> FailureEnvelope:
        """What the queue carries when the envelope is too large: ids, reason, error, and where it is."""
        return self.model_copy(
            update={"request": None, "vendor_request": None, "errors": [], "envelope_ref": ref}
        )


@lru_cache(maxsize=1)
def get_sqs() -> Any:
    """Built once, lazily: boto3 costs hundreds of ms at import, and most requests never need it."""
    import boto3

    return boto3.client("sqs")


def _attributes(envelope: FailureEnvelope) -> dict[str, Any]:
    attrs = {
        "operation": {"DataType": "String", "StringValue": envelope.operation},
        "deliveryId": {"DataType": "String", "StringValue": envelope.delivery_id},
    }
    if envelope.reason:
        attrs["reason"] = {"DataType": "String", "StringValue": envelope.reason}
    return attrs


def message_size(body: str, attributes: dict[str, Any]) -> int:
    """The size SQS counts against its limit: the body and every attribute's name, type and value."""
    size = len(body.encode("utf-8"))
    for name, value in attributes.items():
        size += len(name.encode()) + len(str(value.get("DataType", "")).encode())
        size += len(str(value.get("StringValue", "")).encode())
    return size


def fits_in_a_message(body: str, attributes: dict[str, Any]) -> bool:
    return message_size(body, attributes) <= SQS_MAX_MESSAGE_BYTES


def _not_kept(envelope: FailureEnvelope, what: str, exc: Exception) -> QueueUnavailableError:
    logger.error(what, extra={"deliveryId": envelope.delivery_id, "error": type(exc).__name__})
    return QueueUnavailableError("the lead could not be delivered or queued; please retry", details=[])


def _send(
    queue_url: str, envelope: FailureEnvelope, delay_s: int = 0, *, stored: StoredObject | None = None
) -> None:
    """Send the envelope, or a pointer to its archived copy when it is larger than an SQS message
    (`stored`: the copy already written, else one is written under `queued/`)."""
    attributes = _attributes(envelope)
    body = envelope.to_message()
    if not fits_in_a_message(body, attributes):
        if stored is None:
            try:
                stored = archive.put_text(archive.queued_key(envelope.delivery_id, envelope.operation), body)
            except Exception as exc:  # botocore errors and connection failures alike
                raise _not_kept(envelope, "archive write of a large envelope failed", exc) from None
        body = envelope.pointer(stored).to_message()
    try:
        get_sqs().send_message(
            QueueUrl=queue_url,
            MessageBody=body,
            MessageAttributes=attributes,
            DelaySeconds=max(0, min(delay_s, 900)),
        )
    except Exception as exc:  # botocore errors and connection failures alike
        logger.error(
            "queue write failed",
            extra={"deliveryId": envelope.delivery_id, "error": type(exc).__name__},
        )
        raise QueueUnavailableError(
            "the lead could not be delivered or queued; please retry", details=[]
        ) from None


def enqueue_failure(envelope: FailureEnvelope, *, delay_s: int = 0) -> None:
    """Put a transient failure on the failure queue for the replay worker."""
    _send(get_settings().failure_queue_url, envelope, delay_s)
    count("Queued", operation=envelope.operation)
    logger.info("delivery queued", extra={"deliveryId": envelope.delivery_id, "attempt": envelope.attempt})


def park(envelope: FailureEnvelope, reason: ParkReason | ParkReasonKept) -> None:
    """Hand a delivery to an operator: on the parked DLQ with the reason (its alarm; 14 days) and in the
    parked archive (beyond 14 days, at any size).

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
    _send(get_settings().parked_queue_url, envelope, stored=stored)
    count("Parked", operation=envelope.operation, reason=reason)
    logger.warning("delivery parked", extra={"deliveryId": envelope.delivery_id, "reason": reason})


def parse_envelope(body: str, *, resolve: bool = True) -> FailureEnvelope:
    """Decode a queue message; raises ValueError for anything that is not an envelope.

    A pointer (`envelopeRef`, an envelope too large for SQS) is followed to the archive unless
    `resolve` is false; a failed archive read raises (the message is retried, not parked as malformed).
    """
    try:
        data = json.loads(body)
    except RecursionError:  # nested deeper than the parser goes: not an envelope
        raise ValueError("the message is nested too deeply") from None
    envelope = FailureEnvelope.model_validate(data)
    if resolve and envelope.envelope_ref is not None and envelope.request is None:
        full = FailureEnvelope.model_validate(json.loads(archive.get_text(envelope.envelope_ref)))
        full.envelope_ref = envelope.envelope_ref
        return full
    return envelope
