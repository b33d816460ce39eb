"""Replay of queued deliveries (DESIGN §8): one failure-queue record → the vendor, within the bound.

Called by `functions/failure_replay` through Powertools batch processing, once per SQS record:

- a message that is not a usable envelope is logged and parked (`malformed_message`) once, and the
  record succeeds, so the queue never loops on it;
- the envelope names its delivery record (client, operation, deliveryId), the same record the API
  path and the ops CLI use (`leadhooks.deliveries`): the replay claims it (queued, or in flight with
  a holder that died, or absent when the API could not reach the table), counts the send against the
  bound before making it, and records the outcome. A replay of a delivered or parked record writes
  nothing;
- what follows an outcome is `leadhooks.policy`'s decision: delivered; retried later (the message's
  visibility moves to the next step of `REPLAY_BACKOFF_S` and the record says queued); or parked with
  a reason (`answer_lost` once the bound is used, `attempts_exhausted` after the last step, before
  SQS's own redrive at maxReceiveCount 6 would park it without one).
"""

from __future__ import annotations

import math
from typing import Any

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from pydantic import ValidationError

from leadhooks import pacing, queues
from leadhooks.catalog import write_operation
from leadhooks.core import VendorOperation
from leadhooks.deliveries import DeliveryKey, Lease, get_store, iso, now_s
from leadhooks.errors import IdempotencyStoreError, LeadhooksError, QueueUnavailableError
from leadhooks.failures import DEFAULT_CLIENT, FailureEnvelope, LastError, ParkReason, parse_envelope
from leadhooks.logic.delivery import Attempt, call_vendor, fingerprint_of, model_data, pace
from leadhooks.models.api import field_errors_from_validation
from leadhooks.observability import count, logger
from leadhooks.policy import Action, Kind, decide, gives_back_the_bound, write_bound
from leadhooks.settings import get_settings
from leadhooks.vendors.model_base import OperationRequest

# A malformed body is kept for the operator, cut to this many characters (the envelope must fit in
# one SQS message once JSON-escaped).
RAW_BODY_LIMIT = 64 * 1024
# SQS caps a message's visibility timeout at 12 hours.
MAX_VISIBILITY_S = queues.MAX_VISIBILITY_S


class ReplayRetryError(Exception):
    """This record failed transiently: the batch processor reports it and it stays on the queue."""


class _MalformedError(Exception):
    """The message cannot be replayed as it is; `envelope` is what gets parked."""

    def __init__(self, envelope: FailureEnvelope) -> None:
        super().__init__(envelope.last_error.message if envelope.last_error else "malformed message")
        self.envelope = envelope


def replay_record(record: SQSRecord) -> None:
    """Replay one failure-queue record (the batch processor's record handler)."""
    try:
        envelope, spec, model = _decode(record)
    except _MalformedError as bad:
        count("ReplayMalformed", operation=bad.envelope.operation)
        reason = bad.envelope.last_error.message if bad.envelope.last_error else "malformed"
        logger.warning(
            "malformed failure-queue message",
            extra={
                "deliveryId": bad.envelope.delivery_id,
                "operation": bad.envelope.operation,
                "why": reason,
            },
        )
        park_once(bad.envelope, "malformed_message")
        return
    logger.set_correlation_id(envelope.delivery_id)
    try:
        _replay(record, envelope, spec, model)
    finally:
        logger.set_correlation_id(None)


def _key(envelope: FailureEnvelope) -> DeliveryKey:
    return DeliveryKey(envelope.client or DEFAULT_CLIENT, envelope.operation, envelope.delivery_id)


def _replay(
    record: SQSRecord, envelope: FailureEnvelope, spec: VendorOperation, model: OperationRequest
) -> None:
    attempt_no = current_attempt(record, envelope)
    log = {"deliveryId": envelope.delivery_id, "operation": spec.name, "attempt": attempt_no}
    lease = _claim(record, envelope, spec, model, attempt_no)
    if lease is None:
        return
    attempt = call_vendor(spec, model, reserved_at=envelope.pacing_slot_at)
    _settle(record, envelope, spec, lease, attempt_no, attempt)
    if attempt.kind is Kind.DELIVERED:
        count("Replayed", operation=spec.name)
        count("Delivered", operation=spec.name)
        logger.info("replayed", extra=log)


