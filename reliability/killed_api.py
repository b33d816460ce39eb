"""A killed API process mid-request: SIGKILL while the vendor call is in flight, restart, the caller retries.

The API runs in a process of its own (`reliability.process.ApiProcess`, the same app `make run` serves)
against the suite's moto server and sandbox. The sandbox is made slow (`latencyMs`): it sleeps, then
commits the write. One submission per write operation (quick and full alike: 4; full repeats it 3
rounds) is sent at once; when every vendor call is under way the process gets SIGKILL (no cleanup, like a
Lambda environment that dies mid-invocation). Each call still lands at the vendor; no caller got an
answer. The process is restarted, the sandbox is fast again, and each caller retries the same deliveryId
(as a Standard Webhooks / Typeform sender or an HTTP client would), honouring 409 + Retry-After until it
gets an answer (the delivery record's lease expires: DELIVERY_LEASE_S).

Invariants: nothing lost (every submission delivered or parked), no 5xx, and the write bound: at most 2
writes per deliveryId, 1 for a viewing registration (its retry must be parked `answer_lost`, not sent).
Today the retry runs the write again once the in-progress record expires: the viewing gets 2 writes.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

from local.stack import RunningStack
from reliability.accounting import Answer, Expectations
from reliability.bounded import finish
from reliability.common import Row
from reliability.driver import ApiClient, clear_faults, fixtures, set_faults
from reliability.leads import OPERATIONS, Submission, make_submission
from reliability.process import ApiProcess

SCENARIO = "killed API process"
ROUNDS = {False: 3, True: 1}
PEOPLE_OFFSET = 61_000
VENDOR_LATENCY_MS = 2500
KILL_AFTER_S = 1.0  # the API's own work (auth, validation, idempotency record) is well under this
FUNCTION_TIMEOUT_S = 3  # the delivery record lease in the API process (DELIVERY_LEASE_S)
RETRY_CAP_S = 30.0
# The API process' own settings: a read timeout longer than the slow vendor, so the call is in flight.
PROCESS_ENV = {
    "DELIVERY_LEASE_S": str(FUNCTION_TIMEOUT_S),
    "HTTP_READ_TIMEOUT_S": "8",
    "HTTP_BUDGET_S": "12",
}
EXPECT = Expectations(
    allowed_statuses=frozenset({200, 202}),
    allowed_parking={"viewing_participant": frozenset({"answer_lost"})},
)


class ProcessClient(ApiClient):
    """ApiClient on the killable process' URL."""

    def __init__(self, url: str) -> None:
        self.base = url
        self._local = threading.local()


def retry_until_answered(client: ApiClient, sub: Submission, cap_s: float) -> tuple[Answer, int]:
    """The caller's retry of the same deliveryId: 409 (in flight) and no answer are retried."""
    deadline = time.monotonic() + cap_s
    sent = 0
    while True:
        answer = client.post_json(sub.token, sub.route, sub.body, idempotency_key=sub.token)
        sent += 1
        if (answer.status not in (409, None)) or time.monotonic() > deadline:
            return answer, sent
        time.sleep(0.5)


def warm_up(client: ApiClient, subs: list[Submission]) -> None:
    """A fresh process builds its clients and reads its secrets on the first request of each route: do
    that first (dry runs reach no vendor), so the kill lands while the vendor call is in flight."""
    for sub in subs:
        client.post_json(f"warm-{sub.token}", f"{sub.route}?dryRun=true", sub.body, idempotency_key=sub.token)


def one_round(
    stack: RunningStack, process: ApiProcess, subs: list[Submission]
) -> tuple[list[Answer], int, int]:
    """Send, kill mid-call, restart, retry. (the retries' last answers, requests sent, answered before
    the kill: a call the process finished before it died did not test the kill)."""
    client = ProcessClient(process.url)
    warm_up(client, subs)
    set_faults(stack, {"latencyMs": VENDOR_LATENCY_MS})
    before = len(stack.records())
    with ThreadPoolExecutor(max_workers=len(subs)) as pool:
        futures = [
            pool.submit(client.post_json, s.token, s.route, s.body, idempotency_key=s.token) for s in subs
        ]
        time.sleep(KILL_AFTER_S)
        process.kill()
        first = [f.result() for f in futures]
    # The vendor finishes what it started (it sleeps, then commits) although nobody is listening.
    deadline = time.monotonic() + VENDOR_LATENCY_MS / 1000 + 5
    while len(stack.records()) < before + len(subs) and time.monotonic() < deadline:
        time.sleep(0.2)
    landed = len(stack.records()) - before
    clear_faults(stack)
    process.start()
    with ThreadPoolExecutor(max_workers=len(subs)) as pool:
        retried = list(
            pool.map(lambda s: retry_until_answered(ProcessClient(process.url), s, RETRY_CAP_S), subs)
        )
    # A call answered before the kill, or one that never reached the vendor, did not test the kill.
    missed = sum(1 for a in first if a.status is not None) + max(0, len(subs) - landed)
    return [a for a, _ in retried], len(first) + sum(n for _, n in retried), missed


def run(stack: RunningStack, quick: bool) -> list[Row]:
    started = time.monotonic()
    seeds = fixtures(stack)
    process = ApiProcess(PROCESS_ENV)
    process.start()
    answers: list[Answer] = []
    submissions: list[Submission] = []
    requests_sent = 0
    answered_before_kill = 0
    try:
        for round_no in range(ROUNDS[quick]):
            subs = [
                make_submission(PEOPLE_OFFSET + round_no * 10 + i, op, f"KILL-{round_no * 10 + i:06d}", seeds)
                for i, op in enumerate(OPERATIONS)
            ]
            submissions.extend(subs)
            got, sent, answered_first = one_round(stack, process, subs)
            answers.extend(got)
            requests_sent += sent
            answered_before_kill += answered_first
    finally:
        process.stop()
        clear_faults(stack)
    with_answer = sum(1 for a in answers if a.status is not None)
    row = finish(
        stack,
        SCENARIO,
        submissions,
        answers,
        requests=requests_sent,
        started=started,
        expect=EXPECT,
        notes=[
            f"{ROUNDS[quick]} kill(s) with {len(OPERATIONS)} calls in flight at the vendor "
            f"({VENDOR_LATENCY_MS} ms); {with_answer}/{len(answers)} retries answered",
            f"calls answered before the kill or not yet at the vendor: {answered_before_kill}",
        ],
    )
    if answered_before_kill:
        row.failures.append(
            f"{answered_before_kill} call(s) answered before the kill or not at the vendor when it came: "
            "the kill did not hit a vendor call in flight"
        )
    return [row]
