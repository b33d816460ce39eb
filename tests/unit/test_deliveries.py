"""The delivery record store on an in-process moto table: claims, the bound's gate, settling, leases."""

from __future__ import annotations

from typing import Any

import pytest
from leadhooks import deliveries
from leadhooks.deliveries import DeliveryKey, DeliveryStore, Lease, Record, StoredAnswer

KEY = DeliveryKey("default", "vitec_person_lead", "d-1")


def claim(store: DeliveryStore, key: DeliveryKey = KEY, *, send: bool = True, fp: str = "fp") -> Any:
    return store.create(key, fingerprint=fp, customer_id="M10001", by="api", send=send)


def test_a_fresh_claim_counts_one_send_in_the_same_put(record_store: DeliveryStore) -> None:
    lease = claim(record_store)
    assert isinstance(lease, Lease) and (lease.maybe_written, lease.attempts, lease.sending) == (1, 1, True)
    record = record_store.get(KEY)
    assert record is not None
    assert (record.status, record.maybe_written, record.attempts, record.fingerprint) == (
        "in_flight",
        1,
        1,
        "fp",
    )
    assert record.key == KEY and record.lease_live()


def test_the_id_is_the_client_operation_and_delivery(record_store: DeliveryStore) -> None:
    assert KEY.id == "default#vitec_person_lead#d-1"
    other = DeliveryKey("someone-else", KEY.operation, KEY.delivery_id)
    assert isinstance(claim(record_store), Lease)
    assert isinstance(claim(record_store, other), Lease)  # another client's equal id: its own delivery
    assert [r.key.client for r in record_store.batch_get([KEY])] == ["default"]


def test_a_second_claim_gets_the_record_not_a_lease(record_store: DeliveryStore) -> None:
    claim(record_store)
    again = claim(record_store, fp="other")
    assert isinstance(again, Record) and again.fingerprint == "fp" and again.lease_live()


def test_settle_delivered_keeps_the_first_answer_and_the_result(record_store: DeliveryStore) -> None:
    lease = claim(record_store)
    body = {"deliveryId": "d-1", "status": "delivered", "leadId": "L-1"}
    assert record_store.settle(
        lease,
        "delivered",
        by="api",
        event="delivered",
        answer=StoredAnswer(200, body),
        result={"leadId": "L-1"},
    )
    record = record_store.get(KEY)
    assert record is not None
    assert (record.status, record.result, record.maybe_written) == ("delivered", {"leadId": "L-1"}, 1)
    assert record.answer == StoredAnswer(200, body)
    assert [e["event"] for e in record.history] == ["claimed", "delivered"]


def test_not_done_gives_the_slot_back_and_the_gate_holds_the_bound(record_store: DeliveryStore) -> None:
    lease = claim(record_store)
    record_store.settle(lease, "queued", by="api", event="queued", give_back=True, next_attempt_at="soon")
    record = record_store.get(KEY)
    assert record is not None and (record.status, record.maybe_written) == ("queued", 0)
    # the replay: take over, then two sends may write (each an ambiguous outcome), never a third
    for expected in (True, True, False):
        taken = record_store.take_over(record, by="replay")
        assert taken is not None
        assert record_store.gate(taken, 2) is expected
        record_store.settle(taken, "queued", by="replay", event="retry")
        record = record_store.get(KEY)
        assert record is not None
    assert record.maybe_written == 2 and record.attempts == 3


def test_a_live_lease_cannot_be_taken_over_an_expired_one_can(
    record_store: DeliveryStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    claim(record_store)
    record = record_store.get(KEY)
    assert record is not None and record_store.take_over(record, by="api") is None
    later = deliveries.now_s() + 3600
    monkeypatch.setattr(deliveries, "now_s", lambda: later)
    taken = record_store.take_over(record, by="api")
    assert taken is not None and taken.maybe_written == 1  # the dead holder's send still counts
    assert record_store.take_over(record, by="replay") is None  # one taker only


def test_settle_by_a_holder_that_lost_its_lease_is_refused_except_for_a_delivery(
    record_store: DeliveryStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = claim(record_store)
    record = record_store.get(KEY)
    assert record is not None
    later = deliveries.now_s() + 3600
    monkeypatch.setattr(deliveries, "now_s", lambda: later)
    second = record_store.take_over(record, by="replay")
    assert isinstance(first, Lease) and second is not None
    assert not record_store.settle(first, "queued", by="api", event="queued")
    assert record_store.settle(first, "delivered", by="api", event="delivered", result={"leadId": "L"})


def test_release_deletes_a_record_that_wrote_nothing(record_store: DeliveryStore) -> None:
    lease = claim(record_store)
    record_store.release(lease, give_back=True, delete=True)
    assert record_store.get(KEY) is None
    lease = claim(record_store)
    record_store.release(lease, give_back=False)  # may have written: kept, lease expired at once
    record = record_store.get(KEY)
    assert record is not None and record.maybe_written == 1 and not record.lease_live()


def test_the_operators_requeue_needs_no_lambda_settings(
    record_store: DeliveryStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`leadhooks-ops parked replay` and `edit` run on an operator's machine, without the functions'
    environment (found by hand: `edit` failed with "missing environment settings: OMNICASA_BASE_URL")."""
    from leadhooks.deliveries import PARKED_KEEP_S, now_s
    from leadhooks.settings import get_settings

    lease = claim(record_store)
    record_store.settle(lease, "parked", by="api", event="parked", reason="invalid_input")
    for name in ("FAILURE_QUEUE_URL", "PARKED_QUEUE_URL", "OMNICASA_BASE_URL", "ARCHIVE_BUCKET"):
        monkeypatch.delenv(name, raising=False)
    get_settings.cache_clear()
    try:
        record_store.refingerprint(KEY, "fp-edited")
        record_store.requeue(KEY)
    finally:
        get_settings.cache_clear()
    stored = record_store.get(KEY)
    assert stored is not None and stored.status == "queued" and stored.fingerprint == "fp-edited"
    assert stored.expiration >= now_s() + PARKED_KEEP_S - 5


def test_requeue_by_an_operator_keeps_the_count(record_store: DeliveryStore) -> None:
    lease = claim(record_store)
    record_store.settle(lease, "parked", by="api", event="parked", reason="answer_lost")
    record = record_store.requeue(KEY)
    stored = record_store.get(KEY)
    assert record.status == "queued" and stored is not None
    assert (stored.status, stored.maybe_written, stored.reason) == ("queued", 1, None)
    with pytest.raises(LookupError):
        record_store.requeue(DeliveryKey("default", "vitec_person_lead", "d-unknown"))


def test_an_expired_record_counts_as_absent(
    record_store: DeliveryStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    claim(record_store)
    # The record is the delivery journal too: it lasts JOURNAL_RETENTION_DAYS (default 90).
    later = deliveries.now_s() + 91 * 24 * 3600
    monkeypatch.setattr(deliveries, "now_s", lambda: later)
    assert record_store.get(KEY) is None
    assert isinstance(claim(record_store, fp="new"), Lease)


def test_a_parked_record_outlives_the_parked_queue(record_store: DeliveryStore) -> None:
    lease = claim(record_store)
    record_store.settle(lease, "parked", by="api", event="parked", reason="vendor_rejected")
    record = record_store.get(KEY)
    assert record is not None
    assert record.expiration - deliveries.now_s() >= 14 * 24 * 3600
