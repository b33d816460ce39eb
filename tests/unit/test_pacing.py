"""Pacing (leadhooks.pacing): the bucket arithmetic, AIMD, reservations, bad limits, and the DynamoDB
bucket's conditional writes (on moto in-process)."""

from __future__ import annotations

import itertools
import math
from typing import Any

import pytest
from leadhooks import pacing
from leadhooks.pacing import (
    STALE_S,
    BucketState,
    DynamoBuckets,
    Pacer,
    burst_for,
    effective_rate,
    hold_for,
    parse_rate,
    rate_after_throttle,
    slot_times,
)


class Clock:
    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


class MemoryBuckets:
    """The DynamoDB bucket's semantics in memory: start = max(tat, now), tat = start + span."""

    def __init__(self) -> None:
        self.items: dict[str, dict[str, float]] = {}
        self.round_trips = 0

    def reserve(self, key: str, span_s: float, now: float, busy_guess: bool) -> tuple[float, BucketState]:
        self.round_trips += 1
        item = self.items.setdefault(key, {})
        old = BucketState(tat=item.get("tat"), cut_rate=item.get("cutRate"), cut_at=item.get("cutAt"))
        start = max(item.get("tat", now), now)
        item["tat"] = start + span_s
        return start, old

    def penalise(self, key: str, cut_rate: float, now: float, hold_until: float) -> None:
        self.round_trips += 1
        item = self.items.setdefault(key, {})
        if now - item.get("cutAt", -math.inf) > pacing.CUT_SPACING_S:
            item["cutRate"], item["cutAt"] = cut_rate, now
        item["tat"] = max(item.get("tat", now), hold_until)


def make_pacer(rate: float = 6.0, max_wait_s: float = 1.0) -> tuple[Pacer, MemoryBuckets, Clock]:
    store, clock = MemoryBuckets(), Clock()
    pacer = Pacer(store, lambda _v, _c: rate, max_wait_s=max_wait_s, clock=clock, sleep=clock.sleep)
    return pacer, store, clock


# ---- arithmetic -------------------------------------------------------------------------------


def test_an_idle_bucket_lets_half_a_second_go_at_once_then_one_slot_per_interval() -> None:
    assert burst_for(6) == 3 and burst_for(1) == 1 and burst_for(0.2) == 1
    slots = slot_times(start=100.0, count=6, rate=6.0, now=100.0)
    assert slots[:3] == [100.0, 100.0, 100.0]
    assert slots[3:] == pytest.approx([100 + 1 / 6, 100 + 2 / 6, 100 + 3 / 6])


def test_a_busy_bucket_schedules_after_its_booked_time() -> None:
    slots = slot_times(start=110.0, count=2, rate=2.0, now=100.0)
    assert slots == pytest.approx([110.0, 110.5])


def test_aimd_halves_on_a_429_never_below_the_floor_and_grows_back_linearly() -> None:
    assert rate_after_throttle(10.0, 10.0) == 5.0
    assert rate_after_throttle(10.0, 1.5) == 1.0  # floor: a tenth of the limit
    assert effective_rate(10.0, None, None, 50.0) == 10.0
    assert effective_rate(10.0, 5.0, 100.0, 100.0) == 5.0
    assert effective_rate(10.0, 5.0, 100.0, 102.0) == pytest.approx(7.0)  # +1 rps per second
    assert effective_rate(10.0, 5.0, 100.0, 200.0) == 10.0


@pytest.mark.parametrize(
    ("retry_after", "expected"),
    [
        (None, 1.0),
        (0.0, 1.0),
        (-5.0, 1.0),
        (math.nan, 1.0),
        (3.0, 3.0),
        (3 * 86400.0, 300.0),
        (math.inf, 1.0),
    ],
)
def test_a_429_holds_for_its_retry_after_one_second_without_one_and_never_past_the_cap(
    retry_after: float | None, expected: float
) -> None:
    assert hold_for(retry_after, 300.0) == expected


@pytest.mark.parametrize("value", [0, -1, "abc", True, None, [], {}, math.nan, math.inf, 1e9, ""])
def test_unusable_limits_are_refused(value: Any) -> None:
    assert parse_rate(value) is None


