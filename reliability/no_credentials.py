"""Missing vendor credentials from signed senders: parked `no_credentials`, never lost (DESIGN §7).

A signed lead (Typeform and Standard Webhooks) for a Vitec customer that is not in the vendor secret
(`M99999`), on each Vitec write route (Omnicasa has one secret key for every customer). Nobody reads a
webhook sender's answer and senders don't retry a 4xx, so each must be parked with reason
`no_credentials` (DESIGN §7). Control: the same lead from an API-key caller gets 422 naming `customerId`
and nothing is parked (a program that reads its answer).

Invariants: every signed submission parked `no_credentials` (lost = signed submissions neither delivered
nor parked, whatever the status), nothing written, the API-key control answered 422 and not parked.
Today a signed delivery without credentials is answered 422 and not parked: it is lost. Expected to fail
until the `no_credentials` park lands (DESIGN §7; the exactly-once / tenancy branches).
"""

from __future__ import annotations

import time
from typing import Any

from local.stack import RunningStack
from reliability.accounting import Answer, Expectations, account, parked_from_messages
from reliability.bounded import settled_records
from reliability.common import Row
from reliability.driver import ApiClient, fixtures
from reliability.leads import Submission, make_submission
from reliability.signed import standard_webhook, typeform
from reliability.writes import check

SCENARIO = "no credentials (signed)"
UNKNOWN_CUSTOMER = "M99999"
PEOPLE_OFFSET = 63_000
VITEC = ("person_lead", "area_interest", "viewing_participant")
EXPECT = Expectations(
    allowed_statuses=frozenset({202, 422}),
    allowed_parking={op: frozenset({"no_credentials"}) for op in VITEC},
)


def for_unknown_customer(sub: Submission) -> Submission:
    body: dict[str, Any] = {**sub.body}
    if "updatePerson" in body:
        body["updatePerson"] = {**body["updatePerson"], "customerId": UNKNOWN_CUSTOMER}
    else:
        body["customerId"] = UNKNOWN_CUSTOMER
    return Submission(token=sub.token, operation=sub.operation, body=body)


def run(stack: RunningStack, quick: bool) -> list[Row]:
    started = time.monotonic()
    seeds = fixtures(stack)
    client = ApiClient(stack)
    signed: list[Submission] = []
    answers: list[Answer] = []
    for i, op in enumerate(VITEC):
        for j, sign in enumerate((typeform, standard_webhook)):
            index = i * 2 + j
            sub = for_unknown_customer(make_submission(PEOPLE_OFFSET + index, op, f"CRED-{index:06d}", seeds))
            raw, headers = sign(sub)
            signed.append(sub)
            answers.append(client.post(sub.token, sub.route, raw, headers))
    control = for_unknown_customer(make_submission(PEOPLE_OFFSET + 50, "person_lead", "CRED-000050", seeds))
    control_answer = client.post_json(
        control.token, control.route, control.body, idempotency_key=control.token
    )
    parked = parked_from_messages(stack.drain(stack.parked_queue))
    records = settled_records(stack)
    row = account(
        SCENARIO,
        signed,
        answers,
        records,
        [p for p in parked if p.delivery_id != control.token],
        0,
        time.monotonic() - started,
        EXPECT,
        notes=[
            f"{len(signed)} signed leads for {UNKNOWN_CUSTOMER} (Typeform, Standard Webhooks)",
            "1 API-key control",
        ],
    )
    row.requests += 1
    parked_tokens = {p.delivery_id for p in parked}
    row.lost = sum(1 for sub in signed if sub.token not in parked_tokens)
    if row.lost:
        row.failures.append(
            f"lost = {row.lost}: signed leads without credentials neither delivered nor parked"
        )
    if control_answer.status != 422:
        row.failures.append(f"API-key control answered {control_answer.status}, not 422")
    if control.token in parked_tokens:
        row.failures.append("the API-key control was parked; its caller reads the 422")
    check(row, records)
    return [row]
