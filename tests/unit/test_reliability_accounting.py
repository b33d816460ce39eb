"""The reliability suite's bookkeeping (reliability/accounting.py, reliability/leads.py): what counts
as delivered, parked, lost and duplicated, from API answers, sandbox records and parked messages."""

from __future__ import annotations

import json
from typing import Any

import pytest

from reliability.accounting import (
    Answer,
    Expectations,
    Parked,
    account,
    answer_from_http,
    format_table,
    parked_from_messages,
)
from reliability.common import COLUMNS, Row
from reliability.leads import (
    DEDUPLICATED,
    OPERATIONS,
    ROUTES,
    Submission,
    make_submission,
    make_submissions,
    personnummer,
    token_of,
)

FIXTURES: dict[str, Any] = {
    "vitec": {
        "M10001": {
            "contactIds": [f"c-m10001-{i:03d}" for i in range(1, 61)],
            "viewings": [{"viewingId": "v-m10001-1", "timeSlotIds": ["t-m10001-1a", "t-m10001-1b"]}],
        },
        "M10002": {
            "contactIds": [f"c-m10002-{i:03d}" for i in range(1, 61)],
            "viewings": [{"viewingId": "v-m10002-1", "timeSlotIds": ["t-m10002-1a"]}],
        },
    },
    "omnicasa": {"customerIds": [101, 102]},
}
SOAK = Expectations(allowed_parking={"viewing_participant": frozenset({"answer_lost"})})
STORM = Expectations(allowed_statuses=frozenset({200, 409}), once_per_write=True, all_delivered=True)


def sub(operation: str, n: int = 1) -> Submission:
    return make_submission(n, operation, f"SOAK-{n:06d}", FIXTURES)


def record(s: Submission, *, contact: str | None = "c-1", result: Any = None) -> dict[str, Any]:
    vendor = "omnicasa" if s.operation == "contact_on_me" else "vitec"
    return {
        "vendor": vendor,
        "operation": s.operation,
        "body": s.body,
        "result": result,
        "contactId": contact if vendor == "vitec" else None,
    }


def ok(s: Submission, status: int = 200, outcome: str = "delivered") -> Answer:
    return Answer(s.token, status, outcome)


def tally(
    subs: list[Submission],
    answers: list[Answer],
    records: list[dict[str, Any]],
    parked: list[Parked] | None = None,
    *,
    queued: int = 0,
    expect: Expectations = SOAK,
) -> Row:
    return account("t", subs, answers, records, parked or [], queued, 1.0, expect)


# ---- leads ---------------------------------------------------------------------------------------


def test_every_submission_is_a_different_person_with_its_token_in_the_free_text() -> None:
    subs = make_submissions("SOAK", 400, FIXTURES)
    assert [s.operation for s in subs[:4]] == list(OPERATIONS)
    assert len({s.token for s in subs}) == 400
    for s in subs:
        assert token_of({"body": s.body}) == s.token
    emails = [json.dumps(s.body).lower() for s in subs if s.operation != "viewing_participant"]
    assert len(emails) == 300
    person_leads = [s.body["person"] for s in subs if s.operation == "person_lead"]
    assert len({p["email"]["emailAddress"] for p in person_leads}) == len(person_leads)
    assert len({p["telephone"]["cell"] for p in person_leads}) == len(person_leads)
    omnicasa = [s.body for s in subs if s.operation == "contact_on_me"]
    assert len({b["Email"] for b in omnicasa}) == len(omnicasa)


def test_personnummer_are_distinct_and_pass_luhn() -> None:
    numbers = [personnummer(i) for i in range(3000)]
    assert len(set(numbers)) == 3000
    for number in numbers[:200]:
        digits = number.replace("-", "")[2:]  # YYMMDDNNNC
        total = 0
        for i, char in enumerate(digits):
            value = int(char) * (2 if i % 2 == 0 else 1)
            total += value // 10 + value % 10
        assert total % 10 == 0, number


def test_viewing_bodies_use_seeded_ids_only() -> None:
    s = sub("viewing_participant", 7)
    customer = FIXTURES["vitec"][s.body["customerId"]]
    assert s.body["contactId"] in customer["contactIds"][:50]
    viewing = next(v for v in customer["viewings"] if v["viewingId"] == s.body["viewingId"])
    assert s.body["timeSlotId"] in viewing["timeSlotIds"]


def test_token_is_found_even_if_it_moved_and_not_invented() -> None:
    assert token_of({"body": {"person": {"firstName": "x SOAK-000001"}}}) == "SOAK-000001"
    assert token_of({"body": {"message": "no token here"}}) is None
    assert token_of({"body": "SOAK-000001"}) == "SOAK-000001"
    assert token_of({}) is None


