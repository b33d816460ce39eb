"""The failure envelope (DESIGN §8): what travels on the failure queue and the parked queue.

`leadhooks.queues` puts it on SQS; the delivery record (`leadhooks.deliveries`) says where the
delivery stands. Message attributes carry only ids, never personal data.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

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
    errors: list[dict[str, Any]] = Field(default_factory=list)
    reason: ParkReason | None = None
    parked_at: datetime | None = None

    def to_message(self) -> str:
        return self.model_dump_json(by_alias=True, exclude_none=True)


def parse_envelope(body: str) -> FailureEnvelope:
    """Decode a queue message; raises ValueError for anything that is not an envelope."""
    return FailureEnvelope.model_validate(json.loads(body))
