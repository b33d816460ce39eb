"""Fault soak: thousands of leads over all four POST routes while the vendor sandbox misbehaves.

2,000 submissions (quick: 200), round-robin over person lead, area interest, viewing participant and
contact-on-me, each a different invented person with its own `Idempotency-Key`, sent by 8 threads.
The sandbox's faults change every slice of submissions through a fixed cycle of profiles (below):
on average about 30 % of vendor calls fail (500, 503, 429 with Retry-After, dropped connections,
answers lost after the write, and answers slower than the product's read timeout). Then the faults
stop and the replay worker drains the failure queue. `reliability.accounting` turns the API's
answers, the sandbox's records and the queues into the row; invariants: lost = 0, duplicates = 0,
queued = 0, 5xx = 0, no unexpected 4xx, nothing parked except lost answers of viewing
registrations (DESIGN §6).
"""

from __future__ import annotations

import bisect
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from local.stack import RunningStack
from reliability.accounting import Answer, Expectations, account, parked_from_messages
from reliability.common import Row
from reliability.driver import (
    ApiClient,
    clear_faults,
    counting_vendor_calls,
    drain_failure_queue,
    fixtures,
    queue_depth,
    set_faults,
)
from reliability.leads import Submission, make_submissions

SCENARIO = "fault soak"
SUBMISSIONS = {False: 2000, True: 200}
SLICE = {False: 50, True: 20}  # submissions per fault profile
THREADS = 8
SEND_CAP_S = {False: 600.0, True: 75.0}
DRAIN_CAP_S = {False: 180.0, True: 45.0}
DRAIN_ROUNDS = 200

ERRORS = [500, 503, 429]
# One cycle of ten slices, as (name, settings, length in slices). Rates are per vendor request. `slow`
# delays every request past the read timeout (the write still lands: the sandbox sleeps, then
# processes) and each slow call is tried three times, so its slice is a quarter of the others. A quick
# run (one cycle) meets every kind of fault.
FIVE_XX = {"errorRate": 0.3, "statuses": ERRORS, "retryAfterS": 1}
DROPS = {"errorRate": 0.15, "statuses": ERRORS, "dropRate": 0.15}
LOST = {"errorRate": 0.15, "statuses": ERRORS, "lostAnswerRate": 0.15}
MIXED = {"errorRate": 0.2, "statuses": ERRORS, "retryAfterS": 1, "dropRate": 0.05, "lostAnswerRate": 0.05}
SLOW = {"latencyMs": None}  # filled in: the read timeout + 300 ms
PROFILES: tuple[tuple[str, dict[str, Any], float], ...] = (
    *(("5xx/429", FIVE_XX, 1.0), ("drops", DROPS, 1.0), ("lost answers", LOST, 1.0), ("mixed", MIXED, 1.0))
    * 2,
    ("5xx/429", FIVE_XX, 1.0),
    ("slow", SLOW, 0.25),
)

# Designed outcomes: a viewing registration whose answer was lost is parked for a person (DESIGN §6).
EXPECT = Expectations(
    allowed_statuses=frozenset({200, 202}),
    allowed_parking={"viewing_participant": frozenset({"answer_lost"})},
)


def slow_latency_ms() -> int:
    """Past the product's read timeout (HTTP_READ_TIMEOUT_S, set by the runner) by 300 ms."""
    return int(float(os.environ.get("HTTP_READ_TIMEOUT_S", "8")) * 1000) + 300


def profile(slice_index: int, seed: int = 6) -> tuple[str, dict[str, Any]]:
    name, settings, _length = PROFILES[slice_index % len(PROFILES)]
    settings = dict(settings)
    if name == "slow":
        settings["latencyMs"] = slow_latency_ms()
    settings["seed"] = seed * 100_000 + slice_index  # reproducible draws within a slice
    return name, settings


def slice_starts(slice_size: int) -> list[int]:
    """First submission index (within one cycle) of each slice, and the cycle's length last."""
    starts = [0]
    for _name, _settings, length in PROFILES:
        starts.append(starts[-1] + max(1, round(slice_size * length)))
    return starts


def slice_of(index: int, starts: list[int]) -> int:
    """The running slice number of submission `index` (it keeps counting across cycles)."""
    cycle, offset = divmod(index, starts[-1])
    return cycle * len(PROFILES) + bisect.bisect_right(starts, offset) - 1


class FaultCycle:
    """Switches the sandbox to the next profile when the first submission of a new slice is sent."""

    def __init__(self, stack: RunningStack, slice_size: int) -> None:
        self.stack = stack
        self.starts = slice_starts(slice_size)
        self.current = -1
        self.slices: dict[str, int] = {}
        self._lock = threading.Lock()

    def before(self, index: int) -> None:
        wanted = slice_of(index, self.starts)
        with self._lock:
            if wanted <= self.current:
                return
            name, settings = profile(wanted)
            set_faults(self.stack, settings)
            self.current = wanted
            self.slices[name] = self.slices.get(name, 0) + 1


def send_all(
    stack: RunningStack, submissions: list[Submission], slice_size: int, cap_s: float
) -> tuple[list[Answer], int, FaultCycle]:
    """Send every submission once; returns the answers, how many were not sent (cap), the cycle."""
    client = ApiClient(stack)
    cycle = FaultCycle(stack, slice_size)
    deadline = time.monotonic() + cap_s

    def one(item: tuple[int, Submission]) -> Answer | None:
        index, sub = item
        if time.monotonic() > deadline:
            return None
        cycle.before(index)
        return client.post_json(sub.token, sub.route, sub.body, idempotency_key=sub.token)

    with ThreadPoolExecutor(max_workers=THREADS, thread_name_prefix="soak") as pool:
        results = list(pool.map(one, enumerate(submissions)))
    answers = [a for a in results if a is not None]
    return answers, len(results) - len(answers), cycle


def run(stack: RunningStack, quick: bool) -> list[Row]:
    started = time.monotonic()
    seeds = fixtures(stack)
    submissions = make_submissions("SOAK", SUBMISSIONS[quick], seeds, offset=0)
    with counting_vendor_calls() as calls:
        try:
            answers, not_sent, cycle = send_all(stack, submissions, SLICE[quick], SEND_CAP_S[quick])
        finally:
            clear_faults(stack)
        failed, succeeded = calls.snapshot()
    drained = drain_failure_queue(stack, max_rounds=DRAIN_ROUNDS, cap_s=DRAIN_CAP_S[quick])
    queued = queue_depth(stack, stack.failure_queue)
    parked = parked_from_messages(stack.drain(stack.parked_queue))
    records = stack.records()
    sent = {a.token for a in answers}
    profiles = ", ".join(f"{name}={n}" for name, n in cycle.slices.items())
    row = account(
        SCENARIO,
        [s for s in submissions if s.token in sent],
        answers,
        records,
        parked,
        queued,
        time.monotonic() - started,
        EXPECT,
        notes=[
            f"{len(submissions)} leads, 4 routes, {THREADS} threads",
            f"fault slices of {SLICE[quick]}: {profiles}",
            f"vendor calls while faulty: {failed + succeeded}, faulted {failed}"
            + (f" ({100 * failed / (failed + succeeded):.0f} %)" if failed + succeeded else ""),
            f"replayed {drained.handled} in {drained.rounds} rounds",
        ],
    )
    if not_sent:
        row.failures.append(f"wall-clock cap ({SEND_CAP_S[quick]:.0f} s) reached: {not_sent} not sent")
    if drained.capped:
        row.failures.append(f"the failure queue did not drain within {DRAIN_CAP_S[quick]:.0f} s")
    return [row]
