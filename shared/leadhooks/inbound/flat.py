"""Flat inbound format (Zapier, HTML forms) and the model-path machinery every adapter shares.

A *path* names a field of an operation model the way a form builder can write it in one key:
dotted (`person.telephone.cell`, `marketing.utmTags.0.name`) or with Zapier's double underscore
(`person__telephone__cell`). Segments match a field's vendor name (alias), its Python name, or, when
that is unambiguous, either of them case-insensitively (Typeform lower-cases hidden-field names).
Numeric segments index lists. Paths are resolved against the pydantic model itself, so this works for
any pydantic v2 model: nested models, `list[...]`, `Optional`, unions, `Annotated`.
"""

from __future__ import annotations

import enum
import re
import types
from collections.abc import Callable, Mapping, MutableMapping, MutableSequence, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import AliasChoices, BaseModel
from pydantic.fields import FieldInfo

Segment = str | int

_SEPARATOR = re.compile(r"\.|__")
_INDEX = re.compile(r"^[0-9]{1,6}$")
_LIST_ORIGINS: tuple[Any, ...] = (list, tuple, set, frozenset, Sequence, MutableSequence)
_DICT_ORIGINS: tuple[Any, ...] = (dict, Mapping, MutableMapping)
_TRUE = frozenset({"true", "1", "yes", "on", "y"})
_FALSE = frozenset({"false", "0", "no", "off", "n"})
_INT = re.compile(r"^[+-]?[0-9]+$")
_FLOAT = re.compile(r"^[+-]?([0-9]+([.,][0-9]*)?|[.,][0-9]+)([eE][+-]?[0-9]+)?$")
_DIGIT_GROUPING = re.compile(r"[\s\u00a0\u202f_]")


# ---- model introspection ----------------------------------------------------------------------


@dataclass(frozen=True)
class FieldRef:
    """One model field as an input key: `key` is what `model_validate` reads (alias unless disabled)."""

    key: str
    name: str
    annotation: Any


@dataclass(frozen=True)
class ResolvedPath:
    """A path that exists in the model, spelled the way the model reads it."""

    segments: tuple[Segment, ...]
    annotation: Any

    @property
    def dotted(self) -> str:
        return ".".join(str(s) for s in self.segments)


def split_path(path: str) -> list[str]:
    """`person.firstName` / `person__firstName` → `["person", "firstName"]` (mixing both is allowed)."""
    return _SEPARATOR.split(path.strip())


def model_path_exists(model_cls: type[BaseModel], path: str) -> bool:
    """True when `path` (dotted or `__`, aliases or Python names) names a field of `model_cls`."""
    return resolve_path(model_cls, path) is not None


def field_annotation(model_cls: type[BaseModel], path: str) -> Any | None:
    """The annotation of the field (or list item) at `path`, or None when the path does not exist."""
    resolved = resolve_path(model_cls, path)
    return resolved.annotation if resolved is not None else None


def resolve_path(model_cls: type[BaseModel], path: str | Sequence[str]) -> ResolvedPath | None:
    segments = tuple(split_path(path)) if isinstance(path, str) else tuple(str(s) for s in path)
    return _resolve(model_cls, segments)


@lru_cache(maxsize=4096)
def _resolve(model_cls: type[BaseModel], segments: tuple[str, ...]) -> ResolvedPath | None:
    if not segments or any(not s for s in segments):
        return None
    annotation: Any = model_cls
    out: list[Segment] = []
    for segment in segments:
        step = step_into(annotation, segment)
        if step is None:
            return None
        key, annotation = step
        out.append(key)
    return ResolvedPath(tuple(out), annotation)


def lookup_field(model_cls: type[BaseModel], key: str) -> FieldRef | None:
    """The field `key` names in `model_cls`: exact alias/name first, then a unique case-insensitive match."""
    exact, folded = _field_index(model_cls)
    return exact.get(key) or folded.get(key.casefold())