@pytest.mark.parametrize(("value", "expected"), [(3, 3.0), (0.5, 0.5), ("2.5", 2.5)])
def test_usable_limits(value: Any, expected: float) -> None:
    assert parse_rate(value) == expected


# ---- the pacer --------------------------------------------------------------------------------


def test_a_burst_is_spread_at_the_rate_and_the_rest_is_given_reserved_slots() -> None:
    # 60 writes arrive at the same instant (concurrent callers: sleeping does not move the clock).
    store, clock = MemoryBuckets(), Clock()
    slept: list[float] = []
    pacer = Pacer(store, lambda _v, _c: 6.0, max_wait_s=1.0, clock=clock, sleep=slept.append)
    start = clock.now
    sent_at: list[float] = []
    waits: list[float] = []
    for _ in range(60):
        before = len(slept)
        wait = pacer.acquire("vitec", "M1")
        if wait == 0:
            sent_at.append(start + (slept[-1] if len(slept) > before else 0.0))
        else:
            waits.append(start + wait)
    # What goes now (after a sleep of at most 1 s): the burst of 3, then one per 1/6 s.
    assert len(sent_at) == burst_for(6) + 6
    assert max(sent_at) - start <= 1.0 + 1e-9
    for t in sent_at:
        assert sum(1 for s in sent_at if t <= s < t + 1.0) <= 6 + burst_for(6)
    # The rest hold distinct future slots, 1/6 s apart, in order: 60 leads take 60/6 s in all.
    slots = sorted(waits)
    assert len(sent_at) + len(slots) == 60
    gaps = [b - a for a, b in itertools.pairwise(slots)]
    assert all(g == pytest.approx(1 / 6) for g in gaps)
    assert slots[-1] - start == pytest.approx((60 - burst_for(6)) / 6, abs=0.01)
    # Leased in blocks: at most one round trip per LEASE_MAX acquires once demand is seen.
    assert store.round_trips <= 60 / pacing.LEASE_MAX + 5


def test_one_customers_burst_leaves_another_customers_budget_alone() -> None:
    pacer, _store, _clock = make_pacer(rate=5.0, max_wait_s=0.0)
    for _ in range(100):
        pacer.acquire("vitec", "BUSY")
    assert pacer.acquire("vitec", "QUIET") == 0.0
    assert pacer.acquire("omnicasa", "BUSY") == 0.0


def test_a_reserved_slot_is_kept_early_used_on_time_and_replaced_when_stale() -> None:
    pacer, store, clock = make_pacer(rate=1.0, max_wait_s=1.0)
    slot = clock.now + 30
    assert pacer.acquire("vitec", "M1", reserved_at=slot) == pytest.approx(30)  # early: keep it
    clock.now = slot - 0.4
    assert pacer.acquire("vitec", "M1", reserved_at=slot) == 0.0  # within the wait: sleep, go
    assert clock.now == pytest.approx(slot)
    assert store.round_trips == 0  # a reservation costs no second round trip
    clock.now = slot + STALE_S + 5  # missed: not sent late, a fresh slot is taken
    assert pacer.acquire("vitec", "M1", reserved_at=slot) == 0.0
    assert store.round_trips == 1


def test_a_429_slows_every_later_write_of_that_customer_and_the_budget_recovers() -> None:
    pacer, _store, clock = make_pacer(rate=4.0, max_wait_s=0.0)
    assert pacer.acquire("vitec", "M1") == 0.0
    pacer.penalise("vitec", "M1", retry_after_s=5.0)
    assert pacer.acquire("vitec", "M1") == pytest.approx(5.0, abs=0.01)  # held for Retry-After
    # Halved rate: the slots after the hold are 1/2 s apart instead of 1/4 s.
    second = pacer.acquire("vitec", "M1")
    assert second - 5.0 == pytest.approx(0.5, abs=0.01)
    clock.now += 120  # recovered: an idle bucket at the full rate again
    assert pacer.acquire("vitec", "M1") == 0.0


