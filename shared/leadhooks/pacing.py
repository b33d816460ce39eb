"""Per-customer pacing (DESIGN §8): one delivery budget per vendor customer, shared by every instance.

The budget is a GCRA token bucket (the "virtual scheduling" form of a token bucket) kept in one
DynamoDB item per customer (`PACING_TABLE`, key `<vendor>#<customerId>`): `tat` is the time from
which the budget is free. A write takes the next slot of the schedule with one conditional
UpdateItem. A slot in the past or within `PACING_MAX_WAIT_S` is sent now (after a short sleep); a
later slot is *reserved* for the delivery, which is queued with that delay and sent by the replay
worker at its slot without taking a second one. So a burst of N leads is spread over N / rate seconds
with no retry storm, and each queued delivery is handled once, at its time.

- **rate**: `rateLimitRps` of the customer in the vendor secret (`customers.<id>.rateLimitRps`, for
  Vitec and Omnicasa alike), else `PACING_DEFAULT_RPS` (5). A value that is not a positive number is
  skipped with one log line naming the customer, and the default applies.
- **burst**: half a second's worth (at least 1): jitter between our instances and the vendor's own
  bucket then eats into our spare half, not into 429s.
- **AIMD**: a vendor 429 halves the customer's rate (at most once a second, never below a tenth of
  the limit) and holds the bucket for `Retry-After` (1 s without one; capped at
  `PACING_RETRY_AFTER_CAP_S`, default 300 s, so an absurd value cannot stall a customer for days);
  the rate then grows back by a tenth of the limit per second.
- **cost**: an instance reserves small blocks of slots (up to `LEASE_MAX`, sized by how many writes
  for that customer it saw in the last second) and hands them out locally, so under load the check
  costs one round trip per several deliveries; a lone lead costs one. Slots that went unused for
  `STALE_S` are dropped (they are budget that was not used, never budget used twice).
- **failure**: if DynamoDB cannot be reached the write is sent (fail open, logged): refusing would
  delay every lead of every customer, and the vendor's own 429 still slows us down.
"""

from __future__ import annotations

import contextlib
import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Protocol

from leadhooks.observability import count, logger
from leadhooks.settings import get_settings

# Multiplicative decrease on a 429, additive increase per second (as a share of the limit), floor.
DECREASE = 0.5
INCREASE_PER_S = 0.1
FLOOR = 0.1
# One cut per this many seconds, however many instances saw a 429 of the same overload.
CUT_SPACING_S = 1.0
# A 429 without Retry-After holds the customer's budget this long.
DEFAULT_HOLD_S = 1.0
# A slot may be used this late; later it is dropped (a lease) or replaced (a queued reservation).
STALE_S = 1.0
# Slots reserved per round trip at most, and the window the local demand is counted over.
LEASE_MAX = 10
LEASE_WINDOW_S = 1.0
# Items of customers that stopped sending disappear after this long (DynamoDB TTL `expiration`).
ITEM_TTL_S = 24 * 3600
# A rate above this is taken as a typo, not a vendor limit.
MAX_RPS = 1000.0


# ---- the arithmetic (pure, unit-tested) ---------------------------------------------------------


def burst_for(rate: float) -> int:
    """Slots that may go at once from an idle bucket: half a second's worth, at least one."""
    return max(1, int(rate / 2))


def slot_times(start: float, count: int, rate: float, now: float) -> list[float]:
    """Send times of `count` consecutive slots of a schedule that is free from `start` (>= now).

    GCRA: slot i is due at start + i/rate - tau, tau = (burst - 1)/rate, never before now. From an
    idle bucket the first `burst` slots are due now, then one every 1/rate seconds.
    """
    interval = 1.0 / rate
    tau = (burst_for(rate) - 1) * interval
    return [max(now, start + i * interval - tau) for i in range(count)]


