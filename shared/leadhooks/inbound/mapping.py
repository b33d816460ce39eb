"""Declarative mappings: any sender's JSON shape → the operation's native body (docs/inbound.md §5).

A *mapping* says, per target path of the operation model, where its value comes from in the sender's
payload (a JSON path), or which constant it is, and how to convert it (join, split a full name, E.164,
a date format, a value table). It belongs to a client (DESIGN §4): the client's entry in the inbound
secret carries `"mappings": {"<operation scope>": {...}}` (`mapping_for(client_config, scope)`).

```json
{"format": "json",
 "fields": {
   "person.firstName": {"from": "$.contact.name", "transform": "firstName"},
   "person.lastName": {"from": "$.contact.name", "transform": "lastName"},
   "person.telephone.cell": {"from": "$.contact.phone", "transform": "e164", "region": "SE"},
   "leadSource.leadType": {"const": "AcceptObjectFlow"},
   "message": {"from": ["$.subject", "$.body"], "separator": "\\n"}},
 "ignore": ["$.meta"]}
```

Nothing a sender sends is dropped unless the mapping says so (`ignore`): a value no rule reads becomes
a `Label: value` line in the operation's free-text field, as for Typeform and flat input. With
`"format": "typeform"` the paths address a Typeform payload's answers by ref or field id
(`$.answers.first_name`), its `hidden`, `variables`, `calculated`, `submitted_at` and `form.title`;
Typeform's own convention (a ref or hidden-field name that is a target path goes there) is the
built-in default mapping, `DEFAULT_TYPEFORM`, and stays on under a client's Typeform mapping unless it
sets `"passThrough": false`.

The mapping produces `Assignment`s; the adapter (`leadhooks.inbound.adapters.to_native`) resolves them
against the model exactly as it does Typeform answers and flat keys, so the same value fitting,
free-text lines, phone and personnummer rules apply. No message here contains a submitted value.

`python -m leadhooks.inbound.mapping_check mapping FILE --operation person-leads [--sample PAYLOAD.json]`
(also `python -m leadhooks.ops mapping check …`) prints the native body a mapping produces.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any, Literal

from leadhooks.errors import ConfigurationError, InputValidationError
from leadhooks.inbound.flat import Assignment, Segment, SourceValue, as_text, is_empty
from leadhooks.inbound.typeform import is_typeform, iso_date, typeform_source

__all__ = [
    "DEFAULT_TYPEFORM",
    "FieldMapping",
    "MappingError",
    "client_config",
    "mapping_for",
    "parse_mapping",
    "select",
]

Format = Literal["json", "typeform"]
TRANSFORMS = ("firstName", "lastName", "e164", "date", "datetime", "text", "lower", "upper")
_RULE_KEYS = frozenset({"from", "const", "transform", "separator", "region", "format", "values", "default"})
_MAPPING_KEYS = frozenset({"format", "formId", "fields", "ignore", "passThrough", "description"})
_TOKEN = re.compile(r"""\.?([^.\[\]]+)|\[(\d+|\*|'[^']*'|"[^"]*")\]""")
_WILDCARD = "*"
Path = tuple[Segment, ...]


class MappingError(ConfigurationError):
    """A mapping document that cannot be used; the message names the place in the document."""


# ---- JSON paths --------------------------------------------------------------------------------


def parse_path(text: str) -> tuple[str | int, ...]:
    """`$.contact.phones[0]`, `contact.phones.0`, `$['a.b'][*]` → segments (`*` = every item)."""
    raw = text.strip()
    if raw.startswith("$"):
        raw = raw[1:]
    if not raw:
        raise ValueError("an empty path")
    segments: list[str | int] = []
    at = 0
    while at < len(raw):
        match = _TOKEN.match(raw, at)
        if match is None or match.end() == at:
            raise ValueError(f"cannot read the path at character {at + 1}")
        name, bracket = match.group(1), match.group(2)
        if bracket is not None:
            if bracket == _WILDCARD:
                segments.append(_WILDCARD)
            elif bracket.isdigit():
                segments.append(int(bracket))
            else:
                segments.append(bracket[1:-1])
        else:
            segments.append(int(name) if name.isdigit() else name)
        at = match.end()
    return tuple(segments)


def find(document: Any, segments: Sequence[str | int]) -> Iterator[tuple[Path, Any]]:
    """Every (concrete path, value) the path reaches; a wildcard fans out over a list or object."""

    def walk(node: Any, at: int, path: Path) -> Iterator[tuple[Path, Any]]:
        if at == len(segments):
            yield path, node
            return
        segment = segments[at]
        if segment == _WILDCARD:
            if isinstance(node, Mapping):
                for key, child in node.items():
                    yield from walk(child, at + 1, (*path, str(key)))
            elif isinstance(node, list):
                for index, child in enumerate(node):
                    yield from walk(child, at + 1, (*path, index))
            return
        if isinstance(node, Mapping):
            key = str(segment)
            if key in node:
                yield from walk(node[key], at + 1, (*path, key))
        elif isinstance(node, list) and isinstance(segment, int) and segment < len(node):
            yield from walk(node[segment], at + 1, (*path, segment))

    yield from walk(document, 0, ())


def _covers(prefix: Path, path: Path) -> bool:
    return path[: len(prefix)] == prefix


def json_values(payload: Mapping[str, Any]) -> list[SourceValue]:
    """Every leaf of a JSON object (a list of plain values is one leaf), labelled by its dotted path."""
    out: list[SourceValue] = []

    def walk(node: Any, path: Path) -> None:
        if isinstance(node, Mapping) and node:
            for key, child in node.items():
                walk(child, (*path, str(key)))
        elif isinstance(node, list) and node and any(isinstance(v, Mapping | list) for v in node):
            for index, child in enumerate(node):
                walk(child, (*path, index))
        elif path:
            dotted = ".".join(str(s) for s in path)
            out.append(SourceValue(paths=(path,), value=node, label=dotted, target=dotted))

    walk(payload, ())
    return out


# ---- the mapping document ----------------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    """Where one target path's value comes from."""

    target: str
    sources: tuple[tuple[str, tuple[str | int, ...]], ...] = ()  # (as written, parsed)
    const: Any = None
    has_const: bool = False
    transform: str | None = None
    separator: str = " "
    region: str | None = None
    date_format: str | None = None
    values: Mapping[str, Any] | None = None
    default: Any = None

    @property
    def label(self) -> str:
        return self.sources[0][0].removeprefix("$.").removeprefix("$") if self.sources else self.target


@dataclass(frozen=True)
class FieldMapping:
    """One parsed mapping. Build with `parse_mapping`; apply with `assignments(payload)`."""

    format: Format = "json"
    rules: tuple[Rule, ...] = ()
    ignore: tuple[tuple[str | int, ...], ...] = ()
    pass_through: bool = False
    form_id: str | None = None

    def applies_to(self, payload: Mapping[str, Any]) -> bool:
        """A Typeform mapping reads Typeform payloads (of its form, when `formId` is set); a JSON
        mapping reads everything else the client sends to this operation."""
        if is_typeform(payload):
            if self.format != "typeform":
                return False
            if self.form_id is None:
                return True
            response = payload.get("form_response")
            return isinstance(response, Mapping) and str(response.get("form_id") or "") == self.form_id
        return self.format == "json"

    def assignments(
        self, payload: Mapping[str, Any], *, default_region: str = "SE"
    ) -> tuple[list[Assignment], str | None]:
        """The payload as assignments onto target paths, and its delivery id (Typeform `event_id`).

        Raises `InputValidationError` (422) naming the target and the source path when a declared
        conversion does not apply (a date that does not match its format, for example).
        """
        event_id: str | None = None
        if self.format == "typeform":
            source = typeform_source(payload)
            document: Any = source.document
            values = source.values
            event_id = source.event_id
            origin = "form field"
        else:
            document, values, origin = payload, json_values(payload), "field"
        problems: list[dict[str, Any]] = []
        used: list[Path] = []
        out: list[Assignment] = []
        for rule in self.rules:
            value, paths = self._evaluate(rule, document, default_region, problems)
            used.extend(paths)
            if not is_empty(value):
                out.append(Assignment(path=rule.target, value=value, label=rule.label, origin=origin))
        for pattern in self.ignore:
            used.extend(path for path, _ in find(document, pattern))
        for item in values:
            if any(_covers(prefix, path) for prefix in used for path in item.paths):
                continue
            target = item.target if self.pass_through else None
            if target is None and not item.keep:
                continue
            out.append(Assignment(path=target, value=item.value, label=item.label, origin=item.origin))
        if problems:
            raise InputValidationError("the request does not fit the client's mapping", details=problems)
        return out, event_id

    def _evaluate(
        self, rule: Rule, document: Any, default_region: str, problems: list[dict[str, Any]]
    ) -> tuple[Any, list[Path]]:
        if rule.has_const:
            return rule.const, []
        found: list[Any] = []
        paths: list[Path] = []
        fan_out = len(rule.sources) > 1
        for _, segments in rule.sources:
            matches = list(find(document, segments))
            paths.extend(p for p, _ in matches)
            fan_out = fan_out or _WILDCARD in segments
            found.extend(value for _, value in matches)
        if not fan_out:  # one path, one place: the value as sent (a list stays a list)
            value: Any = found[0] if found else None
        else:  # several paths or a wildcard: the texts joined
            flat = [item for v in found for item in (v if isinstance(v, list) else [v])]
            value = rule.separator.join(t for t in (as_text(v).strip() for v in flat) if t)
        if is_empty(value):
            return rule.default, paths
        try:
            value = _transform(rule, value, default_region)
        except ValueError as exc:
            problems.append({"field": rule.target, "reason": f"{exc} (from '{rule.label}')"})
            return None, paths
        if rule.values is not None and isinstance(value, str | int | float | bool):
            value = _lookup(rule.values, value)
        return value, paths


def _transform(rule: Rule, value: Any, default_region: str) -> Any:
    kind = rule.transform
    if kind is None:
        return value
    text = as_text(value).strip()
    if kind == "text":
        return text
    if kind == "lower":
        return text.lower()
    if kind == "upper":
        return text.upper()
    if kind in ("firstName", "lastName"):
        first, last = split_name(text)
        return first if kind == "firstName" else last
    if kind == "e164":
        from leadhooks.inbound.adapters import normalise_phone  # phonenumbers is slow to import

        return normalise_phone(text, rule.region or default_region)
    if kind == "date":
        if rule.date_format is None:
            result = iso_date(text)
            if result == text and len(text) != 10:
                raise ValueError("not an ISO 8601 date")
            return result
        return _strptime(text, rule.date_format).date().isoformat()
    if kind == "datetime":
        if rule.date_format is None:
            try:
                return datetime.fromisoformat(text).isoformat()
            except ValueError:  # its message quotes the value: never passed on
                raise ValueError("not an ISO 8601 date and time") from None
        return _strptime(text, rule.date_format).isoformat()
    raise ValueError(f"unknown transform '{kind}'")  # parse_mapping rejects it first


def _strptime(text: str, fmt: str) -> datetime:
    try:
        return datetime.strptime(text, fmt)  # a date keeps its meaning: no time zone is invented
    except ValueError:
        raise ValueError(f"does not match the mapping's format '{fmt}'") from None


def split_name(text: str) -> tuple[str | None, str | None]:
    """`Anna Maria Svensson` → (`Anna Maria`, `Svensson`); `Svensson, Anna` → (`Anna`, `Svensson`);
    a single word is a first name."""
    if "," in text:
        last, _, first = text.partition(",")
        return first.strip() or None, last.strip() or None
    words = text.split()
    if not words:
        return None, None
    if len(words) == 1:
        return words[0], None
    return " ".join(words[:-1]), words[-1]


def _lookup(table: Mapping[str, Any], value: Any) -> Any:
    key = as_text(value)
    if key in table:
        return table[key]
    folded = [v for k, v in table.items() if k.casefold() == key.casefold()]
    return folded[0] if len(folded) == 1 else value


def parse_mapping(raw: Any, where: str = "mapping") -> FieldMapping:
    """Check a mapping document and build it; `MappingError` names the first problem's place."""
    if not isinstance(raw, Mapping):
        raise MappingError(f"{where} must be a JSON object")
    unknown = sorted(set(raw) - _MAPPING_KEYS)
    if unknown:
        raise MappingError(
            f"{where}: unknown key '{unknown[0]}' (allowed: {', '.join(sorted(_MAPPING_KEYS))})"
        )
    fmt = raw.get("format", "json")
    if fmt not in ("json", "typeform"):
        raise MappingError(f"{where}.format must be 'json' or 'typeform'")
    fields = raw.get("fields", {})
    if not isinstance(fields, Mapping):
        raise MappingError(f"{where}.fields must be an object of target path → source")
    rules = tuple(
        _parse_rule(str(target), spec, f"{where}.fields['{target}']") for target, spec in fields.items()
    )
    ignore_raw = raw.get("ignore", [])
    if not isinstance(ignore_raw, list) or not all(isinstance(p, str) for p in ignore_raw):
        raise MappingError(f"{where}.ignore must be a list of JSON paths")
    ignore = tuple(_path(p, f"{where}.ignore") for p in ignore_raw)
    pass_through = raw.get("passThrough", fmt == "typeform")
    if not isinstance(pass_through, bool):
        raise MappingError(f"{where}.passThrough must be true or false")
    form_id = raw.get("formId")
    if form_id is not None and (fmt != "typeform" or not isinstance(form_id, str)):
        raise MappingError(f'{where}.formId is a Typeform form id (with "format": "typeform")')
    return FieldMapping(format=fmt, rules=rules, ignore=ignore, pass_through=pass_through, form_id=form_id)


def _path(text: str, where: str) -> tuple[str | int, ...]:
    try:
        return parse_path(text)
    except ValueError as exc:
        raise MappingError(f"{where}: '{text}' is not a JSON path ({exc})") from None


def _parse_rule(target: str, spec: Any, where: str) -> Rule:
    if not target.strip():
        raise MappingError(f"{where}: the target path is empty")
    if isinstance(spec, str):
        return Rule(target=target, sources=((spec, _path(spec, where)),))
    if not isinstance(spec, Mapping):
        raise MappingError(f"{where} must be a JSON path or an object with 'from' or 'const'")
    unknown = sorted(set(spec) - _RULE_KEYS)
    if unknown:
        raise MappingError(f"{where}: unknown key '{unknown[0]}' (allowed: {', '.join(sorted(_RULE_KEYS))})")
    if ("from" in spec) == ("const" in spec):
        raise MappingError(f"{where} needs exactly one of 'from' (JSON path or list of paths) and 'const'")
    sources: tuple[tuple[str, tuple[str | int, ...]], ...] = ()
    if "from" in spec:
        raw_from = spec["from"]
        paths = [raw_from] if isinstance(raw_from, str) else raw_from
        if not isinstance(paths, list) or not paths or not all(isinstance(p, str) for p in paths):
            raise MappingError(f"{where}.from must be a JSON path or a non-empty list of them")
        sources = tuple((p, _path(p, f"{where}.from")) for p in paths)
    transform = spec.get("transform")
    if transform is not None and transform not in TRANSFORMS:
        raise MappingError(f"{where}.transform must be one of {', '.join(TRANSFORMS)}")
    date_format = spec.get("format")
    if date_format is not None and (
        transform not in ("date", "datetime") or not isinstance(date_format, str)
    ):
        raise MappingError(f"{where}.format is a strptime format for the date/datetime transforms")
    region = spec.get("region")
    if region is not None and (transform != "e164" or not isinstance(region, str) or len(region) != 2):
        raise MappingError(f"{where}.region is a two-letter country code for the e164 transform")
    values = spec.get("values")
    if values is not None and not isinstance(values, Mapping):
        raise MappingError(f"{where}.values must be an object of sender value → target value")
    separator = spec.get("separator", " ")
    if not isinstance(separator, str):
        raise MappingError(f"{where}.separator must be text")
    return Rule(
        target=target,
        sources=sources,
        const=spec.get("const"),
        has_const="const" in spec,
        transform=transform,
        separator=separator,
        region=region.upper() if isinstance(region, str) else None,
        date_format=date_format,
        values=dict(values) if values is not None else None,
        default=spec.get("default"),
    )


# Typeform's convention as a mapping: refs and hidden-field names are target paths; everything else
# (other answers, variables, score, submission time, form title) becomes `Title: value` lines.
DEFAULT_TYPEFORM = FieldMapping(format="typeform", pass_through=True)


# ---- a client's mappings ------------------------------------------------------------------------


def client_config(inbound_secret: Mapping[str, Any], client: str | None) -> Mapping[str, Any]:
    """The configuration of the client that authenticated: `clients.<client>` of the inbound secret
    (DESIGN §4). A secret without `clients` (one implicit client) is its own client entry."""
    clients = inbound_secret.get("clients")
    if isinstance(clients, Mapping):
        entry = clients.get(client or "")
        return entry if isinstance(entry, Mapping) else {}
    return inbound_secret


def mapping_for(config: Mapping[str, Any], scope: str) -> FieldMapping | list[FieldMapping] | None:
    """The client's mapping(s) for an operation scope (`person-leads`), parsed once per secret value.

    A scope may hold one mapping or a list (for example one Typeform mapping per form, by `formId`,
    plus a JSON one); the adapter uses the first that applies to the payload.
    """
    mappings = config.get("mappings")
    if not isinstance(mappings, Mapping) or scope not in mappings:
        return None
    return _parsed(json.dumps(mappings[scope], sort_keys=True), scope)


@lru_cache(maxsize=64)
def _parsed(document: str, scope: str) -> FieldMapping | list[FieldMapping]:
    raw = json.loads(document)
    where = f"mappings['{scope}']"
    if isinstance(raw, list):
        return [parse_mapping(item, f"{where}[{i}]") for i, item in enumerate(raw)]
    return parse_mapping(raw, where)


def select(
    mapping: FieldMapping | Sequence[FieldMapping] | None, payload: Mapping[str, Any]
) -> FieldMapping | None:
    """The mapping that reads this payload: the client's first that applies, else Typeform's default
    for a Typeform payload, else none (native and flat bodies need none)."""
    candidates = [mapping] if isinstance(mapping, FieldMapping) else list(mapping or [])
    for candidate in candidates:
        if candidate.applies_to(payload):
            return candidate
    return DEFAULT_TYPEFORM if is_typeform(payload) else None
