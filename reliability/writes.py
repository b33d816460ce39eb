"""The write bound, counted where it matters: vendor writes (sandbox records) per deliveryId.

DESIGN §6: across the API path, the replay worker and the ops CLI together, at most 2 vendor writes per
deliveryId, at most 1 for a viewing registration. The sandbox keeps one record per write it accepted
(`GET /_sandbox/records`), and every scenario's writes carry their delivery token in the free text
(`SOAK-000123`, `LOST-000004`, `authprobe-…-0001`), so the records can be counted per delivery.

Pure functions (tests/unit/test_reliability_writes.py); the runner applies `check` to every scenario.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from reliability.common import Row

# The sandbox's record names whose bound is 1 (a viewing registration is not de-duplicated by Vitec).
ONCE = frozenset({"viewing_participant"})
BOUND = 2
TOKENS = re.compile(r"\b([A-Z][A-Z0-9]{1,11}-\d{6}|authprobe-[A-Za-z0-9]+-\d{4})\b")


def bound_for(operation: str) -> int:
    return 1 if operation in ONCE else BOUND


def token_in(record: Mapping[str, Any]) -> str | None:
    """The delivery token a record's body carries (the free text, or anywhere in the body)."""
    try:
        text = json.dumps(record.get("body"), ensure_ascii=False)
    except (TypeError, ValueError, RecursionError):
        return None
    match = TOKENS.search(text)
    return match.group(1) if match else None


@dataclass(frozen=True)
class WriteCount:
    token: str
    operation: str
    writes: int

    @property
    def bound(self) -> int:
        return bound_for(self.operation)

    @property
    def over(self) -> bool:
        return self.writes > self.bound


def count_writes(records: Iterable[Mapping[str, Any]]) -> tuple[list[WriteCount], int]:
    """Writes per delivery token, and how many records carried no token."""
    counts: Counter[tuple[str, str]] = Counter()
    untokened = 0
    for record in records:
        token = token_in(record)
        if token is None:
            untokened += 1
            continue
        counts[(token, str(record.get("operation", "?")))] += 1
    return [WriteCount(t, op, n) for (t, op), n in sorted(counts.items())], untokened


def check(row: Row, records: Iterable[Mapping[str, Any]]) -> Row:
    """Fill `max writes/id` and add a failure for every delivery over its bound."""
    counts, untokened = count_writes(records)
    if counts:
        row.max_writes = max(c.writes for c in counts)
    over = [c for c in counts if c.over]
    if over:
        by_operation = Counter(c.operation for c in over)
        worst = ", ".join(
            f"{c.token} {c.operation}={c.writes}" for c in sorted(over, key=lambda c: -c.writes)[:5]
        )
        text = (
            f"write bound broken for {len(over)} deliveryId(s) "
            f"({', '.join(f'{op}: {n}' for op, n in sorted(by_operation.items()))}; "
            f"bound 2, viewing 1): {worst}"
        )
        row.failures.append(text)
    if untokened:
        note = f"{untokened} vendor write(s) without a delivery token (not bounded)"
        row.notes = f"{row.notes}; {note}" if row.notes else note
    return row
