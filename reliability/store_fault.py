"""A DynamoDB fault after the vendor call: the write landed, recording that it did fails.

The API runs in its own process (`reliability.process.ApiProcess`) whose DynamoDB client goes through
`reliability.process.DynamoFaultProxy` (`AWS_ENDPOINT_URL_DYNAMODB`); everything else reaches moto
directly. While the submissions are sent, the proxy fails every `UpdateItem` with a 500: the delivery
record can be created (PutItem) and the vendor call made, but the record cannot be marked done. One
submission per write operation (full: 3 rounds). Then the proxy forwards everything again and each caller
whose answer was not a 2xx retries the same deliveryId (409 + Retry-After honoured), as senders do.

Invariants: nothing lost, no 5xx, the write bound (2 per deliveryId, 1 for a viewing registration).
Today, when the store fails the pipeline delivers again without it (`send_once` falls back to a second
vendor call), so a viewing registration is written twice: expected to fail until the exactly-once branch.
"""

from __future__ import annotations

import time

from local.stack import RunningStack
from reliability.accounting import Answer, Expectations
from reliability.bounded import finish
from reliability.common import Row
from reliability.driver import ApiClient, fixtures
from reliability.killed_api import ProcessClient, retry_until_answered, warm_up
from reliability.leads import OPERATIONS, Submission, make_submission
from reliability.process import ApiProcess, DynamoFaultProxy

SCENARIO = "store fault after vendor"
ROUNDS = {False: 3, True: 1}
PEOPLE_OFFSET = 62_000
RETRY_CAP_S = 30.0
PROCESS_ENV = {
    "DELIVERY_LEASE_S": "3",
    # botocore's own retries of the injected 500s, kept short.
    "AWS_RETRY_MODE": "standard",
    "AWS_MAX_ATTEMPTS": "2",
}
EXPECT = Expectations(
    allowed_statuses=frozenset({200, 202}),
    allowed_parking={"viewing_participant": frozenset({"answer_lost"})},
)


def run(stack: RunningStack, quick: bool) -> list[Row]:
    started = time.monotonic()
    seeds = fixtures(stack)
    submissions: list[Submission] = []
    answers: list[Answer] = []
    sent = 0
    with DynamoFaultProxy(f"http://127.0.0.1:{stack.aws_port}") as proxy:
        process = ApiProcess({**PROCESS_ENV, "AWS_ENDPOINT_URL_DYNAMODB": proxy.url})
        process.start()
        try:
            client: ApiClient = ProcessClient(process.url)
            for round_no in range(ROUNDS[quick]):
                subs = [
                    make_submission(
                        PEOPLE_OFFSET + round_no * 10 + i, op, f"DDB-{round_no * 10 + i:06d}", seeds
                    )
                    for i, op in enumerate(OPERATIONS)
                ]
                submissions.extend(subs)
                warm_up(client, subs)
                proxy.fail = {"UpdateItem"}
                first = [client.post_json(s.token, s.route, s.body, idempotency_key=s.token) for s in subs]
                sent += len(first)
                proxy.fail = set()
                for sub, answer in zip(subs, first, strict=True):
                    if answer.status is not None and 200 <= answer.status < 300:
                        answers.append(answer)
                        continue
                    final, tries = retry_until_answered(client, sub, RETRY_CAP_S)
                    answers.append(final)
                    sent += tries
        finally:
            process.stop()
        failed = dict(proxy.failed)
    row = finish(
        stack,
        SCENARIO,
        submissions,
        answers,
        requests=sent,
        started=started,
        expect=EXPECT,
        notes=[f"DynamoDB UpdateItem failed {failed.get('UpdateItem', 0)} time(s) after the vendor calls"],
    )
    if not failed.get("UpdateItem"):
        row.failures.append("the proxy failed no UpdateItem: the fault did not happen")
    return [row]