# ---- answers and parked messages ------------------------------------------------------------------


def test_answer_outcome_is_the_status_for_2xx_and_the_error_code_otherwise() -> None:
    assert answer_from_http("a", 202, {"status": "queued"}).outcome == "queued"
    assert answer_from_http("a", 409, {"error": "in_progress"}).outcome == "in_progress"
    assert answer_from_http("a", 500, None).outcome is None
    assert answer_from_http("a", None, None).status is None


def test_parked_messages_read_the_envelope_then_the_attributes() -> None:
    messages: list[dict[str, Any]] = [
        {
            "Body": json.dumps(
                {
                    "deliveryId": "SOAK-000001",
                    "operation": "vitec_viewing_participant",
                    "reason": "answer_lost",
                }
            )
        },
        {
            "Body": "not json",
            "MessageAttributes": {
                "deliveryId": {"StringValue": "SOAK-000002", "DataType": "String"},
                "operation": {"StringValue": "vitec_person_lead", "DataType": "String"},
            },
        },
    ]
    assert parked_from_messages(messages) == [
        Parked("SOAK-000001", "vitec_viewing_participant", "answer_lost"),
        Parked("SOAK-000002", "vitec_person_lead", None),
    ]


# ---- the invariants ------------------------------------------------------------------------------


def test_clean_run_delivers_everything_once() -> None:
    subs = [sub(op, i) for i, op in enumerate(OPERATIONS)]
    records = [record(s, contact=f"c-{i}", result=50000 + i) for i, s in enumerate(subs)]
    row = tally(subs, [ok(s) for s in subs], records)
    counts = (row.requests, row.delivered, row.parked, row.lost, row.duplicates, row.queued)
    assert counts == (4, 4, 0, 0, 0, 0)
    assert row.failures == []
    assert "answers: 200 delivered=4" in row.notes


def test_accepted_but_never_written_nor_parked_is_lost() -> None:
    a, b = sub("person_lead", 1), sub("area_interest", 2)
    row = tally([a, b], [ok(a), ok(b, 202, "queued")], [record(a)])
    assert row.lost == 1
    assert any(f.startswith("lost = 1") and b.token in f for f in row.failures)


def test_a_parked_submission_is_not_lost() -> None:
    v = sub("viewing_participant", 3)
    parked = [Parked(v.token, "vitec_viewing_participant", "answer_lost")]
    row = tally([v], [ok(v, 202, "parked")], [], parked)
    assert (row.lost, row.parked, row.delivered) == (0, 1, 0)
    assert row.failures == []
    assert "answer_lost=1 (write landed for 0)" in row.notes


def test_parked_and_landed_is_counted_for_the_operator() -> None:
    v = sub("viewing_participant", 3)
    parked = [Parked(v.token, "vitec_viewing_participant", "answer_lost")]
    row = tally([v], [ok(v, 202, "parked")], [record(v)], parked)
    assert (row.delivered, row.parked, row.duplicates) == (1, 1, 0)
    assert "write landed for 1" in row.notes


def test_one_re_send_of_a_resendable_write_is_within_the_bound() -> None:
    p = sub("person_lead", 1)
    row = tally([p], [ok(p)], [record(p, contact="c-9"), record(p, contact="c-1")])
    assert row.duplicates == 0 and row.delivered == 1
    assert "re-sent once after an ambiguous outcome: 1 (within the bound)" in row.notes
    assert "writes per delivery: 2=1" in row.notes


@pytest.mark.parametrize("operation", ["person_lead", "area_interest", "contact_on_me"])
def test_a_third_write_is_beyond_the_bound(operation: str) -> None:
    p = sub(operation, 2)
    row = tally([p], [ok(p)], [record(p, result=50001)] * 3)
    assert row.duplicates == 1
    assert any(f.startswith("duplicates = 1") for f in row.failures)


def test_the_bound_comes_from_the_catalog() -> None:
    from leadhooks.catalog import WRITES

    expected = {
        operation
        for operation, (_route, function) in ROUTES.items()
        if next(e for e in WRITES if e.name == function).operation().resend_after_ambiguous
    }
    assert expected == DEDUPLICATED == {"person_lead", "area_interest", "contact_on_me"}
    assert [sub(op).bound for op in ("person_lead", "viewing_participant")] == [2, 1]


def test_a_second_viewing_registration_is_a_duplicate() -> None:
    v = sub("viewing_participant", 3)
    row = tally([v], [ok(v)], [record(v), record(v)])
    assert row.duplicates == 1