@lru_cache(maxsize=512)
def _field_index(model_cls: type[BaseModel]) -> tuple[dict[str, FieldRef], dict[str, FieldRef]]:
    by_alias = model_cls.model_config.get("validate_by_alias", True) is not False
    exact: dict[str, FieldRef] = {}
    folded: dict[str, FieldRef | None] = {}
    for name, info in model_cls.model_fields.items():
        aliases = _aliases(info)
        key = aliases[0] if aliases and by_alias else name
        ref = FieldRef(key=key, name=name, annotation=info.annotation)
        for spelling in (*aliases, name):
            exact.setdefault(spelling, ref)
            previous = folded.get(spelling.casefold(), ref)
            folded[spelling.casefold()] = ref if previous == ref else None  # ambiguous: no folded match
    return exact, {k: v for k, v in folded.items() if v is not None}


def _aliases(info: FieldInfo) -> list[str]:
    """Every vendor name a field is read by: its validation alias(es), then its alias."""
    aliases: list[str] = []
    if isinstance(info.validation_alias, str):
        aliases.append(info.validation_alias)
    elif isinstance(info.validation_alias, AliasChoices):
        aliases.extend(c for c in info.validation_alias.choices if isinstance(c, str))
    if info.alias:
        aliases.append(info.alias)
    return aliases


def step_into(annotation: Any, segment: str) -> tuple[Segment, Any] | None:
    """One path segment into `annotation`: (the segment as the model reads it, the annotation there)."""
    for member in type_members(annotation):
        step = _step_into_member(member, segment)
        if step is not None:
            return step
    return None


def _step_into_member(member: Any, segment: str) -> tuple[Segment, Any] | None:
    if isinstance(member, type) and issubclass(member, BaseModel):
        ref = lookup_field(member, segment)
        return (ref.key, ref.annotation) if ref is not None else None
    if member is Any:
        return segment, Any
    origin = get_origin(member) or member
    args = get_args(member)
    if origin in _LIST_ORIGINS and _INDEX.match(segment):
        return _step_into_sequence(origin, args, int(segment))
    if origin in _DICT_ORIGINS:
        return segment, (args[1] if len(args) == 2 else Any)
    return None


def _step_into_sequence(origin: Any, args: tuple[Any, ...], index: int) -> tuple[Segment, Any] | None:
    if origin is tuple and args and not (len(args) == 2 and args[1] is Ellipsis):
        return (index, args[index]) if index < len(args) else None
    return index, (args[0] if args else Any)


def type_members(annotation: Any) -> list[Any]:
    """The alternatives of an annotation: `Optional`/unions flattened, `Annotated` and `None` removed."""
    annotation = _strip(annotation)
    if get_origin(annotation) in (Union, types.UnionType):
        members: list[Any] = []
        for arg in get_args(annotation):
            if arg is not type(None):
                members.extend(type_members(arg))
        return members
    return [annotation]


def _strip(annotation: Any) -> Any:
    while True:
        if get_origin(annotation) is Annotated:
            annotation = get_args(annotation)[0]
        elif type(annotation).__name__ == "TypeAliasType" and hasattr(annotation, "__value__"):
            annotation = annotation.__value__  # PEP 695 `type X = ...`
        else:
            return annotation


def is_list_annotation(annotation: Any) -> bool:
    members = type_members(annotation)
    return len(members) == 1 and (get_origin(members[0]) or members[0]) in _LIST_ORIGINS


def is_str_annotation(annotation: Any) -> bool:
    members = type_members(annotation)
    return len(members) == 1 and members[0] is str


# ---- value fitting (non-native formats deliver strings, numbers and label lists) ---------------


def fit_value(value: Any, annotation: Any) -> Any:
    """Convert a form value to what the field expects, where that is unambiguous; otherwise leave it.

    Strings become bool/int/float only for bool/int/float fields, numbers and label lists become text
    for string fields, a single value becomes a one-item list for list fields, and enum/literal values
    match case-insensitively. Anything that does not convert is returned unchanged for the model to report.
    """
    members = type_members(annotation)
    if len(members) != 1:
        return value
    target = members[0]
    if isinstance(value, str):
        fitted = _fit_text(value, target)
        if fitted is not _UNFIT:
            return fitted
    if target is str:
        return _as_str_field(value)
    if (get_origin(target) or target) in _LIST_ORIGINS and isinstance(value, str | int | float | bool):
        item = get_args(target)[0] if get_args(target) else Any
        return [fit_value(value, item)]
    return value


