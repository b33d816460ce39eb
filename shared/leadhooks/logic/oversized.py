"""A signed body over the size limit is kept, not refused into the void (DESIGN §5, §8).

A webhook sender (Typeform, Standard Webhooks) does not read a 413 and does not fix its body, so the
body is stored as received in the parked archive (S3) and parked with reason `too_large`, once per
deliveryId: a sender's retry of the same delivery finds it kept (an S3 conditional write) and gets the
same answer without a second park. The answer stays 413 (the body *is* too large, and the sender's
delivery log should say so) with `parked: true` and `reason: "too_large"`, as 400/422 answers to
signed senders carry `parked: true`. An API-key caller is a program that reads its answer: it gets
413 and nothing is kept. If the body cannot be stored, the answer is 503 `not_kept` and the sender's
retry is the net.
"""

from __future__ import annotations

import json
import re
from typing import Final

from leadhooks import archive
from leadhooks.core import InboundRequest, Outcome, VendorOperation
from leadhooks.errors import QueueUnavailableError
from leadhooks.failures import FailureEnvelope, LastError
from leadhooks.models.api import ErrorBody, FieldError
from leadhooks.observability import count, logger
from leadhooks.queues import park

REASON: Final = "too_large"
_EVENT_ID = re.compile(r"^[A-Za-z0-9._:@-]{1,128}$")


def too_large_message(limit: int) -> str:
    return f"the body is larger than {limit} bytes"


def typeform_event_id(inbound: InboundRequest) -> str | None:
    """A Typeform delivery is known by its `event_id` everywhere else (DESIGN §5): find it here too."""
    if "typeform-signature" not in inbound.headers:
        return None
    try:
        data = json.loads(inbound.raw_body)
    except (ValueError, RecursionError):  # not JSON, or nested past the parser: keep it by its hash
        return None
    event_id = data.get("event_id") if isinstance(data, dict) else None
    return event_id if isinstance(event_id, str) and _EVENT_ID.match(event_id) else None


def keep_oversized(spec: VendorOperation, inbound: InboundRequest, fallback_id: str, limit: int) -> Outcome:
    """Store the raw body once per deliveryId, park it (`too_large`), answer 413 with `parked: true`.

    The deliveryId is Typeform's `event_id`, else `fallback_id` (webhook-id, Idempotency-Key, or a hash
    of the raw body: a sender's retry of the same bytes is the same delivery)."""
    delivery_id = typeform_event_id(inbound) or fallback_id
    content_type = inbound.headers.get("content-type") or "application/octet-stream"
    key = archive.body_key(delivery_id, spec.name)
    log = {"deliveryId": delivery_id, "operation": spec.name, "bytes": len(inbound.raw_body)}
    try:
        stored, first = archive.put_once(key, inbound.raw_body, content_type[:200])
    except Exception as exc:  # botocore errors and connection failures alike
        logger.error("oversized body could not be kept", extra={**log, "error": type(exc).__name__})
        raise QueueUnavailableError(
            "the body is too large and could not be kept; please retry", details=[]
        ) from None
    message = too_large_message(limit)
    if first:
        envelope = FailureEnvelope(
            delivery_id=delivery_id,
            operation=spec.name,
            body_ref=stored,
            last_error=LastError(kind="PayloadTooLargeError", status=413, code=REASON, message=message),
            errors=[{"field": "body", "reason": "too large"}],
        )
        try:
            park(envelope, REASON)
        except QueueUnavailableError:
            # Not parked: forget the body too, so the sender's retry parks it instead of finding it "kept".
            try:
                archive.delete(stored)
            except Exception as exc:
                logger.error("could not undo the oversized body", extra={**log, "error": type(exc).__name__})
            raise
    else:
        count("OversizedRepeat", operation=spec.name)
        logger.info("oversized delivery already kept; not parked again", extra=log)
    body = ErrorBody(
        delivery_id=delivery_id,
        error="payload_too_large",
        message=f"{message}; it was kept for an operator",
        errors=[FieldError(field="body", reason="too large")],
        parked=True,
        reason=REASON,
    )
    return Outcome.of(413, body)
