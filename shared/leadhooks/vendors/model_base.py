"""Base classes and field types every vendor model shares: the docs' rules, nothing more (DESIGN §6).

- Vendor field names match case-insensitively (`SMSReminder` = `smsReminder` = `sMSReminder`), as the
  vendors' own ASP.NET/Newtonsoft binders do; the key is sent on spelled as the caller spelled it, so a
  doc sample goes through byte for byte.
- Unknown fields are not refused: they are kept, sent on unchanged and listed by `warnings()`.
- Values keep their meaning: a date is kept as the ISO 8601 text it came as (never re-rendered by
  `datetime`), an enum value the docs do not list is sent as given (a number is never turned into a
  name), and no length is enforced that the docs do not state for the operation.

Every rule in the vendor models carries its doc line in a comment (`# vitec-person-lead.txt:24`);
`docs/vendor-fidelity.md` lists them all and `tests/unit/test_fidelity.py` keeps the two in step.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import date, datetime
from typing import TYPE_CHECKING, Annotated, Any, ClassVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    PlainValidator,
    PrivateAttr,
    SerializationInfo,
    StringConstraints,
    ValidationError,
    WithJsonSchema,
    model_serializer,
    model_validator,
)
from pydantic.alias_generators import to_camel, to_pascal
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, InitErrorDetails, PydanticCustomError, core_schema

# ---- the bases -------------------------------------------------------------------------------------

_COMMON = ConfigDict(
    populate_by_name=True,
    extra="allow",  # DESIGN §6: unknown fields are passed on (and reported), never refused
    str_strip_whitespace=True,
    serialize_by_alias=True,
    # JSON has no NaN/Infinity: such a value (`1e400`, a form's `inf`) could never be sent to the vendor.
    allow_inf_nan=False,
)


class VendorModel(BaseModel):
    """A vendor JSON object: case-insensitive keys, the caller's spelling kept, unknown keys kept.

    `DROPPED` names vendor plumbing that is never taken from a caller (DESIGN §6): such a key is
    removed before validation and reported by `warnings()`.
    """

    DROPPED: ClassVar[frozenset[str]] = frozenset()  # casefolded vendor names

    _spelled: dict[str, str] = PrivateAttr(default_factory=dict)  # alias -> the caller's spelling
    _dropped: list[str] = PrivateAttr(default_factory=list)

    @model_validator(mode="wrap")
    @classmethod
    def _vendor_keys(cls, data: Any, handler: Callable[[Any], Any]) -> Any:
        if not isinstance(data, dict):
            return handler(data)
        keys = _canonical_keys(cls, data)
        instance = handler(keys.data)
        if isinstance(instance, VendorModel):
            instance._spelled = keys.spelled
            instance._dropped = keys.dropped
        return instance

    @model_serializer(mode="wrap")
    def _as_spelled(self, handler: Callable[[Any], Any], info: SerializationInfo) -> Any:
        out = handler(self)
        if info.by_alias is not False and self._spelled and isinstance(out, dict):
            return {self._spelled.get(key, key): value for key, value in out.items()}
        return out

    def warnings(self, prefix: str = "") -> list[tuple[str, str]]:
        """(vendor path, reason) of every field that is not in the vendor docs, or was dropped."""
        found = [
            (_join(prefix, key), "not the caller's to set (vendor plumbing); dropped")
            for key in self._dropped
        ]
        found += [(_join(prefix, str(key)), UNKNOWN_FIELD) for key in self.model_extra or {}]
        for name, value in self:
            if name in (self.model_extra or {}):
                continue
            alias = type(self).model_fields[name].alias or name
            path = _join(prefix, self._spelled.get(alias, alias))
            for index, item in _children(value):
                found += item.warnings(path if index is None else f"{path}.{index}")
        return found


UNKNOWN_FIELD = "not in the vendor docs; passed on"


def _join(prefix: str, key: str) -> str:
    return f"{prefix}.{key}" if prefix else key


def _children(value: Any) -> Iterator[tuple[int | None, VendorModel]]:
    if isinstance(value, VendorModel):
        yield None, value
    elif isinstance(value, list):
        for index, item in enumerate(value):
            if isinstance(item, VendorModel):
                yield index, item


class _Keys:
    """An input object with its keys mapped onto the model's vendor names."""

    def __init__(self) -> None:
        self.data: dict[Any, Any] = {}
        self.spelled: dict[str, str] = {}
        self.dropped: list[str] = []
        self._given: dict[str, Any] = {}

    def place(self, index: dict[str, str], dropped: frozenset[str], key: Any, value: Any) -> Any:
        """Put one input key where the model reads it; a clash (one field in two spellings) is returned."""
        folded = key.casefold() if isinstance(key, str) else None
        if folded is not None and folded in dropped:
            self.dropped.append(key)
            return None
        alias = index.get(folded) if folded is not None else None
        if alias is None:
            self.data[key] = value
            return None
        if alias in self.data:
            return _clash(key, self._given[alias], value)
        self.data[alias] = value
        self._given[alias] = key
        _remember_spelling(self, alias, key)
        return None


