"""Oversized signed bodies are kept, once, and nothing parked expires unseen (DESIGN §5, §8).

For each write route: a Typeform event and a Standard Webhooks post over the 256 KB limit (a long
free-text answer), each sent twice (the sender's retry), and one API-key post over the limit (control).

Invariants: every signed one answered 413 with `parked: true`, `reason: too_large`, the same answer both
times; parked exactly once; its body kept byte for byte in the archive (`bodies/`) and its envelope
archived (`parked/`); nothing written to the vendor; the API-key control answered 413 and nothing kept.
"""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

from local.stack import RunningStack
from reliability.accounting import parked_from_messages
from reliability.common import Row
from reliability.driver import ApiClient, fixtures
from reliability.leads import OPERATIONS, Submission, make_submission
from reliability.signed import standard_webhook, typeform
from reliability.writes import check

SCENARIO = "oversized signed bodies"
PEOPLE_OFFSET = 64_000
PADDING = 300 * 1024
FREE_TEXT = {
    "person_lead": ("message",),
    "area_interest": ("updatePerson", "note"),
    "viewing_participant": ("contactMessage",),
    "contact_on_me": ("Content",),
}


def padded(sub: Submission) -> Submission:
    body: dict[str, Any] = {k: (dict(v) if isinstance(v, dict) else v) for k, v in sub.body.items()}
    *parents, leaf = FREE_TEXT[sub.operation]
    target = body
    for name in parents:
        target = target[name]
    target[leaf] = f"{target[leaf]} " + "Mycket att säga. " * (PADDING // 17)
    return Submission(token=sub.token, operation=sub.operation, body=body)


def run(stack: RunningStack, quick: bool) -> list[Row]:
    started = time.monotonic()
    seeds = fixtures(stack)
    client = ApiClient(stack)
    row = Row(scenario=SCENARIO)
    signed: list[Submission] = []
    raw_bodies: dict[str, bytes] = {}
    statuses: Counter[str] = Counter()
    for i, op in enumerate(OPERATIONS):
        for j, sign in enumerate((typeform, standard_webhook)):
            index = i * 2 + j
            sub = padded(make_submission(PEOPLE_OFFSET + index, op, f"BIG-{index:06d}", seeds))
            raw, headers = sign(sub)
            raw_bodies[sub.token] = raw
            signed.append(sub)
            answers = [client.post(sub.token, sub.route, raw, headers) for _ in range(2)]
            row.requests += 2
            for answer in answers:
                statuses[f"{answer.status} {answer.outcome}"] += 1
            if any(a.status != 413 or a.outcome != "payload_too_large" for a in answers):
                row.failures.append(f"{sub.token}: answered {[a.status for a in answers]}, not 413 twice")
    control = padded(make_submission(PEOPLE_OFFSET + 50, "person_lead", "BIG-000050", seeds))
    control_answer = client.post_json(
        control.token, control.route, control.body, idempotency_key=control.token
    )
    row.requests += 1
    if control_answer.status != 413:
        row.failures.append(f"API-key control answered {control_answer.status}, not 413")

    parked = parked_from_messages(stack.drain(stack.parked_queue))
    archived = stack.archived()
    bodies = stack.archived("bodies/")
    per_delivery = Counter(p.delivery_id for p in parked)
    row.parked = len(per_delivery)
    wrong_reason = [p.delivery_id for p in parked if p.reason != "too_large"]
    twice = [d for d, n in per_delivery.items() if n > 1]
    signed_ids = {s.token for s in signed}
    missing = sorted(signed_ids - set(per_delivery))
    row.lost = len(missing)
    archived_ids = {str(e.get("deliveryId")) for e in archived.values()}
    not_archived = sorted(set(per_delivery) - archived_ids)
    if missing:
        row.failures.append(f"lost = {len(missing)}: not parked: {', '.join(missing)}")
    if twice:
        row.failures.append(f"parked more than once: {', '.join(twice)}")
    if wrong_reason:
        row.failures.append(f"parked with another reason: {', '.join(wrong_reason)}")
    if not_archived:
        row.failures.append(f"parked but not in the archive: {', '.join(not_archived)}")
    if control.token in per_delivery or any("BIG-000050" in key for key in bodies):
        row.failures.append("the API-key control was kept; its caller reads the 413")
    kept_exactly = 0
    s3 = stack.client("s3")
    for envelope in archived.values():
        ref = envelope.get("bodyRef") or {}
        token = str(envelope.get("deliveryId"))
        if ref and token in raw_bodies:
            data = s3.get_object(Bucket=ref["bucket"], Key=ref["key"])["Body"].read()
            kept_exactly += data == raw_bodies[token]
    if kept_exactly != len(signed):
        row.failures.append(f"bodies kept byte for byte: {kept_exactly} of {len(signed)}")
    records = stack.records()
    if records:
        row.failures.append(f"{len(records)} vendor write(s) from bodies over the limit")
    check(row, records)
    row.max_writes = row.max_writes or 0
    row.seconds = time.monotonic() - started
    row.notes = (
        f"{len(signed)} signed bodies of ~{PADDING // 1024} KB, each sent twice; 1 API-key control; "
        f"answers: {', '.join(f'{k}={n}' for k, n in sorted(statuses.items()))}; "
        f"archived: {len(archived)} envelopes, {len(bodies)} bodies"
    )
    return [row]
