"""The one delivery pipeline every write operation runs (DESIGN §5, §8, §11).

auth → size → parse → adapt → validate → (dry run) → idempotency → vendor → delivered / queued / parked.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from pydantic import BaseModel, ValidationError

from leadhooks import pacing
from leadhooks.core import InboundRequest, Outcome, VendorOperation
from leadhooks.errors import (
    AnswerLostError,
    BadRequestError,
    IdempotencyStoreError,
    InputValidationError,
    LeadhooksError,
    PayloadTooLargeError,
    PermanentVendorError,
    TransientVendorError,
    VendorError,
)
from leadhooks.failures import FailureEnvelope, LastError, enqueue_failure, park
from leadhooks.idempotency import call_once, idempotent
from leadhooks.inbound.adapters import AdaptedInput, parse_body, to_native
from leadhooks.inbound.auth import AuthResult, InboundSecrets, authenticate
from leadhooks.models.api import DeliveryResponse, ErrorBody, FieldError, field_errors_from_validation
from leadhooks.observability import count, logger
from leadhooks.secrets import inbound_secret
from leadhooks.settings import get_settings
from leadhooks.vendors.model_base import OperationRequest

_DELIVERY_ID = re.compile(r"^[A-Za-z0-9._:@-]{1,128}$")


class StoredOutcome(BaseModel):
    """The idempotency record's payload: the first answer, replayed verbatim to repeats."""

    status: int
    body: dict[str, Any]


def authenticate_request(inbound: InboundRequest) -> AuthResult:
    """DESIGN §4: before anything else, including parsing."""
    return authenticate(inbound.headers, inbound.raw_body, InboundSecrets.from_json(inbound_secret()))


