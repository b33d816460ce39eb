"""The one failure policy (DESIGN §6, §8): what happens to a delivery after each outcome.

The API pipeline (`logic/delivery.py`) and the replay worker (`logic/replay.py`) both ask `decide`;
no other place chooses between delivering, retrying, queueing and parking. The table it implements
is in docs/architecture.md ("The failure policy"); `tests/unit/test_policy.py` holds it row by row.

The bound (DESIGN §6): per delivery, across the API, the replay worker and the ops CLI together, at
most `write_bound` vendor sends that may have written — 2, or 1 for an operation that must never be
re-sent after an ambiguous outcome (a viewing registration). The delivery record counts them
(`maybeWritten`, `leadhooks.deliveries`); this module says what the count allows.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

from leadhooks.errors import (
    AnswerLostError,
    ConfigurationError,
    IdempotencyStoreError,
    InputValidationError,
    NoCredentialsError,
    PermanentVendorError,
    TransientVendorError,
    VendorAuthError,
)

ParkReason = Literal[
    "vendor_rejected",
    "vendor_auth_failed",
    "invalid_input",
    "no_credentials",
    "answer_lost",
    "attempts_exhausted",
    "malformed_message",
    "operator",
    "forbidden",  # a signed sender's delivery for a customer or operation its client may not reach
    "too_large",  # a signed sender's body over the size limit, kept as received in the archive
]

# At most this many sends that may have written, per delivery (DESIGN §6).
WRITE_BOUND = 2
WRITE_BOUND_NO_RESEND = 1


class Kind(StrEnum):
    """What one attempt at a delivery came to."""

    DELIVERED = "delivered"  # the vendor's answer carries the result
    NOT_DONE = "not_done"  # the vendor answered 429 / 500 / 503 (in-request retries used up)
    NEVER_SENT = "never_sent"  # connection refused / connect timeout / a secret that could not be read
    AMBIGUOUS = "ambiguous"  # answer lost, reset after sending, 502, 504, a function that died mid-call
    REJECTED = "rejected"  # vendor 4xx, Omnicasa Success:false
    VENDOR_AUTH = "vendor_auth"  # vendor 401 / 403 (or the auth cool-down)
    NO_CREDENTIALS = "no_credentials"  # no vendor credentials for the customer
    INVALID_INPUT = "invalid_input"  # cannot be parsed or validated
    STORE_FAULT = "store_fault"  # the delivery record could not be claimed
    BUSY = "busy"  # another path holds the delivery right now (live lease)
    # Pacing (leadhooks.pacing, DESIGN §8): neither is an attempt, and neither ever parks a delivery.
    PACED = "paced"  # the customer's budget has no slot now: not sent, a slot is reserved for it
    THROTTLED = "throttled"  # the vendor answered 429 (pacing on: not retried in the request)


class Action(StrEnum):
    DELIVERED = "delivered"  # record it delivered; answer 200 with the result
    QUEUE = "queue"  # failure queue, replayed later (the API answers 202 queued)
    PARK = "park"  # parked queue with a reason, for an operator
    REFUSE = "refuse"  # answer the error and keep nothing: the caller reads the answer
    WAIT = "wait"  # someone else holds it: API 409 + Retry-After, replay backs off
    PACE = "pace"  # failure queue with the delay the customer's budget needs (API 202 queued): no attempt


# The kinds after which the vendor provably holds nothing from this attempt: the bound is given back.
NOTHING_WRITTEN = frozenset(
    {
        Kind.NOT_DONE,
        Kind.NEVER_SENT,
        Kind.REJECTED,
        Kind.VENDOR_AUTH,
        Kind.NO_CREDENTIALS,
        Kind.INVALID_INPUT,
        Kind.STORE_FAULT,
        Kind.PACED,
        Kind.THROTTLED,
    }
)


@dataclass(frozen=True)
class Decision:
    action: Action
    reason: ParkReason | None = None

    def __str__(self) -> str:
        return f"{self.action}:{self.reason}" if self.reason else str(self.action)


def write_bound(resend_after_ambiguous: bool) -> int:
    """How many sends that may have written one delivery may ever make."""
    return WRITE_BOUND if resend_after_ambiguous else WRITE_BOUND_NO_RESEND


# Exception → kind, most specific first (TransientVendorError is told apart by `vendor_status`).
_KINDS: tuple[tuple[type[BaseException], Kind], ...] = (
    (AnswerLostError, Kind.AMBIGUOUS),
    (VendorAuthError, Kind.VENDOR_AUTH),
    (PermanentVendorError, Kind.REJECTED),
    (NoCredentialsError, Kind.NO_CREDENTIALS),
    (InputValidationError, Kind.INVALID_INPUT),
    (IdempotencyStoreError, Kind.STORE_FAULT),
    (ConfigurationError, Kind.NEVER_SENT),  # raised before the call (a secret that could not be read)
)


def classify(exc: BaseException) -> Kind:
    """An exception raised while sending → its kind. Anything unexpected counts as ambiguous: it may
    have happened after the vendor wrote (a parse error on its answer, say)."""
    if isinstance(exc, TransientVendorError) and not isinstance(exc, AnswerLostError):
        return Kind.NOT_DONE if exc.vendor_status is not None else Kind.NEVER_SENT
    for error_type, kind in _KINDS:
        if isinstance(exc, error_type):
            return kind
    return Kind.AMBIGUOUS


# Kinds whose decision depends on nothing else.
_FIXED = {
    Kind.DELIVERED: Decision(Action.DELIVERED),
    Kind.BUSY: Decision(Action.WAIT),
    Kind.PACED: Decision(Action.PACE),
    Kind.REJECTED: Decision(Action.PARK, "vendor_rejected"),
    Kind.VENDOR_AUTH: Decision(Action.PARK, "vendor_auth_failed"),
}
# Nothing was written: queued again while the replay schedule has steps left.
_RETRIED = frozenset({Kind.NOT_DONE, Kind.NEVER_SENT, Kind.STORE_FAULT, Kind.THROTTLED})
# A caller that reads the answer gets it (nothing kept); a signed sender or the replay parks it.
_REFUSED: dict[Kind, ParkReason] = {
    Kind.NO_CREDENTIALS: "no_credentials",
    Kind.INVALID_INPUT: "invalid_input",
}


def _ambiguous(resend_after_ambiguous: bool, maybe_written: int, attempts_left: bool) -> Decision:
    room = maybe_written < write_bound(resend_after_ambiguous)
    if resend_after_ambiguous and room and attempts_left:
        return Decision(Action.QUEUE)  # the one re-send, from the replay worker
    return Decision(Action.PARK, "answer_lost")


def decide(
    kind: Kind,
    *,
    resend_after_ambiguous: bool,
    maybe_written: int,
    attempts_left: bool,
    signed: bool,
    replay: bool = False,
    throttles_left: bool = True,
) -> Decision:
    """The table. `maybe_written` counts the sends that may have written, this one included;
    `attempts_left` is False once the replay schedule is used up; `signed` is a webhook sender that
    never reads a 4xx; `replay` is the replay worker (no caller is waiting); `throttles_left` is False
    once a delivery met `pacing.MAX_THROTTLED` vendor 429s (then they count as attempts)."""
    if kind in _FIXED:
        return _FIXED[kind]
    if kind is Kind.THROTTLED and throttles_left:
        return Decision(Action.PACE)  # pacing: not an attempt, never parked
    if kind in _RETRIED:
        return Decision(Action.QUEUE) if attempts_left else Decision(Action.PARK, "attempts_exhausted")
    if kind is Kind.AMBIGUOUS:
        return _ambiguous(resend_after_ambiguous, maybe_written, attempts_left)
    if kind in _REFUSED:
        return Decision(Action.PARK, _REFUSED[kind]) if signed or replay else Decision(Action.REFUSE)
    raise ValueError(f"no policy for {kind}")  # pragma: no cover - every Kind is handled above


def gives_back_the_bound(kind: Kind) -> bool:
    """After this outcome the attempt's slot of the bound is returned (nothing was written)."""
    return kind in NOTHING_WRITTEN
