"""Typeform webhook payloads (`event_type: form_response`) → assignments onto target paths.

Each answer's `field.ref` and each `hidden` key is a target path in the operation model (see
`leadhooks.inbound.flat`). For forms whose refs cannot be changed, an optional mapping file, named by
the environment variable `LEADHOOKS_FORM_MAPPINGS`, maps `{"<form_id>": {"<field ref, field id or hidden
key>": "<target path>"}}`; it is read once and cached. Values are converted by answer type here; whether
they fit the target field is decided by the adapter and the model.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from leadhooks.errors import BadRequestError, ConfigurationError
from leadhooks.inbound.flat import Assignment, as_text

MAPPINGS_ENV = "LEADHOOKS_FORM_MAPPINGS"
_TITLE_MAX = 120
_SPACES = re.compile(r"\s+")
_SKIP_KEYS = frozenset({"field", "type"})


@dataclass
class TypeformInput:
    """What a Typeform payload contributes: its event id, form id, and every answer/hidden value."""

    event_id: str | None
    form_id: str | None
    assignments: list[Assignment] = field(default_factory=list)


def is_typeform(payload: Mapping[str, Any]) -> bool:
    return "form_response" in payload


def typeform_assignments(payload: Mapping[str, Any]) -> TypeformInput:
    """Read a Typeform webhook payload. Unknown answer types become text; nothing is dropped."""
    response = payload.get("form_response")
    if not isinstance(response, Mapping):
        raise BadRequestError(
            "Typeform payload: form_response must be an object",
            details=[{"field": "form_response", "reason": "not an object"}],
        )
    definition = _mapping(response.get("definition"))
    form_id = _str_or_none(response.get("form_id")) or _str_or_none(definition.get("id"))
    mapping = form_mappings().get(form_id or "", {})
    titles = _Titles(definition.get("fields"))
    result = TypeformInput(event_id=_str_or_none(payload.get("event_id")), form_id=form_id)
    for answer in response.get("answers") or []:
        if isinstance(answer, Mapping):
            result.assignments.append(_answer_assignment(answer, titles, mapping))
    for key, value in _mapping(response.get("hidden")).items():
        name = str(key)
        result.assignments.append(
            Assignment(path=mapping.get(name) or name, value=value, label=name, origin="hidden field")
        )
    return result


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


class _Titles:
    """The form's question titles by field id and by ref (for messages and free-text lines)."""

    def __init__(self, fields: Any) -> None:
        self.by_id: dict[str, str] = {}
        self.by_ref: dict[str, str] = {}
        for item in fields if isinstance(fields, list) else []:
            if isinstance(item, Mapping) and isinstance(item.get("title"), str):
                self._add(item, clean_title(item["title"]))

    def _add(self, item: Mapping[str, Any], title: str) -> None:
        if isinstance(item.get("id"), str):
            self.by_id[item["id"]] = title
        if isinstance(item.get("ref"), str):
            self.by_ref[item["ref"]] = title

    def of(self, field_id: str | None, ref: str | None) -> str:
        return self.by_id.get(field_id or "") or self.by_ref.get(ref or "") or ref or field_id or "Answer"


def _answer_assignment(answer: Mapping[str, Any], titles: _Titles, mapping: Mapping[str, str]) -> Assignment:
    fld = _mapping(answer.get("field"))
    ref, field_id = _str_or_none(fld.get("ref")), _str_or_none(fld.get("id"))
    target = mapping.get(ref or "") or mapping.get(field_id or "") or ref
    return Assignment(
        path=target, value=answer_value(answer), label=titles.of(field_id, ref), origin="form field"
    )


def _choice(answer: Mapping[str, Any]) -> Any:
    choice = answer.get("choice")
    if not isinstance(choice, Mapping):
        return None
    return choice.get("label") if choice.get("label") not in (None, "") else choice.get("other")


def _choices(answer: Mapping[str, Any]) -> Any:
    choices = answer.get("choices")
    if not isinstance(choices, Mapping):
        return None
    labels = [str(label) for label in choices.get("labels") or [] if label not in (None, "")]
    if choices.get("other") not in (None, ""):
        labels.append(str(choices["other"]))
    return labels