def _claim(
    record: SQSRecord,
    envelope: FailureEnvelope,
    spec: VendorOperation,
    model: OperationRequest,
    attempt_no: int,
) -> Lease | None:
    """Hold the delivery's record with this send counted, or None when there is nothing to send now
    (already delivered or parked, held by another path, the bound used up, the table unreachable)."""
    store = get_store()
    fingerprint = envelope.fingerprint or fingerprint_of(model_data(model))
    try:
        found = store.create(
            _key(envelope), fingerprint=fingerprint, customer_id=envelope.customer_id, by="replay", send=True
        )
    except IdempotencyStoreError as exc:
        # Without the record a send could exceed the bound: wait for the table.
        _retry_later(record, envelope, attempt_no, exc, Attempt(Kind.STORE_FAULT, {}, exc))
        return None
    if isinstance(found, Lease):
        return found
    if envelope.fingerprint and found.fingerprint != envelope.fingerprint:
        envelope.last_error = _malformed_error("idempotency_key_reused: the record holds another payload")
        park_once(envelope, "malformed_message", record_it=False)
        return None
    if found.status in ("delivered", "parked"):
        count("ReplayDuplicate", operation=spec.name)
        logger.info(
            f"already {found.status}; not sent again",
            extra={"deliveryId": envelope.delivery_id, "operation": spec.name, "attempt": attempt_no},
        )
        return None
    lease = None if found.lease_live() else store.take_over(found, by="replay")
    if lease is None:
        _wait_for_holder(record, envelope, max(found.lease_until - now_s(), 1))
        return None
    if not store.gate(lease, write_bound(spec.resend_after_ambiguous)):
        # The bound is used up: whatever was sent may have landed; a person decides.
        _settle(record, envelope, spec, lease, attempt_no, Attempt(Kind.AMBIGUOUS, {}, None))
        return None
    return lease


def _settle(
    record: SQSRecord,
    envelope: FailureEnvelope,
    spec: VendorOperation,
    lease: Lease,
    attempt_no: int,
    attempt: Attempt,
) -> None:
    """The policy's decision for this replay, carried out and recorded."""
    store = get_store()
    delay = backoff_for(attempt_no, getattr(attempt.error, "retry_after_s", None))
    decision = decide(
        attempt.kind,
        resend_after_ambiguous=spec.resend_after_ambiguous,
        maybe_written=lease.maybe_written,
        attempts_left=delay is not None,
        signed=False,
        replay=True,
        throttles_left=envelope.throttled < pacing.MAX_THROTTLED,
    )
    if decision.action is Action.PACE:
        _requeue_paced(record, envelope, spec, lease, attempt_no, attempt)
        return
    if decision.action is Action.DELIVERED:
        result = {
            {"lead_id": "leadId", "person_id": "personId"}.get(k, k): v
            for k, v in attempt.result.items()
            if v is not None
        }
        store.settle(lease, "delivered", by="replay", event="delivered", result=result)
        return
    if decision.action is Action.QUEUE and delay is not None:
        store.settle(
            lease,
            "queued",
            by="replay",
            event="retry",
            give_back=gives_back_the_bound(attempt.kind),
            next_attempt_at=iso(now_s() + delay),
            detail=_detail(attempt),
        )
        error = attempt.error or LeadhooksError("ambiguous outcome")
        _backoff(record, envelope, attempt_no, error, delay)
        return
    _park(record, envelope, spec, lease, attempt_no, attempt, decision.reason or "attempts_exhausted", delay)


def _detail(attempt: Attempt) -> dict[str, Any]:
    return {"kind": str(attempt.kind), "vendorStatus": getattr(attempt.error, "vendor_status", None)}


