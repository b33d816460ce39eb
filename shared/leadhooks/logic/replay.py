"""Replay of queued deliveries (DESIGN §8): one failure-queue record → the vendor, exactly once.

Called by `functions/failure_replay` through Powertools batch processing, once per SQS record:

- a message that is not a usable envelope is parked (`malformed_message`) and the record succeeds,
  so the queue never loops on it;
- the vendor call runs under Powertools idempotency (key `replay:{operation}:{deliveryId}`, the same
  DynamoDB table as the inbound path), so a replay of an already delivered deliveryId writes nothing;
- a permanent rejection or a lost answer the vendor would not de-duplicate is parked with its reason;
- a transient failure moves the message's visibility to the next step of `REPLAY_BACKOFF_S` and raises,
  so the batch processor reports it as failed and it stays on the queue; once it has been tried as
  many times as there are steps it is parked (`attempts_exhausted`), before SQS's own redrive
  (maxReceiveCount 6) would move it to the parked queue without a reason.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from pydantic import BaseModel, ValidationError

from leadhooks import pacing
from leadhooks.catalog import write_operation
from leadhooks.core import VendorOperation
from leadhooks.errors import (
    AnswerLostError,
    ConflictError,
    IdempotencyStoreError,
    LeadhooksError,
    PermanentVendorError,
    VendorError,
)
from leadhooks.failures import (
    FailureEnvelope,
    LastError,
    ParkReason,
    enqueue_failure,
    get_sqs,
    park,
    parse_envelope,
)
from leadhooks.idempotency import call_once, idempotent
from leadhooks.models.api import field_errors_from_validation
from leadhooks.observability import count, logger
from leadhooks.settings import get_settings
from leadhooks.vendors.model_base import OperationRequest

# A malformed body is kept for the operator, cut to this many characters (the envelope must fit in
# one SQS message once JSON-escaped).
RAW_BODY_LIMIT = 64 * 1024
# SQS caps a message's visibility timeout at 12 hours.
MAX_VISIBILITY_S = 43200


class ReplayRetryError(Exception):
    """This record failed transiently: the batch processor reports it and it stays on the queue."""


class ReplayResult(BaseModel):
    """What the replay idempotency record stores: the vendor's answer."""

    result: dict[str, Any]


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
        park(bad.envelope, "malformed_message")
        return
    logger.set_correlation_id(envelope.delivery_id)
    try:
        _replay(record, envelope, spec, model)
    finally:
        logger.set_correlation_id(None)


def _replay(
    record: SQSRecord, envelope: FailureEnvelope, spec: VendorOperation, model: OperationRequest
) -> None:
    attempt = current_attempt(record, envelope)
    log = {"deliveryId": envelope.delivery_id, "operation": spec.name, "attempt": attempt}
    # Pacing (leadhooks.pacing), the replay path's one call site: a delivery queued with a reserved
    # slot goes at that slot; any other takes the customer's next one, or waits for it.
    wait = pacing.acquire(spec.vendor, model.customer_id, envelope.pacing_slot_at)
    if wait > 0:
        _defer(envelope, attempt, wait, reserved=True)
        return
    try:
        sent = _deliver_once(spec, envelope.delivery_id, model)
    except PermanentVendorError as exc:
        count("VendorError", vendor=spec.vendor, status=str(exc.vendor_status or "rejected"))
        _park_after(envelope, attempt, exc, "vendor_rejected", errors=exc.details)
        return
    except AnswerLostError as exc:
        if not spec.resend_after_ambiguous:
            # The vendor may have acted on it and would not notice a second copy: a person decides.
            _park_after(envelope, attempt, exc, "answer_lost")
            return
        _retry_later(record, envelope, attempt, exc)
        return
    except LeadhooksError as exc:  # transient vendor errors, configuration, idempotency store busy
        if isinstance(exc, VendorError):
            count("VendorError", vendor=spec.vendor, status=str(exc.vendor_status or "network"))
            if exc.vendor_status == 429 and pacing.enabled() and envelope.throttled < pacing.MAX_THROTTLED:
                envelope.throttled += 1  # throttled: pacing, not an attempt (bounded)
                envelope.last_error = LastError.from_exception(exc)
                _defer(envelope, attempt, pacing.throttle_delay(exc.retry_after_s), reserved=False)
                return
        _retry_later(record, envelope, attempt, exc)
        return
    except Exception as exc:  # a bug or an unexpected library error: keep the delivery, retry, then park
        logger.error("unexpected replay error", extra={**log, "error": type(exc).__name__})
        unexpected = LeadhooksError(f"unexpected {type(exc).__name__} during replay")
        _retry_later(record, envelope, attempt, unexpected)
        return
    if sent:
        count("Replayed", operation=spec.name)
        count("Delivered", operation=spec.name)
        logger.info("replayed", extra=log)
    else:
        count("ReplayDuplicate", operation=spec.name)
        logger.info("already delivered by an earlier replay; not sent again", extra=log)