_UNFIT = object()  # `_fit_text`: the target is not a scalar a text converts to


def _fit_text(value: str, target: Any) -> Any:
    text = value.strip()
    convert = _TEXT_TO.get(target)
    if convert is not None:
        return convert(text, value)
    if _is_choice(target):
        return _match_choice(text, target) if text else value
    return _UNFIT


def _text_to_bool(text: str, value: str) -> Any:
    lowered = text.lower()
    return True if lowered in _TRUE else False if lowered in _FALSE else value


def _text_to_int(text: str, value: str) -> Any:
    compact = _DIGIT_GROUPING.sub("", text)
    if not _INT.match(compact):
        return value
    try:
        return int(compact)
    except ValueError:  # more digits than Python converts (int_max_str_digits): the model reports it
        return value


def _text_to_float(text: str, value: str) -> Any:
    number = _parse_float(text)
    return value if number is None else number


_TEXT_TO: dict[Any, Callable[[str, str], Any]] = {
    bool: _text_to_bool,
    int: _text_to_int,
    float: _text_to_float,
}


def _is_choice(target: Any) -> bool:
    return get_origin(target) is Literal or target is Literal or _is_enum(target)


def _is_enum(target: Any) -> bool:
    return isinstance(target, type) and issubclass(target, enum.Enum)


def _as_str_field(value: Any) -> Any:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return format_number(value)
    if isinstance(value, list):
        return ", ".join(as_text(item) for item in value)
    return value


def _parse_float(text: str) -> float | None:
    """`2.5`, `2,5` (decimal comma), `1 500 000`; None for anything else, including an ambiguous `1,500`."""
    compact = _DIGIT_GROUPING.sub("", text)
    if not _FLOAT.match(compact):
        return None
    if "," in compact:
        whole, _, fraction = compact.partition(",")
        if "." in compact or len(fraction) == 3:
            return None  # thousands separator or decimal comma? Let the model report it rather than guess.
        compact = f"{whole}.{fraction}"
    return float(compact)


def _match_choice(text: str, target: Any) -> Any:
    options = _choice_options(target)
    if text in options:
        return text
    found = _only_folded(text, [o for o in options if isinstance(o, str)])
    if found is None and _is_enum(target):
        found = _enum_value_by_name(text, target)
    return text if found is None else found


def _choice_options(target: Any) -> list[Any]:
    return [m.value for m in target] if _is_enum(target) else list(get_args(target))


def _enum_value_by_name(text: str, target: type[enum.Enum]) -> Any:
    """An enum member given by its name rather than its value (in any case)."""
    names = {m.name: m.value for m in target}
    found = _only_folded(text, list(names))
    return None if found is None else names[found]


def _only_folded(text: str, candidates: list[str]) -> str | None:
    """The one candidate equal to `text` in any case; None for none or several."""
    matches = [c for c in candidates if c.casefold() == text.casefold()]
    return matches[0] if len(matches) == 1 else None


def format_number(value: int | float) -> str:
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return str(value)


