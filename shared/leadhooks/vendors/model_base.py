"""Base classes shared by every vendor model: vendor field names as aliases, strict about unknown keys."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from enum import IntEnum
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, TypeVar

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, StringConstraints
from pydantic.alias_generators import to_camel, to_pascal
from pydantic_core import PydanticCustomError


class VitecModel(BaseModel):
    """Vitec Express Connect bodies: camelCase JSON, names from the Swedish API help pages."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        str_strip_whitespace=True,
        serialize_by_alias=True,
        # JSON has no NaN/Infinity: such a value (`1e400`, a form's `inf`) could never be sent to the vendor.
        allow_inf_nan=False,
    )


class VitecResponseModel(VitecModel):
    """What Vitec sends back: tolerate fields added by the vendor later."""

    model_config = ConfigDict(extra="ignore")


class OmnicasaModel(BaseModel):
    """Omnicasa API v3 bodies: PascalCase JSON."""

    model_config = ConfigDict(
        alias_generator=to_pascal,
        populate_by_name=True,
        extra="forbid",
        str_strip_whitespace=True,
        serialize_by_alias=True,
        allow_inf_nan=False,  # as VitecModel
    )


class OmnicasaResponseModel(OmnicasaModel):
    """What Omnicasa sends back: tolerate fields added by the vendor later."""

    model_config = ConfigDict(extra="ignore")


class OperationRequest(BaseModel):
    """Mixin contract of an inbound operation model: vendor body plus the vendor path parameters.

    `PATH_PARAMS` lists the field names (aliases) that go into the vendor URL rather than its body;
    `FREE_TEXT_FIELD` is the alias of the field where unmapped form answers are appended.
    """

    PATH_PARAMS: ClassVar[tuple[str, ...]] = ()
    FREE_TEXT_FIELD: ClassVar[str | None] = None

    if TYPE_CHECKING:  # every operation model provides it (a field or a property); declared for type checkers

        @property
        def customer_id(self) -> str:
            """The vendor customer whose credentials are used for this request."""
            ...

    def vendor_body(self) -> dict[str, Any]:
        """The JSON body sent to the vendor: aliases, no path parameters, no unset fields."""
        return self.model_dump(
            mode="json", by_alias=True, exclude_none=True, exclude=set(self._path_param_attrs())
        )

    def path_params(self) -> dict[str, str]:
        return {alias: str(getattr(self, attr)) for alias, attr in self._path_param_map().items()}

    @classmethod
    def _path_param_map(cls) -> dict[str, str]:
        by_alias = {(f.alias or name): name for name, f in cls.model_fields.items()}
        return {alias: by_alias[alias] for alias in cls.PATH_PARAMS}

    @classmethod
    def _path_param_attrs(cls) -> list[str]:
        return list(cls._path_param_map().values())


# ---- field helpers shared by the vendor models ---------------------------------------------------


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


def _str(max_length: int | None = None) -> Any:
    return StringConstraints(strip_whitespace=True, min_length=1, max_length=max_length)


# Optional text: stripped, "" -> None, optional documented maximum length.
OptStr = Annotated[Annotated[str, _str()] | None, BeforeValidator(blank_to_none)]
OptStr20 = Annotated[Annotated[str, _str(20)] | None, BeforeValidator(blank_to_none)]
OptStr30 = Annotated[Annotated[str, _str(30)] | None, BeforeValidator(blank_to_none)]
OptStr40 = Annotated[Annotated[str, _str(40)] | None, BeforeValidator(blank_to_none)]
OptStr50 = Annotated[Annotated[str, _str(50)] | None, BeforeValidator(blank_to_none)]
OptStr60 = Annotated[Annotated[str, _str(60)] | None, BeforeValidator(blank_to_none)]
# Optional scalars: "" -> None; otherwise pydantic's own (lax) parsing.
OptBool = Annotated[bool | None, BeforeValidator(blank_scalar_to_none)]
OptInt = Annotated[int | None, BeforeValidator(blank_scalar_to_none)]
OptFloat = Annotated[float | None, BeforeValidator(blank_scalar_to_none)]
OptDateTime = Annotated[datetime | None, BeforeValidator(blank_scalar_to_none)]
# Required text: stripped, not empty, optional documented maximum length.
ReqStr = Annotated[Annotated[str, _str()], BeforeValidator(number_to_str)]
ReqStr40 = Annotated[Annotated[str, _str(40)], BeforeValidator(number_to_str)]


def not_a_dot_segment(value: str) -> str:
    """An id that becomes a segment of the vendor URL path must not be `.` or `..`: the HTTP client
    resolves those dot segments (RFC 3986), so `Viewing/M1/../..` would call another path."""
    if value in (".", ".."):
        raise PydanticCustomError("path_segment", "must not be '.' or '..' (part of the vendor URL path)")
    return value


# A required id (at most 40 characters) that goes into the vendor URL path.
PathId40 = Annotated[ReqStr40, AfterValidator(not_a_dot_segment)]

E = TypeVar("E", bound=IntEnum)


def enum_validator(enum_cls: type[E], *, lenient: bool = False) -> Callable[[Any], E | int | str]:
    """Validator of a vendor enum given by name (any case) or by number.

    A known name or number becomes the member; an unknown non-negative number is passed through
    unchanged, because the vendor, not leadhooks, is the authority on its enum values. An unknown
    name is an error listing the allowed names, unless `lenient` (response models), where it is
    passed through as text.
    """
    by_name = {member.name.lower(): member for member in enum_cls}
    allowed = ", ".join(member.name for member in enum_cls)

    def validate(value: Any) -> E | int | str:
        if isinstance(value, enum_cls):
            return value
        if isinstance(value, str):
            text = value.strip()
            if text.isascii() and text.isdigit():
                value = int(text)
            elif text.lower() in by_name:
                return by_name[text.lower()]
            elif lenient and text:
                return text
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            try:
                return enum_cls(value)
            except ValueError:
                return value
        raise PydanticCustomError("enum", "must be one of {allowed} (or its number)", {"allowed": allowed})

    return validate


def enum_name(value: IntEnum | int | str) -> int | str:
    """Vendor enums are sent by name; a passed-through number or text is sent as it came."""
    return value.name if isinstance(value, IntEnum) else value