def effective_rate(limit: float, cut_rate: float | None, cut_at: float | None, now: float) -> float:
    """AIMD: after a cut to `cut_rate` at `cut_at`, the rate grows back linearly to the limit."""
    if cut_rate is None or cut_at is None:
        return limit
    grown = cut_rate + limit * INCREASE_PER_S * max(0.0, now - cut_at)
    return max(limit * FLOOR, min(limit, grown))


def rate_after_throttle(limit: float, current: float) -> float:
    """Multiplicative decrease, never below the floor."""
    return max(limit * FLOOR, current * DECREASE)


def hold_for(retry_after_s: float | None, cap_s: float) -> float:
    """How long a 429 holds the budget: its Retry-After, 1 s without a usable one, never over the cap."""
    if retry_after_s is None or not math.isfinite(retry_after_s) or retry_after_s <= 0:
        return min(DEFAULT_HOLD_S, cap_s)
    return min(retry_after_s, cap_s)


def parse_rate(value: Any) -> float | None:
    """A usable `rateLimitRps`, or None (0, negative, non-numeric, absurdly high, a boolean)."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        rate = float(value)
    except ValueError:
        return None
    if not math.isfinite(rate) or rate <= 0 or rate > MAX_RPS:
        return None
    return rate


# ---- the shared store -------------------------------------------------------------------------


@dataclass(frozen=True)
class BucketState:
    """What a round trip tells us about a customer's bucket (the item as it was before our write)."""

    tat: float | None = None
    cut_rate: float | None = None
    cut_at: float | None = None


class BucketStore(Protocol):
    def reserve(self, key: str, span_s: float, now: float, busy_guess: bool) -> tuple[float, BucketState]:
        """Take `span_s` seconds of the schedule; return where they start (>= now) and the old state."""

    def penalise(self, key: str, cut_rate: float, now: float, hold_until: float) -> None:
        """Record a cut (at most one per CUT_SPACING_S) and hold the schedule until `hold_until`."""


def _num(item: dict[str, Any], name: str) -> float | None:
    value = item.get(name)
    return float(value["N"]) if isinstance(value, dict) and "N" in value else None


def _n(value: float) -> dict[str, str]:
    return {"N": repr(round(value, 6))}


class DynamoBuckets:
    """One item per customer: `tat` (schedule free from), `cutRate` / `cutAt` (last 429), `expiration`."""

    def __init__(self, table: str, client: Any | None = None) -> None:
        self.table = table
        self._client = client
        self.round_trips = 0  # read by the benchmark and the reliability scenario

    @property
    def client(self) -> Any:
        if self._client is None:
            from leadhooks.aws import get_client

            self._client = get_client("dynamodb")
        return self._client

    def _update(self, **kwargs: Any) -> dict[str, Any]:
        self.round_trips += 1
        return dict(self.client.update_item(TableName=self.table, **kwargs))

    def reserve(self, key: str, span_s: float, now: float, busy_guess: bool) -> tuple[float, BucketState]:
        # max(tat, now) cannot be written in an update expression: two conditional branches, the
        # likely one first (from the last answer), the other if its condition fails. One round trip
        # almost always, two at a change between idle and busy.
        client = self.client
        for _ in range(3):
            try:
                if busy_guess:
                    answer = self._update(
                        Key={"id": {"S": key}},
                        UpdateExpression="SET tat = tat + :span, expiration = :exp",
                        ConditionExpression="tat > :now",
                        ExpressionAttributeValues={
                            ":span": _n(span_s),
                            ":now": _n(now),
                            ":exp": {"N": str(int(now) + ITEM_TTL_S)},
                        },
                        ReturnValues="ALL_OLD",
                    )
                    old = answer.get("Attributes", {})
                    return float(_num(old, "tat") or now), _state(old)
                answer = self._update(
                    Key={"id": {"S": key}},
                    UpdateExpression="SET tat = :end, expiration = :exp",
                    ConditionExpression="attribute_not_exists(tat) OR tat <= :now",
                    ExpressionAttributeValues={
                        ":end": _n(now + span_s),
                        ":now": _n(now),
                        ":exp": {"N": str(int(now) + ITEM_TTL_S)},
                    },
                    ReturnValues="ALL_OLD",
                )
                return now, _state(answer.get("Attributes", {}))
            except client.exceptions.ConditionalCheckFailedException:
                busy_guess = not busy_guess
        raise RuntimeError("the pacing bucket kept changing under us")

    def penalise(self, key: str, cut_rate: float, now: float, hold_until: float) -> None:
        # A failed condition means another instance cut the rate for the same overload a moment ago,
        # or the schedule is already booked past the hold: nothing to do.
        lost_race = self.client.exceptions.ConditionalCheckFailedException
        with contextlib.suppress(lost_race):
            self._update(
                Key={"id": {"S": key}},
                UpdateExpression="SET cutRate = :rate, cutAt = :now, expiration = :exp",
                ConditionExpression="attribute_not_exists(cutAt) OR cutAt < :recent",
                ExpressionAttributeValues={
                    ":rate": _n(cut_rate),
                    ":now": _n(now),
                    ":recent": _n(now - CUT_SPACING_S),
                    ":exp": {"N": str(int(now) + ITEM_TTL_S)},
                },
            )
        with contextlib.suppress(lost_race):
            self._update(
                Key={"id": {"S": key}},
                UpdateExpression="SET tat = :hold",
                ConditionExpression="attribute_not_exists(tat) OR tat < :hold",
                ExpressionAttributeValues={":hold": _n(hold_until)},
            )


