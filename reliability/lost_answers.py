"""Lost answers on every write operation: the vendor writes, then the answer never arrives.

`lostAnswerRate` 0.5 in the sandbox (seeded): half of all vendor calls are processed and committed, then
the connection closes without an answer (DESIGN §6's ambiguous outcome). 40 submissions (quick: 16),
round-robin over person lead, area interest, viewing registration and contact-on-me, each with its own
Idempotency-Key, sent one at a time; then the faults stop and the replay worker drains the failure queue.

Invariants: lost = 0, queued = 0, no 5xx, no duplicates, and the write bound: at most 2 vendor writes per
deliveryId, 1 for a viewing registration (a lost viewing answer is parked `answer_lost`, never re-sent).
Today's pipeline retries an ambiguous call inside the request (up to HTTP_ATTEMPTS) and again in replay,
so a person lead can be written 3 or more times: expected to fail until the exactly-once branch.
"""

from __future__ import annotations

import time

from local.stack import RunningStack
from reliability.accounting import Expectations
from reliability.bounded import finish
from reliability.common import Row
from reliability.driver import ApiClient, clear_faults, fixtures, set_faults
from reliability.leads import make_submissions

SCENARIO = "lost answers"
SUBMISSIONS = {False: 40, True: 16}
PEOPLE_OFFSET = 60_000
SEND_CAP_S = {False: 120.0, True: 60.0}
EXPECT = Expectations(
    allowed_statuses=frozenset({200, 202}),
    allowed_parking={"viewing_participant": frozenset({"answer_lost"})},
)


def run(stack: RunningStack, quick: bool) -> list[Row]:
    started = time.monotonic()
    submissions = make_submissions("LOST", SUBMISSIONS[quick], fixtures(stack), offset=PEOPLE_OFFSET)
    client = ApiClient(stack)
    deadline = started + SEND_CAP_S[quick]
    answers = []
    set_faults(stack, {"lostAnswerRate": 0.5, "seed": 12})
    try:
        for sub in submissions:
            if time.monotonic() > deadline:
                break
            answers.append(client.post_json(sub.token, sub.route, sub.body, idempotency_key=sub.token))
    finally:
        clear_faults(stack)
    sent = {a.token for a in answers}
    row = finish(
        stack,
        SCENARIO,
        [s for s in submissions if s.token in sent],
        answers,
        requests=len(answers),
        started=started,
        expect=EXPECT,
        notes=[f"{len(answers)} leads over 4 routes, lostAnswerRate 0.5"],
    )
    if len(answers) < len(submissions):
        row.failures.append(f"wall-clock cap reached: {len(submissions) - len(answers)} not sent")
    return [row]
