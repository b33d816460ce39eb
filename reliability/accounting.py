"""Turn what a scenario saw into one `Row`: API answers + the sandbox's records + the two queues.

Pure functions, no I/O, so the rules are unit-tested (tests/unit/test_reliability_accounting.py).

The rules (docs/reliability.md):

- **delivered**: submissions with at least one write the vendor accepted (a sandbox record that
  carries the submission's token);
- **queued**: messages still on the failure queue when the scenario ends;
- **parked**: submissions on the parked queue (each must carry a reason the scenario expects);
- **lost**: submissions the API accepted (any 2xx) that are neither delivered nor parked;
- **duplicates**: vendor writes beyond the bound, counted per delivery token (one sandbox record
  per vendor write). The bound (DESIGN §6): at most 2 writes per delivery across the API, the replay
  worker and the ops CLI (one re-send after an ambiguous outcome), at most 1 for a write the catalog
  says is never re-sent (`resend_after_ambiguous`: a viewing registration). A second write within
  the bound is the designed re-send and is reported in the notes. With `once_per_write` (the storm,
  no faults), every write beyond the first;
- **5xx**: API answers >= 500; any other answer outside the scenario's expected statuses, and any
  request without an answer, is a failure too.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from reliability.common import COLUMNS, Row
from reliability.leads import ROUTES, Submission, token_of

# product operation name (failure envelope) -> sandbox record name
_BY_FUNCTION = {function: operation for operation, (_route, function) in ROUTES.items()}


@dataclass(frozen=True)
class Answer:
    """One API answer to one request; `status` None means no HTTP answer at all."""

    token: str
    status: int | None
    outcome: str | None = None  # body `status` (delivered / queued / parked) or `error` code


@dataclass(frozen=True)
class Parked:
    """One message on the parked queue."""

    delivery_id: str
    operation: str  # the product's operation name (vitec_person_lead, ...)
    reason: str | None


@dataclass(frozen=True)
class Expectations:
    """What a scenario considers normal."""

    # API statuses that are fine (a 2xx outside this set is still an accepted submission).
    allowed_statuses: frozenset[int] = frozenset({200, 202})
    # sandbox operation -> parking reasons that are the designed outcome in this scenario.
    allowed_parking: Mapping[str, frozenset[str]] = field(default_factory=dict)
    # Every write beyond the first for a submission is a duplicate (no lost-answer re-sends expected).
    once_per_write: bool = False
    # Every submission must reach the vendor (not only the accepted ones).
    all_delivered: bool = False


def answer_from_http(token: str, status: int | None, body: Any) -> Answer:
    outcome: str | None = None
    if isinstance(body, dict):
        value = body.get("status") if status is not None and 200 <= status < 300 else body.get("error")
        outcome = str(value) if value is not None else None
    return Answer(token=token, status=status, outcome=outcome)


def parked_from_messages(messages: Iterable[Mapping[str, Any]]) -> list[Parked]:
    """SQS ReceiveMessage messages from the parked queue → what was parked and why."""
    parked: list[Parked] = []
    for message in messages:
        attributes = message.get("MessageAttributes") or {}
        try:
            envelope = json.loads(str(message.get("Body", "")))
        except ValueError:
            envelope = {}
        if not isinstance(envelope, dict):
            envelope = {}

        def attribute(name: str, attrs: Mapping[str, Any] = attributes) -> str | None:
            value = attrs.get(name)
            text = value.get("StringValue") if isinstance(value, Mapping) else None
            return str(text) if text else None

        delivery_id = envelope.get("deliveryId") or attribute("deliveryId") or "?"
        operation = envelope.get("operation") or attribute("operation") or "?"
        reason = envelope.get("reason") or attribute("reason")
        parked.append(Parked(str(delivery_id), str(operation), str(reason) if reason else None))
    return parked


def _counts(counter: Counter[str]) -> str:
    return ", ".join(f"{key}={n}" for key, n in sorted(counter.items()))


def account(
    scenario: str,
    submissions: Sequence[Submission],
    answers: Sequence[Answer],
    records: Sequence[Mapping[str, Any]],
    parked: Sequence[Parked],
    queued: int,
    seconds: float,
    expect: Expectations,
    notes: Sequence[str] = (),
) -> Row:
    by_token = {sub.token: sub for sub in submissions}
    row = Row(scenario=scenario, requests=len(answers), queued=queued, seconds=seconds)
    failures = row.failures
    extra_notes: list[str] = []

    # ---- the API's answers --------------------------------------------------------------------
    row.server_errors = sum(1 for a in answers if a.status is not None and a.status >= 500)
    no_answer = sum(1 for a in answers if a.status is None)
    unexpected = Counter(
        f"{a.status} {a.outcome or ''}".strip()
        for a in answers
        if a.status is not None and a.status < 500 and a.status not in expect.allowed_statuses
    )
    accepted = {a.token for a in answers if a.status is not None and 200 <= a.status < 300}
    summary = Counter(f"{a.status} {a.outcome or ''}".strip() for a in answers if a.status is not None)

    # ---- the vendor's writes ------------------------------------------------------------------
    writes: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    stray = 0
    for rec in records:
        token = token_of(dict(rec))
        if token is None or token not in by_token:
            stray += 1
        else:
            writes[token].append(rec)
    row.delivered = len(writes)

    resent = 0
    worst: Counter[int] = Counter()
    for token, recs in writes.items():
        sub = by_token[token]
        bound = 1 if expect.once_per_write else sub.bound
        row.duplicates += max(0, len(recs) - bound)
        resent += min(len(recs), bound) - 1
        worst[len(recs)] += 1

    # ---- the parked queue ---------------------------------------------------------------------
    parked_reasons: dict[str, list[str | None]] = defaultdict(list)
    stray_parked = 0
    for item in parked:
        if item.delivery_id in by_token:
            parked_reasons[item.delivery_id].append(item.reason)
        else:
            stray_parked += 1
    row.parked = len(parked_reasons)
    reasons = Counter(r or "no reason" for rs in parked_reasons.values() for r in rs)
    unexpected_parking: Counter[str] = Counter()
    for token, rs in parked_reasons.items():
        operation = by_token[token].operation
        allowed = expect.allowed_parking.get(operation, frozenset())
        for reason in rs:
            if reason is None or reason not in allowed:
                unexpected_parking[f"{operation} {reason or 'without a reason'}"] += 1
    parked_twice = sum(1 for rs in parked_reasons.values() if len(rs) > 1)
    landed_and_parked = sum(1 for token in parked_reasons if token in writes)

    # ---- lost ---------------------------------------------------------------------------------
    lost = sorted(t for t in accepted if t not in writes and t not in parked_reasons)
    row.lost = len(lost)
    missing = sorted(sub.token for sub in submissions if sub.token not in writes)
    delivered_unaccepted = sum(1 for t in writes if t not in accepted)

    # ---- invariants ---------------------------------------------------------------------------
    if row.lost:
        failures.append(
            f"lost = {row.lost}: accepted but neither delivered nor parked: {', '.join(lost[:10])}"
        )
    if row.duplicates:
        failures.append(
            f"duplicates = {row.duplicates}: vendor writes beyond the bound (2 per delivery, 1 for a viewing)"
        )
    if row.queued:
        failures.append(f"queued = {row.queued}: still on the failure queue at the end")
    if row.server_errors:
        statuses = Counter(str(a.status) for a in answers if a.status is not None and a.status >= 500)
        failures.append(f"5xx = {row.server_errors}: {_counts(statuses)}")
    if no_answer:
        failures.append(f"{no_answer} request(s) got no HTTP answer from the API")
    if unexpected:
        failures.append(f"unexpected API answers: {_counts(unexpected)}")
    if stray:
        failures.append(f"{stray} vendor write(s) match no submission of this scenario")
    if stray_parked:
        failures.append(f"{stray_parked} parked message(s) match no submission of this scenario")
    if unexpected_parking:
        failures.append(f"unexpected parking: {_counts(unexpected_parking)}")
    if parked_twice:
        failures.append(f"{parked_twice} submission(s) parked more than once")
    if expect.all_delivered and missing:
        failures.append(f"{len(missing)} submission(s) never reached the vendor: {', '.join(missing[:10])}")

    # ---- notes --------------------------------------------------------------------------------
    extra_notes.append(f"answers: {_counts(summary)}" if summary else "no answers")
    if resent:
        extra_notes.append(f"re-sent once after an ambiguous outcome: {resent} (within the bound)")
    if worst:
        extra_notes.append(f"writes per delivery: {_counts(Counter({str(k): n for k, n in worst.items()}))}")
    if reasons:
        extra_notes.append(f"parked: {_counts(reasons)} (write landed for {landed_and_parked})")
    if delivered_unaccepted:
        extra_notes.append(f"delivered without a 2xx answer: {delivered_unaccepted}")
    row.notes = "; ".join([*notes, *extra_notes])
    return row


# ---- the table ----------------------------------------------------------------------------------

HEADER = (*COLUMNS, "notes")
_NUMERIC = set(COLUMNS[1:])


def format_table(rows: Sequence[Row]) -> str:
    """One Markdown table, padded so it also reads well in a terminal."""
    cells = [HEADER, *[(*row.cells(), row.notes.replace("|", "/")) for row in rows]]
    widths = [max(len(line[i]) for line in cells) for i in range(len(HEADER))]

    def line(values: Sequence[str]) -> str:
        padded = [
            value.rjust(width) if name in _NUMERIC else value.ljust(width)
            for name, value, width in zip(HEADER, values, widths, strict=True)
        ]
        return "| " + " | ".join(padded) + " |"

    dashes = [
        "-" * (width + 1) + ":" if name in _NUMERIC else "-" * (width + 2)
        for name, width in zip(HEADER, widths, strict=True)
    ]
    rule = "|" + "|".join(dashes) + "|"
    return "\n".join([line(cells[0]), rule, *(line(c) for c in cells[1:])])