def _state(item: dict[str, Any]) -> BucketState:
    return BucketState(tat=_num(item, "tat"), cut_rate=_num(item, "cutRate"), cut_at=_num(item, "cutAt"))


# ---- the pacer --------------------------------------------------------------------------------


@dataclass
class _Local:
    """This instance's view of one customer: leased slots, recent demand, the last state seen."""

    slots: deque[float] = field(default_factory=deque)
    demand: deque[float] = field(default_factory=deque)
    state: BucketState = field(default_factory=BucketState)

    def take(self, now: float) -> float | None:
        """Count this write in the demand window; hand out a leased slot that is not stale, if any."""
        while self.slots and self.slots[0] < now - STALE_S:
            self.slots.popleft()
        self.demand.append(now)
        while self.demand and self.demand[0] < now - LEASE_WINDOW_S:
            self.demand.popleft()
        return self.slots.popleft() if self.slots else None

    def keep(self, slots: list[float], tat: float, old: BucketState) -> None:
        """Lease `slots`; keep the newer cut (ours from a 429, or the item's from another instance's)."""
        mine = self.state
        cut_at = old.cut_at if (old.cut_at or 0) >= (mine.cut_at or 0) else mine.cut_at
        cut_rate = old.cut_rate if cut_at == old.cut_at else mine.cut_rate
        self.state = BucketState(tat=tat, cut_rate=cut_rate, cut_at=cut_at)
        self.slots.extend(slots)