def _boolean(answer: Mapping[str, Any]) -> Any:
    value = answer.get("boolean")
    return value if isinstance(value, bool) else as_text(value)


def _number(answer: Mapping[str, Any]) -> Any:
    value = answer.get("number")
    return value if isinstance(value, int | float) and not isinstance(value, bool) else as_text(value)


_BY_TYPE: dict[str, Callable[[Mapping[str, Any]], Any]] = {
    "choice": _choice,
    "choices": _choices,
    "boolean": _boolean,
    "number": _number,
    "date": lambda answer: iso_date(answer.get("date")),
    "payment": lambda answer: _payment_text(answer.get("payment")),
}


def answer_value(answer: Mapping[str, Any]) -> Any:
    """One answer's value by its type: choice → label, choices → labels, boolean, number, date → ISO date."""
    kind = answer.get("type")
    read = _BY_TYPE.get(kind) if isinstance(kind, str) else None
    if read is not None:
        return read(answer)
    if isinstance(kind, str) and kind in answer and kind not in _SKIP_KEYS:
        value = answer[kind]
    else:  # no or unknown type: the first value that is not metadata
        value = next((v for k, v in answer.items() if k not in _SKIP_KEYS), None)
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return as_text(value)


def iso_date(value: Any) -> Any:
    """`2024-05-01`, `2024-05-01T00:00:00Z` → `2024-05-01`; anything else unchanged (as text)."""
    if not isinstance(value, str):
        return as_text(value)
    text = value.strip()
    try:
        return date.fromisoformat(text[:10]).isoformat() if len(text) >= 10 else text
    except ValueError:
        try:
            return datetime.fromisoformat(text).date().isoformat()
        except ValueError:
            return text


def _payment_text(payment: Any) -> str:
    """Amount and outcome only: the card holder's name and card digits are never copied anywhere."""
    if not isinstance(payment, Mapping):
        return as_text(payment)
    amount = as_text(payment.get("amount"))
    success = payment.get("success")
    status = "paid" if success is True else "not paid" if success is False else ""
    return " ".join(part for part in (amount, f"({status})" if status else "") if part)


def clean_title(title: str) -> str:
    """A field title on one line, bounded (titles can be long markdown questions)."""
    text = _SPACES.sub(" ", title).strip()
    return text if len(text) <= _TITLE_MAX else text[: _TITLE_MAX - 1].rstrip() + "…"


def _str_or_none(value: Any) -> str | None:
    if value is None or isinstance(value, bool):
        return None
    text = str(value).strip()
    return text or None


# ---- per-form mapping file --------------------------------------------------------------------


def form_mappings() -> Mapping[str, Mapping[str, str]]:
    """The mapping file named by `LEADHOOKS_FORM_MAPPINGS` (empty when the variable is unset)."""
    path = os.environ.get(MAPPINGS_ENV, "").strip()
    return _load_mappings(path) if path else {}


def clear_form_mappings_cache() -> None:
    """Forget the cached mapping file (tests; a running function reads it once per cold start)."""
    _load_mappings.cache_clear()


@lru_cache(maxsize=4)
def _load_mappings(path: str) -> dict[str, dict[str, str]]:
    try:
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigurationError(
            f"{MAPPINGS_ENV}: the form mapping file cannot be read as JSON ({type(exc).__name__})"
        ) from None
    if not isinstance(raw, dict):
        raise ConfigurationError(f"{MAPPINGS_ENV}: the form mapping file must be a JSON object of forms")
    mappings: dict[str, dict[str, str]] = {}
    for form_id, fields in raw.items():
        if not isinstance(fields, dict) or not all(
            isinstance(k, str) and isinstance(v, str) and v.strip() for k, v in fields.items()
        ):
            raise ConfigurationError(
                f"{MAPPINGS_ENV}: form '{form_id}' must map field refs/ids to target paths (strings)"
            )
        mappings[str(form_id)] = {k: v.strip() for k, v in fields.items()}
    return mappings
