"""Typeform webhook payloads (`event_type: form_response`) → the values a mapping reads.

By Typeform's convention (the built-in default mapping, `leadhooks.inbound.mapping`), each answer's
`field.ref` and each `hidden` key is a target path in the operation model (see
`leadhooks.inbound.flat`). For forms whose refs cannot be changed, a client mapping can name answers
by ref or field id; the older per-deployment mapping file, named by the environment variable
`LEADHOOKS_FORM_MAPPINGS`, maps `{"<form_id>": {"<field ref, field id or hidden key>": "<target
path>"}}` and is read once and cached. Values are converted by answer type here; whether they fit the
target field is decided by the adapter and the model.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from leadhooks.errors import BadRequestError, ConfigurationError
from leadhooks.inbound.flat import SourceValue, as_text

MAPPINGS_ENV = "LEADHOOKS_FORM_MAPPINGS"
_TITLE_MAX = 120
_SPACES = re.compile(r"\s+")
_SKIP_KEYS = frozenset({"field", "type"})


@dataclass
class TypeformSource:
    """A Typeform payload as a mapping reads it (`leadhooks.inbound.mapping`).

    `document` is what a mapping's JSON paths address: `answers.<ref or field id>`,
    `hidden.<name>`, `variables.<key>`, `calculated.score`, `submitted_at`, `landed_at`, `token`,
    `event_id`, `form.id`, `form.title`. `values` lists them in payload order, each with the target
    path Typeform's own convention proposes (the field ref or hidden-field name, or the per-form
    mapping file's entry) and the label its `Title: value` line gets when nothing maps it.
    """

    event_id: str | None
    form_id: str | None
    document: dict[str, Any] = field(default_factory=dict)
    values: list[SourceValue] = field(default_factory=list)


def is_typeform(payload: Mapping[str, Any]) -> bool:
    return "form_response" in payload


def typeform_source(payload: Mapping[str, Any]) -> TypeformSource:
    """Read a Typeform webhook payload. Unknown answer types become text; nothing is dropped."""
    response = payload.get("form_response")
    if not isinstance(response, Mapping):
        raise BadRequestError(
            "Typeform payload: form_response must be an object",
            details=[{"field": "form_response", "reason": "not an object"}],
        )
    definition = response.get("definition")
    definition = definition if isinstance(definition, Mapping) else {}
    form_id = _str_or_none(response.get("form_id")) or _str_or_none(definition.get("id"))
    mapping = form_mappings().get(form_id or "", {})

    titles_by_id: dict[str, str] = {}
    titles_by_ref: dict[str, str] = {}
    for item in definition.get("fields") or []:
        if isinstance(item, Mapping) and isinstance(item.get("title"), str):
            title = clean_title(item["title"])
            if isinstance(item.get("id"), str):
                titles_by_id[item["id"]] = title
            if isinstance(item.get("ref"), str):
                titles_by_ref[item["ref"]] = title

    event_id = _str_or_none(payload.get("event_id"))
    result = TypeformSource(event_id=event_id, form_id=form_id)
    doc = result.document
    answers: dict[str, Any] = doc.setdefault("answers", {})
    for answer in response.get("answers") or []:
        if not isinstance(answer, Mapping):
            continue
        fld = answer.get("field")
        fld = fld if isinstance(fld, Mapping) else {}
        ref, field_id = _str_or_none(fld.get("ref")), _str_or_none(fld.get("id"))
        title = (
            titles_by_id.get(field_id or "") or titles_by_ref.get(ref or "") or ref or field_id or "Answer"
        )
        target = mapping.get(ref or "") or mapping.get(field_id or "") or ref
        value = answer_value(answer)
        names = tuple(dict.fromkeys(n for n in (ref, field_id) if n))
        for name in names:
            answers[name] = value
        result.values.append(
            SourceValue(
                paths=tuple(("answers", n) for n in names),
                value=value,
                label=title,
                origin="form field",
                target=target,
            )
        )

    hidden = response.get("hidden")
    doc["hidden"] = {}
    if isinstance(hidden, Mapping):
        for key, value in hidden.items():
            name = str(key)
            doc["hidden"][name] = value
            result.values.append(
                SourceValue(
                    paths=(("hidden", name),),
                    value=value,
                    label=name,
                    origin="hidden field",
                    target=mapping.get(name) or name,
                )
            )

    # What the form itself says about the submission: kept as `Title: value` lines unless mapped.
    form_title = definition.get("title")
    doc["form"] = {"id": form_id}
    _meta(result, ("form", "title"), clean_title(form_title) if isinstance(form_title, str) else None, "Form")
    _meta(result, ("submitted_at",), response.get("submitted_at"), "Submitted at")
    doc["variables"] = {}
    for variable in response.get("variables") or []:
        if isinstance(variable, Mapping) and isinstance(variable.get("key"), str):
            kind = variable.get("type")
            value = variable.get(kind) if isinstance(kind, str) and kind not in ("key", "type") else None
            doc["variables"][variable["key"]] = value
            _meta(result, ("variables", variable["key"]), value, variable["key"], origin="variable")
    calculated = response.get("calculated")
    doc["calculated"] = dict(calculated) if isinstance(calculated, Mapping) else {}
    if "score" in doc["calculated"]:
        _meta(result, ("calculated", "score"), doc["calculated"]["score"], "Score")
    # Identifiers: a mapping may use them; unmapped they add nothing a person reads.
    _meta(result, ("landed_at",), response.get("landed_at"), "Landed at", keep=False)
    _meta(result, ("token",), response.get("token"), "Response token", keep=False)
    _meta(result, ("event_id",), event_id, "Event id", keep=False)
    _meta(result, ("form", "id"), form_id, "Form id", keep=False)
    return result


def _meta(
    source: TypeformSource,
    path: tuple[str, ...],
    value: Any,
    label: str,
    *,
    origin: str = "form data",
    keep: bool = True,
) -> None:
    node = source.document
    for segment in path[:-1]:
        node = node.setdefault(segment, {})
    node[path[-1]] = value
    source.values.append(SourceValue(paths=(path,), value=value, label=label, origin=origin, keep=keep))


def answer_value(answer: Mapping[str, Any]) -> Any:
    """One answer's value by its type: choice → label, choices → labels, boolean, number, date → ISO date."""
    kind = answer.get("type")
    if kind == "choice":
        choice = answer.get("choice")
        if isinstance(choice, Mapping):
            return choice.get("label") if choice.get("label") not in (None, "") else choice.get("other")
        return None
    if kind == "choices":
        choices = answer.get("choices")
        if not isinstance(choices, Mapping):
            return None
        labels = [str(label) for label in choices.get("labels") or [] if label not in (None, "")]
        if choices.get("other") not in (None, ""):
            labels.append(str(choices["other"]))
        return labels
    if kind == "boolean":
        value = answer.get("boolean")
        return value if isinstance(value, bool) else as_text(value)
    if kind == "number":
        value = answer.get("number")
        return value if isinstance(value, int | float) and not isinstance(value, bool) else as_text(value)
    if kind == "date":
        return iso_date(answer.get("date"))
    if kind == "payment":
        return _payment_text(answer.get("payment"))
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
