"""Per-customer pacing end to end (docs/pacing.md), real HTTP, emulated DynamoDB and SQS, no mocks:
a write over its customer's budget is answered 202 queued with a reserved slot, and the replay
worker delivers it at that slot; another customer is not held up; a vendor 429 is queued, not
retried in the request, and delivered once the budget allows."""

from __future__ import annotations

import io
import json
import time
import uuid
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
import requests
from leadhooks_ops.cli import main as ops

from local import config
from local.replay_worker import drain_once
from tests.integration.conftest import Stack
from tests.integration.test_delivery import body, post

pytestmark = [pytest.mark.integration, pytest.mark.filterwarnings("ignore:No application metrics")]

SLOW = "M10002"  # given 0.2 leads per second: one every 5 s


def lead(customer: str) -> dict[str, Any]:
    payload = body("vitec_person_lead.json")
    payload["customerId"] = customer
    return payload


@pytest.fixture
def paced(clean: Stack) -> Iterator[Stack]:
    clean.pacing_limits({SLOW: 0.2})
    yield clean
    clean.pacing_limits({})


def received_at(record: dict[str, Any]) -> float:
    return datetime.fromisoformat(str(record["receivedAt"]).replace("Z", "+00:00")).timestamp()


def delayed(stack: Stack) -> int:
    attributes = stack.sqs().get_queue_attributes(
        QueueUrl=stack.failure_queue, AttributeNames=["ApproximateNumberOfMessagesDelayed"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessagesDelayed"])


def peek_when_visible(stack: Stack, cap_s: float = 10.0) -> list[dict[str, Any]]:
    """The queued envelopes once their SQS delay is over (read without consuming)."""
    deadline = time.monotonic() + cap_s
    while time.monotonic() < deadline:
        messages = stack.messages(stack.failure_queue)
        if messages:
            return [json.loads(m["Body"]) for m in messages]
        time.sleep(0.2)
    return []


def delivery_state(stack: Stack, delivery_id: str) -> dict[str, Any]:
    """`GET /deliveries/{deliveryId}`: the delivery record as the caller sees it."""
    answer = requests.get(
        f"{stack.api}/deliveries/{delivery_id}", headers={"x-api-key": config.API_KEY}, timeout=30
    )
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def drain_until(stack: Stack, count: int, cap_s: float = 20.0) -> list[dict[str, Any]]:
    deadline = time.monotonic() + cap_s
    while time.monotonic() < deadline:
        drain_once()
        records = stack.records(operation="person_lead")
        if len(records) >= count:
            return records
        time.sleep(0.2)
    return stack.records(operation="person_lead")


def test_a_write_over_budget_is_queued_with_its_slot_and_replayed_at_that_slot(paced: Stack) -> None:
    first = post(paced, "/vitec/person-leads", lead(SLOW), **{"Idempotency-Key": f"pace-{uuid.uuid4()}"})
    assert first.status_code == 200, first.text
    key = f"pace-{uuid.uuid4()}"
    second = post(paced, "/vitec/person-leads", lead(SLOW), **{"Idempotency-Key": key})
    assert second.status_code == 202, second.text
    assert (second.json()["deliveryId"], second.json()["status"]) == (key, "queued")
    # The same delivery again: the first answer, nothing sent, nothing queued twice.
    again = post(paced, "/vitec/person-leads", lead(SLOW), **{"Idempotency-Key": key})
    assert (again.status_code, again.json()) == (202, second.json())

    queued_at = time.time()
    assert delayed(paced) == 1  # on the failure queue, delayed until its slot
    # The record says queued until its slot; held by pacing, it was never sent: no attempt counted.
    state = delivery_state(paced, key)
    assert (state["status"], state["attempts"]) == ("queued", 0)
    slot_at = datetime.fromisoformat(state["nextAttemptAt"]).timestamp()
    assert slot_at == pytest.approx(queued_at + 5, abs=1.5)
    out = io.StringIO()
    assert ops(["queue", "stats"], out=out) == 0
    [line] = [row for row in out.getvalue().splitlines() if SLOW in row]
    assert "vitec" in line and "BOOKED AHEAD" in out.getvalue()
    [envelope] = peek_when_visible(paced)
    assert envelope["deliveryId"] == key and envelope["attempt"] == 1
    assert envelope["pacingSlotAt"] == pytest.approx(queued_at + 5, abs=1.5)
    assert len(paced.records(operation="person_lead")) == 1

    records = drain_until(paced, 2)
    assert len(records) == 2, "the queued lead was not delivered by the replay worker"
    gap = received_at(records[1]) - received_at(records[0])
    assert 4.0 <= gap <= 8.0, f"delivered {gap:.1f} s after the first: not at its 5 s slot"
    assert paced.messages(paced.failure_queue) == [] and paced.messages(paced.parked_queue) == []
    state = delivery_state(paced, key)
    assert (state["status"], state["attempts"]) == ("delivered", 1), "one send, by the replay worker"


def test_one_customers_spent_budget_does_not_hold_up_another(paced: Stack) -> None:
    answers = [
        post(paced, "/vitec/person-leads", lead(SLOW), **{"Idempotency-Key": f"busy-{i}-{uuid.uuid4()}"})
        for i in range(3)
    ]
    assert [a.status_code for a in answers] == [200, 202, 202]
    others = [
        post(paced, "/vitec/person-leads", lead("M10001"), **{"Idempotency-Key": f"calm-{i}-{uuid.uuid4()}"})
        for i in range(3)
    ]
    assert [a.status_code for a in others] == [200, 200, 200]
    assert all(a.json()["status"] == "delivered" for a in others)


def test_a_vendor_429_is_queued_not_retried_and_delivered_once_the_budget_allows(paced: Stack) -> None:
    paced.faults(failNext=1, statuses=[429], retryAfterS=2)
    key = f"throttled-{uuid.uuid4()}"
    answer = post(paced, "/vitec/person-leads", lead("M10001"), **{"Idempotency-Key": key})
    assert answer.status_code == 202, answer.text
    stats = paced.stats()
    assert stats["requests"] == 1, "a 429 must not be retried inside the request"
    [envelope] = peek_when_visible(paced)
    assert (envelope["attempt"], envelope["throttled"], envelope["lastError"]["status"]) == (1, 1, 429)

    assert delivery_state(paced, key)["status"] == "queued"

    records = drain_until(paced, 1)
    assert len(records) == 1
    assert paced.messages(paced.failure_queue) == [] and paced.messages(paced.parked_queue) == []
    # The 429 was a request that wrote nothing: its slot of the write bound was given back.
    assert delivery_state(paced, key)["status"] == "delivered"
