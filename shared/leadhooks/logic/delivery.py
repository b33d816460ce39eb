"""The one delivery pipeline every write operation runs (DESIGN §5, §8, §11).

auth → size → parse → adapt → validate → (dry run) → delivery record → vendor → delivered / queued /
parked. The record (`leadhooks.deliveries`) makes a delivery happen once per client, operation and
deliveryId, and holds the write bound; what follows each outcome is `leadhooks.policy`'s decision.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from leadhooks import pacing
from leadhooks.catalog import entry as catalog_entry
from leadhooks.core import InboundRequest, Outcome, VendorOperation
from leadhooks.deliveries import DeliveryKey, Lease, Record, StoredAnswer, get_store, iso, now_s
from leadhooks.errors import (
    BadRequestError,
    ConflictError,
    ForbiddenError,
    IdempotencyKeyReusedError,
    IdempotencyStoreError,
    InputValidationError,
    LeadhooksError,
    PayloadTooLargeError,
    PermanentVendorError,
    QueueUnavailableError,
    VendorError,
)
from leadhooks.inbound.adapters import AdaptedInput, parse_body, to_native
from leadhooks.inbound.auth import AuthResult
from leadhooks.inbound.mapping import ClientMapping
from leadhooks.inbound.scope import authorize, customer_in
from leadhooks.logic.caller import DELIVERY_ID as _DELIVERY_ID
from leadhooks.logic.caller import authenticate_request, valid_delivery_id
from leadhooks.models.api import (
    DeliveryResponse,
    ErrorBody,
    FieldError,
    FieldWarning,
    field_errors_from_validation,
)
from leadhooks.observability import count, logger
from leadhooks.policy import (
    Action,
    Decision,
    Kind,
    ParkReason,
    classify,
    decide,
    gives_back_the_bound,
    write_bound,
)
from leadhooks.secrets import inbound_clients
from leadhooks.settings import get_settings
from leadhooks.vendors.model_base import OperationRequest, VendorModel
from leadhooks.vendors.normalise import prepare

if TYPE_CHECKING:
    from leadhooks.failures import FailureEnvelope

# The failure path's modules (leadhooks.queues, .failures, .archive, .logic.oversized) are imported where
# a delivery is queued or parked: a delivered lead never loads them (cold start, docs/benchmarks.md).
__all__ = ["authenticate_request", "deliver", "valid_delivery_id"]


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


def client_mapping(client: str, scope: str) -> ClientMapping | None:
    """The authenticated client's mapping(s) for this operation scope (`mappings.<scope>` of its entry
    in the inbound secret, parsed with the clients; docs/inbound.md §5), or None."""
    found = inbound_clients().client(client)
    return found.mappings.get(scope) if found is not None else None


def _raw_text(raw: bytes) -> str:
    return raw.decode("utf-8", errors="replace")


def _validate(spec: VendorOperation, adapted: AdaptedInput) -> OperationRequest:
    """The vendor model (the docs' rules), then the vendor's normalisation (phone countries)."""
    try:
        model = spec.model.model_validate(adapted.data)
    except ValidationError as exc:
        errors = field_errors_from_validation(exc)
        for err in errors:
            title = adapted.sources.get(err.field)
            if title:
                err.reason = f"{err.reason} (form field '{title}')"
        raise InputValidationError(
            "the request does not pass validation", details=[e.model_dump() for e in errors]
        ) from None
    prepare(spec, model)
    return model


def _warnings(model: OperationRequest) -> list[dict[str, str]]:
    """DESIGN §6: fields passed on although the docs do not name them, and vendor plumbing dropped."""
    if not isinstance(model, VendorModel):
        return []
    return [FieldWarning(field=path, reason=reason).to_body() for path, reason in model.warnings()]


def fingerprint_of(data: Any) -> str:
    """SHA-256 of the canonical payload: a repeated deliveryId must carry the same one (DESIGN §5)."""
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def model_data(model: OperationRequest) -> dict[str, Any]:
    """The validated native request, as the failure envelope keeps it and the fingerprint hashes it."""
    return model.model_dump(mode="json", by_alias=True, exclude_none=True)


@dataclass(frozen=True)
class Delivery:
    """One inbound delivery once it is understood: its record key and what we know of its sender."""

    spec: VendorOperation
    key: DeliveryKey
    signed: bool
    fingerprint: str
    model: OperationRequest | None = None
    # The journal's fields written with the claim: sender format and ids, contact hashes.
    journal: dict[str, str] = field(default_factory=dict)

    @property
    def delivery_id(self) -> str:
        return self.key.delivery_id


def envelope_for(
    spec: VendorOperation, key: DeliveryKey, model: OperationRequest | None, **extra: Any
) -> FailureEnvelope:
    from leadhooks.failures import FailureEnvelope

    return FailureEnvelope(
        delivery_id=key.delivery_id,
        operation=spec.name,
        client=key.client,
        customer_id=model.customer_id if model is not None else None,
        request=model_data(model) if model is not None else None,
        vendor_request=spec.describe(model).model_dump(mode="json") if model is not None else None,
        **extra,
    )


# ---- the one vendor send (API and replay) ------------------------------------------------------


@dataclass
class Attempt:
    """What one send came to: its kind, the result fields on success, the error otherwise."""

    kind: Kind
    result: dict[str, Any]
    error: LeadhooksError | None = None
    # PACED: seconds until the customer's budget slot reserved for this delivery (DESIGN §8).
    wait_s: float = 0.0


def call_vendor(
    spec: VendorOperation, model: OperationRequest, *, reserved_at: float | None = None
) -> Attempt:
    """The one place a write reaches a vendor, for the API path and the replay worker alike. The caller
    holds the delivery record and has counted this send against the bound. `reserved_at`: the budget
    slot a paced delivery was queued with (its envelope's `pacingSlotAt`), kept instead of a new one."""
    # Pacing (leadhooks.pacing, DESIGN §8), the one call site for both paths: the customer's shared
    # budget says whether this write goes now or waits, unsent, for the slot it was given (Kind.PACED).
    wait = pacing.acquire(spec.vendor, model.customer_id, reserved_at)
    if wait > 0:
        return Attempt(Kind.PACED, {}, None, wait_s=wait)
    try:
        result = spec.call(model)
    except LeadhooksError as exc:
        kind = classify(exc)
        if isinstance(exc, VendorError):
            count("VendorError", vendor=spec.vendor, status=str(exc.vendor_status or kind))
            if kind is Kind.NOT_DONE and exc.vendor_status == 429 and pacing.enabled():
                kind = Kind.THROTTLED  # not retried in the request: queued for the customer's budget
        return Attempt(kind, {}, exc)
    except Exception as exc:  # a bug or a library error after the request may have gone out
        logger.error("unexpected error during the vendor call", extra={"error": type(exc).__name__})
        return Attempt(Kind.AMBIGUOUS, {}, LeadhooksError(f"unexpected {type(exc).__name__} during the call"))
    return Attempt(Kind.DELIVERED, result)


def pace(envelope: FailureEnvelope, attempt: Attempt, vendor: str) -> int:
    """Ready a delivery the policy paces (Action.PACE) for the failure queue; returns its SQS delay.
    PACED: it keeps the slot reserved for it (`pacingSlotAt`). THROTTLED: one more vendor 429 on it,
    back once the customer's budget allows (the capped Retry-After). Neither is an attempt."""
    if attempt.kind is Kind.PACED:
        envelope.pacing_slot_at = time.time() + attempt.wait_s
        count("PacedQueued", vendor=vendor, customer=envelope.customer_id or "-")
        return pacing.queue_delay(attempt.wait_s)
    envelope.pacing_slot_at = None
    envelope.throttled += 1
    return pacing.throttle_delay(getattr(attempt.error, "retry_after_s", None))


# ---- answers -----------------------------------------------------------------------------------


def answer_for(record: Record) -> Outcome:
    """A repeat gets the first answer; a record no caller answered yet gets its current state."""
    if record.answer is not None:
        return Outcome(record.answer.status, record.answer.body)
    delivery_id = record.key.delivery_id
    if record.status == "delivered":
        body = DeliveryResponse(delivery_id=delivery_id, status="delivered").to_body() | (record.result or {})
        return Outcome(200, body)
    if record.status == "parked":
        parked = DeliveryResponse(delivery_id=delivery_id, status="parked", parked=True, reason=record.reason)
        return Outcome.of(202, parked)
    return Outcome.of(202, DeliveryResponse(delivery_id=delivery_id, status="queued"))


def _parked_answer(delivery: Delivery, decision: Decision, error: LeadhooksError | None) -> Outcome:
    """Parked after a vendor rejection: 422 with the vendor's message. Otherwise 202 parked + reason; a
    signed sender's input or credentials problem keeps its 4xx (DESIGN §5)."""
    if isinstance(error, PermanentVendorError):
        body = ErrorBody(
            delivery_id=delivery.delivery_id,
            error=error.code,
            message=error.message,
            parked=True,
            errors=[FieldError(**d) for d in error.details],
            vendor_status=error.vendor_status,
            vendor_message=error.message,
        )
        return Outcome.of(422, body)
    parked = DeliveryResponse(
        delivery_id=delivery.delivery_id, status="parked", parked=True, reason=decision.reason
    )
    return Outcome.of(202, parked)


# ---- the record: claim, act, settle -------------------------------------------------------------


def _hold(delivery: Delivery, *, send: bool) -> Lease | Outcome:
    """Claim the delivery's record, or answer from it. Raises 422 idempotency_key_reused, 409 while
    another path holds it, IdempotencyStoreError when the table cannot be reached."""
    store = get_store()
    customer = delivery.model.customer_id if delivery.model is not None else None
    found = store.create(
        delivery.key,
        fingerprint=delivery.fingerprint,
        customer_id=customer,
        by="api",
        send=send,
        journal=delivery.journal,
    )
    if isinstance(found, Lease):
        return found
    if found.fingerprint != delivery.fingerprint:
        raise IdempotencyKeyReusedError(
            "this deliveryId was already used with a different payload; nothing was sent",
            details=[{"field": "deliveryId", "reason": "already used with a different payload"}],
        )
    if found.status != "in_flight":
        return answer_for(found)
    if found.lease_live():
        raise ConflictError("a delivery with this id is being processed right now; retry in a few seconds")
    lease = store.take_over(found, by="api")
    if lease is None:
        raise ConflictError("a delivery with this id is being processed right now; retry in a few seconds")
    if send and lease.maybe_written == 0:
        store.gate(lease, write_bound(delivery.spec.resend_after_ambiguous))
    return lease


def _apply(delivery: Delivery, lease: Lease | None, attempt: Attempt, decision: Decision) -> Outcome:
    """Carry out the policy's decision for the API path: queue or park first (so nothing is lost),
    then record it; 503 not_kept only when neither worked."""
    if decision.action is Action.DELIVERED:
        return _delivered(delivery, lease, attempt)
    if decision.action is Action.REFUSE:
        if lease is not None:
            get_store().release(lease, give_back=gives_back_the_bound(attempt.kind), delete=True)
        assert attempt.error is not None
        attempt.error.delivery_id = delivery.delivery_id
        raise attempt.error
    queued = decision.action in (Action.QUEUE, Action.PACE)
    envelope = _keep(delivery, lease, attempt, decision)
    if queued:
        outcome = Outcome.of(202, DeliveryResponse(delivery_id=delivery.delivery_id, status="queued"))
    else:
        outcome = _parked_answer(delivery, decision, attempt.error)
    if lease is None:
        return outcome
    detail = {"kind": str(attempt.kind), "vendorStatus": getattr(attempt.error, "vendor_status", None)}
    get_store().settle(
        lease,
        "queued" if queued else "parked",
        by="api",
        event=_event_of(decision, attempt),
        give_back=gives_back_the_bound(attempt.kind),
        answer=StoredAnswer(outcome.status, outcome.body),
        reason=None if queued else decision.reason,
        next_attempt_at=envelope.next_attempt_at if queued else None,
        detail=detail,
        sent=attempt.kind is not Kind.PACED,
    )
    return outcome


def _event_of(decision: Decision, attempt: Attempt) -> str:
    """The record's history entry: `queued`, `parked`, or the pacing kind (`paced`, `throttled`)."""
    if decision.action is Action.PACE:
        return str(attempt.kind)
    return "queued" if decision.action is Action.QUEUE else "parked"


def _delivered(delivery: Delivery, lease: Lease | None, attempt: Attempt) -> Outcome:
    spec = delivery.spec
    count("Delivered", operation=spec.name)
    logger.info("delivered", extra={"deliveryId": delivery.delivery_id, "operation": spec.name})
    body = DeliveryResponse(delivery_id=delivery.delivery_id, status="delivered", **attempt.result).to_body()
    if lease is not None:
        result = {k: v for k, v in body.items() if k in ("leadId", "personId")}
        # A fault here is retried inside settle; if it never lands the record stays in flight and
        # counts this send, so a later attempt treats it as ambiguous: the bound still holds.
        get_store().settle(
            lease, "delivered", by="api", event="delivered", answer=StoredAnswer(200, body), result=result
        )
    return Outcome(200, body)


@dataclass
class _Kept:
    """Where `_keep` put a delivery: when it is due again (queued), for the record."""

    next_attempt_at: str | None


def _keep(delivery: Delivery, lease: Lease | None, attempt: Attempt, decision: Decision) -> _Kept:
    """Queue (QUEUE, PACE) or park (PARK) the delivery. If the queue cannot be written the record is
    released and QueueUnavailableError (503 not_kept) raised: the caller's retry is the net."""
    from leadhooks import queues
    from leadhooks.failures import LastError

    spec = delivery.spec
    last_error = LastError.from_exception(attempt.error) if attempt.error is not None else None
    envelope = envelope_for(
        spec, delivery.key, delivery.model, last_error=last_error, fingerprint=delivery.fingerprint
    )
    try:
        if decision.action is Action.PARK:
            assert decision.reason is not None
            if isinstance(attempt.error, PermanentVendorError):
                envelope.errors = attempt.error.details
            queues.park(envelope, decision.reason)
            return _Kept(None)
        if decision.action is Action.PACE:
            delay = pace(envelope, attempt, spec.vendor)
        else:
            delay = get_settings().replay_backoff_s[0]
        queues.enqueue(envelope, delay_s=delay)
    except QueueUnavailableError as exc:
        if lease is not None:
            get_store().release(
                lease, give_back=gives_back_the_bound(attempt.kind), sent=attempt.kind is not Kind.PACED
            )
        exc.delivery_id = delivery.delivery_id
        raise
    return _Kept(iso(envelope.pacing_slot_at or now_s() + delay))


def send_once(delivery: Delivery) -> Outcome:
    """A delivery reaches the vendor at most within the bound; a repeat gets the first answer."""
    spec = delivery.spec
    assert delivery.model is not None
    try:
        held = _hold(delivery, send=True)
    except IdempotencyStoreError as exc:
        # Without the record nothing may be sent (it could be a repeat): keep it on the failure queue,
        # the replay worker claims the record once the table answers again.
        logger.warning(
            "delivery store unavailable; queued instead of sent", extra={"deliveryId": delivery.delivery_id}
        )
        attempt = Attempt(Kind.STORE_FAULT, {}, exc)
        return _apply(delivery, None, attempt, _decide(delivery, attempt, 0))
    if isinstance(held, Outcome):
        return held
    if held.sending:
        attempt = call_vendor(spec, delivery.model)
    else:  # an earlier holder died after it began sending: it may have written
        attempt = Attempt(Kind.AMBIGUOUS, {}, None)
        logger.warning(
            "taking over a delivery whose holder stopped mid-call", extra={"deliveryId": delivery.delivery_id}
        )
    return _apply(delivery, held, attempt, _decide(delivery, attempt, held.maybe_written))


def _decide(delivery: Delivery, attempt: Attempt, maybe_written: int) -> Decision:
    return decide(
        attempt.kind,
        resend_after_ambiguous=delivery.spec.resend_after_ambiguous,
        maybe_written=maybe_written,
        attempts_left=True,
        signed=delivery.signed,
    )


def park_invalid(
    delivery: Delivery, exc: LeadhooksError, request: dict[str, Any], reason: ParkReason = "invalid_input"
) -> Outcome:
    """A signed sender's delivery that cannot be parsed, validated or reach its customer: parked once per
    deliveryId."""
    try:
        held: Lease | Outcome | None = _hold(delivery, send=False)
    except IdempotencyStoreError:
        held = None  # park without the record: a duplicate parked copy beats a lost lead
    if isinstance(held, Outcome):
        return held
    from leadhooks import queues
    from leadhooks.failures import LastError

    envelope = envelope_for(
        delivery.spec, delivery.key, None, errors=exc.details, last_error=LastError.from_exception(exc)
    )
    envelope.request = request
    envelope.fingerprint = delivery.fingerprint
    try:
        queues.park(envelope, reason)
    except QueueUnavailableError as err:
        if held is not None:
            get_store().release(held, give_back=False, delete=True)
        err.delivery_id = delivery.delivery_id
        raise
    error = ErrorBody(
        delivery_id=delivery.delivery_id,
        error=exc.code,
        message=exc.message,
        parked=True,
        errors=[FieldError(**d) for d in exc.details],
    )
    outcome = Outcome.of(exc.status, error)
    if held is not None:
        get_store().settle(
            held,
            "parked",
            by="api",
            event="parked",
            answer=StoredAnswer(outcome.status, outcome.body),
            reason=reason,
        )
    return outcome


# ---- the pipeline ----------------------------------------------------------------------------


def _oversized(spec: VendorOperation, inbound: InboundRequest, auth: AuthResult) -> Outcome | None:
    """A body over the limit: a webhook sender's is kept (logic/oversized.py), anyone else gets 413."""
    limit = get_settings().max_body_bytes
    if len(inbound.raw_body) <= limit:
        return None
    from leadhooks.logic.oversized import keep_oversized, too_large_message

    if auth.signed and not inbound.dry_run:
        return keep_oversized(spec, inbound, fallback_delivery_id(inbound), limit)
    raise PayloadTooLargeError(too_large_message(limit), details=[{"field": "body", "reason": "too large"}])


def deliver(spec: VendorOperation, inbound: InboundRequest) -> Outcome:
    """Run one inbound write request through the whole pipeline."""
    auth = authenticate_request(inbound)
    entry = catalog_entry(spec.name)
    oversized = _oversized(spec, inbound, auth)
    if oversized is not None:
        return oversized
    adapted: AdaptedInput | None = None
    payload: Any = None
    delivery_id = fallback_delivery_id(inbound)
    try:
        authorize(auth, entry)  # the operation: nothing about the body is answered to a client without it
        payload = parse_body(inbound.raw_body, inbound.headers.get("content-type"))
        adapted = to_native(
            payload, spec.model, query=inbound.query, mapping=client_mapping(auth.client, entry.scope)
        )
        delivery_id = choose_delivery_id(inbound, auth, adapted)
        logger.set_correlation_id(delivery_id)
        authorize(auth, entry, customer_in(entry, spec.model, adapted.data))
        model = _validate(spec, adapted)
        authorize(auth, entry, model.customer_id)  # the customer the vendor call will use
    except (BadRequestError, InputValidationError, ForbiddenError) as exc:
        exc.delivery_id = delivery_id
        if not auth.signed or inbound.dry_run:
            raise
        # A signed webhook sender never reads the answer and does not retry a 4xx: keep it for an
        # operator, whether it failed validation (422) or could not even be parsed (400), or its client
        # may not reach this customer (403). A dry run never parks anything.
        request = adapted.data if adapted is not None else {"raw": _raw_text(inbound.raw_body)}
        key = DeliveryKey(auth.client, spec.name, delivery_id)
        journal = journal_fields(spec, auth, adapted, payload, request)
        delivery = Delivery(spec, key, auth.signed, fingerprint_of(request), journal=journal)
        reason: ParkReason = "forbidden" if isinstance(exc, ForbiddenError) else "invalid_input"
        return park_invalid(delivery, exc, request, reason)
    if inbound.dry_run:
        vreq = spec.describe(model)
        body = DeliveryResponse(
            delivery_id=delivery_id,
            status="dry_run",
            vendor_request={"method": vreq.method, "path": vreq.path, "body": vreq.body},
        )
        return Outcome(200, {**body.to_body(), **_warnings_of(model)})
    key = DeliveryKey(auth.client, spec.name, delivery_id)
    data = model_data(model)
    journal = journal_fields(spec, auth, adapted, payload, data)
    delivery = Delivery(spec, key, auth.signed, fingerprint_of(data), model, journal)
    try:
        outcome = send_once(delivery)
    except LeadhooksError as exc:
        exc.delivery_id = delivery_id
        raise
    return Outcome(outcome.status, {**outcome.body, **_warnings_of(model)}, outcome.headers)


def journal_fields(
    spec: VendorOperation, auth: AuthResult, adapted: AdaptedInput | None, payload: Any, request: Any
) -> dict[str, str]:
    """What the delivery journal keeps beside the record (issue 15): the sender's format and ids, and
    the e-mail / phone / personnummer only as keyed hashes (`leadhooks.journal`)."""
    from leadhooks import journal

    fmt = adapted.format if adapted is not None else "unparsed"
    event_id = adapted.delivery_id if adapted is not None else None
    fields = journal.source_of(payload, fmt, auth.webhook_id, event_id)
    fields.update(journal.contact_hashes(request, spec.phone_region))
    return fields


def _warnings_of(model: OperationRequest) -> dict[str, Any]:
    warnings = _warnings(model)
    return {"warnings": warnings} if warnings else {}