def choose_delivery_id(inbound: InboundRequest, auth: AuthResult, adapted: AdaptedInput) -> str:
    for candidate in (adapted.delivery_id, auth.webhook_id, inbound.headers.get("idempotency-key")):
        if candidate:
            if not _DELIVERY_ID.match(candidate):
                raise BadRequestError(
                    "the delivery id (event_id, webhook-id or Idempotency-Key) must be 1-128 characters "
                    "of letters, digits and ._:@-",
                    details=[{"field": "Idempotency-Key", "reason": "invalid format"}],
                )
            return candidate
    canonical = json.dumps(adapted.data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    digest = hashlib.sha256(f"{inbound.route}\n{canonical}".encode()).hexdigest()
    return f"lh-{digest[:40]}"


def fallback_delivery_id(inbound: InboundRequest) -> str:
    """Before the body is understood: the sender's id if it gave one, else a hash of the raw bytes."""
    for header in ("webhook-id", "idempotency-key"):
        value = inbound.headers.get(header)
        if value and _DELIVERY_ID.match(value):
            return value
    digest = hashlib.sha256(inbound.route.encode() + b"\n" + inbound.raw_body).hexdigest()
    return f"lh-{digest[:40]}"


def _raw_text(raw: bytes) -> str:
    return raw.decode("utf-8", errors="replace")


def _validate(spec: VendorOperation, adapted: AdaptedInput) -> OperationRequest:
    try:
        return spec.model.model_validate(adapted.data)
    except ValidationError as exc:
        errors = field_errors_from_validation(exc)
        for err in errors:
            title = adapted.sources.get(err.field)
            if title:
                err.reason = f"{err.reason} (form field '{title}')"
        raise InputValidationError(
            "the request does not pass validation", details=[e.model_dump() for e in errors]
        ) from None


def _envelope(
    spec: VendorOperation, delivery_id: str, model: OperationRequest | None, **extra: Any
) -> FailureEnvelope:
    return FailureEnvelope(
        delivery_id=delivery_id,
        operation=spec.name,
        customer_id=model.customer_id if model is not None else None,
        request=model.model_dump(mode="json", by_alias=True, exclude_none=True)
        if model is not None
        else None,
        vendor_request=spec.describe(model).model_dump(mode="json") if model is not None else None,
        **extra,
    )


def send_to_vendor(spec: VendorOperation, delivery_id: str, model: OperationRequest) -> StoredOutcome:
    """Call the vendor once (with the in-request retry policy) and keep the delivery whatever happens."""
    # Pacing (leadhooks.pacing), the API path's one call site: the customer's shared budget says
    # whether this write goes now or waits for the slot it was given, on the failure queue.
    wait = pacing.acquire(spec.vendor, model.customer_id)
    if wait > 0:
        return _queue_paced(spec, delivery_id, model, wait)
    try:
        result = spec.call(model)
    except AnswerLostError as exc:
        if spec.resend_after_ambiguous:
            return _queue(spec, delivery_id, model, exc)
        envelope = _envelope(spec, delivery_id, model, last_error=LastError.from_exception(exc))
        park(envelope, "answer_lost")
        body = DeliveryResponse(delivery_id=delivery_id, status="parked", parked=True)
        return StoredOutcome(status=202, body=body.to_body())
    except TransientVendorError as exc:
        count("VendorError", vendor=spec.vendor, status=str(exc.vendor_status or "network"))
        return _queue(spec, delivery_id, model, exc)
    except PermanentVendorError as exc:
        count("VendorError", vendor=spec.vendor, status=str(exc.vendor_status or "rejected"))
        envelope = _envelope(
            spec,
            delivery_id,
            model,
            last_error=LastError.from_exception(exc),
            errors=exc.details,
        )
        park(envelope, "vendor_rejected")
        error = ErrorBody(
            delivery_id=delivery_id,
            error=exc.code,
            message=exc.message,
            parked=True,
            errors=[FieldError(**d) for d in exc.details],
            vendor_status=exc.vendor_status,
            vendor_message=exc.message,
        )
        return StoredOutcome(status=422, body=error.to_body())
    count("Delivered", operation=spec.name)
    logger.info("delivered", extra={"deliveryId": delivery_id, "operation": spec.name})
    body = DeliveryResponse(delivery_id=delivery_id, status="delivered", **result)
    return StoredOutcome(status=200, body=body.to_body())


def _queue(
    spec: VendorOperation, delivery_id: str, model: OperationRequest, exc: LeadhooksError
) -> StoredOutcome:
    envelope = _envelope(spec, delivery_id, model, last_error=LastError.from_exception(exc))
    delay = get_settings().replay_backoff_s[0]
    if isinstance(exc, VendorError) and exc.vendor_status == 429 and pacing.enabled():
        # Throttled: back once the customer's budget allows, not after the outage back-off.
        envelope.throttled = 1
        delay = pacing.throttle_delay(exc.retry_after_s)
    enqueue_failure(envelope, delay_s=delay)
    body = DeliveryResponse(delivery_id=delivery_id, status="queued")
    return StoredOutcome(status=202, body=body.to_body())


def _queue_paced(
    spec: VendorOperation, delivery_id: str, model: OperationRequest, wait_s: float
) -> StoredOutcome:
    """Over budget: queued with its reserved slot, which the replay worker keeps (no attempt used)."""
    envelope = _envelope(spec, delivery_id, model)
    envelope.pacing_slot_at = time.time() + wait_s
    enqueue_failure(envelope, delay_s=pacing.queue_delay(wait_s))
    count("PacedQueued", vendor=spec.vendor, customer=model.customer_id)
    body = DeliveryResponse(delivery_id=delivery_id, status="queued")
    return StoredOutcome(status=202, body=body.to_body())


# ---- idempotency -------------------------------------------------------------------------------


def _run(
    *, key: dict[str, str], delivery_id: str, spec: VendorOperation, model: OperationRequest
) -> StoredOutcome:
    return send_to_vendor(spec, delivery_id, model)


@lru_cache(maxsize=1)
def _sender() -> Callable[..., StoredOutcome]:
    return idempotent(_run, StoredOutcome)


def prime() -> None:
    """Build the idempotency store's DynamoDB client now (SnapStart init), not on the first request."""
    _sender()


def send_once(spec: VendorOperation, delivery_id: str, model: OperationRequest) -> StoredOutcome:
    """A repeated deliveryId gets the first answer and never reaches the vendor again."""
    try:
        return call_once(
            _sender(), f"{spec.name}:{delivery_id}", delivery_id=delivery_id, spec=spec, model=model
        )
    except IdempotencyStoreError:
        # The table is unreachable: delivering without it risks a duplicate, refusing risks a loss.
        # We deliver (the vendors de-duplicate persons) and say so in the log.
        logger.warning(
            "idempotency store unavailable; delivering without it", extra={"deliveryId": delivery_id}
        )
        return send_to_vendor(spec, delivery_id, model)


# ---- the pipeline ----------------------------------------------------------------------------


def deliver(spec: VendorOperation, inbound: InboundRequest) -> Outcome:
    """Run one inbound write request through the whole pipeline."""
    auth = authenticate_request(inbound)
    if len(inbound.raw_body) > get_settings().max_body_bytes:
        raise PayloadTooLargeError(
            f"the body is larger than {get_settings().max_body_bytes} bytes",
            details=[{"field": "body", "reason": "too large"}],
        )
    adapted: AdaptedInput | None = None
    delivery_id = fallback_delivery_id(inbound)
    try:
        payload = parse_body(inbound.raw_body, inbound.headers.get("content-type"))
        adapted = to_native(payload, spec.model, query=inbound.query, default_region=spec.phone_region)
        delivery_id = choose_delivery_id(inbound, auth, adapted)
        logger.set_correlation_id(delivery_id)
        model = _validate(spec, adapted)
    except (BadRequestError, InputValidationError) as exc:
        exc.delivery_id = delivery_id
        if not auth.signed:
            raise
        # A signed webhook sender never reads the answer and does not retry a 4xx: keep it for an
        # operator, whether it failed validation (422) or could not even be parsed (400).
        envelope = _envelope(
            spec, delivery_id, None, errors=exc.details, last_error=LastError.from_exception(exc)
        )
        envelope.request = adapted.data if adapted is not None else {"raw": _raw_text(inbound.raw_body)}
        park(envelope, "invalid_input")
        error = ErrorBody(
            delivery_id=delivery_id,
            error=exc.code,
            message=exc.message,
            parked=True,
            errors=[FieldError(**d) for d in exc.details],
        )
        return Outcome.of(exc.status, error)
    if inbound.dry_run:
        vreq = spec.describe(model)
        body = DeliveryResponse(
            delivery_id=delivery_id,
            status="dry_run",
            vendor_request={"method": vreq.method, "path": vreq.path, "body": vreq.body},
        )
        return Outcome.of(200, body)
    try:
        stored = send_once(spec, delivery_id, model)
    except LeadhooksError as exc:
        exc.delivery_id = delivery_id
        raise
    return Outcome(stored.status, stored.body)