def _canonical_keys(cls: type[VendorModel], data: dict[Any, Any]) -> _Keys:
    keys = _Keys()
    index = _key_index(cls)
    clashes = [clash for key, value in data.items() if (clash := keys.place(index, cls.DROPPED, key, value))]
    if clashes:
        raise ValidationError.from_exception_data(cls.__name__, clashes)
    return keys


def _remember_spelling(keys: _Keys, alias: str, key: str) -> None:
    """The vendor name as the caller spelled it (a Python name is sent as the vendor's)."""
    if key != alias and key.casefold() == alias.casefold():
        keys.spelled[alias] = key


def _clash(key: str, first: str, value: Any) -> InitErrorDetails:
    error = PydanticCustomError("duplicate_field", "given twice, also as '{first}'", {"first": first})
    return InitErrorDetails(type=error, loc=(key,), input=value)


_INDEXES: dict[type[BaseModel], dict[str, str]] = {}


def _key_index(cls: type[BaseModel]) -> dict[str, str]:
    """casefolded alias or Python name -> alias (what `model_validate` reads)."""
    index = _INDEXES.get(cls)
    if index is None:
        index = {}
        for name, info in cls.model_fields.items():
            alias = info.alias or name
            index.setdefault(name.casefold(), alias)
            index[alias.casefold()] = alias
        _INDEXES[cls] = index
    return index


class VitecModel(VendorModel):
    """Vitec Express Connect bodies: camelCase JSON, names from the Swedish API help pages."""

    model_config = ConfigDict(**_COMMON, alias_generator=to_camel)


class VitecResponseModel(VitecModel):
    """What Vitec sends back: every field kept, including ones added by the vendor later."""


class OmnicasaModel(VendorModel):
    """Omnicasa API v3 bodies: PascalCase JSON."""

    model_config = ConfigDict(**_COMMON, alias_generator=to_pascal)


class OmnicasaResponseModel(OmnicasaModel):
    """What Omnicasa sends back: tolerate fields added by the vendor later."""


class OperationRequest(BaseModel):
    """Mixin contract of an inbound operation model: vendor body plus the vendor path parameters.

    `PATH_PARAMS` lists the field names (aliases) that go into the vendor URL rather than its body;
    `ROUTING_PARAMS` ones that only choose the customer (credentials) and are sent nowhere;
    `FREE_TEXT_FIELD` is the alias of the field where unmapped form answers are appended.
    """

    PATH_PARAMS: ClassVar[tuple[str, ...]] = ()
    ROUTING_PARAMS: ClassVar[tuple[str, ...]] = ()
    FREE_TEXT_FIELD: ClassVar[str | None] = None

    if TYPE_CHECKING:  # every operation model provides it (a field or a property); declared for type checkers

        @property
        def customer_id(self) -> str:
            """The vendor customer whose credentials are used for this request."""
            ...

    def vendor_body(self) -> dict[str, Any]:
        """The JSON body sent to the vendor: its names, no path/routing parameters, no unset fields."""
        exclude = {self._attr(alias) for alias in (*self.PATH_PARAMS, *self.ROUTING_PARAMS)}
        return self.model_dump(mode="json", by_alias=True, exclude_none=True, exclude=exclude)

    def path_params(self) -> dict[str, str]:
        return {alias: str(getattr(self, self._attr(alias))) for alias in self.PATH_PARAMS}

    @classmethod
    def _attr(cls, alias: str) -> str:
        return next(name for name, f in cls.model_fields.items() if (f.alias or name) == alias)


# ---- field types -------------------------------------------------------------------------------------