class Pacer:
    """`acquire` before a vendor write, `penalise` after a vendor 429."""

    def __init__(
        self,
        store: BucketStore,
        limit_for: Callable[[str, str], float],
        *,
        max_wait_s: float = 1.0,
        retry_after_cap_s: float = 300.0,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.store = store
        self.limit_for = limit_for
        self.max_wait_s = max_wait_s
        self.retry_after_cap_s = retry_after_cap_s
        self.clock = clock
        self.sleep = sleep
        self.acquires = 0
        self._local: dict[str, _Local] = {}
        self._lock = threading.Lock()

    def acquire(self, vendor: str, customer_id: str, reserved_at: float | None = None) -> float:
        """0: send now (a short wait has been slept). Else the seconds until this delivery's slot,
        which is now reserved for it: queue it with that delay and pass `reserved_at = now + wait`
        when it comes back, so it is sent at its slot without taking another one."""
        self.acquires += 1
        now = self.clock()
        if reserved_at is not None:
            if reserved_at - now > self.max_wait_s:
                return reserved_at - now  # early (SQS delays stop at 15 min): keep the reservation
            if now <= reserved_at + STALE_S:
                self._sleep_until(reserved_at, now)
                return 0.0
            # A slot missed by more than STALE_S is not used late (it would bunch with later ones).
        slot = self._next_slot(vendor, customer_id, now)
        if slot - now <= self.max_wait_s:
            self._sleep_until(slot, now)
            return 0.0
        return slot - now

    def penalise(self, vendor: str, customer_id: str, retry_after_s: float | None) -> None:
        """The vendor answered 429 for this customer: slow it down for every instance."""
        key = f"{vendor}#{customer_id}"
        now = self.clock()
        limit = self.limit_for(vendor, customer_id)
        with self._lock:
            local = self._local.setdefault(key, _Local())
            local.slots.clear()  # leased slots were computed at the rate that just failed
            current = effective_rate(limit, local.state.cut_rate, local.state.cut_at, now)
            if local.state.cut_at is not None and now - local.state.cut_at < CUT_SPACING_S:
                cut = current  # the same overload: one cut per CUT_SPACING_S
            else:
                cut = rate_after_throttle(limit, current)
                local.state = BucketState(tat=local.state.tat, cut_rate=cut, cut_at=now)
        hold = hold_for(retry_after_s, self.retry_after_cap_s)
        count("Throttled", vendor=vendor, customer=customer_id)
        logger.warning(
            "vendor throttled a customer; slowing down",
            extra={
                "vendor": vendor,
                "customerId": customer_id,
                "holdS": round(hold, 3),
                "rps": round(cut, 3),
            },
        )
        try:
            self.store.penalise(key, cut, now, now + hold)
        except Exception as exc:
            logger.warning("pacing store unavailable", extra={"vendor": vendor, "error": type(exc).__name__})

    def _sleep_until(self, when: float, now: float) -> None:
        if when > now:
            self.sleep(when - now)

    def _next_slot(self, vendor: str, customer_id: str, now: float) -> float:
        key = f"{vendor}#{customer_id}"
        with self._lock:
            local = self._local.setdefault(key, _Local())
            leased = local.take(now)
            if leased is not None:
                return leased
            size = max(1, min(LEASE_MAX, len(local.demand)))
            state = local.state
        limit = self.limit_for(vendor, customer_id)
        rate = effective_rate(limit, state.cut_rate, state.cut_at, now)
        busy = state.tat is not None and state.tat > now
        try:
            start, old = self.store.reserve(key, size / rate, now, busy)
        except Exception as exc:
            logger.warning(
                "pacing store unavailable; sending without the budget check",
                extra={"vendor": vendor, "customerId": customer_id, "error": type(exc).__name__},
            )
            return now
        slots = slot_times(start, size, rate, now)
        with self._lock:
            local.keep(slots[1:], start + size / rate, old)
        return slots[0]


def backlog(
    table: str,
    client: Any,
    *,
    limit_for: Callable[[str, str], float] | None = None,
    now: float | None = None,
) -> list[dict[str, Any]]:
    """Per customer whose schedule is booked ahead: how far, and about how many deliveries that is at
    its current rate (the paced backlog `leadhooks-ops queue stats` shows). Scans the pacing table with
    `client` (DynamoDB): one small item per customer that wrote in the last day."""
    limit_for = limit_for or limit_from_secret
    now = time.time() if now is None else now
    rows: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"TableName": table}
    for _ in range(1000):  # bounded: a page is up to 1 MB of items of a few dozen bytes each
        page = client.scan(**kwargs)
        for item in page.get("Items", []):
            vendor, _sep, customer = str(item["id"]["S"]).partition("#")
            state = _state(item)
            if state.tat is None or state.tat <= now:
                continue
            rate = effective_rate(limit_for(vendor, customer), state.cut_rate, state.cut_at, now)
            ahead = state.tat - now
            rows.append(
                {
                    "vendor": vendor,
                    "customer": customer,
                    "bookedAheadS": ahead,
                    "rps": rate,
                    "waiting": ahead * rate,
                }
            )
        if not page.get("LastEvaluatedKey"):
            break
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    return sorted(rows, key=lambda row: -float(row["bookedAheadS"]))


