"""Inbound format adapters (DESIGN §3): native, Typeform and flat (Zapier / form-encoded) → native dict.

`parse_body` turns the raw body into a JSON object (or `FormData` for form encoding); `to_native`
detects the format and returns an `AdaptedInput` whose `data` is ready for `Model.model_validate`.
Works for any pydantic v2 model class. Nothing here logs, and no error message contains a submitted
value: messages name field paths, form field titles and keys only.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import parse_qsl

from pydantic import BaseModel

from leadhooks.errors import BadRequestError, ConfigurationError, InputValidationError
from leadhooks.inbound.flat import (
    Assignment,
    NestedBuilder,
    ResolvedPath,
    Segment,
    as_text,
    field_annotation,
    fit_value,
    flat_assignments,
    is_empty,
    looks_flat,
    model_path_exists,
    resolve_path,
    step_into,
)
from leadhooks.inbound.typeform import is_typeform, typeform_assignments

__all__ = [
    "MAX_DEPTH",
    "AdaptedInput",
    "FormData",
    "field_annotation",
    "model_path_exists",
    "parse_body",
    "to_native",
]

MAX_DEPTH = 32
MAX_FORM_FIELDS = 1000

_DOES_NOT_FIT = "the request does not fit the operation's fields"
_JSON_TYPE = re.compile(r"^(application|text)/([\w.+-]+\+)?json$")
# A `\ud800`-style escape without its pair decodes to a lone surrogate: not text, and not encodable as UTF-8.
_SURROGATE = re.compile("[\ud800-\udfff]")


class FormData(dict[str, Any]):
    """A body that came form-encoded: always read as the flat format. Repeated keys become lists."""


@dataclass
class AdaptedInput:
    format: Literal["native", "typeform", "flat"]
    data: dict[str, Any]  # nested native-shaped dict ready for Model.model_validate
    delivery_id: str | None = None  # Typeform `event_id`
    sources: dict[str, str] = field(default_factory=dict)  # target path → human label, for error messages


# ---- parsing -----------------------------------------------------------------------------------


def parse_body(raw_body: bytes, content_type: str | None) -> Any:
    """Parse a JSON object or an `application/x-www-form-urlencoded` body; `BadRequestError` otherwise.

    JSON is strict: duplicate keys, NaN/Infinity, nesting deeper than `MAX_DEPTH` and a top level that is
    not an object are rejected. The size limit is the caller's.
    """
    if not raw_body or not raw_body.strip():
        raise BadRequestError(
            "empty body: send a JSON object or form fields", details=[_detail("body", "empty")]
        )
    try:
        text = raw_body.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise BadRequestError("body is not valid UTF-8", details=[_detail("body", "not UTF-8")]) from None
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    if media_type == "application/x-www-form-urlencoded":
        return _parse_form(text)
    looks_json = text.lstrip()[:1] in ("{", "[")
    if _JSON_TYPE.match(media_type) or looks_json:
        return _parse_json(text)
    raise BadRequestError(
        f"unsupported content type '{media_type or 'none'}': send application/json or "
        "application/x-www-form-urlencoded",
        details=[_detail("content-type", "unsupported")],
    )


def _parse_form(text: str) -> FormData:
    try:
        pairs = parse_qsl(text.strip(), keep_blank_values=True, max_num_fields=MAX_FORM_FIELDS)
    except ValueError:
        raise BadRequestError(
            f"form body has more than {MAX_FORM_FIELDS} fields", details=[_detail("body", "too many fields")]
        ) from None
    if not pairs:
        raise BadRequestError("empty body: no form fields", details=[_detail("body", "empty")])
    form = FormData()
    for key, value in pairs:
        if key in form:  # repeated key: `a=1&a=2` is a list
            previous = form[key]
            form[key] = [*previous, value] if isinstance(previous, list) else [previous, value]
        else:
            form[key] = value
    return form


class _Pairs(dict[str, Any]):
    """A decoded JSON object that remembers the keys it saw twice (the last value wins meanwhile)."""

    def __init__(self, pairs: list[tuple[str, Any]]) -> None:
        super().__init__()
        self.duplicates: list[str] = []
        for key, value in pairs:
            if key in self:
                self.duplicates.append(key)
            self[key] = value


def _reject_constant(name: str) -> Any:
    raise BadRequestError(
        f"malformed JSON: {name} is not allowed", details=[_detail("body", "non-standard number")]
    )


def _parse_json(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text, object_pairs_hook=_Pairs, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        # exc.msg is the parser's description ("Expecting ',' delimiter"); exc.doc (the body) is never used.
        raise BadRequestError(
            f"malformed JSON at line {exc.lineno} column {exc.colno}: {exc.msg}",
            details=[_detail("body", "malformed JSON")],
        ) from None
    except RecursionError:
        raise _too_deep() from None
    except ValueError:  # an integer beyond Python's digit limit (int_max_str_digits)
        raise BadRequestError(
            "malformed JSON: a number has too many digits", details=[_detail("body", "number too long")]
        ) from None
    if not isinstance(value, dict):
        raise BadRequestError(
            "the body must be a JSON object", details=[_detail("body", "top level is not an object")]
        )
    result = _check_tree(value, (), 1)
    assert isinstance(result, dict)
    return result


def _check_tree(node: Any, path: tuple[str, ...], depth: int) -> Any:
    """Plain dicts out of `_Pairs`, rejecting duplicates (with their path) and excessive depth."""
    if isinstance(node, dict | list) and depth > MAX_DEPTH:
        raise _too_deep()
    if isinstance(node, _Pairs):
        return _check_object(node, path, depth)
    if isinstance(node, list):
        return [_check_tree(v, (*path, str(i)), depth + 1) for i, v in enumerate(node)]
    if isinstance(node, str) and _SURROGATE.search(node):
        raise _not_unicode(path, "the value")
    return node


def _check_object(node: _Pairs, path: tuple[str, ...], depth: int) -> dict[str, Any]:
    if any(_SURROGATE.search(k) for k in node):
        raise _not_unicode(path, "a key")
    if node.duplicates:
        key = ".".join((*path, node.duplicates[0]))
        raise BadRequestError(f"duplicate key '{key}'", details=[_detail(key, "duplicate key")])
    return {k: _check_tree(v, (*path, k), depth + 1) for k, v in node.items()}


def _not_unicode(path: tuple[str, ...], what: str) -> BadRequestError:
    """A lone surrogate (`"\\ud800"`) cannot be stored, hashed or sent as UTF-8: reject it where it is."""
    where = ".".join(path) or "body"
    return BadRequestError(
        f"malformed JSON: {what} at '{where}' has an unpaired \\u surrogate escape (not valid Unicode)",
        details=[_detail(where, "unpaired surrogate escape")],
    )


def _too_deep() -> BadRequestError:
    return BadRequestError(
        f"JSON nesting is deeper than {MAX_DEPTH} levels", details=[_detail("body", "nested too deeply")]
    )


# ---- adapting ----------------------------------------------------------------------------------


def to_native(
    payload: Any,
    model_cls: type[BaseModel],
    *,
    query: Mapping[str, str] | None = None,
) -> AdaptedInput:
    """Detect the format of `payload` and return the native-shaped dict for `model_cls`.

    Query-string parameters that name a model field (`customerId`, `updatePerson.customerId`) fill
    fields the body leaves unset, so a webhook URL can carry `?customerId=…`; others (`dryRun`) are
    ignored. For Typeform and flat input, values that match no model path are appended to the model's
    free-text field as `Label: value`. Formats only: what a value means to a vendor (phone countries) is
    the vendor package's (`leadhooks.vendors.normalise`), after validation.
    Raises `BadRequestError` (400) or `InputValidationError` (422, every problem listed).
    """
    if not isinstance(payload, Mapping):
        raise BadRequestError(
            "the body must be a JSON object", details=[_detail("body", "top level is not an object")]
        )
    if isinstance(payload, FormData):
        adapted = _adapt_assignments("flat", flat_assignments(payload), model_cls, query, None)
    elif is_typeform(payload):
        typeform = typeform_assignments(payload)
        adapted = _adapt_assignments("typeform", typeform.assignments, model_cls, query, typeform.event_id)
    elif looks_flat(payload):
        adapted = _adapt_assignments("flat", flat_assignments(payload), model_cls, query, None)
    else:
        adapted = _adapt_native(payload, model_cls, query)
    return adapted


def _adapt_native(
    payload: Mapping[str, Any], model_cls: type[BaseModel], query: Mapping[str, str] | None
) -> AdaptedInput:
    data: dict[str, Any] = copy.deepcopy(dict(payload))
    for resolved, value in _query_fields(model_cls, query):
        _set_default_native(data, model_cls, resolved, value)
    return AdaptedInput(format="native", data=data)


def _set_default_native(
    data: dict[str, Any], model_cls: type[BaseModel], path: ResolvedPath, value: Any
) -> None:
    """Set `path` in a native body unless the body sets it already (under its alias or Python name)."""
    node: dict[str, Any] = data
    annotation: Any = model_cls
    *parents, last = path.segments
    for segment in parents:
        existing_key = _key_for(node, annotation, segment)
        step = step_into(annotation, str(segment))
        if step is None:
            return
        annotation = step[1]
        if existing_key is None:
            child: dict[str, Any] = {}
            node[str(segment)] = child
            node = child
        elif isinstance(node[existing_key], dict):
            node = node[existing_key]
        else:
            return  # the body has something else there: the model will say what is wrong with it
    existing_key = _key_for(node, annotation, last)
    if existing_key is None or is_empty(node[existing_key]):
        node[existing_key if existing_key is not None else str(last)] = value


def _key_for(node: dict[str, Any], annotation: Any, segment: Segment) -> str | None:
    """The key of `node` the model reads as `segment` (its alias, its Python name, or either in any case)."""
    for key in node:
        step = step_into(annotation, str(key))
        if step is not None and step[0] == segment:
            return key
    return None


def _adapt_assignments(
    fmt: Literal["typeform", "flat"],
    assignments: list[Assignment],
    model_cls: type[BaseModel],
    query: Mapping[str, str] | None,
    delivery_id: str | None,
) -> AdaptedInput:
    builder = NestedBuilder()
    sources: dict[str, str] = {}
    unmapped: list[Assignment] = []
    for item in assignments:
        if is_empty(item.value):
            continue
        resolved = resolve_path(model_cls, item.path) if item.path else None
        if resolved is None:
            unmapped.append(item)
            continue
        builder.set(resolved.segments, fit_value(item.value, resolved.annotation), item.label)
        if item.label != resolved.dotted:  # a flat key spelled exactly like the path needs no label
            sources.setdefault(resolved.dotted, item.label)

    for resolved, value in _query_fields(model_cls, query):
        if not builder.has(resolved.segments):
            builder.set(resolved.segments, value, resolved.dotted)

    if unmapped:
        _append_free_text(builder, model_cls, unmapped)
    data = builder.finish()
    if builder.problems:
        raise InputValidationError(_DOES_NOT_FIT, details=builder.problems)
    return AdaptedInput(format=fmt, data=data, delivery_id=delivery_id, sources=sources)


def _query_fields(
    model_cls: type[BaseModel], query: Mapping[str, str] | None
) -> list[tuple[ResolvedPath, Any]]:
    """Query parameters that name a model field (`customerId`, `updatePerson.customerId`).

    Others, like `dryRun`, are not the model's and are ignored; list items cannot be set this way.
    """
    fields: list[tuple[ResolvedPath, Any]] = []
    for name, value in (query or {}).items():
        if not isinstance(value, str) or not value.strip():
            continue
        resolved = resolve_path(model_cls, str(name))
        if resolved is not None and not any(isinstance(s, int) for s in resolved.segments):
            fields.append((resolved, fit_value(value.strip(), resolved.annotation)))
    return fields


def _append_free_text(builder: NestedBuilder, model_cls: type[BaseModel], unmapped: list[Assignment]) -> None:
    """`Label: value` lines for answers that match no model path, after any text already there."""
    lines = [f"{item.label}: {text}" for item in unmapped if (text := as_text(item.value).strip())]
    if not lines:
        return
    target = _free_text_target(model_cls)
    if target is None:
        builder.problems.extend(_nowhere_to_keep(item) for item in unmapped)
        return
    existing = builder.get(target.segments)
    block = "\n".join(lines)
    text = f"{as_text(existing).rstrip()}\n\n{block}" if not is_empty(existing) else block
    builder.set(target.segments, text, "free text", replace=True)


def _free_text_target(model_cls: type[BaseModel]) -> ResolvedPath | None:
    free_text: str | None = getattr(model_cls, "FREE_TEXT_FIELD", None)
    if not free_text:
        return None
    target = resolve_path(model_cls, free_text)
    if target is None:
        raise ConfigurationError(
            f"{model_cls.__name__}.FREE_TEXT_FIELD '{free_text}' is not a field of the model"
        )
    return target


def _nowhere_to_keep(item: Assignment) -> dict[str, Any]:
    return {
        "field": item.path or item.label,
        "reason": f"not a field of this operation (from {item.origin} '{item.label}'), and the "
        "operation has no free-text field to keep it in",
    }


def _detail(field_name: str, reason: str) -> dict[str, Any]:
    return {"field": field_name, "reason": reason}
