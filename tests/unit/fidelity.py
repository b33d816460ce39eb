# ruff: noqa: E501  (a table of rules: one row a line reads better than wrapped cells)
"""Generates docs/vendor-fidelity.md from the vendor models and the rules listed here.

    .venv/bin/python -m tests.unit.fidelity > docs/vendor-fidelity.md

`tests/unit/test_fidelity.py` fails when the committed table differs from what this prints, when a cited
doc line does not say what the table quotes, when a named test does not exist, and when a model cites a
doc line the table does not list. The field rows come from the models themselves; the rule rows and what
the sandbox does (from reading `local/sandbox/*.py`, the other reading of the same docs) are written here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from leadhooks.catalog import WRITES
from leadhooks.inbound.flat import type_members
from leadhooks.vendors.model_base import OperationRequest, PhoneMarker, VendorEnum
from pydantic import BaseModel, WithJsonSchema
from pydantic.fields import FieldInfo

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs" / "vendor-docs"
DOC_OF = {
    "vitec_person_lead": "vitec-person-lead.txt",
    "vitec_area_interest": "vitec-interest-on-area.txt",
    "vitec_viewing_participant": "vitec-viewing-participant.txt",
    "omnicasa_contact_on_me": "omnicasa-contactonme.txt",
    "vitec_get_contacts": "vitec-crm-contacts.txt",
}
SAMPLE_TEST = "test_doc_sample_goes_through_unchanged"


@dataclass(frozen=True)
class Row:
    subject: str  # a field's vendor path, or a rule
    cite: str  # doc file:line, or a DESIGN section for a leadhooks rule
    quote: str  # what the cited line (with the next: the docs' table rows wrap) says; "" for DESIGN
    product: str
    sandbox: str
    test: str

    def markdown(self) -> str:
        quote = f"`{self.quote}`" if self.quote else ""
        cells = (f"`{self.subject}`" if " " not in self.subject else self.subject, self.cite, quote)
        return "| " + " | ".join((*cells, self.product, self.sandbox, f"`{self.test}`")) + " |"


# ---- rules (each with the line it comes from) -----------------------------------------------------

LENGTHS_NOT_ON_WRITES = (
    "not enforced: it describes the contact the read returns (DESIGN §6)",
    "not enforced on writes",
    "test_no_lengths_on_writes",
)

# fmt: off
RULES: dict[str, list[Row]] = {
    "vitec_person_lead": [
        Row("customerId required", "vitec-person-lead.txt:20", "customerId | Kund-id | string | Krävs", "422 `customerId` (path parameter, body or query)", "the login's customer, else 403", "test_person_lead_required"),
        Row("person required", "vitec-person-lead.txt:24", "En kontaktperson måste anges", "422 `person`", "400 `person`", "test_person_lead_required"),
        Row("receiver names someone", "vitec-person-lead.txt:26", "antingen handläggare, användargrupp eller kontor specificeras", "422 `receiver` when agent, userGroup and office carry no value", "400 unless an id or e-mail is given", "test_receiver_names_someone"),
        Row("leadSource required", "vitec-person-lead.txt:28", "En leadskälla måste anges", "422 `leadSource`; its parts are not required (the docs say nothing)", "400; also requires leadType and name", "test_undocumented_rules_are_not_enforced"),
        Row("leadType values", "vitec-person-lead.txt:1", "AcceptObjectFlow", "`AcceptObjectFlow` in any case sent so; other names and numbers as given (`0` stays `0`)", "name or number ≥ 0", "test_case"),
        Row("names ≤ 30, personnummer ≤ 20", "vitec-crm-contacts.txt:47", "Efternamn måste vara mellan 0 och 30 tecken", *LENGTHS_NOT_ON_WRITES),
        Row("personnummer format", "vitec-person-lead.txt:1", "isForeignSocialSecurityNumber", "text, sent as given: the docs ask for no check", "text, no check", "test_undocumented_rules_are_not_enforced"),
    ],
    "vitec_area_interest": [
        Row("updatePerson required", "vitec-interest-on-area.txt:16", "Uppgift om personen krävs", "422 `updatePerson`", "400 `updatePerson`", "test_area_interest_required"),
        Row("one search preference at least", "vitec-interest-on-area.txt:18", "Minst en sökpreferens måste anges", "422 `lookingForAccommodations` (absent or empty)", "400", "test_area_interest_needs_one_search_preference"),
        Row("notifyUser needs UserId for new contacts", "vitec-interest-on-area.txt:20", "kräver UserId för nya kontakter", "not enforced: Vitec's duplicate check decides who is new; a refusal is parked with Vitec's message", "400 for a new contact without userId", "test_notify_user_for_a_new_person_is_vitecs_to_refuse"),
        Row("the customer whose login is used", "DESIGN §7", "", "`updatePerson.customerId`, else a routing `customerId` (body or query, sent nowhere); 422 when neither or both differ", "optional; when given, the login's customer, else 403", "test_area_interest_customer_from_body_or_routing_field"),
        Row("estateType, obtainThrough, watched values", "vitec-interest-on-area.txt:1", "House", "documented names in any case sent so; other names and numbers as given (`watched: 1` stays 1)", "name or number ≥ 0", "test_enums_pass_through_and_are_never_renamed_from_numbers"),
        Row("dates", "vitec-interest-on-area.txt:1", "2024-11-21T11:23:40.6983026+01:00", "ISO 8601 text kept as given (a date stays a date, 7 fraction digits kept); compact/numeric refused, 422 naming the field", "Python `fromisoformat`", "test_other_dates_are_refused_never_converted"),
        Row("names ≤ 30, personnummer ≤ 20, ids ≤ 40", "vitec-crm-contacts.txt:45", "Förnamn måste vara mellan 0 och 30 tecken", *LENGTHS_NOT_ON_WRITES),
    ],
    "vitec_viewing_participant": [
        Row("viewingId required", "vitec-viewing-participant.txt:16", "viewingId | Visningsid | string | Krävs", "422 `viewingId`; not `.`/`..` (URL path)", "404 if unknown", "test_viewing_path_params_required"),
        Row("timeSlotId required", "vitec-viewing-participant.txt:18", "timeSlotId | Id på visningstillfället | string | Krävs", "422 `timeSlotId`; not `.`/`..`", "404 if unknown", "test_viewing_path_params_required"),
        Row("contactId required", "vitec-viewing-participant.txt:20", "contactId | Id på kontakten. | string | Krävs", "422 `contactId`; not `.`/`..`", "404 if unknown", "test_viewing_path_params_required"),
        Row("customerId (not marked Krävs)", "vitec-viewing-participant.txt:22", "customerId | Kundid", "required by leadhooks: a URL segment and the login (DESIGN §7)", "the login's customer, else 403", "test_viewing_path_params_required"),
        Row("SMSReminder = smsReminder = sMSReminder", "vitec-viewing-participant.txt:26", "SMSReminder", "one field in any case, sent as spelled; two spellings at once: 422", "any case", "test_vendor_names_match_in_any_case"),
    ],
    "omnicasa_contact_on_me": [
        Row("no field required", "omnicasa-contactonme.txt:30", "None.", "nothing required; `CustomerId` optional (the secret key names the account)", "nothing required; each value must bind to its documented type", "test_omnicasa_customer_is_optional_and_typed"),
        Row("LanguageId 1-3, default 1", "omnicasa-contactonme.txt:218", "1: NL, 2: FR, 3: EN, Default value = 1", "any integer passed on, none added: the same page's sample sends 21", "integer", "test_undocumented_rules_are_not_enforced"),
        Row("the sample's LanguageId", "omnicasa-contactonme.txt:262", '"LanguageId": 21', "accepted and sent unchanged", "accepted", SAMPLE_TEST),
        Row("CategorieIds as '1,2,3'", "omnicasa-contactonme.txt:194", "example:'1,2,3'", "text; a list of ids is joined into that form", "text", "test_omnicasa_categories_list_is_joined"),
        Row("Password is plumbing", "omnicasa-contactonme.txt:96", "Password", "never taken from a caller: dropped, listed in `warnings` (DESIGN §6)", "accepted, not stored", "test_omnicasa_plumbing_is_never_taken_from_a_caller"),
        Row("IsWriteLogSQL is plumbing", "omnicasa-contactonme.txt:224", "IsWriteLogSQL", "never taken from a caller: dropped, listed in `warnings` (DESIGN §6)", "boolean", "test_omnicasa_plumbing_is_never_taken_from_a_caller"),
    ],
    "vitec_get_contacts": [
        Row("customerId required", "vitec-crm-contacts.txt:36", "customerId | Kund-id. | string | Krävs", "422 `customerId`; ≤ 40 (a stored contact's Kund-id, :61)", "the login's customer, else 403", "test_contacts_query_errors"),
        Row("contactIds required, max 20 per call", "vitec-crm-contacts.txt:38", "max 20 stycken). | string | Krävs", "any number asked for, sent 20 per call, merged in order", "400 beyond 20", "test_contacts_query_chunks"),
        Row("contact id ≤ 40", "vitec-crm-contacts.txt:59", "Kontaktid måste vara mellan 0 och 40 tecken", "422 `ids.N` (the read asks for stored contacts)", "400", "test_contacts_query_errors"),
        Row("Kund-id ≤ 40", "vitec-crm-contacts.txt:61", "Kund-id måste vara mellan 0 och 40 tecken", "422 `customerId`", "n/a", "test_contacts_query_errors"),
        Row("contact types", "vitec-crm-contacts.txt:2", "Person, företag eller dödsbo", "Person, Company, DeceasedEstate (any case or number 0-2); any other type kept whole, never a 502", "the three types", "test_crm_unknown_type_is_passed_through_whole"),
        Row("answer lengths: Id", "vitec-crm-contacts.txt:13", "Kontaktid måste vara mellan 0 och 40 tecken", "tolerated, reported by `over_documented_limits()`", "n/a", "test_crm_answers_are_tolerant_and_report_documented_limits"),
        Row("answer lengths: CustomerId", "vitec-crm-contacts.txt:15", "Kund-id måste vara mellan 0 och 40 tecken", "tolerated, reported", "n/a", "test_crm_answers_are_tolerant_and_report_documented_limits"),
        Row("answer lengths: company Name", "vitec-crm-contacts.txt:4", "Företagsnamn måste vara mellan 0 och 50 tecken", "tolerated, reported", "n/a", "test_crm_answers_are_tolerant_and_report_documented_limits"),
        Row("answer lengths: CorporateNumber", "vitec-crm-contacts.txt:6", "Organisationsnummer måste vara mellan 0 och 20 tecken", "tolerated, reported", "n/a", "test_crm_answers_are_tolerant_and_report_documented_limits"),
        Row("answer lengths: HomePage", "vitec-crm-contacts.txt:9", "Hemsida måste vara mellan 0 och 60 tecken", "tolerated, reported", "n/a", "test_crm_answers_are_tolerant_and_report_documented_limits"),
        Row("answer lengths: FirstName", "vitec-crm-contacts.txt:45", "Förnamn måste vara mellan 0 och 30 tecken", "tolerated, reported", "n/a", "test_crm_answers_are_tolerant_and_report_documented_limits"),
        Row("answer lengths: LastName", "vitec-crm-contacts.txt:47", "Efternamn måste vara mellan 0 och 30 tecken", "tolerated, reported", "n/a", "test_crm_answers_are_tolerant_and_report_documented_limits"),
        Row("answer lengths: SocialSecurityNumber", "vitec-crm-contacts.txt:49", "Personnummer måste vara mellan 0 och 20 tecken", "tolerated, reported", "n/a", "test_crm_answers_are_tolerant_and_report_documented_limits"),
        Row("answer lengths: estate Name", "vitec-crm-contacts.txt:73", "Nam måste vara mellan 0 och 30 tecken", "tolerated, reported", "n/a", "test_crm_answers_are_tolerant_and_report_documented_limits"),
        Row("answer lengths: estate SocialSecurityNumber", "vitec-crm-contacts.txt:75", "Personnummer måste vara mellan 0 och 20 tecken", "tolerated, reported", "n/a", "test_crm_answers_are_tolerant_and_report_documented_limits"),
    ],
}
# fmt: on

# What the sandbox does with a field, where it does more than check the type (local/sandbox/vitec.py).
SANDBOX: dict[str, dict[str, str]] = {
    "vitec_person_lead": {
        "person": "required",
        "receiver": "if given: agent, userGroup or office",
        "leadSource": "required",
        "customerId": "the login's customer, else 403",
    },
    "vitec_area_interest": {
        "updatePerson": "required",
        "updatePerson.customerId": "optional; the login's customer, else 403",
        "updatePerson.contactId": "names the person to update; unknown: the duplicate check decides",
        "lookingForAccommodations": "required, ≥ 1",
        "notifyUser": "boolean; a new contact without userId: 400",
    },
    "vitec_viewing_participant": {
        "customerId": "the login's customer, else 403",
        "viewingId": "must exist (404)",
        "timeSlotId": "must exist on the viewing (404)",
        "contactId": "must exist (404)",
    },
    "omnicasa_contact_on_me": {
        "CustomerId": "optional; an integer (beyond 64 bits: Code 400)",
    },
}

# ---- field rows from the models ----------------------------------------------------------------------


def _doc_lines(doc: str) -> list[str]:
    return (DOCS / doc).read_text(encoding="utf-8").splitlines()


def find_line(doc: str, name: str) -> int:
    """Where the doc names a field: its own line (Omnicasa), a table row, else the JSON sample."""
    lines = _doc_lines(doc)
    folded = name.casefold()
    patterns = (
        lambda line: line.strip().casefold() == folded,
        lambda line: line.casefold().startswith(f"{folded} |"),
        lambda line: f'"{folded}"' in line.casefold(),
    )
    for matches in patterns:
        for number, line in enumerate(lines, start=1):
            if matches(line):
                return number
    raise LookupError(f"{doc} does not name {name}")


def _kind(info: FieldInfo) -> str:
    meta = info.metadata
    if any(isinstance(m, PhoneMarker) for m in meta):
        return "phone: E.164 in the customer's country (`phoneRegion`), extension kept; else as given"
    for m in meta:
        if isinstance(m, VendorEnum):
            return f"enum: `{m.documented[0]}` in any case sent so; other names and numbers as given"
        if isinstance(m, WithJsonSchema) and (m.json_schema or {}).get("format") == "date-time":
            return "ISO 8601 date, kept as given; compact/numeric: 422"
    members = type_members(info.annotation)
    if any(isinstance(t, type) and issubclass(t, BaseModel) for t in members):
        return "object; unknown keys passed on, in `warnings`"
    names = {bool: "boolean", int: "integer", float: "number", str: "text, no length"}
    return " or ".join(names.get(t, "list") for t in members)


def _nested(info: FieldInfo) -> type[BaseModel] | None:
    for member in type_members(info.annotation):
        for candidate in (member, *getattr(member, "__args__", ())):
            if isinstance(candidate, type) and issubclass(candidate, BaseModel):
                return candidate
    return None


def _is_list(info: FieldInfo) -> bool:
    return any(getattr(t, "__origin__", None) is list for t in type_members(info.annotation))


def field_rows(operation: str, model: type[BaseModel], prefix: str = "") -> list[Row]:
    doc = DOC_OF[operation]
    routing = getattr(model, "ROUTING_PARAMS", ()) if not prefix else ()
    rows: list[Row] = []
    for name, info in model.model_fields.items():
        alias = info.alias or name
        if alias in routing:
            continue
        path = f"{prefix}{alias}"
        kind = _kind(info) + ("; required" if info.is_required() else "")
        sandbox = SANDBOX.get(operation, {}).get(path, "type checked, name in any case")
        rows.append(Row(path, f"{doc}:{find_line(doc, alias)}", alias, kind, sandbox, SAMPLE_TEST))
        child = _nested(info)
        if child is not None:
            rows += field_rows(operation, child, f"{path}[]." if _is_list(info) else f"{path}.")
    return rows


def operation_rows(operation: str) -> list[Row]:
    model: Any = next(e.operation().model for e in WRITES if e.name == operation)
    assert issubclass(model, OperationRequest)
    return field_rows(operation, model)


# ---- the document ------------------------------------------------------------------------------------

HEADER = """# Vendor fidelity: every doc field and rule, what leadhooks does, what the sandbox does