def test_once_per_write_counts_every_extra_write() -> None:
    p = sub("person_lead", 1)
    answers = [ok(p), Answer(p.token, 409, "in_progress"), ok(p)]
    row = tally([p], answers, [record(p), record(p)], expect=STORM)
    assert row.duplicates == 1
    assert row.requests == 3


def test_storm_needs_every_event_written() -> None:
    p = sub("person_lead", 1)
    row = tally([p], [Answer(p.token, 409, "in_progress")] * 3, [], expect=STORM)
    assert row.lost == 0  # never accepted…
    assert any("never reached the vendor" in f for f in row.failures)  # …but still a failure


def test_5xx_no_answer_and_unexpected_4xx_are_failures() -> None:
    a, b, c = sub("person_lead", 1), sub("person_lead", 5), sub("person_lead", 9)
    answers = [
        Answer(a.token, 503, "not_kept"),
        Answer(b.token, None, "ConnectionError"),
        Answer(c.token, 422, "validation_error"),
    ]
    row = tally([a, b, c], answers, [])
    assert row.server_errors == 1
    joined = " / ".join(row.failures)
    assert "5xx = 1: 503=1" in joined
    assert "1 request(s) got no HTTP answer" in joined
    assert "unexpected API answers: 422 validation_error=1" in joined
    assert row.lost == 0  # none of them was accepted


def test_409_is_fine_in_the_storm_but_not_in_the_soak() -> None:
    p = sub("person_lead", 1)
    answers = [ok(p), Answer(p.token, 409, "in_progress")]
    assert tally([p], answers, [record(p)], expect=STORM).failures == []
    assert any("409" in f for f in tally([p], answers, [record(p)]).failures)


def test_left_on_the_failure_queue_is_a_failure() -> None:
    p = sub("person_lead", 1)
    row = tally([p], [ok(p, 202, "queued")], [record(p)], queued=2)
    assert row.queued == 2
    assert any(f.startswith("queued = 2") for f in row.failures)


@pytest.mark.parametrize(
    ("operation", "function", "reason"),
    [
        ("person_lead", "vitec_person_lead", "answer_lost"),
        ("viewing_participant", "vitec_viewing_participant", "attempts_exhausted"),
        ("viewing_participant", "vitec_viewing_participant", None),
    ],
)
def test_parking_the_scenario_does_not_expect_is_a_failure(
    operation: str, function: str, reason: str | None
) -> None:
    s = sub(operation, 2)
    row = tally([s], [ok(s, 202, "parked")], [], [Parked(s.token, function, reason)])
    assert row.lost == 0
    assert any(f.startswith("unexpected parking") for f in row.failures)


def test_stray_writes_and_parked_messages_and_double_parking_are_failures() -> None:
    v = sub("viewing_participant", 3)
    stray = {"vendor": "vitec", "operation": "person_lead", "body": {"message": "hello"}, "contactId": "c"}
    parked = [
        Parked(v.token, "vitec_viewing_participant", "answer_lost"),
        Parked(v.token, "vitec_viewing_participant", "answer_lost"),
        Parked("SOAK-999999", "vitec_person_lead", "answer_lost"),
    ]
    row = tally([v], [ok(v, 202, "parked")], [stray], parked)
    joined = " / ".join(row.failures)
    assert "1 vendor write(s) match no submission" in joined
    assert "1 parked message(s) match no submission" in joined
    assert "1 submission(s) parked more than once" in joined
    assert row.parked == 1


def test_delivered_without_a_2xx_is_noted() -> None:
    p = sub("person_lead", 1)
    row = tally([p], [Answer(p.token, None, "ReadTimeout")], [record(p)])
    assert row.lost == 0
    assert "delivered without a 2xx answer: 1" in row.notes


# ---- the table -----------------------------------------------------------------------------------


def test_table_has_every_column_and_notes() -> None:
    rows = [Row("fault soak", 2000, 1990, 0, 12, 0, 0, 0, 321.04, notes="a | b"), Row("storm")]
    table = format_table(rows).splitlines()
    header = [cell.strip() for cell in table[0].strip("|").split("|")]
    assert header == [*COLUMNS, "notes"]
    assert set(table[1]) <= {"|", "-", ":"}
    cells = [cell.strip() for cell in table[2].strip("|").split("|")]
    # max writes/id is "-" until a scenario's writes are counted (reliability/writes.py)
    assert cells[:10] == ["fault soak", "2000", "1990", "0", "12", "0", "0", "-", "0", "321.0"]
    assert cells[10] == "a / b"  # a pipe in the notes cannot break the table
    assert len({len(line) for line in table}) == 1  # padded: it lines up in a terminal