def test_an_absurd_retry_after_is_capped() -> None:
    pacer, _store, _clock = make_pacer(rate=4.0, max_wait_s=0.0)
    pacer.penalise("vitec", "M1", retry_after_s=7 * 86400.0)
    assert pacer.acquire("vitec", "M1") == pytest.approx(300.0, abs=0.01)


def test_the_store_failing_sends_rather_than_holding_every_lead() -> None:
    class Broken(MemoryBuckets):
        def reserve(self, *args: Any, **kwargs: Any) -> tuple[float, BucketState]:
            raise ConnectionError("down")

    clock = Clock()
    pacer = Pacer(Broken(), lambda _v, _c: 1.0, clock=clock, sleep=clock.sleep)
    assert [pacer.acquire("vitec", "M1") for _ in range(3)] == [0.0, 0.0, 0.0]


# ---- limits from the secret -------------------------------------------------------------------


@pytest.fixture
def secret(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    data: dict[str, Any] = {"customers": {}}
    monkeypatch.setattr("leadhooks.secrets.vendor_secret", lambda _vendor: data)
    pacing._reported.clear()
    return data


def test_a_customers_limit_comes_from_the_secret_else_the_default(secret: dict[str, Any]) -> None:
    secret["customers"] = {"M1": {"username": "u", "password": "p", "rateLimitRps": 2}, "M2": {}}
    assert pacing.limit_from_secret("vitec", "M1") == 2.0
    assert pacing.limit_from_secret("vitec", "M2") == 5.0
    assert pacing.limit_from_secret("omnicasa", "101") == 5.0


@pytest.mark.parametrize("bad", [0, -3, "fast", True])
def test_a_bad_limit_is_skipped_with_one_log_line_naming_the_customer(
    secret: dict[str, Any], bad: Any, caplog: pytest.LogCaptureFixture
) -> None:
    secret["customers"] = {"M9": {"username": "u", "password": "sekret-pass", "rateLimitRps": bad}}
    assert [pacing.limit_from_secret("vitec", "M9") for _ in range(3)] == [5.0, 5.0, 5.0]
    lines = [r for r in caplog.records if "rateLimitRps ignored" in r.getMessage()]
    assert len(lines) == 1
    assert lines[0].__dict__.get("customerId") == "M9"
    assert "sekret-pass" not in str(lines[0].__dict__)


# ---- the DynamoDB bucket (moto in-process) ------------------------------------------------------


@pytest.fixture
def table() -> Any:
    from moto import mock_aws

    with mock_aws():
        import boto3

        client = boto3.client("dynamodb", region_name="eu-north-1")
        client.create_table(
            TableName="pacing",
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            BillingMode="PAY_PER_REQUEST",
        )
        yield DynamoBuckets("pacing", client)


def test_the_dynamodb_bucket_books_consecutive_spans_whatever_the_guess(table: DynamoBuckets) -> None:
    now = 1000.0
    assert table.reserve("vitec#M1", 1.0, now, busy_guess=True)[0] == now  # wrong guess: 2 round trips
    assert table.round_trips == 2
    start, _ = table.reserve("vitec#M1", 0.5, now, busy_guess=False)  # wrong guess again
    assert start == pytest.approx(1001.0)
    start, _ = table.reserve("vitec#M1", 0.5, now, busy_guess=True)  # right guess: 1 round trip
    assert start == pytest.approx(1001.5)
    assert table.round_trips == 5
    # Idle again later: the schedule restarts at now, not at the old booked time.
    assert table.reserve("vitec#M1", 0.5, now + 60, busy_guess=False)[0] == now + 60


def test_the_dynamodb_bucket_keeps_one_cut_per_second_and_the_longest_hold(table: DynamoBuckets) -> None:
    table.penalise("vitec#M1", 3.0, 1000.0, hold_until=1005.0)
    table.penalise("vitec#M1", 1.5, 1000.2, hold_until=1002.0)  # same overload: no second cut
    start, state = table.reserve("vitec#M1", 1.0, 1000.5, busy_guess=True)
    assert start == pytest.approx(1005.0)
    assert state.cut_rate == 3.0 and state.cut_at == 1000.0
