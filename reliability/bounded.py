"""What the write-bound scenarios share: finish a scenario (drain the replay queue, read the vendor's
records and the parked queue, account) and count writes per deliveryId (reliability/writes.py)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from local.stack import RunningStack
from reliability.accounting import Answer, Expectations, account, parked_from_messages
from reliability.common import Row
from reliability.driver import drain_failure_queue, queue_depth
from reliability.leads import Submission
from reliability.writes import check

DRAIN_CAP_S = 60.0


def settled_records(stack: RunningStack, quiet_s: float = 1.0, cap_s: float = 15.0) -> list[dict[str, Any]]:
    """The sandbox's records once no write has arrived for `quiet_s` (a slow write lands after its
    caller gave up; a killed process's call still completes at the vendor)."""
    deadline = time.monotonic() + cap_s
    records = stack.records()
    while time.monotonic() < deadline:
        time.sleep(quiet_s)
        again = stack.records()
        if len(again) == len(records):
            return again
        records = again
    return records


def finish(
    stack: RunningStack,
    scenario: str,
    submissions: Sequence[Submission],
    answers: Sequence[Answer],
    *,
    requests: int,
    started: float,
    expect: Expectations,
    notes: Sequence[str] = (),
) -> Row:
    """One row: `answers` is the last answer per submission; `requests` every HTTP request sent."""
    drained = drain_failure_queue(stack, max_rounds=100, cap_s=DRAIN_CAP_S)
    queued = queue_depth(stack, stack.failure_queue)
    parked = parked_from_messages(stack.drain(stack.parked_queue))
    records = settled_records(stack)
    row = account(
        scenario,
        submissions,
        answers,
        records,
        parked,
        queued,
        time.monotonic() - started,
        expect,
        notes=[*notes, *([f"replayed {drained.handled}"] if drained.handled else [])],
    )
    row.requests = requests
    if drained.capped:
        row.failures.append(f"the failure queue did not drain within {DRAIN_CAP_S:.0f} s")
    return check(row, records)