def _park(
    record: SQSRecord,
    envelope: FailureEnvelope,
    spec: VendorOperation,
    lease: Lease,
    attempt_no: int,
    attempt: Attempt,
    reason: ParkReason,
    delay: int | None,
) -> None:
    """Park for an operator with the reason; if the parked queue is unreachable, keep it queued."""
    store = get_store()
    give_back = gives_back_the_bound(attempt.kind)
    envelope.attempt = attempt_no
    if attempt.error is not None:
        envelope.last_error = LastError.from_exception(attempt.error)
        if reason == "vendor_rejected":
            envelope.errors = attempt.error.details
    elif attempt.kind is Kind.AMBIGUOUS:
        envelope.last_error = LastError(
            kind="AnswerLost",
            message=f"{lease.maybe_written} send(s) may have written; the bound is "
            f"{write_bound(spec.resend_after_ambiguous)}",
        )
    try:
        queues.park(envelope, reason)
    except LeadhooksError as exc:  # the parked queue is unreachable: keep it on the failure queue
        store.release(lease, give_back=give_back)
        _backoff(record, envelope, attempt_no, exc, delay or 60)
        return
    store.settle(
        lease,
        "parked",
        by="replay",
        event="parked",
        give_back=give_back,
        reason=reason,
        detail=_detail(attempt),
    )


def _requeue_paced(
    record: SQSRecord,
    envelope: FailureEnvelope,
    spec: VendorOperation,
    lease: Lease,
    attempt_no: int,
    attempt: Attempt,
) -> None:
    """Waiting for the customer's budget (Kind.PACED, or a vendor 429): back on the failure queue as a
    fresh message with the same attempt number, so SQS's receive count starts again. It is never an
    attempt and never parks a delivery; the record says queued and gets its slot of the bound back.
    This record then succeeds (its message is deleted); if the queue write fails it stays instead."""
    sent = attempt.kind is not Kind.PACED
    envelope.attempt = attempt_no
    if attempt.error is not None:
        envelope.last_error = LastError.from_exception(attempt.error)
    delay = pace(envelope, attempt, spec.vendor)
    try:
        queues.enqueue(envelope, delay_s=delay)
    except QueueUnavailableError as exc:
        get_store().release(lease, give_back=True, sent=sent)
        _backoff(record, envelope, attempt_no, exc, max(delay, 1))
    get_store().settle(
        lease,
        "queued",
        by="replay",
        event=str(attempt.kind),
        give_back=True,
        next_attempt_at=iso(envelope.pacing_slot_at or now_s() + delay),
        detail=_detail(attempt),
        sent=sent,
    )


def park_once(envelope: FailureEnvelope, reason: ParkReason, *, record_it: bool = True) -> None:
    """Park a message the replay cannot use, once per delivery record even if SQS delivers it twice."""
    store = get_store()
    lease: Lease | None = None
    if record_it:
        try:
            found = store.create(
                _key(envelope),
                fingerprint=envelope.fingerprint or "",
                customer_id=envelope.customer_id,
                by="replay",
                send=False,
            )
            if isinstance(found, Lease):
                lease = found
            elif found.status == "parked":
                logger.info("already parked; not parked again", extra={"deliveryId": envelope.delivery_id})
                return
            elif not found.lease_live():
                lease = store.take_over(found, by="replay")
        except IdempotencyStoreError:
            lease = None  # park without the record: a second parked copy beats a lost one
    queues.park(envelope, reason)
    if lease is not None:
        store.settle(lease, "parked", by="replay", event="parked", reason=reason)


# ---- decoding --------------------------------------------------------------------------------


def _decode(record: SQSRecord) -> tuple[FailureEnvelope, VendorOperation, OperationRequest]:
    try:
        envelope = parse_envelope(record.body)
    except ValueError:  # json.JSONDecodeError and pydantic.ValidationError alike
        raise _MalformedError(_minimal_envelope(record, "the message is not a failure envelope")) from None
    spec = write_operation(envelope.operation)
    if spec is None:
        envelope.last_error = _malformed_error(f"unknown operation {envelope.operation[:60]!r}")
        raise _MalformedError(envelope)
    if envelope.request is None:
        envelope.last_error = _malformed_error("the envelope carries no request")
        raise _MalformedError(envelope)
    try:
        model = spec.model.model_validate(envelope.request)
    except ValidationError as exc:
        envelope.last_error = _malformed_error("the queued request no longer passes validation")
        envelope.errors = [err.model_dump() for err in field_errors_from_validation(exc)]
        raise _MalformedError(envelope) from None
    return envelope, spec, model