Generated by `.venv/bin/python -m tests.unit.fidelity > docs/vendor-fidelity.md`;
`tests/unit/test_fidelity.py` fails when this file is stale, when a cited line (in `docs/vendor-docs/`, a verbatim copy of the vendor
pages) does not say what is quoted, when a named test does not exist, or when a model cites a line that is
not listed here.

DESIGN §6 is the rule: enforce exactly what the vendor docs state, nothing they don't. Everywhere:

- vendor names match in any case (`SMSReminder` = `smsReminder`) and are sent on as the caller spelled
  them; one field given twice in two spellings is a 422 naming the second;
- fields the docs do not name are passed on unchanged and listed in the answer's `warnings`
  (`{"field": "person.nickName", "reason": "not in the vendor docs; passed on"}`), on 200/202 answers,
  vendor rejections and the dry run;
- a blank optional value is not sent; text is stripped; a number given for text is sent as text;
- no length is enforced on a write: the lengths in `vitec-crm-contacts.txt` describe the contact the
  read returns.

The sandbox column is `local/sandbox/` (its README lists each rule with its doc line): the other,
independent reading of the same docs. Where it and leadhooks differ (a rule the product leaves to the
vendor), the integration test shows the vendor's refusal parked.
"""

TITLES = {
    "vitec_person_lead": "Person lead: `POST PublicAdvertising/{customerId}/Contact/Person/Lead`",
    "vitec_area_interest": "Area interest: `POST Interest/SendInterestAndContactOnArea`",
    "vitec_viewing_participant": "Viewing participant: `POST Viewing/{customerId}/{viewingId}/{timeSlotId}/Participant/{contactId}`",
    "omnicasa_contact_on_me": "Omnicasa contact-on-me: `POST techworks/contactonme/{secretKey}`",
    "vitec_get_contacts": "CRM contacts (the read): `GET CRM/Contact/{customerId}/{contactIds}`",
}  # fmt: skip
COLUMNS = (
    "| field or rule | doc line | the doc says | leadhooks | sandbox | test |\n|---|---|---|---|---|---|"
)


def render() -> str:
    parts = [HEADER]
    for operation, title in TITLES.items():
        parts.append(f"## {title}\n\n### Rules\n\n{COLUMNS}")
        parts.append("\n".join(row.markdown() for row in RULES[operation]))
        if operation != "vitec_get_contacts":
            parts.append(f"\n### Fields\n\n{COLUMNS}")
            parts.append("\n".join(row.markdown() for row in operation_rows(operation)))
        parts.append("")
    return "\n".join(parts)


def all_rows() -> list[Row]:
    rows = [row for rules in RULES.values() for row in rules]
    return rows + [
        row for operation in TITLES if operation != "vitec_get_contacts" for row in operation_rows(operation)
    ]


CITATION = re.compile(r"[a-z-]+\.txt:\d+")

if __name__ == "__main__":
    print(render(), end="")