def _defer(envelope: FailureEnvelope, attempt: int, wait_s: float, *, reserved: bool) -> None:
    """Back on the failure queue as a fresh message (SQS's receive count starts again), with the same
    attempt number: waiting for the customer's budget is never an attempt and never parks a delivery.
    If the queue write fails this raises, and the record stays on the queue."""
    envelope.attempt = attempt
    envelope.pacing_slot_at = time.time() + wait_s if reserved else None
    enqueue_failure(envelope, delay_s=pacing.queue_delay(wait_s))
    count("PacedQueued", vendor=envelope.operation.split("_", 1)[0], customer=envelope.customer_id or "-")


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


def _retry_later(record: SQSRecord, envelope: FailureEnvelope, attempt: int, exc: LeadhooksError) -> None:
    """Raise ReplayRetryError after moving the message's visibility to the next step; or park it when
    the attempts are used up, and return (the record succeeds and leaves the failure queue)."""
    retry_after = getattr(exc, "retry_after_s", None)
    delay = backoff_for(attempt, retry_after if isinstance(retry_after, int | float) else None)
    if delay is None:
        _park_after(envelope, attempt, exc, "attempts_exhausted")
        return
    log = {"deliveryId": envelope.delivery_id, "operation": envelope.operation, "attempt": attempt}
    try:
        get_sqs().change_message_visibility(
            QueueUrl=get_settings().failure_queue_url,
            ReceiptHandle=record.receipt_handle,
            VisibilityTimeout=delay,
        )
    except Exception as err:  # the message then comes back after the queue's own visibility timeout
        logger.warning("could not set the replay backoff", extra={**log, "error": type(err).__name__})
    count("ReplayRetry", operation=envelope.operation)
    logger.info("replay failed; will retry", extra={**log, "error": type(exc).__name__, "retryInS": delay})
    raise ReplayRetryError(
        f"delivery {envelope.delivery_id} failed transiently ({type(exc).__name__}); retry in {delay} s"
    ) from None


def _park_after(
    envelope: FailureEnvelope,
    attempt: int,
    exc: LeadhooksError,
    reason: ParkReason,
    *,
    errors: list[dict[str, Any]] | None = None,
) -> None:
    envelope.attempt = attempt
    envelope.last_error = LastError.from_exception(exc)
    if errors is not None:
        envelope.errors = errors
    park(envelope, reason)


# ---- exactly once toward the vendor -----------------------------------------------------------


def _deliver_once(spec: VendorOperation, delivery_id: str, model: OperationRequest) -> bool:
    """Call the vendor unless an earlier replay of this deliveryId already did; True when it was called."""
    sent: list[bool] = []
    try:
        call_once(
            _idempotent_replayer(), f"replay:{spec.name}:{delivery_id}", spec=spec, model=model, sent=sent
        )
    except ConflictError:
        raise LeadhooksError("another replay of this delivery is in progress") from None
    except IdempotencyStoreError:
        # Without the store a second copy could reach the vendor: wait for it rather than risk it.
        raise LeadhooksError("the idempotency store is unavailable") from None
    return bool(sent)


def _replay_call(
    *, key: dict[str, str], spec: VendorOperation, model: OperationRequest, sent: list[bool]
) -> ReplayResult:
    sent.append(True)
    return ReplayResult(result=spec.call(model))


@lru_cache(maxsize=1)
def _idempotent_replayer() -> Callable[..., ReplayResult]:
    return idempotent(_replay_call, ReplayResult)