def _malformed_error(message: str) -> LastError:
    return LastError(kind="MalformedMessage", message=message)


def _message_attribute(record: SQSRecord, name: str) -> str | None:
    attributes = record.raw_event.get("messageAttributes") or {}
    value = attributes.get(name) if isinstance(attributes, dict) else None
    text = value.get("stringValue") if isinstance(value, dict) else None
    return str(text)[:128] if text else None


def _minimal_envelope(record: SQSRecord, message: str) -> FailureEnvelope:
    """Keep what can be kept of a body that is not an envelope: its ids (from the attributes) and the text."""
    body = str(record.raw_event.get("body") or "")
    request: dict[str, Any] = {"rawBody": body[:RAW_BODY_LIMIT]}
    if len(body) > RAW_BODY_LIMIT:
        request["truncatedFrom"] = len(body)
    return FailureEnvelope(
        delivery_id=_message_attribute(record, "deliveryId") or f"sqs-{record.message_id}",
        operation=_message_attribute(record, "operation") or "unknown",
        request=request,
        last_error=_malformed_error(message),
    )


# ---- attempts and backoff ---------------------------------------------------------------------


def current_attempt(record: SQSRecord, envelope: FailureEnvelope) -> int:
    """The larger of SQS's receive count and the envelope's own count."""
    try:
        received = int(record.raw_event.get("attributes", {}).get("ApproximateReceiveCount", 1))
    except (TypeError, ValueError, AttributeError):
        received = 1
    return max(received, envelope.attempt, 1)


def backoff_for(attempt: int, retry_after_s: float | None = None) -> int | None:
    """Seconds to wait after failed attempt `attempt`, or None when the attempts are used up.

    Step 0 is the delay before the first replay (set when the API queues the delivery), so the wait
    after failed attempt n is step n: with the default schedule a delivery is tried at +1 min, +5 min,
    +30 min, +2 h and +6 h, then parked with a reason before SQS's own redrive (maxReceiveCount 6).
    """
    steps = get_settings().replay_backoff_s
    if attempt >= len(steps):
        return None
    delay = steps[attempt]
    if retry_after_s:
        delay = max(delay, math.ceil(retry_after_s))
    return min(delay, MAX_VISIBILITY_S)


def _retry_later(
    record: SQSRecord, envelope: FailureEnvelope, attempt_no: int, exc: LeadhooksError, attempt: Attempt
) -> None:
    """No record could be held (store fault): back off by the schedule, or park once it is used up."""
    delay = backoff_for(attempt_no, None)
    if delay is None:
        envelope.attempt = attempt_no
        envelope.last_error = LastError.from_exception(exc)
        queues.park(envelope, "attempts_exhausted")
        return
    _backoff(record, envelope, attempt_no, exc, delay)


def _wait_for_holder(record: SQSRecord, envelope: FailureEnvelope, delay: int) -> None:
    """Another path holds the record: come back when its lease ends (not counted as a failed try)."""
    queues.retry_later(record.receipt_handle, delay)
    count("ReplayBusy", operation=envelope.operation)
    raise ReplayRetryError(f"delivery {envelope.delivery_id} is held by another path; retry in {delay} s")


def _backoff(
    record: SQSRecord, envelope: FailureEnvelope, attempt_no: int, exc: LeadhooksError, delay: int
) -> None:
    """Move the message's visibility to `delay` and raise ReplayRetryError (it stays on the queue)."""
    log = {"deliveryId": envelope.delivery_id, "operation": envelope.operation, "attempt": attempt_no}
    queues.retry_later(record.receipt_handle, delay)
    count("ReplayRetry", operation=envelope.operation)
    logger.info("replay failed; will retry", extra={**log, "error": type(exc).__name__, "retryInS": delay})
    raise ReplayRetryError(
        f"delivery {envelope.delivery_id} failed transiently ({type(exc).__name__}); retry in {delay} s"
    ) from None
