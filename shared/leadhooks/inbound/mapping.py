"""Declarative mappings: any sender's JSON shape → the operation's native body (docs/inbound.md §5).

A *mapping* says, per target path of the operation model, where its value comes from in the sender's
payload (a JSON path), or which constant it is, and how to convert it (join, split a full name, E.164,
a date format, a value table). It belongs to a client (DESIGN §4): the client's entry in the inbound
secret carries `"mappings": {"<operation scope>": {...}}`, parsed with the rest of the client
(`leadhooks.inbound.clients`, `Client.mappings`), so `secrets check` reports a broken mapping by client
name and the pipeline uses the authenticated client's (`logic/delivery.py`, `client_mapping`).

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
(also `leadhooks-ops mapping check …`) prints the native body a mapping produces.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from leadhooks.errors import ConfigurationError, InputValidationError
from leadhooks.inbound.flat import Assignment, Segment, SourceValue, as_text, is_empty
from leadhooks.inbound.typeform import is_typeform, iso_date, typeform_source

__all__ = [
    "DEFAULT_TYPEFORM",
    "ClientMapping",
    "FieldMapping",
    "MappingError",
    "parse_client_mapping",
    "parse_mapping",
    "select",
]

Format = Literal["json", "typeform"]
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

    def assignments(self, payload: Mapping[str, Any]) -> tuple[list[Assignment], str | None]:
        """The payload as assignments onto target paths, and its delivery id (Typeform `event_id`).

        Raises `InputValidationError` (422) naming the target and the source path when a declared
        conversion does not apply (a date that does not match its format, for example).
        """
        document, values, origin, event_id = self._source(payload)
        problems: list[dict[str, Any]] = []
        used: list[Path] = []
        out: list[Assignment] = []
        for rule in self.rules:
            value, paths = _evaluate(rule, document, problems)
            used.extend(paths)
            if not is_empty(value):
                out.append(Assignment(path=rule.target, value=value, label=rule.label, origin=origin))
        for pattern in self.ignore:
            used.extend(path for path, _ in find(document, pattern))
        out.extend(self._unread(values, used))
        if problems:
            raise InputValidationError("the request does not fit the client's mapping", details=problems)
        return out, event_id

    def _source(self, payload: Mapping[str, Any]) -> tuple[Any, list[SourceValue], str, str | None]:
        """What the paths address, every value in it, their origin, and the delivery id."""
        if self.format == "typeform":
            source = typeform_source(payload)
            return source.document, source.values, "form field", source.event_id
        return payload, json_values(payload), "field", None

    def _unread(self, values: list[SourceValue], used: list[Path]) -> Iterator[Assignment]:
        """Values no rule read and no `ignore` names: to their own target (pass-through) or free text."""
        for item in values:
            if any(_covers(prefix, path) for prefix in used for path in item.paths):
                continue
            target = item.target if self.pass_through else None
            if target is not None or item.keep:
                yield Assignment(path=target, value=item.value, label=item.label, origin=item.origin)


def _evaluate(rule: Rule, document: Any, problems: list[dict[str, Any]]) -> tuple[Any, list[Path]]:
    """One rule's value (converted and translated) and the payload paths it read."""
    if rule.has_const:
        return rule.const, []
    value, paths = _read(rule, document)
    if is_empty(value):
        return rule.default, paths
    try:
        value = _transform(rule, value)
    except ValueError as exc:
        problems.append({"field": rule.target, "reason": f"{exc} (from '{rule.label}')"})
        return None, paths
    if rule.values is not None and isinstance(value, str | int | float | bool):
        value = _lookup(rule.values, value)
    return value, paths


def _read(rule: Rule, document: Any) -> tuple[Any, list[Path]]:
    """One path, one place: the value as sent (a list stays a list). Several paths or a wildcard: the
    texts joined by the rule's separator."""
    matches = list(_matches(rule, document))
    paths = [path for path, _ in matches]
    if len(rule.sources) == 1 and _WILDCARD not in rule.sources[0][1]:
        return (matches[0][1] if matches else None), paths
    return _joined(rule.separator, [value for _, value in matches]), paths


def _matches(rule: Rule, document: Any) -> Iterator[tuple[Path, Any]]:
    for _, segments in rule.sources:
        yield from find(document, segments)


def _joined(separator: str, found: list[Any]) -> str:
    flat = [item for value in found for item in (value if isinstance(value, list) else [value])]
    texts = (as_text(value).strip() for value in flat)
    return separator.join(text for text in texts if text)


def _transform(rule: Rule, value: Any) -> Any:
    if rule.transform is None:
        return value
    return _CONVERT[rule.transform](rule, as_text(value).strip())


def _e164(rule: Rule, text: str) -> str:
    # Without a `region`, the vendor package normalises phone fields after validation with the
    # customer's `phoneRegion` (DESIGN §6); with one, that country decides here.
    if rule.region is None:
        return text
    from leadhooks.vendors.normalise import normalise_phone  # phonenumbers is slow to import

    return normalise_phone(text, rule.region)


def _date(rule: Rule, text: str) -> str:
    if rule.date_format is not None:
        return _strptime(text, rule.date_format).date().isoformat()
    result = iso_date(text)
    if result == text and len(text) != 10:
        raise ValueError("not an ISO 8601 date")
    return str(result)


def _datetime(rule: Rule, text: str) -> str:
    if rule.date_format is not None:
        return _strptime(text, rule.date_format).isoformat()
    try:
        return datetime.fromisoformat(text).isoformat()
    except ValueError:  # its message quotes the value: never passed on
        raise ValueError("not an ISO 8601 date and time") from None


