"""The write bound as the reliability suite counts it: vendor writes (sandbox records) per deliveryId."""

from __future__ import annotations

from typing import Any

from reliability.common import Row
from reliability.run import render
from reliability.writes import check, count_writes, token_in


def record(operation: str, text: str) -> dict[str, Any]:
    return {"vendor": "vitec", "operation": operation, "body": {"message": text}}


def test_tokens_are_found_in_any_scenario_format() -> None:
    assert token_in(record("person_lead", "Hej. Ref SOAK-000123.")) == "SOAK-000123"
    assert token_in(record("person_lead", "[authprobe-ab12cd-0007]")) == "authprobe-ab12cd-0007"
    assert token_in({"operation": "area_interest", "body": {"updatePerson": {"note": "KILL-000002"}}}) == (
        "KILL-000002"
    )
    assert token_in(record("person_lead", "no token here")) is None


def test_a_person_lead_written_twice_is_within_the_bound_a_viewing_is_not() -> None:
    records = [record("person_lead", "LOST-000001")] * 2 + [record("viewing_participant", "LOST-000002")] * 2
    row = check(Row(scenario="s"), records)
    assert row.max_writes == 2
    (failure,) = row.failures
    assert "viewing_participant: 1" in failure and "LOST-000002 viewing_participant=2" in failure


def test_three_writes_of_a_person_lead_break_the_bound() -> None:
    row = check(Row(scenario="s"), [record("person_lead", "LOST-000001")] * 3)
    assert row.max_writes == 3 and "person_lead: 1" in row.failures[0]


def test_records_without_a_token_are_noted_not_bounded() -> None:
    row = check(Row(scenario="s"), [record("person_lead", "x")] * 5)
    assert row.max_writes is None and not row.failures
    assert "5 vendor write(s) without a delivery token" in row.notes
    counts, untokened = count_writes([record("person_lead", "SOAK-000001"), record("person_lead", "y")])
    assert [(c.token, c.writes, c.bound) for c in counts] == [("SOAK-000001", 1, 2)] and untokened == 1


def test_a_broken_bound_fails_the_run_and_names_the_delivery() -> None:
    row = check(Row(scenario="lost answers"), [record("viewing_participant", "LOST-000002")] * 2)
    report = render([row], "cmd", "quick")
    assert "FAILED: 1 broken invariant(s)" in report
    assert "- lost answers: write bound broken" in report and "LOST-000002 viewing_participant=2" in report
    assert "| lost answers |" in report and "max writes/id" in report
