"""Declarative mappings (leadhooks.inbound.mapping) and the offline checks (mapping_check): what an
integrator sees when a portal's own JSON shape is mapped onto an operation."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from leadhooks.errors import ConfigurationError, InputValidationError
from leadhooks.inbound import mapping_check
from leadhooks.inbound.adapters import to_native
from leadhooks.inbound.clients import parse_clients
from leadhooks.inbound.mapping import (
    DEFAULT_TYPEFORM,
    MappingError,
    parse_mapping,
    parse_path,
    split_name,
)
from leadhooks.vendors.omnicasa.models import ContactOnMeRequest
from leadhooks.vendors.vitec.models import PersonLeadRequest
from leadhooks_ops import cli

PORTAL_MAPPING: dict[str, Any] = {
    "format": "json",
    "fields": {
        "person.firstName": {"from": "$.contact.name", "transform": "firstName"},
        "person.lastName": {"from": "$.contact.name", "transform": "lastName"},
        "person.email.emailAddress": "$.contact.email",
        "person.telephone.cell": {"from": "$.contact.phone", "transform": "e164", "region": "SE"},
        "leadSource.leadType": {"const": "AcceptObjectFlow"},
        "leadSource.name": {"const": "Bostadsportal"},
        "message": {"from": ["$.message", "$.listing.address"], "separator": "\n"},
    },
    "ignore": ["$.source"],
}

PORTAL_PAYLOAD: dict[str, Any] = {
    "source": "bostadsportal",
    "leadId": "bp-123",
    "contact": {"name": "Anna Maria Svensson", "email": "anna@example.com", "phone": "070-123 45 67"},
    "listing": {"id": "obj-77", "address": "Storgatan 1"},
    "message": "Jag vill boka visning",
}


def native(payload: Any, raw_mapping: Any, model: Any = PersonLeadRequest, **query: str) -> dict[str, Any]:
    return to_native(payload, model, query=query, mapping=parse_mapping(raw_mapping)).data


# ---- the engine ----------------------------------------------------------------------------------


def test_a_portal_payload_in_its_own_shape_becomes_the_native_body() -> None:
    body = native(PORTAL_PAYLOAD, PORTAL_MAPPING, customerId="M10001")
    assert body == {
        "person": {
            "firstName": "Anna Maria",
            "lastName": "Svensson",
            "email": {"emailAddress": "anna@example.com"},
            "telephone": {"cell": "+46701234567"},
        },
        "leadSource": {"leadType": "AcceptObjectFlow", "name": "Bostadsportal"},
        # Nothing is dropped: values no rule reads (leadId, listing.id) are lines of the free text;
        # `source` is ignored because the mapping says so.
        "message": "Jag vill boka visning\nStorgatan 1\n\nleadId: bp-123\nlisting.id: obj-77",
        "customerId": "M10001",
    }
    PersonLeadRequest.model_validate(body)


def test_without_a_mapping_the_same_payload_is_refused_by_the_model() -> None:
    """The issue's starting point: a portal's own shape, read as a native body, fails validation (its
    keys are no fields of the operation, so the person and the lead source are missing)."""
    body = to_native(PORTAL_PAYLOAD, PersonLeadRequest, query={"customerId": "M10001"}).data
    with pytest.raises(Exception, match=r"(?s)person\n  Field required.*leadSource\n  Field required"):
        PersonLeadRequest.model_validate(body)


@pytest.mark.parametrize(
    ("text", "first", "last"),
    [
        ("Anna Svensson", "Anna", "Svensson"),
        ("Anna Maria Svensson", "Anna Maria", "Svensson"),
        ("Svensson, Anna", "Anna", "Svensson"),
        ("Anna", "Anna", None),
        ("  ", None, None),
    ],
)
def test_split_name(text: str, first: str | None, last: str | None) -> None:
    assert split_name(text) == (first, last)


def test_a_single_word_name_leaves_the_last_name_unset() -> None:
    body = native({"contact": {"name": "Anna"}}, {"fields": PORTAL_MAPPING["fields"]})
    assert body["person"] == {"firstName": "Anna"}


def test_date_formats_are_declared_and_a_value_that_does_not_match_is_named_without_its_value() -> None:
    mapping = {"fields": {"VisitDate": {"from": "$.when", "transform": "date", "format": "%d/%m/%Y"}}}
    rules = parse_mapping(mapping)
    assert rules.rules[0].date_format == "%d/%m/%Y"
    from leadhooks.inbound.mapping import FieldMapping

    assert isinstance(rules, FieldMapping)
    ok, _ = rules.assignments({"when": "05/11/2026"})
    assert ok[0].value == "2026-11-05"
    with pytest.raises(InputValidationError) as info:
        rules.assignments({"when": "2026-13-45 secret"})
    detail = info.value.details[0]
    assert detail["field"] == "VisitDate"
    assert detail["reason"] == "does not match the mapping's format '%d/%m/%Y' (from 'when')"
    assert "secret" not in json.dumps(info.value.details)


def test_datetime_without_a_format_never_echoes_the_value() -> None:
    rules = parse_mapping({"fields": {"x": {"from": "$.t", "transform": "datetime"}}})
    with pytest.raises(InputValidationError) as info:
        rules.assignments({"t": "not-a-date-anna@example.com"})
    assert "anna@example.com" not in json.dumps(info.value.details)


def test_value_tables_translate_a_senders_words_into_the_vendors() -> None:
    mapping = {
        "fields": {
            "customerId": {"const": "101"},
            "LanguageId": {"from": "$.lang", "values": {"nl": 1, "fr": 2, "en": 3}},
            "Name": "$.name",
        }
    }
    body = native({"lang": "FR", "name": "Dupont"}, mapping, model=ContactOnMeRequest)
    assert body["LanguageId"] == 2
    assert body["Name"] == "Dupont"


def test_wildcards_and_lists() -> None:
    payload = {"phones": [{"type": "home", "n": "08-123 456 78"}, {"type": "work", "n": "08-765 432 10"}]}
    rules = parse_mapping({"fields": {"message": {"from": "$.phones[*].n", "separator": " / "}}})
    assignments, _ = rules.assignments(payload)
    assert assignments[0].value == "08-123 456 78 / 08-765 432 10"
    # every phone was read by the rule: no leftovers for the free text except the types
    assert [a.label for a in assignments[1:]] == ["phones.0.type", "phones.1.type"]


def test_defaults_fill_missing_values() -> None:
    mapping = {"fields": {"leadSource.name": {"from": "$.portal", "default": "Webb"}}}
    assert native({}, mapping)["leadSource"] == {"name": "Webb"}
    assert native({"portal": "Hemnet"}, mapping)["leadSource"] == {"name": "Hemnet"}


@pytest.mark.parametrize(
    ("path", "segments"),
    [
        ("$.a.b", ("a", "b")),
        ("a.b", ("a", "b")),
        ("$.a[0].b", ("a", 0, "b")),
        ("$.a.0.b", ("a", 0, "b")),
        ("$['a.b'][*]", ("a.b", "*")),
        ('$["x y"]', ("x y",)),
    ],
)
def test_json_paths(path: str, segments: tuple[Any, ...]) -> None:
    assert parse_path(path) == segments


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ([], "must be a JSON object"),
        ({"fields": [], "format": "json"}, "fields must be an object"),
        ({"format": "xml"}, "format must be"),
        ({"fields": {"a": {"from": "$.a", "const": 1}}}, "exactly one of"),
        ({"fields": {"a": {"from": "$.a", "transform": "capitalize"}}}, "transform must be one of"),
        ({"fields": {"a": {"from": "$.a", "format": "%Y"}}}, "strptime format"),
        ({"fields": {"a": {"from": "$.a", "transform": "e164", "region": "Sweden"}}}, "two-letter"),
        ({"fields": {"a": {"from": "$.a["}}}, "not a JSON path"),
        ({"fields": {"a": 5}}, "JSON path or an object"),
        ({"fieldz": {}}, "unknown key 'fieldz'"),
        ({"formId": "abc"}, "formId"),
    ],
)
def test_a_broken_mapping_is_named_by_its_place(raw: Any, message: str) -> None:
    with pytest.raises(MappingError, match=message):
        parse_mapping(raw)
    assert issubclass(MappingError, ConfigurationError)


# ---- where mappings live -------------------------------------------------------------------------


def test_the_mapping_comes_from_the_clients_entry_by_operation_scope() -> None:
    secret = {
        "clients": {
            "portal": {"apiKeys": ["k" * 20], "mappings": {"person-leads": PORTAL_MAPPING}},
            "other": {"apiKeys": ["o" * 20]},
        }
    }
    parsed = parse_clients(secret)
    assert parsed.problems == ()
    portal, other = parsed.client("portal"), parsed.client("other")
    assert portal is not None and other is not None
    assert portal.mappings["person-leads"] == parse_mapping(PORTAL_MAPPING)
    assert "area-interests" not in portal.mappings
    assert other.mappings == {}
    assert parsed.client("someone-else") is None


def test_a_broken_mapping_disables_only_that_operation_of_that_client() -> None:
    broken = {"format": "json", "fields": {"person.firstName": {"from": "$.a", "transform": "shout"}}}
    secret = {
        "clients": {
            "portal": {
                "apiKeys": ["k" * 20],
                "operations": ["person-leads", "area-interests"],
                "mappings": {"person-leads": broken, "area-interests": {"fields": {}}},
            },
            "other": {"apiKeys": ["o" * 20], "mappings": {"person-leads": PORTAL_MAPPING}},
        }
    }
    parsed = parse_clients(secret)
    portal = parsed.client("portal")
    assert portal is not None  # the client keeps working
    assert not portal.reach.may_use("person-leads")  # 403, nothing sent, until the mapping is fixed
    assert portal.reach.may_use("area-interests")
    assert "person-leads" not in portal.mappings
    other = parsed.client("other")
    assert other is not None and other.reach.may_use("person-leads")
    [problem] = parsed.problems
    assert (problem.client, problem.field) == ("portal", "mappings.person-leads")
    assert "transform" in problem.reason and "disabled" in problem.reason


def test_a_broken_mapping_of_a_client_with_every_operation_leaves_the_others() -> None:
    secret = {
        "clients": {"portal": {"apiKeys": ["k" * 20], "mappings": {"contact-on-me": {"format": "xml"}}}}
    }
    portal = parse_clients(secret).client("portal")
    assert portal is not None
    assert not portal.reach.may_use("contact-on-me")
    assert portal.reach.may_use("person-leads") and portal.reach.may_use("contacts")


def test_mappings_that_are_not_an_object_skip_the_client_and_a_read_operation_is_reported() -> None:
    parsed = parse_clients({"clients": {"portal": {"apiKeys": ["k" * 20], "mappings": ["x"]}}})
    assert parsed.client("portal") is None
    assert [(p.client, p.field) for p in parsed.problems] == [("portal", "mappings")]
    parsed = parse_clients({"clients": {"portal": {"apiKeys": ["k" * 20], "mappings": {"contacts": {}}}}})
    portal = parsed.client("portal")
    assert portal is not None and portal.mappings == {}
    assert [(p.client, p.field) for p in parsed.problems] == [("portal", "mappings.contacts")]


def test_a_json_mapping_does_not_read_typeform_payloads_and_typeform_keeps_its_default() -> None:
    json_mapping = parse_mapping(PORTAL_MAPPING)
    typeform = {
        "event_id": "e1",
        "form_response": {"form_id": "F", "answers": [], "hidden": {"customerId": "M1"}},
    }
    adapted = to_native(typeform, PersonLeadRequest, mapping=json_mapping)
    assert adapted.format == "typeform"
    assert adapted.data["customerId"] == "M1"


def test_typeform_mappings_can_be_per_form() -> None:
    raw = [
        {"format": "typeform", "formId": "A", "fields": {"leadSource.name": {"const": "Form A"}}},
        {"format": "typeform", "formId": "B", "fields": {"leadSource.name": {"const": "Form B"}}},
    ]
    mappings = [parse_mapping(m) for m in raw]
    for form in ("A", "B"):
        payload = {"form_response": {"form_id": form, "answers": []}}
        assert to_native(payload, PersonLeadRequest, mapping=mappings).data["leadSource"] == {
            "name": f"Form {form}"
        }


# ---- Typeform as a mapping -----------------------------------------------------------------------


def typeform(**extra: Any) -> dict[str, Any]:
    response = {
        "form_id": "lT4Z3j",
        "token": "tok",
        "landed_at": "2026-11-30T10:00:00Z",
        "submitted_at": "2026-11-30T10:01:00Z",
        "calculated": {"score": 7},
        "variables": [{"key": "budget_band", "type": "text", "text": "3-4 MSEK"}],
        "hidden": {"customerId": "M10001"},
        "definition": {
            "id": "lT4Z3j",
            "title": "Värdering",
            "fields": [{"id": "F1", "ref": "first", "title": "Förnamn?"}],
        },
        "answers": [
            {"type": "text", "text": "Anna", "field": {"id": "F1", "ref": "first", "type": "short_text"}}
        ],
        **extra,
    }
    return {"event_id": "ev-1", "event_type": "form_response", "form_response": response}


def test_typeform_variables_score_submission_time_and_title_are_kept_when_unmapped() -> None:
    data = to_native(typeform(), PersonLeadRequest).data
    assert data["message"].splitlines() == [
        "Förnamn?: Anna",
        "Form: Värdering",
        "Submitted at: 2026-11-30T10:01:00Z",
        "budget_band: 3-4 MSEK",
        "Score: 7",
    ]
    assert "tok" not in data["message"], "the response token is an identifier, not lead content"


def test_typeform_metadata_and_answers_are_mappable_by_ref_or_field_id() -> None:
    raw = {
        "format": "typeform",
        "fields": {
            "person.firstName": "$.answers.F1",
            "marketing.utmTags.0.name": {"const": "budget"},
            "marketing.utmTags.0.value": "$.variables.budget_band",
            "leadSource.name": "$.form.title",
            "leadSource.leadType": {"const": "AcceptObjectFlow"},
        },
        "ignore": ["$.calculated", "$.submitted_at"],
    }
    data = to_native(typeform(), PersonLeadRequest, mapping=parse_mapping(raw)).data
    assert data["person"] == {"firstName": "Anna"}
    assert data["marketing"] == {"utmTags": [{"name": "budget", "value": "3-4 MSEK"}]}
    assert data["leadSource"] == {"name": "Värdering", "leadType": "AcceptObjectFlow"}
    assert "message" not in data, "everything was mapped or ignored"
    assert data["customerId"] == "M10001", "hidden names still pass through to target paths"
    PersonLeadRequest.model_validate(data)


def test_default_typeform_mapping_is_a_mapping() -> None:
    assert DEFAULT_TYPEFORM.format == "typeform" and DEFAULT_TYPEFORM.pass_through


# ---- the checks ----------------------------------------------------------------------------------


def write(tmp_path: Path, name: str, value: Any) -> str:
    path = tmp_path / name
    path.write_text(json.dumps(value), encoding="utf-8")
    return str(path)


def test_mapping_check_prints_the_native_body_and_the_vendor_request(tmp_path: Path) -> None:
    out = io.StringIO()
    code = cli.main(
        [
            "mapping",
            "check",
            write(tmp_path, "m.json", {"mappings": {"person-leads": PORTAL_MAPPING}}),
            "--operation",
            "person-leads",
            "--sample",
            write(tmp_path, "s.json", PORTAL_PAYLOAD),
            "--query",
            "customerId=M10001",
        ],
        out=out,
    )
    text = out.getvalue()
    assert code == 0, text
    assert '"firstName": "Anna Maria"' in text
    assert "POST PublicAdvertising/M10001/Contact/Person/Lead" in text


def test_mapping_check_fails_on_a_target_that_is_not_a_field(tmp_path: Path) -> None:
    out = io.StringIO()
    broken = {"fields": {"person.frstName": "$.name", "leadSource.leadType": {"const": "AcceptObjectFlow"}}}
    code = mapping_check.main(
        ["mapping", write(tmp_path, "m.json", broken), "--operation", "person-leads"], out=out
    )
    assert code == 1
    assert "✗ person.frstName" in out.getvalue() and "is not a field of vitec_person_lead" in out.getvalue()
    assert "- person (any one of its fields)" in out.getvalue()
    assert "- customerId (or ?customerId=" in out.getvalue(), "required fields the mapping does not set"
    assert "leadSource.leadType" in out.getvalue() and "(documented: AcceptObjectFlow)" in out.getvalue()


def test_mapping_check_reports_what_the_sample_fails(tmp_path: Path) -> None:
    out = io.StringIO()
    code = mapping_check.main(
        [
            "mapping",
            write(tmp_path, "m.json", PORTAL_MAPPING),
            "--operation",
            "vitec_person_lead",
            "--sample",
            write(tmp_path, "s.json", PORTAL_PAYLOAD),
        ],
        out=out,
    )
    assert code == 1
    assert "customerId" in out.getvalue().split("does not pass")[1]


def test_mapping_check_usage_problems_are_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert mapping_check.main(["mapping", str(tmp_path / "none.json"), "--operation", "person-leads"]) == 2
    assert mapping_check.main(["mapping", write(tmp_path, "m.json", {}), "--operation", "nope"]) == 2
    assert "unknown write operation 'nope'" in capsys.readouterr().err


FORM = {
    "id": "lT4Z3j",
    "title": "Book a valuation",
    "hidden": ["customerid"],
    "fields": [
        {"id": "A1", "ref": "person__firstName", "title": "First name?", "type": "short_text"},
        {"id": "A2", "ref": "person.lastNme", "title": "Last name?", "type": "short_text"},
        {
            "id": "G1",
            "ref": "g",
            "title": "About you",
            "type": "group",
            "properties": {"fields": [{"id": "A3", "ref": "rooms", "title": "Rooms?", "type": "number"}]},
        },
    ],
}


def test_typeform_check_lists_targets_free_text_and_missing_required_fields(tmp_path: Path) -> None:
    out = io.StringIO()
    code = cli.main(
        ["typeform", "check", write(tmp_path, "form.json", FORM), "--operation", "person-leads"], out=out
    )
    text = out.getvalue()
    assert code == 1
    assert "person__firstName  → person.firstName" in text
    assert "✗ the ref 'person.lastNme' looks like a target path" in text
    assert "Rooms?" in text and "→ message, as a 'Title: answer' line" in text
    assert "hidden field customerid" in text and "→ customerId" in text
    required = text.split("required fields this form does not collect")[1]
    assert "leadSource (any one of its fields)" in required
    assert "person" not in required and "customerId" not in required


def test_typeform_check_with_the_clients_mapping_is_satisfied(tmp_path: Path) -> None:
    mapping = {
        "format": "typeform",
        "fields": {
            "person.lastName": "$.answers.A2",
            "leadSource.leadType": {"const": "AcceptObjectFlow"},
            "leadSource.name": {"const": "Typeform"},
        },
    }
    out = io.StringIO()
    code = mapping_check.main(
        [
            "typeform",
            write(tmp_path, "form.json", FORM),
            "--operation",
            "person-leads",
            "--mapping",
            write(tmp_path, "m.json", mapping),
        ],
        out=out,
    )
    assert code == 0, out.getvalue()
    assert "every required field is collected" in out.getvalue()


EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples"


def test_the_documented_examples_pass_their_checks() -> None:
    """docs/examples: the portal client with its mapping, a lead it sends, a Typeform form export."""
    out = io.StringIO()
    assert (
        cli.main(
            [
                "mapping",
                "check",
                str(EXAMPLES / "bostadsportal-client.json"),
                "--operation",
                "person-leads",
                "--sample",
                str(EXAMPLES / "bostadsportal-lead.json"),
                "--query",
                "customerId=M10001",
            ],
            out=out,
        )
        == 0
    ), out.getvalue()
    out = io.StringIO()
    form = str(EXAMPLES / "typeform-form.json")
    args = ["typeform", "check", form, "--operation", "person-leads", "--query", "customerId=M10001"]
    assert cli.main(args, out=out) == 0, out.getvalue()