_CONVERT: dict[str, Callable[[Rule, str], Any]] = {
    "firstName": lambda _, text: split_name(text)[0],
    "lastName": lambda _, text: split_name(text)[1],
    "e164": _e164,
    "date": _date,
    "datetime": _datetime,
    "text": lambda _, text: text,
    "lower": lambda _, text: text.lower(),
    "upper": lambda _, text: text.upper(),
}
TRANSFORMS = tuple(_CONVERT)


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
    _known_keys(raw, _MAPPING_KEYS, where)
    fmt = raw.get("format", "json")
    if fmt not in ("json", "typeform"):
        raise MappingError(f"{where}.format must be 'json' or 'typeform'")
    fields = raw.get("fields", {})
    if not isinstance(fields, Mapping):
        raise MappingError(f"{where}.fields must be an object of target path → source")
    rules = tuple(
        _parse_rule(str(target), spec, f"{where}.fields['{target}']") for target, spec in fields.items()
    )
    return FieldMapping(
        format=fmt,
        rules=rules,
        ignore=_ignore(raw, where),
        pass_through=_pass_through(raw, fmt, where),
        form_id=_form_id(raw, fmt, where),
    )


def _known_keys(raw: Mapping[str, Any], allowed: frozenset[str], where: str) -> None:
    unknown = sorted(set(raw) - allowed)
    if unknown:
        raise MappingError(f"{where}: unknown key '{unknown[0]}' (allowed: {', '.join(sorted(allowed))})")


def _ignore(raw: Mapping[str, Any], where: str) -> tuple[tuple[str | int, ...], ...]:
    ignore = raw.get("ignore", [])
    if not isinstance(ignore, list) or not all(isinstance(p, str) for p in ignore):
        raise MappingError(f"{where}.ignore must be a list of JSON paths")
    return tuple(_path(p, f"{where}.ignore") for p in ignore)


def _pass_through(raw: Mapping[str, Any], fmt: str, where: str) -> bool:
    pass_through = raw.get("passThrough", fmt == "typeform")
    if not isinstance(pass_through, bool):
        raise MappingError(f"{where}.passThrough must be true or false")
    return pass_through


def _form_id(raw: Mapping[str, Any], fmt: str, where: str) -> str | None:
    form_id = raw.get("formId")
    if form_id is not None and (fmt != "typeform" or not isinstance(form_id, str)):
        raise MappingError(f'{where}.formId is a Typeform form id (with "format": "typeform")')
    return form_id


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
    _known_keys(spec, _RULE_KEYS, where)
    if ("from" in spec) == ("const" in spec):
        raise MappingError(f"{where} needs exactly one of 'from' (JSON path or list of paths) and 'const'")
    transform = _transform_of(spec, where)
    return Rule(
        target=target,
        sources=_sources(spec, where),
        const=spec.get("const"),
        has_const="const" in spec,
        transform=transform,
        separator=_separator(spec, where),
        region=_region(spec, transform, where),
        date_format=_date_format(spec, transform, where),
        values=_values(spec, where),
        default=spec.get("default"),
    )


def _sources(spec: Mapping[str, Any], where: str) -> tuple[tuple[str, tuple[str | int, ...]], ...]:
    if "from" not in spec:
        return ()
    raw_from = spec["from"]
    paths = [raw_from] if isinstance(raw_from, str) else raw_from
    if not isinstance(paths, list) or not paths or not all(isinstance(p, str) for p in paths):
        raise MappingError(f"{where}.from must be a JSON path or a non-empty list of them")
    return tuple((p, _path(p, f"{where}.from")) for p in paths)


def _transform_of(spec: Mapping[str, Any], where: str) -> str | None:
    transform = spec.get("transform")
    if transform is not None and transform not in TRANSFORMS:
        raise MappingError(f"{where}.transform must be one of {', '.join(TRANSFORMS)}")
    return transform


def _date_format(spec: Mapping[str, Any], transform: str | None, where: str) -> str | None:
    date_format = spec.get("format")
    if date_format is not None and (
        transform not in ("date", "datetime") or not isinstance(date_format, str)
    ):
        raise MappingError(f"{where}.format is a strptime format for the date/datetime transforms")
    return date_format


def _region(spec: Mapping[str, Any], transform: str | None, where: str) -> str | None:
    region = spec.get("region")
    if region is None:
        return None
    if transform != "e164" or not isinstance(region, str) or len(region) != 2:
        raise MappingError(f"{where}.region is a two-letter country code for the e164 transform")
    return region.upper()


def _values(spec: Mapping[str, Any], where: str) -> dict[str, Any] | None:
    values = spec.get("values")
    if values is not None and not isinstance(values, Mapping):
        raise MappingError(f"{where}.values must be an object of sender value → target value")
    return dict(values) if values is not None else None


def _separator(spec: Mapping[str, Any], where: str) -> str:
    separator = spec.get("separator", " ")
    if not isinstance(separator, str):
        raise MappingError(f"{where}.separator must be text")
    return separator


# Typeform's convention as a mapping: refs and hidden-field names are target paths; everything else
# (other answers, variables, score, submission time, form title) becomes `Title: value` lines.
DEFAULT_TYPEFORM = FieldMapping(format="typeform", pass_through=True)


# ---- a client's mappings ------------------------------------------------------------------------

ClientMapping = FieldMapping | tuple[FieldMapping, ...]


def parse_client_mapping(raw: Any, where: str) -> ClientMapping:
    """One scope's entry of a client's `mappings`: a mapping, or a list of them (for example one
    Typeform mapping per form, by `formId`, plus a JSON one); the adapter uses the first that applies.
    Raises `MappingError` naming the place of the first problem."""
    if isinstance(raw, list):
        if not raw:
            raise MappingError(f"{where} is an empty list (give a mapping, or a list of them)")
        return tuple(parse_mapping(item, f"{where}[{i}]") for i, item in enumerate(raw))
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
