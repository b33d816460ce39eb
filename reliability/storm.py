"""Redelivery storm: every signed Typeform event arrives three times at once → one vendor write each.

200 events (quick: 20), round-robin over the four POST routes, each built from a distinct lead the way
Typeform posts it (every native field an answer whose `ref` is its path, path parameters as hidden
fields, one unmapped question) and signed with the local Typeform secret. The three copies of an
event are released together by a barrier, 8 events at a time. The delivery id is Typeform's
`event_id`, so the product's idempotency (DESIGN §5) must let exactly one copy reach the vendor: the
others get the first answer (200) or, while the first is still in flight, 409 with Retry-After.
No faults: any write beyond the first is a duplicate.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from local.make_events import typeform_body, typeform_signature
from local.stack import RunningStack
from reliability.accounting import Answer, Expectations, account, parked_from_messages
from reliability.common import Row
from reliability.driver import ApiClient, drain_failure_queue, fixtures, queue_depth
from reliability.leads import Submission, make_submissions

SCENARIO = "redelivery storm"
EVENTS = {False: 200, True: 20}
COPIES = 3
PARALLEL_EVENTS = 8
CAP_S = {False: 300.0, True: 60.0}
BARRIER_TIMEOUT_S = 30.0
# Offset of the invented people, so none of them is also a soak person in the same sandbox.
PEOPLE_OFFSET = 50_000

EXPECT = Expectations(allowed_statuses=frozenset({200, 409}), once_per_write=True, all_delivered=True)


def typeform_event(sub: Submission) -> bytes:
    """The submission as a Typeform `form_response` webhook; `event_id` and `token` are its token."""
    event: dict[str, Any] = typeform_body(sub.function, sub.body)
    event["event_id"] = sub.token
    event["form_response"]["token"] = sub.token
    event["form_response"]["form_id"] = "LhStorm"
    event["form_response"]["definition"]["id"] = "LhStorm"
    return json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode()


def send_copies(client: ApiClient, sub: Submission, raw: bytes) -> list[Answer]:
    """Three copies released at the same instant, each on its own thread (and connection)."""
    headers = {"Content-Type": "application/json", "Typeform-Signature": typeform_signature(raw)}
    barrier = threading.Barrier(COPIES, timeout=BARRIER_TIMEOUT_S)
    answers: list[Answer | None] = [None] * COPIES

    def copy(position: int) -> None:
        with contextlib.suppress(threading.BrokenBarrierError):  # a late copy is still a redelivery
            barrier.wait()
        answers[position] = client.post(sub.token, sub.route, raw, headers)

    threads = [threading.Thread(target=copy, args=(i,), name=f"storm-{sub.token}-{i}") for i in range(COPIES)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=BARRIER_TIMEOUT_S + 60)
    return [a if a is not None else Answer(sub.token, None, "thread did not finish") for a in answers]


def run(stack: RunningStack, quick: bool) -> list[Row]:
    started = time.monotonic()
    submissions = make_submissions(
        "STORM", EVENTS[quick], fixtures(stack), offset=PEOPLE_OFFSET, domain="example.com"
    )
    client = ApiClient(stack)
    deadline = started + CAP_S[quick]

    def event(sub: Submission) -> list[Answer] | None:
        if time.monotonic() > deadline:
            return None
        return send_copies(client, sub, typeform_event(sub))

    with ThreadPoolExecutor(max_workers=PARALLEL_EVENTS, thread_name_prefix="storm") as pool:
        results = list(pool.map(event, submissions))
    answers = [a for batch in results if batch is not None for a in batch]
    sent = {a.token for a in answers}
    not_sent = sum(1 for batch in results if batch is None)
    # Nothing should be queued (no faults); if something was, deliver it before counting.
    drained = drain_failure_queue(stack, max_rounds=50, cap_s=30.0)
    queued = queue_depth(stack, stack.failure_queue)
    parked = parked_from_messages(stack.drain(stack.parked_queue))
    records = stack.records()
    per_event = Counter(tuple(sorted(str(a.status) for a in answers if a.token == t)) for t in sent)
    shapes = ", ".join(f"{'/'.join(k)}={n}" for k, n in per_event.most_common(4))
    notes = [f"{len(sent)} Typeform events, {COPIES} concurrent copies each; answers per event: {shapes}"]
    if drained.handled:
        notes.append(f"replayed {drained.handled}")
    row = account(
        SCENARIO,
        [s for s in submissions if s.token in sent],
        answers,
        records,
        parked,
        queued,
        time.monotonic() - started,
        EXPECT,
        notes=notes,
    )
    no_first_answer = [t for t in sent if not any(a.token == t and a.status == 200 for a in answers)]
    if no_first_answer:
        row.failures.append(f"{len(no_first_answer)} event(s) got no 200 from any copy")
    if not_sent:
        row.failures.append(f"wall-clock cap ({CAP_S[quick]:.0f} s) reached: {not_sent} events not sent")
    return [row]