# ---- configuration ----------------------------------------------------------------------------

_reported: set[tuple[str, str]] = set()


def limit_from_secret(vendor: str, customer_id: str) -> float:
    """`customers.<id>.rateLimitRps` in the vendor's secret, else the default (DESIGN §7)."""
    from leadhooks.errors import LeadhooksError
    from leadhooks.secrets import vendor_secret

    default = get_settings().pacing_default_rps
    try:
        data = vendor_secret(vendor)
    except LeadhooksError:
        return default  # the vendor call itself will say what is wrong with the secret
    customers = data.get("customers")
    entry = customers.get(customer_id) if isinstance(customers, dict) else None
    if not isinstance(entry, dict) or entry.get("rateLimitRps") is None:
        return default
    rate = parse_rate(entry["rateLimitRps"])
    if rate is None:
        if (vendor, customer_id) not in _reported:  # once per process, not once per lead
            _reported.add((vendor, customer_id))
            logger.warning(
                "rateLimitRps ignored: not a positive number; the default applies",
                extra={"vendor": vendor, "customerId": customer_id, "defaultRps": default},
            )
        return default
    return rate


@lru_cache(maxsize=1)
def get_pacer() -> Pacer | None:
    """The process's pacer, or None when no PACING_TABLE is configured (pacing off)."""
    settings = get_settings()
    if not settings.pacing_table:
        return None
    return Pacer(
        DynamoBuckets(settings.pacing_table),
        limit_from_secret,
        max_wait_s=settings.pacing_max_wait_s,
        retry_after_cap_s=settings.pacing_retry_after_cap_s,
    )


def enabled() -> bool:
    return get_pacer() is not None


def acquire(vendor: str, customer_id: str, reserved_at: float | None = None) -> float:
    """0 = send now; else seconds until the budget allows (that slot is reserved: queue with it)."""
    pacer = get_pacer()
    return 0.0 if pacer is None else pacer.acquire(vendor, customer_id, reserved_at)


def penalise(vendor: str, customer_id: str, retry_after_s: float | None) -> None:
    """A vendor 429 for this customer (with its Retry-After, if any)."""
    pacer = get_pacer()
    if pacer is not None:
        pacer.penalise(vendor, customer_id, retry_after_s)


# A delivery's vendor 429s are pacing, not attempts, this many times; after that they count as
# attempts of the ordinary schedule, so a vendor that throttles forever still ends with an operator.
MAX_THROTTLED = 10


def throttle_delay(retry_after_s: float | None) -> int:
    """Seconds a throttled write waits before it is tried again: the capped hold, at least 1."""
    return max(1, math.ceil(hold_for(retry_after_s, get_settings().pacing_retry_after_cap_s)))


def slot_of(record: dict[str, Any]) -> float:
    """A failure-queue record's reserved slot (0 without one), from its `pacingSlotAt` attribute."""
    attribute = (record.get("messageAttributes") or {}).get("pacingSlotAt") or {}
    try:
        return float(attribute.get("stringValue") or 0)
    except (TypeError, ValueError):
        return 0.0


def queue_delay(wait_s: float) -> int:
    """SQS delay for a reserved slot: whole seconds, rounded down so the message is visible by its
    slot (the worker sleeps the rest); SQS takes at most 15 minutes, the worker defers again."""
    return max(0, min(900, int(wait_s)))
