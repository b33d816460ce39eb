"""The delivery journal's pieces (issue 15): keyed hashes of normalised contact values, the index
queries `find` makes, `edit`'s field edits and re-validation, the record's retention and re-fingerprint."""

from __future__ import annotations

import argparse
import io
from typing import Any

import pytest
from leadhooks import deliveries, journal
from leadhooks.deliveries import DeliveryKey, DeliveryStore, Lease
from leadhooks.failures import FailureEnvelope
from leadhooks_ops import journal_commands as jc

PEPPER = "pepper-one"
KEY = DeliveryKey("default", "vitec_person_lead", "d-1")


@pytest.mark.parametrize(
    ("kind", "typed", "stored"),
    [
        ("email", "  Anna.Svensson@Example.SE ", "anna.svensson@example.se"),
        ("phone", "070-123 45 67", "+46701234567"),
        ("phone", "+46 70 123 45 67", "+46701234567"),
        ("ssn", "19850101-1234", "198501011234"),
    ],
)
def test_a_typed_value_hashes_like_the_stored_one(kind: journal.Kind, typed: str, stored: str) -> None:
    assert journal.keyed_hash(kind, typed, PEPPER) == journal.keyed_hash(kind, stored, PEPPER)


def test_an_unparseable_phone_is_hashed_by_its_digits() -> None:
    assert journal.normalise("phone", "ext. 12") == "12"


def test_the_hash_is_keyed_and_reveals_nothing() -> None:
    digest = journal.keyed_hash("email", "anna@example.se", PEPPER)
    assert digest is not None and "anna" not in digest and len(digest) == 64
    assert digest != journal.keyed_hash("email", "anna@example.se", "another-pepper")
    assert journal.keyed_hash("email", "   ", PEPPER) is None


