"""Checks an integrator runs before sending anything: `mapping check` and `typeform check`.

    python -m leadhooks.inbound.mapping_check mapping FILE --operation person-leads [--sample PAYLOAD.json]
    python -m leadhooks.inbound.mapping_check typeform FORM.json --operation person-leads [--mapping FILE]

(the operator tool `leadhooks-ops`, outside the layer, offers the same as `mapping check` and
`typeform check`). Nothing is sent anywhere and no AWS credentials are needed: these
read local files and the operation models. They print the values of the sample they are given, which
is the integrator's own test data.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO, get_args, get_origin

from pydantic import BaseModel, ValidationError

from leadhooks.errors import LeadhooksError
from leadhooks.inbound.flat import lookup_field, resolve_path, split_path, type_members
from leadhooks.inbound.mapping import (
    ClientMapping,
    FieldMapping,
    MappingError,
    Rule,
    parse_client_mapping,
    select,
)

PROG = "python -m leadhooks.inbound.mapping_check"


class CheckError(Exception):
    """A problem for the person running the check: printed without a traceback (exit 2)."""


@dataclass(frozen=True)
class Operation:
    name: str  # vitec_person_lead
    scope: str  # person-leads
    route: str
    model: type[BaseModel]
    phone_region: str


def operation(text: str) -> Operation:
    """A write operation named by scope (`person-leads`), catalog name or route."""
    from leadhooks.catalog import WRITES

    wanted = text.strip().strip("/")
    for entry in WRITES:
        if wanted in (entry.scope, entry.name, entry.route.strip("/")):
            spec = entry.operation()
            return Operation(entry.name, entry.scope, entry.route, spec.model, spec.phone_region)
    names = ", ".join(e.scope for e in WRITES)
    raise CheckError(f"unknown write operation '{text}' (one of: {names})")


def load_mapping_file(path: str, scope: str) -> ClientMapping:
    """A mapping file: one mapping, a list of them, `{"mappings": {scope: …}}` (a client entry), or
    `{"clients": {…}}` (a whole inbound secret, when exactly one client maps this scope)."""
    raw = _read_json(path, "mapping file")
    if isinstance(raw, Mapping) and isinstance(raw.get("clients"), Mapping):
        raw = _the_client_mapping(raw["clients"], path, scope)
    if isinstance(raw, Mapping) and isinstance(raw.get("mappings"), Mapping):
        if scope not in raw["mappings"]:
            raise CheckError(f"{path}: no mapping for '{scope}' under 'mappings'")
        raw = raw["mappings"][scope]
    return parse_client_mapping(raw, "mapping")


def _the_client_mapping(clients: Mapping[str, Any], path: str, scope: str) -> Any:
    entries = [c for c in clients.values() if isinstance(c, Mapping) and scope in (c.get("mappings") or {})]
    if len(entries) != 1:
        raise CheckError(f"{path}: {len(entries)} clients map '{scope}'; pass one client's entry")
    return entries[0]


# ---- what an operation requires ------------------------------------------------------------------


def required_paths(model_cls: type[BaseModel], prefix: str = "") -> list[str]:
    """Target paths a body must set: required fields, into required objects and non-empty lists.

    A required object whose own fields are all optional is listed by itself (any one of its fields).
    Rules that span fields (Vitec's "agent, userGroup or office") are left to the model's messages.
    """
    out: list[str] = []
    for name, info in model_cls.model_fields.items():
        if not info.is_required():
            continue
        ref = lookup_field(model_cls, name)
        path = f"{prefix}{ref.key if ref else name}"
        nested = _nested_model(info.annotation)
        if nested is None:
            out.append(path)
            continue
        model, is_list = nested
        inner = required_paths(model, f"{path}.0." if is_list else f"{path}.")
        out.extend(inner or [f"{path}.0" if is_list else path])
    return out


def _nested_model(annotation: Any) -> tuple[type[BaseModel], bool] | None:
    for member in type_members(annotation):
        if isinstance(member, type) and issubclass(member, BaseModel):
            return member, False
        origin = get_origin(member)
        if origin in (list, tuple) and get_args(member):
            for item in type_members(get_args(member)[0]):
                if isinstance(item, type) and issubclass(item, BaseModel):
                    return item, True
    return None


def allowed_values(model_cls: type[BaseModel], path: str) -> list[str]:
    """The values the vendor docs show for an enum field (`leadSource.leadType` → `AcceptObjectFlow`),
    else []. The model sends a documented name in its documented spelling and anything else as given
    (`vendors.model_base.VendorEnum`): these are the values known to work, not a closed list."""
    *parents, last = split_path(path)
    owner = resolve_path(model_cls, parents) if parents else None
    if parents and owner is None:
        return []
    for member in type_members(owner.annotation if owner is not None else model_cls):
        if isinstance(member, type) and issubclass(member, BaseModel):
            return _enum_examples(member, last)
    return []


def _enum_examples(model_cls: type[BaseModel], name: str) -> list[str]:
    from leadhooks.vendors.model_base import VendorEnum

    ref = lookup_field(model_cls, name)
    info = model_cls.model_fields.get(ref.name) if ref is not None else None
    found = [m for m in (info.metadata if info is not None else []) if isinstance(m, VendorEnum)]
    return list(found[0].documented) if found else []


def path_param_note(model_cls: type[BaseModel], path: str) -> str:
    """How else a required path can be given: the webhook URL, or any one field of an object."""
    params: tuple[str, ...] = getattr(model_cls, "PATH_PARAMS", ())
    if path in params:
        return f" (or ?{path}=… in the webhook URL)"
    resolved = resolve_path(model_cls, path)
    if resolved is not None and _nested_model(resolved.annotation) is not None:
        return " (any one of its fields)"
    return ""


# ---- mapping check -----------------------------------------------------------------------------


def _describe(rule: Rule) -> str:
    if rule.has_const:
        source = json.dumps(rule.const, ensure_ascii=False)
    else:
        joined = f" joined by {json.dumps(rule.separator)}" if len(rule.sources) > 1 else ""
        source = " + ".join(text for text, _ in rule.sources) + joined
    extras = [str(x) for x in (rule.transform, rule.date_format, rule.region) if x]
    if rule.values is not None:
        extras.append(f"{len(rule.values)} value(s) translated")
    if rule.default is not None:
        extras.append(f"default {json.dumps(rule.default, ensure_ascii=False)}")
    return source + (f"  [{', '.join(extras)}]" if extras else "")


def _documented(op: Operation, path: str, template: str) -> str:
    """` (documented: A, B)` after a target whose vendor docs show its values, else nothing."""
    values = allowed_values(op.model, path)
    return template.format(", ".join(values)) if values else ""


def _missing(op: Operation, covered: set[str]) -> list[str]:
    """Required paths of `op` that no covered path sets (a covered child sets its parent)."""
    return [p for p in required_paths(op.model) if not any(c == p or c.startswith(f"{p}.") for c in covered)]


def check_mapping(
    mapping: ClientMapping,
    op: Operation,
    out: TextIO,
    *,
    sample: Any = None,
    query: Mapping[str, str] | None = None,
) -> int:
    """Print what a mapping does for `op` and, with a sample, the native body and vendor request."""
    mappings = mapping if isinstance(mapping, tuple) else (mapping,)
    problems = 0
    for index, item in enumerate(mappings):
        title = f"mapping {index + 1} of {len(mappings)}" if len(mappings) > 1 else "mapping"
        problems += _print_mapping(item, title, op, out)
    if sample is None:
        return 1 if problems else 0
    return max(1 if problems else 0, _run_sample(mapping, op, out, sample, query or {}))


def _print_mapping(item: FieldMapping, title: str, op: Operation, out: TextIO) -> int:
    form = f", Typeform form {item.form_id}" if item.form_id else ""
    out.write(f"{title} for {op.name} ({op.scope}): format {item.format}{form}\n")
    covered, problems = _print_rules(item, op, out)
    if item.ignore:
        out.write(f"  ignored: {', '.join(_dotted(p) for p in item.ignore)}\n")
    if item.pass_through:
        out.write("  names that are target paths (refs, hidden fields, keys) pass through to that path\n")
    free = getattr(op.model, "FREE_TEXT_FIELD", None)
    out.write(f"  everything else the sender sends becomes 'Label: value' lines in {free}\n")
    missing = [] if item.pass_through else _missing(op, covered)
    if missing:
        out.write("  required, and not set by this mapping:\n")
    for path in missing:
        out.write(
            f"    - {path}{path_param_note(op.model, path)}{_documented(op, path, ' (documented: {})')}\n"
        )
    return problems


def _print_rules(item: FieldMapping, op: Operation, out: TextIO) -> tuple[set[str], int]:
    """One line per rule; the target paths they set, and how many name no field."""
    width = max((len(r.target) for r in item.rules), default=0)
    covered: set[str] = set()
    problems = 0
    for rule in item.rules:
        resolved = resolve_path(op.model, rule.target)
        if resolved is None:
            problems += 1
            out.write(f"  ✗ {rule.target:<{width}}  is not a field of {op.name}\n")
            continue
        covered.add(resolved.dotted)
        note = _documented(op, rule.target, "   (documented: {})")
        out.write(f"    {rule.target:<{width}}  ← {_describe(rule)}{note}\n")
    return covered, problems


def _dotted(path: Sequence[Any]) -> str:
    return "$." + ".".join(str(s) for s in path)


def _run_sample(
    mapping: ClientMapping,
    op: Operation,
    out: TextIO,
    sample: Any,
    query: Mapping[str, str],
) -> int:
    from leadhooks.inbound.adapters import to_native

    if not isinstance(sample, Mapping):
        raise CheckError("the sample must be a JSON object (the sender's payload)")
    chosen = select(mapping, sample)
    if chosen is None or (chosen not in (mapping if isinstance(mapping, tuple) else (mapping,))):
        out.write("\nno mapping above applies to this sample; it is read as a native or flat body\n")
    try:
        adapted = to_native(sample, op.model, query=query, mapping=mapping)
    except LeadhooksError as exc:
        return _errors(out, exc.message, exc.details)
    out.write("\nnative body:\n")
    out.write(json.dumps(adapted.data, indent=2, ensure_ascii=False) + "\n")
    try:
        model = op.model.model_validate(adapted.data)
    except ValidationError as exc:
        from leadhooks.models.api import field_errors_from_validation

        details = [e.model_dump() for e in field_errors_from_validation(exc)]
        for detail in details:
            title = adapted.sources.get(detail["field"])
            if title:
                detail["reason"] = f"{detail['reason']} (from '{title}')"
        return _errors(out, "the native body does not pass the operation's validation", details)
    from leadhooks.catalog import entry
    from leadhooks.vendors.normalise import normalise_phones

    # Offline: the operation's default phone country; a deployed stack uses the customer's
    # `phoneRegion` from the vendor secret when it has one (DESIGN §6).
    normalise_phones(model, lambda: op.phone_region)
    request = entry(op.name).operation().describe(model)
    out.write(f"\nvendor request (what a dry run answers): {request.method} {request.path}\n")
    out.write(json.dumps(request.body, indent=2, ensure_ascii=False) + "\n")
    return 0


def _errors(out: TextIO, message: str, details: Sequence[Mapping[str, Any]]) -> int:
    out.write(f"\n✗ {message}:\n")
    for detail in details:
        out.write(f"    {detail.get('field')}: {detail.get('reason')}\n")
    return 1


# ---- typeform check ------------------------------------------------------------------------------

_NO_ANSWER = frozenset({"statement", "group"})


def _form_fields(fields: Any) -> list[Mapping[str, Any]]:
    """Every question of a form export, groups flattened (a group's own block has no answer)."""
    out: list[Mapping[str, Any]] = []
    for item in fields if isinstance(fields, list) else []:
        if not isinstance(item, Mapping):
            continue
        if item.get("type") not in _NO_ANSWER:
            out.append(item)
        properties = item.get("properties")
        if isinstance(properties, Mapping):
            out.extend(_form_fields(properties.get("fields")))
    return out


def check_typeform(
    form: Any,
    op: Operation,
    out: TextIO,
    mapping: ClientMapping | None,
    query: Mapping[str, str] | None = None,
) -> int:
    """Per question of a Typeform form export (the Create API's form JSON): where its answer goes."""
    if not isinstance(form, Mapping) or not isinstance(form.get("fields"), list):
        raise CheckError("the file is not a Typeform form export (a JSON object with 'fields')")
    form_id = str(form.get("id") or "")
    chosen = select(mapping, {"form_response": {"form_id": form_id}})
    assert chosen is not None  # a Typeform payload always has a mapping: the client's or the default
    check = _FormCheck(op, chosen)
    _form_header(form, form_id, chosen, op, out)
    for question in _form_fields(form.get("fields")):
        check.question(question)
    for name in _strings(form.get("hidden")):
        check.hidden(name)
    variables = form.get("variables")
    for key in sorted(variables) if isinstance(variables, Mapping) else []:
        check.variable(str(key))
    check.print_rows(out)
    check.cover_constants()
    check.cover_query(query or {}, out)
    return check.finish(out)


def _form_header(
    form: Mapping[str, Any], form_id: str, chosen: FieldMapping, op: Operation, out: TextIO
) -> None:
    out.write(f"Typeform form {form_id or '?'} '{form.get('title', '')}' → {op.name} ({op.scope})\n")
    default = not chosen.rules and chosen.pass_through
    whose = "Typeform's default (refs are target paths)" if default else "the client's"
    out.write(f"mapping: {whose}\n\n")


def _strings(values: Any) -> list[str]:
    return [str(v) for v in values if isinstance(v, str)] if isinstance(values, list) else []


def _question_names(question: Mapping[str, Any]) -> tuple[str, str, str]:
    """A question's ref, field id and (one-line) title."""
    from leadhooks.inbound.typeform import clean_title

    ref = str(question.get("ref") or "")
    fid = str(question.get("id") or "")
    return ref, fid, clean_title(str(question.get("title") or fid or ref))


class _FormCheck:
    """Where each question, hidden field and variable of one form goes; what stays uncollected."""

    def __init__(self, op: Operation, chosen: FieldMapping) -> None:
        self.op = op
        self.chosen = chosen
        self.free = str(getattr(op.model, "FREE_TEXT_FIELD", None))
        self.rules: dict[tuple[str, str], Rule] = {}
        for rule in chosen.rules:
            for _, segments in rule.sources:
                if len(segments) == 2 and isinstance(segments[0], str):
                    self.rules.setdefault((segments[0], str(segments[1])), rule)
        self.covered: set[str] = set()
        self.problems = 0
        self.rows: list[tuple[str, str, str]] = []

    def target_of(self, section: str, names: Sequence[str]) -> tuple[str, bool]:
        """Where a value goes (text for the table) and whether that is a field of the operation."""
        for name in names:
            rule = self.rules.get((section, name))
            if rule is not None:
                return self._mapped(rule)
        resolved = resolve_path(self.op.model, names[0]) if self.chosen.pass_through and names else None
        if resolved is None:
            return f"{self.free}, as a 'Title: answer' line", True
        self.covered.add(resolved.dotted)
        return resolved.dotted, True

    def _mapped(self, rule: Rule) -> tuple[str, bool]:
        resolved = resolve_path(self.op.model, rule.target)
        if resolved is None:
            return f"✗ {rule.target} is not a field of {self.op.name} (mapping)", False
        self.covered.add(resolved.dotted)
        return f"{resolved.dotted} (mapping: {_describe(rule)})", True

    def question(self, question: Mapping[str, Any]) -> None:
        ref, fid, title = _question_names(question)
        target, ok = self.target_of("answers", [n for n in (ref, fid) if n])
        if ok and self._looks_like_a_path(ref, target):
            target += f"   ✗ the ref '{ref}' looks like a target path but is not a field of {self.op.name}"
            ok = False
        self.problems += 0 if ok else 1
        self.rows.append((title, ref or fid, target))

    def _looks_like_a_path(self, ref: str, target: str) -> bool:
        """A dotted (or `__`) ref that ended up in the free text: most likely a misspelt target path."""
        return target.startswith(f"{self.free},") and ("." in ref or "__" in ref)

    def hidden(self, name: str) -> None:
        target, ok = self.target_of("hidden", [name])
        self.problems += 0 if ok else 1
        self.rows.append((f"hidden field {name}", name, target))

    def variable(self, key: str) -> None:
        target, _ = self.target_of("variables", [key])
        if target.startswith(f"{self.free},"):
            target = f"{self.free}, as a '{key}: value' line"
        self.rows.append((f"variable {key}", key, target))

    def print_rows(self, out: TextIO) -> None:
        width = max((len(r[0]) for r in self.rows), default=0)
        ref_width = max((len(r[1]) for r in self.rows), default=0)
        for title, ref, target in self.rows:
            out.write(f"  {title:<{width}}  {ref:<{ref_width}}  → {target}\n")
        lines = "'Form:', 'Submitted at:', 'Score:' lines"
        out.write(f"  form title, submission time and score → {self.free}, as {lines}\n")

    def cover_constants(self) -> None:
        for rule in self.chosen.rules:
            if rule.has_const and (resolved := resolve_path(self.op.model, rule.target)) is not None:
                self.covered.add(resolved.dotted)

    def cover_query(self, query: Mapping[str, str], out: TextIO) -> None:
        """Webhook URL parameters (`?customerId=…`) count as collected."""
        for name in query:
            if (resolved := resolve_path(self.op.model, name)) is not None:
                self.covered.add(resolved.dotted)
                out.write(f"  webhook URL ?{name}=…  → {resolved.dotted}\n")

    def finish(self, out: TextIO) -> int:
        missing = _missing(self.op, self.covered)
        if not missing:
            out.write("\nevery required field is collected\n")
            return 1 if self.problems else 0
        out.write(
            "\nrequired fields this form does not collect "
            "(add a question, a hidden field or a mapping constant):\n"
        )
        for path in missing:
            note = _documented(self.op, path, "; documented: {}")
            out.write(f"  - {path}{path_param_note(self.op.model, path)}{note}\n")
        return 1


# ---- command line --------------------------------------------------------------------------------


def _read_json(path: str, what: str) -> Any:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise CheckError(f"cannot read the {what} {path} ({exc.strerror})") from None
    except ValueError as exc:
        raise CheckError(f"the {what} {path} is not JSON ({exc})") from None


def _query(pairs: Sequence[str]) -> dict[str, str]:
    query: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise CheckError(f"--query takes name=value, got '{pair}'")
        query[key] = value
    return query


def _operation_and_query(parser: argparse.ArgumentParser) -> None:
    """What both checks share: the operation (its scope) and the webhook URL's query parameters."""
    parser.add_argument(
        "--operation", required=True, help="person-leads, area-interests, viewing-participants, contact-on-me"
    )
    parser.add_argument(
        "--query",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a webhook URL query parameter (repeatable)",
    )


def add_mapping_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "file", metavar="FILE", help="a mapping, a client entry with 'mappings', or an inbound secret"
    )
    _operation_and_query(parser)
    parser.add_argument(
        "--sample", metavar="PAYLOAD.json", help="a payload the sender sends: print the native body"
    )


def add_typeform_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "file", metavar="FORM.json", help="the form as the Create API returns it (GET /forms/{id})"
    )
    _operation_and_query(parser)
    parser.add_argument(
        "--mapping", metavar="FILE", help="the client's Typeform mapping for this operation, if any"
    )


