"""The failure policy, row by row (docs/architecture.md, "The failure policy")."""

from __future__ import annotations

import pytest
from leadhooks.errors import (
    AnswerLostError,
    ConfigurationError,
    IdempotencyStoreError,
    NoCredentialsError,
    PermanentVendorError,
    TransientVendorError,
    VendorAuthError,
)
from leadhooks.policy import Action, Decision, Kind, classify, decide, gives_back_the_bound, write_bound

PARK = Action.PARK
QUEUE = Action.QUEUE

# kind, resend_after_ambiguous, maybe_written, attempts_left, signed, replay -> decision
TABLE = [
    (Kind.DELIVERED, True, 1, True, False, False, Decision(Action.DELIVERED)),
    (Kind.NOT_DONE, False, 0, True, False, False, Decision(QUEUE)),
    (Kind.NOT_DONE, False, 0, False, False, True, Decision(PARK, "attempts_exhausted")),
    (Kind.NEVER_SENT, True, 0, True, False, True, Decision(QUEUE)),
    (Kind.STORE_FAULT, True, 0, True, False, False, Decision(QUEUE)),
    # ambiguous: re-sent once where the write allows it and the bound has room
    (Kind.AMBIGUOUS, True, 1, True, False, False, Decision(QUEUE)),
    (Kind.AMBIGUOUS, True, 2, True, False, True, Decision(PARK, "answer_lost")),
    (Kind.AMBIGUOUS, True, 1, False, False, True, Decision(PARK, "answer_lost")),
    (Kind.AMBIGUOUS, False, 1, True, False, False, Decision(PARK, "answer_lost")),
    (Kind.AMBIGUOUS, False, 0, True, True, False, Decision(PARK, "answer_lost")),
    (Kind.REJECTED, True, 0, True, False, False, Decision(PARK, "vendor_rejected")),
    (Kind.VENDOR_AUTH, True, 0, True, False, False, Decision(PARK, "vendor_auth_failed")),
    (Kind.NO_CREDENTIALS, True, 0, True, True, False, Decision(PARK, "no_credentials")),
    (Kind.NO_CREDENTIALS, True, 0, True, False, False, Decision(Action.REFUSE)),
    (Kind.NO_CREDENTIALS, True, 0, True, False, True, Decision(PARK, "no_credentials")),
    (Kind.INVALID_INPUT, True, 0, True, True, False, Decision(PARK, "invalid_input")),
    (Kind.INVALID_INPUT, True, 0, True, False, False, Decision(Action.REFUSE)),
    (Kind.BUSY, True, 1, True, False, False, Decision(Action.WAIT)),
    # pacing: never an attempt, never parked, even with the schedule used up
    (Kind.PACED, False, 0, True, False, False, Decision(Action.PACE)),
    (Kind.PACED, False, 0, False, False, True, Decision(Action.PACE)),
    (Kind.THROTTLED, True, 0, False, False, True, Decision(Action.PACE)),
]


@pytest.mark.parametrize(("kind", "resend", "written", "left", "signed", "replay", "expected"), TABLE)
def test_the_table(
    kind: Kind, resend: bool, written: int, left: bool, signed: bool, replay: bool, expected: Decision
) -> None:
    got = decide(
        kind,
        resend_after_ambiguous=resend,
        maybe_written=written,
        attempts_left=left,
        signed=signed,
        replay=replay,
    )
    assert got == expected


def test_a_delivery_throttled_too_often_counts_its_429s_as_attempts() -> None:
    """After `pacing.MAX_THROTTLED` 429s a vendor that throttles forever still ends with an operator."""
    common = {"resend_after_ambiguous": True, "maybe_written": 0, "signed": False, "replay": True}
    assert decide(Kind.THROTTLED, attempts_left=True, throttles_left=False, **common) == Decision(QUEUE)
    exhausted = decide(Kind.THROTTLED, attempts_left=False, throttles_left=False, **common)
    assert exhausted == Decision(PARK, "attempts_exhausted")


def test_pacing_gives_back_the_bound() -> None:
    assert gives_back_the_bound(Kind.PACED) and gives_back_the_bound(Kind.THROTTLED)


def test_every_kind_has_a_row() -> None:
    assert {row[0] for row in TABLE} == set(Kind)


def test_the_bound_is_two_and_one_for_a_write_never_resent() -> None:
    assert (write_bound(True), write_bound(False)) == (2, 1)


@pytest.mark.parametrize(
    ("exc", "kind"),
    [
        (AnswerLostError("lost", vendor="vitec"), Kind.AMBIGUOUS),
        (AnswerLostError("504", vendor="vitec", vendor_status=504), Kind.AMBIGUOUS),
        (TransientVendorError("503", vendor="vitec", vendor_status=503), Kind.NOT_DONE),
        (TransientVendorError("refused", vendor="vitec"), Kind.NEVER_SENT),
        (VendorAuthError("401", vendor="vitec", vendor_status=401), Kind.VENDOR_AUTH),
        (PermanentVendorError("400", vendor="vitec", vendor_status=400), Kind.REJECTED),
        (NoCredentialsError("none"), Kind.NO_CREDENTIALS),
        (IdempotencyStoreError("down"), Kind.STORE_FAULT),
        (ConfigurationError("secret unreadable"), Kind.NEVER_SENT),
        (KeyError("a bug after the call"), Kind.AMBIGUOUS),
    ],
)
def test_classify(exc: Exception, kind: Kind) -> None:
    assert classify(exc) is kind


def test_only_outcomes_that_prove_nothing_was_written_give_the_bound_back() -> None:
    assert not gives_back_the_bound(Kind.AMBIGUOUS)
    assert not gives_back_the_bound(Kind.DELIVERED)
    assert gives_back_the_bound(Kind.NOT_DONE) and gives_back_the_bound(Kind.REJECTED)
