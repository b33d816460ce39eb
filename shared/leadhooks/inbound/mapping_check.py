"""Checks an integrator runs before sending anything: `mapping check` and `typeform check`.

    python -m leadhooks.inbound.mapping_check mapping FILE --operation person-leads [--sample PAYLOAD.json]
    python -m leadhooks.inbound.mapping_check typeform FORM.json --operation person-leads [--mapping FILE]

(the ops CLI registers the same commands as `mapping check` and `typeform check`:
`leadhooks.ops.mapping_commands`). Nothing is sent anywhere and no AWS credentials are needed: these
read local files and the operation models. They print the values of the sample they are given, which
is the integrator's own test data.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any, Literal, TextIO, get_args, get_origin

from pydantic import BaseModel, ValidationError

from leadhooks.errors import LeadhooksError
from leadhooks.inbound.flat import lookup_field, resolve_path, type_members
from leadhooks.inbound.mapping import FieldMapping, MappingError, Rule, parse_mapping, select

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


def load_mapping_file(path: str, scope: str) -> FieldMapping | list[FieldMapping]:
    """A mapping file: one mapping, a list of them, `{"mappings": {scope: …}}` (a client entry), or
    `{"clients": {…}}` (a whole inbound secret, when exactly one client maps this scope)."""
    raw = _read_json(path, "mapping file")
    if isinstance(raw, Mapping) and isinstance(raw.get("clients"), Mapping):
        entries = [
            c
            for c in raw["clients"].values()
            if isinstance(c, Mapping) and scope in (c.get("mappings") or {})
        ]
        if len(entries) != 1:
            raise CheckError(f"{path}: {len(entries)} clients map '{scope}'; pass one client's entry")
        raw = entries[0]
    if isinstance(raw, Mapping) and isinstance(raw.get("mappings"), Mapping):
        if scope not in raw["mappings"]:
            raise CheckError(f"{path}: no mapping for '{scope}' under 'mappings'")
        raw = raw["mappings"][scope]
    if isinstance(raw, list):
        return [parse_mapping(item, f"mapping[{i}]") for i, item in enumerate(raw)]
    return parse_mapping(raw)


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
    """The documented values of an enum field (`leadSource.leadType` → `AcceptObjectFlow`), else []."""
    resolved = resolve_path(model_cls, path)
    if resolved is None:
        return []
    for member in type_members(resolved.annotation):
        if isinstance(member, type) and issubclass(member, Enum):
            return [m.name for m in member]
        if get_origin(member) is Literal:
            return [str(a) for a in get_args(member)]
    return []


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
    extras = [rule.transform] if rule.transform else []
    if rule.date_format:
        extras.append(rule.date_format)
    if rule.region:
        extras.append(rule.region)
    if rule.values is not None:
        extras.append(f"{len(rule.values)} value(s) translated")
    if rule.default is not None:
        extras.append(f"default {json.dumps(rule.default, ensure_ascii=False)}")
    return source + (f"  [{', '.join(extras)}]" if extras else "")


def check_mapping(
    mapping: FieldMapping | list[FieldMapping],
    op: Operation,
    out: TextIO,
    *,
    sample: Any = None,
    query: Mapping[str, str] | None = None,
) -> int:
    """Print what a mapping does for `op` and, with a sample, the native body and vendor request."""
    mappings = mapping if isinstance(mapping, list) else [mapping]
    problems = 0
    for index, item in enumerate(mappings):
        title = f"mapping {index + 1} of {len(mappings)}" if len(mappings) > 1 else "mapping"
        form = f", Typeform form {item.form_id}" if item.form_id else ""
        out.write(f"{title} for {op.name} ({op.scope}): format {item.format}{form}\n")
        width = max((len(r.target) for r in item.rules), default=0)
        covered: set[str] = set()
        for rule in item.rules:
            resolved = resolve_path(op.model, rule.target)
            if resolved is None:
                problems += 1
                out.write(f"  ✗ {rule.target:<{width}}  is not a field of {op.name}\n")
                continue
            covered.add(resolved.dotted)
            allowed = allowed_values(op.model, rule.target)
            note = f"   (allowed: {', '.join(allowed)})" if allowed else ""
            out.write(f"    {rule.target:<{width}}  ← {_describe(rule)}{note}\n")
        if item.ignore:
            out.write(f"  ignored: {', '.join(_dotted(p) for p in item.ignore)}\n")
        if item.pass_through:
            out.write("  names that are target paths (refs, hidden fields, keys) pass through to that path\n")
        free = getattr(op.model, "FREE_TEXT_FIELD", None)
        out.write(f"  everything else the sender sends becomes 'Label: value' lines in {free}\n")
        missing = [
            p for p in required_paths(op.model) if not any(c == p or c.startswith(f"{p}.") for c in covered)
        ]
        if missing and not item.pass_through:
            out.write("  required, and not set by this mapping:\n")
            for path in missing:
                allowed = allowed_values(op.model, path)
                hint = f" (allowed: {', '.join(allowed)})" if allowed else ""
                out.write(f"    - {path}{path_param_note(op.model, path)}{hint}\n")
    if sample is None:
        return 1 if problems else 0
    return max(1 if problems else 0, _run_sample(mapping, op, out, sample, query or {}))


def _dotted(path: Sequence[Any]) -> str:
    return "$." + ".".join(str(s) for s in path)


def _run_sample(
    mapping: FieldMapping | list[FieldMapping],
    op: Operation,
    out: TextIO,
    sample: Any,
    query: Mapping[str, str],
) -> int:
    from leadhooks.inbound.adapters import to_native

    if not isinstance(sample, Mapping):
        raise CheckError("the sample must be a JSON object (the sender's payload)")
    chosen = select(mapping, sample)
    if chosen is None or (chosen not in (mapping if isinstance(mapping, list) else [mapping])):
        out.write("\nno mapping above applies to this sample; it is read as a native or flat body\n")
    try:
        adapted = to_native(sample, op.model, query=query, default_region=op.phone_region, mapping=mapping)
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
    mapping: FieldMapping | list[FieldMapping] | None,
    query: Mapping[str, str] | None = None,
) -> int:
    """Per question of a Typeform form export (the Create API's form JSON): where its answer goes."""
    from leadhooks.inbound.typeform import clean_title

    if not isinstance(form, Mapping) or not isinstance(form.get("fields"), list):
        raise CheckError("the file is not a Typeform form export (a JSON object with 'fields')")
    form_id = str(form.get("id") or "")
    probe = {"form_response": {"form_id": form_id}}
    chosen = select(mapping, probe)
    assert chosen is not None  # a Typeform payload always has a mapping: the client's or the default
    rules: dict[tuple[str, str], Rule] = {}
    for rule in chosen.rules:
        for _, segments in rule.sources:
            if len(segments) == 2 and isinstance(segments[0], str):
                rules.setdefault((segments[0], str(segments[1])), rule)
    covered: set[str] = set()
    problems = 0
    rows: list[tuple[str, str, str]] = []
    free = getattr(op.model, "FREE_TEXT_FIELD", None)

    def target_of(section: str, names: Sequence[str]) -> tuple[str, bool]:
        for name in names:
            rule = rules.get((section, name))
            if rule is not None:
                resolved = resolve_path(op.model, rule.target)
                if resolved is None:
                    return f"✗ {rule.target} is not a field of {op.name} (mapping)", False
                covered.add(resolved.dotted)
                return f"{resolved.dotted} (mapping: {_describe(rule)})", True
        if chosen.pass_through and names:
            resolved = resolve_path(op.model, names[0])
            if resolved is not None:
                covered.add(resolved.dotted)
                return resolved.dotted, True
        return f"{free}, as a 'Title: answer' line", True

    out.write(f"Typeform form {form_id or '?'} '{form.get('title', '')}' → {op.name} ({op.scope})\n")
    out.write(
        "mapping: "
        + (
            "the client's"
            if chosen.rules or not chosen.pass_through
            else "Typeform's default (refs are target paths)"
        )
        + "\n\n"
    )
    for question in _form_fields(form.get("fields")):
        ref = str(question.get("ref") or "")
        fid = str(question.get("id") or "")
        title = clean_title(str(question.get("title") or fid or ref))
        target, ok = target_of("answers", [n for n in (ref, fid) if n])
        if not ok:
            problems += 1
        elif target.startswith(f"{free},") and ("." in ref or "__" in ref):
            target += f"   ✗ the ref '{ref}' looks like a target path but is not a field of {op.name}"
            problems += 1
        rows.append((title, ref or fid, target))
    for name in [str(h) for h in form.get("hidden") or [] if isinstance(h, str)]:
        target, ok = target_of("hidden", [name])
        problems += 0 if ok else 1
        rows.append((f"hidden field {name}", name, target))
    variables = form.get("variables")
    for key in sorted(variables) if isinstance(variables, Mapping) else []:
        target, ok = target_of("variables", [str(key)])
        rows.append(
            (
                f"variable {key}",
                str(key),
                target if not target.startswith(f"{free},") else f"{free}, as a '{key}: value' line",
            )
        )
    width = max((len(r[0]) for r in rows), default=0)
    ref_width = max((len(r[1]) for r in rows), default=0)
    for title, ref, target in rows:
        out.write(f"  {title:<{width}}  {ref:<{ref_width}}  → {target}\n")
    out.write(
        f"  form title, submission time and score → {free}, as 'Form:', 'Submitted at:', 'Score:' lines\n"
    )
    for rule in chosen.rules:
        if rule.has_const and (resolved := resolve_path(op.model, rule.target)) is not None:
            covered.add(resolved.dotted)
    for name in query or {}:
        if (resolved := resolve_path(op.model, name)) is not None:
            covered.add(resolved.dotted)
            out.write(f"  webhook URL ?{name}=…  → {resolved.dotted}\n")
    missing = [
        p for p in required_paths(op.model) if not any(c == p or c.startswith(f"{p}.") for c in covered)
    ]
    if missing:
        out.write(
            "\nrequired fields this form does not collect "
            "(add a question, a hidden field or a mapping constant):\n"
        )
        for path in missing:
            allowed = allowed_values(op.model, path)
            hint = f"; allowed: {', '.join(allowed)}" if allowed else ""
            out.write(f"  - {path}{path_param_note(op.model, path)}{hint}\n")
        problems += 1
    else:
        out.write("\nevery required field is collected\n")
    return 1 if problems else 0


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


def add_mapping_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "file", metavar="FILE", help="a mapping, a client entry with 'mappings', or an inbound secret"
    )
    parser.add_argument(
        "--operation", required=True, help="person-leads, area-interests, viewing-participants, contact-on-me"
    )
    parser.add_argument(
        "--sample", metavar="PAYLOAD.json", help="a payload the sender sends: print the native body"
    )
    parser.add_argument(
        "--query",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a webhook URL query parameter (repeatable)",
    )


def add_typeform_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "file", metavar="FORM.json", help="the form as the Create API returns it (GET /forms/{id})"
    )
    parser.add_argument(
        "--operation", required=True, help="person-leads, area-interests, viewing-participants, contact-on-me"
    )
    parser.add_argument(
        "--mapping", metavar="FILE", help="the client's Typeform mapping for this operation, if any"
    )
    parser.add_argument(
        "--query",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a webhook URL query parameter (repeatable)",
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