def run_mapping_check(args: argparse.Namespace, out: TextIO) -> int:
    op = operation(args.operation)
    mapping = load_mapping_file(args.file, op.scope)
    sample = _read_json(args.sample, "sample") if args.sample else None
    return check_mapping(mapping, op, out, sample=sample, query=_query(args.query))


def run_typeform_check(args: argparse.Namespace, out: TextIO) -> int:
    op = operation(args.operation)
    mapping = load_mapping_file(args.mapping, op.scope) if args.mapping else None
    return check_typeform(_read_json(args.file, "form export"), op, out, mapping, _query(args.query))


def guarded(func: Any, args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """Run a check; problems with its inputs are one line on stderr (exit 2), never a traceback."""
    try:
        return int(func(args, out))
    except (CheckError, MappingError) as exc:
        err.write(f"error: {exc}\n")
        return 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=PROG, description="Check a mapping or a Typeform form offline.")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("mapping", help="what a mapping produces (with --sample: the native body)")
    add_mapping_arguments(p)
    p.set_defaults(func=run_mapping_check)
    p = sub.add_parser("typeform", help="where each question of a Typeform form export goes")
    add_typeform_arguments(p)
    p.set_defaults(func=run_typeform_check)
    return parser


def main(argv: Sequence[str] | None = None, out: TextIO | None = None, err: TextIO | None = None) -> int:
    args = build_parser().parse_args(argv)
    return guarded(args.func, args, out or sys.stdout, err or sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
