"""The failure envelope (DESIGN §8): what travels on the failure queue and the parked queue.

Transient failures go to the failure queue and are replayed; permanent ones, exhausted ones and
anything a person must look at go to the parked dead-letter queue with a reason. `leadhooks.queues`
puts envelopes on SQS; the delivery record (`leadhooks.deliveries`) says where the delivery stands.
Message attributes carry only ids, never personal data.

Every parked envelope is also written to the parked archive (`leadhooks.archive`, S3), which outlives
SQS's 14 days. An envelope larger than one SQS message (256 KB) is kept in the archive and the queue
carries a pointer to it (`envelopeRef`); `parse_envelope` follows the pointer.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from leadhooks import archive
from leadhooks.archive import StoredObject
from leadhooks.errors import LeadhooksError, VendorError
from leadhooks.masking import mask_text
from leadhooks.policy import ParkReason

__all__ = ["DEFAULT_CLIENT", "FailureEnvelope", "LastError", "ParkReason", "parse_envelope"]

# The client of an envelope queued before envelopes named their client (one tenant then).
DEFAULT_CLIENT = "default"


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
    """Everything needed to deliver later, and nothing that grants access (no credentials).

    `client`, `operation` and `delivery_id` name the delivery record the replay claims."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, serialize_by_alias=True)

    delivery_id: str
    operation: str
    client: str = DEFAULT_CLIENT
    # SHA-256 of the validated request, as the delivery record holds it (None in older envelopes).
    fingerprint: str | None = None
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
