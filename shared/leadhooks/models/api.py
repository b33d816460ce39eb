"""leadhooks' own response and error bodies (camelCase JSON), and the validation-error translation.

Every answer carries `deliveryId` (DESIGN §5). No reason text ever contains the rejected value:
it may be personal data.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic.alias_generators import to_camel

DeliveryStatus = Literal["delivered", "queued", "parked", "dry_run"]


class ApiModel(BaseModel):
    """camelCase JSON out, Python names or camelCase in."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        serialize_by_alias=True,
        extra="forbid",
        defer_build=True,
    )

    def to_body(self) -> dict[str, Any]:
        """The JSON body: aliases, unset (None) fields left out."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


class FieldError(ApiModel):
    """One rejected field: dotted path of vendor names (`person.firstName`) or `body`, and why."""

    field: str
    reason: str


class FieldWarning(ApiModel):
    """A field passed on to the vendor although its docs do not name it, or vendor plumbing dropped
    (DESIGN §6): `field` is its dotted vendor path as given (`person.nickName`)."""

    field: str
    reason: str


class ErrorBody(ApiModel):
    """Every 4xx/5xx answer."""

    delivery_id: str | None = None
    error: str = Field(description="machine-readable code, e.g. validation_error")
    message: str
    errors: list[FieldError] = Field(default_factory=list)
    parked: bool = False
    vendor_status: int | None = None
    vendor_message: str | None = None
    warnings: list[FieldWarning] | None = None


class DeliveryResponse(ApiModel):
    """Answer of a write operation (200 delivered / dry_run, 202 queued / parked)."""

    delivery_id: str
    status: DeliveryStatus
    person_id: int | None = None
    lead_id: str | None = None
    vendor_request: dict[str, Any] | None = None
    parked: bool = False
    # Fields passed on although the vendor docs do not name them, and plumbing dropped; absent when none.
    warnings: list[FieldWarning] | None = None


class ContactsResponse(ApiModel):
    """Answer of the contacts query: contacts in request order, and the ids Vitec did not return."""

    delivery_id: str
    contacts: list[dict[str, Any]]
    missing: list[str]


# ---- pydantic errors → FieldError ----------------------------------------------------------------

# Reasons for error types whose pydantic message could echo the input.
_SAFE_REASONS = {
    "union_tag_invalid": "unknown type",
    "union_tag_not_found": "the type is missing",
    "value_error": "invalid value",
    "assertion_error": "invalid value",
}
_PREFIXES = ("Value error, ", "Assertion failed, ")


def _path(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in loc) or "body"


def _reason(error: Any) -> str:
    msg = _without_prefix(str(error.get("msg") or ""))
    kind = str(error.get("type") or "")
    if kind == "union_tag_invalid":
        expected = (error.get("ctx") or {}).get("expected_tags")
        return f"unknown type; expected {expected}" if expected else _SAFE_REASONS[kind]
    if _echoes_input(msg, error.get("input")):
        return _SAFE_REASONS.get(kind, "invalid value")
    return msg or _SAFE_REASONS.get(kind, "invalid value")


def _without_prefix(msg: str) -> str:
    for prefix in _PREFIXES:
        if msg.startswith(prefix):
            return msg[len(prefix) :]
    return msg


def _echoes_input(msg: str, value: Any) -> bool:
    """Would the message repeat the submitted value (it may be personal data)?"""
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        return False
    text = str(value)
    return len(text) >= 3 and text in msg


def _loc(error: Any) -> tuple[int | str, ...]:
    loc = tuple(error.get("loc") or ())
    if error.get("type") in ("union_tag_invalid", "union_tag_not_found"):
        discriminator = str((error.get("ctx") or {}).get("discriminator") or "").strip("'\"")
        if discriminator.isidentifier():
            loc = (*loc, discriminator)
    return loc


def field_errors_from_validation(exc: ValidationError) -> list[FieldError]:
    """One `FieldError` per pydantic error: dotted alias path (`body` for the root) and a short reason.

    The paths are the vendor names when the input used them (it does after the inbound adapters).
    The reason never contains the rejected value.
    """
    return [
        FieldError(field=_path(_loc(err)), reason=_reason(err))
        for err in exc.errors(include_url=False, include_context=True, include_input=True)
    ]