def test_contact_hashes_take_the_first_value_of_each_kind(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(journal, "current_pepper", lambda: PEPPER)
    request = {
        "person": {
            "email": {"emailAddress": "A@Example.se"},
            "telephone": {"cell": "+46701234567"},
            "socialSecurityNumber": "850101-1234",
        }
    }
    hashes = journal.contact_hashes(request)
    assert hashes == {
        "emailHash": journal.keyed_hash("email", "a@example.se", PEPPER),
        "phoneHash": journal.keyed_hash("phone", "+46701234567", PEPPER),
        "ssnHash": journal.keyed_hash("ssn", "8501011234", PEPPER),
    }
    monkeypatch.setattr(journal, "current_pepper", lambda: None)
    assert journal.contact_hashes(request) == {}  # no pepper: the record is written without hashes


def test_peppers_newest_first_and_the_single_generated_key() -> None:
    assert journal.peppers_from({"journalPeppers": ["new", "", "old"]}) == ["new", "old"]
    assert journal.peppers_from({"journalPepper": "generated"}) == ["generated"]
    assert journal.peppers_from({}) == []


def test_find_queries_each_hash_on_its_index_under_every_pepper() -> None:
    args = argparse.Namespace(email="a@example.se", phone=None, personnummer=None, phone_region="SE")
    wanted = jc.wanted_hashes(args, ["new", "old"])
    assert list(wanted) == ["email"] and len(set(wanted["email"])) == 2
    query = jc.query_kwargs("t", "email", wanted["email"][0], {"id": {"S": "x"}})
    assert query["IndexName"] == "emailHash" and query["TableName"] == "t"
    assert query["ExpressionAttributeValues"] == {":h": {"S": wanted["email"][0]}}
    assert query["ExclusiveStartKey"] == {"id": {"S": "x"}}


class FakeIndex:
    """Two pages for one hash, so `record_ids` follows LastEvaluatedKey; criteria are intersected."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def query(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(kwargs)
        if kwargs["IndexName"] == "phoneHash":
            return {"Items": [{"id": {"S": "c#op#2"}}]}
        if "ExclusiveStartKey" in kwargs:
            return {"Items": [{"id": {"S": "c#op#2"}}]}
        return {"Items": [{"id": {"S": "c#op#1"}}], "LastEvaluatedKey": {"id": {"S": "c#op#1"}}}


def test_record_ids_pages_and_intersects() -> None:
    index = FakeIndex()
    assert jc.record_ids(index, "t", {"email": ["h"]}) == {"c#op#1", "c#op#2"}
    assert jc.record_ids(index, "t", {"email": ["h"], "phone": ["p"]}) == {"c#op#2"}
    assert jc.key_of("a-client#vitec_person_lead#d-1") == DeliveryKey("a-client", "vitec_person_lead", "d-1")


def test_since_takes_dates_and_relative_spans() -> None:
    assert jc.parse_since("2026-12-01").isoformat() == "2026-12-01T00:00:00+00:00"
    with pytest.raises(argparse.ArgumentTypeError):
        jc.parse_since("yesterday")


def test_edits_unset_then_set_and_name_what_failed() -> None:
    request = {"person": {"firstName": "A", "email": "a@example.se"}, "customerId": "M1"}
    edited = jc.apply_edits(
        request, ["person.lastName=Svensson", "person.email.emailAddress=a@example.se"], ["person.email"]
    )
    assert edited["person"] == {
        "firstName": "A",
        "lastName": "Svensson",
        "email": {"emailAddress": "a@example.se"},
    }
    assert request["person"]["email"] == "a@example.se"  # the parked copy is untouched
    with pytest.raises(ValueError, match="no such field"):
        jc.apply_edits(request, [], ["person.nope"])
    with pytest.raises(ValueError, match="path=value"):
        jc.apply_edits(request, ["person.lastName"], [])


def _envelope(request: dict[str, Any]) -> FailureEnvelope:
    return FailureEnvelope(
        delivery_id="d-1", operation="vitec_area_interest", client="default", request=request
    )


def test_revalidation_lists_field_errors_and_keeps_a_valid_edit() -> None:
    from tests.integration.test_delivery import body

    good = body("vitec_area_interest.json")
    bad = {**good, "updatePerson": {**good["updatePerson"], "email": "not-an-object"}}
    envelope = _envelope(bad)
    errors = jc.revalidate(envelope, bad)
    assert errors and any("email" in e["field"] for e in errors)
    assert envelope.request == bad and envelope.fingerprint is None  # nothing changed
    assert jc.revalidate(envelope, good) == []
    assert envelope.fingerprint and envelope.customer_id == "M10001"


def test_the_record_lasts_the_journal_retention_and_takes_an_edited_fingerprint(
    record_store: DeliveryStore,
) -> None:
    lease = record_store.create(
        KEY, fingerprint="fp", customer_id="M1", by="api", send=False, journal={"emailHash": "h"}
    )
    assert isinstance(lease, Lease)
    record = record_store.get(KEY)
    assert record is not None and record.expiration >= deliveries.now_s() + 89 * 24 * 3600
    with pytest.raises(LookupError):  # in flight: not an operator's to edit
        record_store.refingerprint(KEY, "edited")
    record_store.settle(lease, "parked", by="api", event="parked", reason="invalid_input")
    record_store.refingerprint(KEY, "edited")
    record = record_store.get(KEY)
    assert record is not None and record.fingerprint == "edited" and record.history[-1]["event"] == "edited"


def test_wait_reports_where_each_delivery_stands(record_store: DeliveryStore) -> None:
    lease = record_store.create(KEY, fingerprint="fp", customer_id="M1", by="api", send=True)
    assert isinstance(lease, Lease)
    record_store.settle(lease, "delivered", by="api", event="delivered")
    out = io.StringIO()
    jc.wait_for(record_store, [KEY, DeliveryKey("default", "vitec_person_lead", "d-2")], 1, out)
    assert out.getvalue().splitlines() == ["d-1: delivered", "d-2: queued"]