def number_to_str(value: Any) -> Any:
    """Forms send ids, zip codes and phone numbers as numbers now and then: take them as text."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


def blank_to_none(value: Any) -> Any:
    """An optional value given as an empty (or blank) string means "not given"."""
    if isinstance(value, str) and not value.strip():
        return None
    return number_to_str(value)


def blank_scalar_to_none(value: Any) -> Any:
    """Like `blank_to_none` for numbers, booleans and dates: no conversion to text."""
    if isinstance(value, str) and not value.strip():
        return None
    return value


_NON_BLANK = StringConstraints(strip_whitespace=True, min_length=1)

# The docs' types ("Typ" column, or the JSON sample's value). No lengths: the docs state none for the
# write operations (the CRM read's lengths describe the stored contact, DESIGN §6).
Text = Annotated[Annotated[str, _NON_BLANK] | None, BeforeValidator(blank_to_none)]
ReqText = Annotated[Annotated[str, _NON_BLANK], BeforeValidator(number_to_str)]
Bool = Annotated[bool | None, BeforeValidator(blank_scalar_to_none)]
Int = Annotated[int | None, BeforeValidator(blank_scalar_to_none)]
Float = Annotated[float | None, BeforeValidator(blank_scalar_to_none)]


class PhoneMarker:
    """Field metadata: this text is a phone number (`leadhooks.vendors.normalise` gives it a country)."""

    def __repr__(self) -> str:
        return "Phone"


PHONE = PhoneMarker()
Phone = Annotated[Text, PHONE]


def not_a_dot_segment(value: str) -> str:
    """leadhooks, not a vendor rule: an id that becomes a segment of the vendor URL path must not be `.`
    or `..`; the HTTP client resolves those dot segments (RFC 3986), so `Viewing/M1/../..` would call
    another path."""
    if value in (".", ".."):
        raise PydanticCustomError("path_segment", "must not be '.' or '..' (part of the vendor URL path)")
    return value


# A required id that goes into the vendor URL path.
PathId = Annotated[ReqText, AfterValidator(not_a_dot_segment)]

# ---- dates: ISO 8601 text, kept as given -------------------------------------------------------------

# Extended format only (dashes and colons): `20241121` or `1732147200` could be read more than one way.
_ISO_DATE = re.compile(
    r"^(?P<date>\d{4}-\d{2}-\d{2})"
    r"(?:[T ](?P<time>\d{2}:\d{2}(?::\d{2}(?:[.,]\d{1,9})?)?)(?P<zone>Z|z|[+-]\d{2}:\d{2})?)?$"
)
_DATE_REASON = (
    "must be an ISO 8601 date or date-time such as 2024-11-21 or 2024-11-21T10:31:03+01:00 "
    "(a compact or numeric date is not converted)"
)


def iso_date_text(value: Any) -> str:
    """The value unchanged when it is an ISO 8601 (extended) date or date-time; else an error.

    pydantic's `datetime` would turn `2024-11-21` into midnight and `1732147200` or `20241121` into some
    instant: a GDPR approval date must stay what the person gave (DESIGN §6).
    """
    if isinstance(value, datetime | date):
        return value.isoformat()
    text = value.strip() if isinstance(value, str) else None
    match = _ISO_DATE.match(text) if text else None
    if text is None or match is None or not _is_real_date(match):
        raise PydanticCustomError("iso_date", _DATE_REASON)
    return text


def _is_real_date(match: re.Match[str]) -> bool:
    clock = (match["time"] or "00:00")[:8]
    try:
        datetime.fromisoformat(f"{match['date']}T{clock}")
    except ValueError:
        return False
    return True


IsoDate = Annotated[
    str | None,
    BeforeValidator(blank_scalar_to_none),
    PlainValidator(lambda v: None if v is None else iso_date_text(v)),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]

# ---- enums: the documented names, and anything else passed through ------------------------------------


class VendorEnum:
    """Field metadata for an enum the docs show by example (`"AcceptObjectFlow"`, `"House"`).

    Taken by name or number, as Newtonsoft reads enums. A documented name in any case is sent in the
    documented spelling; any other name or number is sent exactly as given, because the vendor, not
    leadhooks, knows the full list (DESIGN §6). Use as `Annotated[EnumValue, VendorEnum("House")]`.
    """

    def __init__(self, *documented: str) -> None:
        self.documented = documented
        self._by_folded = {name.casefold(): name for name in documented}

    def validate(self, value: Any) -> str | int | None:
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        if isinstance(value, str):
            return self._by_folded.get(value.strip().casefold(), value.strip())
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise PydanticCustomError(
            "enum", "must be a name (such as {name}) or a number", {"name": self.documented[0]}
        )

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        return core_schema.no_info_plain_validator_function(self.validate)

    def __get_pydantic_json_schema__(
        self, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return {"anyOf": [{"type": "string", "examples": list(self.documented)}, {"type": "integer"}]}


EnumValue = str | int | None


def field_error(model: str, loc: tuple[str | int, ...], kind: str, message: str) -> ValidationError:
    """A validation error at a field path, raised from a model-level rule so the 422 names the field."""
    return ValidationError.from_exception_data(
        model, [InitErrorDetails(type=PydanticCustomError(kind, message), loc=loc, input=None)]
    )


# ---- lists -------------------------------------------------------------------------------------------


def str_list(value: Any) -> Any:
    """A list of ids/names: one string counts as a one-item list; blank items are dropped; [] -> None."""
    if isinstance(value, str | int) and not isinstance(value, bool):
        value = [value]
    if not isinstance(value, list | tuple):
        return value
    items = [_stripped(number_to_str(v)) for v in value]
    return [v for v in items if v != ""] or None


def _stripped(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


TextList = Annotated[list[str] | None, BeforeValidator(str_list)]