def as_text(value: Any) -> str:
    """A value as a human-readable line fragment (for the free-text field)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        return format_number(value)
    if isinstance(value, list | tuple | Mapping):
        return _collection_text(value)
    return str(value)


def _collection_text(value: list[Any] | tuple[Any, ...] | Mapping[Any, Any]) -> str:
    if isinstance(value, Mapping):
        return ", ".join(f"{k}: {as_text(v)}" for k, v in value.items() if as_text(v))
    return ", ".join(t for t in (as_text(v) for v in value) if t)


def is_empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip()) or value in ([], {})


# ---- building the nested body ------------------------------------------------------------------


class _Slots(dict[int, Any]):
    """A list under construction: index → item, plus which input key set each index."""

    def __init__(self) -> None:
        super().__init__()
        self.labels: dict[int, str] = {}


@dataclass
class Assignment:
    """One inbound value and where it should go.

    `path` is the target path as submitted (None when the answer has none); `label` names it for people
    (a Typeform field title, or the flat key); `origin` says what kind of input it was, for messages.
    """

    path: str | None
    value: Any
    label: str
    origin: str = "field"


class NestedBuilder:
    """Builds the nested native-shaped dict from resolved paths; collects (never raises) problems."""

    def __init__(self) -> None:
        self.root: dict[str, Any] = {}
        self.problems: list[dict[str, Any]] = []

    def get(self, segments: Sequence[Segment]) -> Any:
        node: Any = self.root
        for segment in segments:
            if not isinstance(node, dict) or segment not in node:
                return None
            node = node[segment]
        return node

    def has(self, segments: Sequence[Segment]) -> bool:
        return self.get(segments) is not None

    def set(self, segments: Sequence[Segment], value: Any, label: str, *, replace: bool = False) -> None:
        node: dict[Any, Any] = self.root
        for depth in range(len(segments) - 1):
            child = self._child(node, segments, depth, label)
            if child is None:
                return
            node = child
        last = segments[-1]
        existing = node.get(last)
        if existing is not None and not replace and existing != value:
            self._conflict(segments, label)
            return
        node[last] = value
        if isinstance(node, _Slots) and isinstance(last, int):
            node.labels.setdefault(last, label)

    def _child(
        self, node: dict[Any, Any], segments: Sequence[Segment], depth: int, label: str
    ) -> dict[Any, Any] | None:
        """The object (or list being built) at `segments[depth]`, created if new; None on a conflict."""
        segment = segments[depth]
        child = node.get(segment)
        wants_list = isinstance(segments[depth + 1], int)
        if child is None:
            child = _Slots() if wants_list else {}
            node[segment] = child
            if isinstance(node, _Slots) and isinstance(segment, int):
                node.labels.setdefault(segment, label)
            return child
        if not isinstance(child, dict) or isinstance(child, _Slots) != wants_list:
            self._conflict(segments[: depth + 1], label)
            return None
        return child

    def _conflict(self, segments: Sequence[Segment], label: str) -> None:
        self.problems.append(
            {
                "field": ".".join(str(s) for s in segments),
                "reason": f"given more than once, or both as a value and as an object (key '{label}')",
            }
        )

    def finish(self) -> dict[str, Any]:
        """The built dict with index maps turned into lists; a list with a gap is reported, not guessed."""
        result = self._finish(self.root, ())
        return result if isinstance(result, dict) else {}

    def _finish(self, node: Any, path: tuple[Segment, ...]) -> Any:
        if isinstance(node, _Slots):
            items: list[Any] = []
            for index in range(len(node)):
                if index not in node:
                    later = min(i for i in node if i > index)
                    self.problems.append(
                        {
                            "field": ".".join(str(s) for s in path),
                            "reason": f"list item {index} is missing (key '{node.labels.get(later, '?')}' "
                            "skips it); list indices must start at 0 without gaps",
                        }
                    )
                    return [self._finish(node[i], (*path, i)) for i in sorted(node)]
                items.append(self._finish(node[index], (*path, index)))
            return items
        if isinstance(node, dict):
            return {k: self._finish(v, (*path, k)) for k, v in node.items()}
        return node


# ---- the flat format ---------------------------------------------------------------------------


def looks_flat(payload: Mapping[str, Any]) -> bool:
    """A JSON object is flat when any top-level key is a dotted or `__` path."""
    return any(isinstance(k, str) and ("." in k or "__" in k) for k in payload)


def flat_assignments(payload: Mapping[str, Any]) -> list[Assignment]:
    """Every leaf of a flat body as an assignment; nested objects/lists under a key extend its path."""
    out: list[Assignment] = []
    for key, value in payload.items():
        _leaves(str(key), value, out)
    return out


def _leaves(path: str, value: Any, out: list[Assignment]) -> None:
    if isinstance(value, Mapping) and value:
        for key, item in value.items():
            _leaves(f"{path}.{key}", item, out)
    elif isinstance(value, list) and value and any(isinstance(v, Mapping | list) for v in value):
        for index, item in enumerate(value):
            _leaves(f"{path}.{index}", item, out)
    else:
        out.append(Assignment(path=path, value=value, label=path, origin="field"))
