"""The failure envelope and the two queues it travels on (DESIGN §8).

Transient failures go to the failure queue and are replayed; permanent ones, exhausted ones and
anything a person must look at go to the parked dead-letter queue with a reason. Message
attributes carry only ids, never personal data.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from leadhooks.errors import LeadhooksError, QueueUnavailableError, VendorError
from leadhooks.masking import mask_text
from leadhooks.observability import count, logger
from leadhooks.settings import get_settings

ParkReason = Literal[
    "vendor_rejected", "invalid_input", "answer_lost", "attempts_exhausted", "malformed_message", "operator"
]


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
    # Pacing (leadhooks.pacing): the epoch second of the budget slot reserved for this delivery, and
    # how many vendor 429s it has met. Neither is an attempt: pacing never parks a delivery.
    pacing_slot_at: float | None = None
    throttled: int = Field(0, ge=0)
    errors: list[dict[str, Any]] = Field(default_factory=list)
    reason: ParkReason | None = None
    parked_at: datetime | None = None

    def to_message(self) -> str:
        return self.model_dump_json(by_alias=True, exclude_none=True)


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
    if envelope.pacing_slot_at is not None:  # lets the replay worker take a batch in slot order
        attrs["pacingSlotAt"] = {"DataType": "Number", "StringValue": f"{envelope.pacing_slot_at:.3f}"}
    return attrs


def _send(queue_url: str, envelope: FailureEnvelope, delay_s: int = 0) -> None:
    try:
        get_sqs().send_message(
            QueueUrl=queue_url,
            MessageBody=envelope.to_message(),
            MessageAttributes=_attributes(envelope),
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


def park(envelope: FailureEnvelope, reason: ParkReason) -> None:
    """Hand a delivery to an operator: it stays on the parked DLQ with the reason (14 days)."""
    envelope.reason = reason
    envelope.parked_at = datetime.now(UTC)
    _send(get_settings().parked_queue_url, envelope)
    count("Parked", operation=envelope.operation, reason=reason)
    logger.warning("delivery parked", extra={"deliveryId": envelope.delivery_id, "reason": reason})


def parse_envelope(body: str) -> FailureEnvelope:
    """Decode a queue message; raises ValueError for anything that is not an envelope."""
    return FailureEnvelope.model_validate(json.loads(body))
