"""leadhooks' own response and error bodies (camelCase JSON), and the validation-error translation.

Every answer carries `deliveryId` (DESIGN §5). No reason text ever contains the rejected value:
it may be personal data.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
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


# DESIGN §5: an error answer lists at most 50 field errors and stays under 16 KB (a 240 KB invalid body
# once produced a 12.5 MB answer, over Lambda's 6 MB limit). Enforced once, here, on every ErrorBody.
MAX_ERRORS = 50
MAX_ERROR_BYTES = 16 * 1024
_MAX_FIELD_CHARS = 200
_MAX_REASON_CHARS = 300
_MAX_MESSAGE_CHARS = 2000


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


class FieldWarning(ApiModel):
    """A field passed on to the vendor although its docs do not name it, or vendor plumbing dropped
    (DESIGN §6): `field` is its dotted vendor path as given (`person.nickName`)."""

    field: str
    reason: str


class ErrorBody(ApiModel):
    """Every 4xx/5xx answer. Bounded: at most `MAX_ERRORS` errors and `MAX_ERROR_BYTES` of JSON; how many
    errors were left out is in `errorsOmitted` (and said in `message`)."""

    delivery_id: str | None = None
    error: str = Field(description="machine-readable code, e.g. validation_error")
    message: str
    errors: list[FieldError] = Field(default_factory=list)
    errors_omitted: int | None = Field(None, description="field errors not listed (answer size bound)")
    parked: bool = False
    # Why it was parked (DESIGN §5: `parked: true`, with `reason`).
    reason: str | None = None
    vendor_status: int | None = None
    vendor_message: str | None = None
    warnings: list[FieldWarning] | None = None

    @model_validator(mode="after")
    def _bounded(self) -> ErrorBody:
        omitted = max(0, len(self.errors) - MAX_ERRORS)  # newly left out (a re-read body keeps its count)
        self.errors = [
            FieldError(field=_clip(e.field, _MAX_FIELD_CHARS), reason=_clip(e.reason, _MAX_REASON_CHARS))
            for e in self.errors[:MAX_ERRORS]
        ]
        self.message = _clip(self.message, _MAX_MESSAGE_CHARS)
        if self.vendor_message is not None:
            self.vendor_message = _clip(self.vendor_message, _MAX_MESSAGE_CHARS)
        # Room for the note and the count, then drop errors from the end until the answer fits.
        while self.errors and self._size() + 80 > MAX_ERROR_BYTES:
            self.errors.pop()
            omitted += 1
        if omitted:
            self.message += f" ({omitted} more error{'s' if omitted != 1 else ''} not listed)"
            self.errors_omitted = (self.errors_omitted or 0) + omitted
        return self

    def _size(self) -> int:
        body = self.model_dump(mode="json", by_alias=True, exclude_none=True)
        return len(json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode())


class DeliveryResponse(ApiModel):
    """Answer of a write operation (200 delivered / dry_run, 202 queued / parked)."""

    delivery_id: str
    status: DeliveryStatus
    person_id: int | None = None
    lead_id: str | None = None
    vendor_request: dict[str, Any] | None = None
    parked: bool = False
    reason: str | None = None  # why it was parked (DESIGN §5)
    # Fields passed on although the vendor docs do not name them, and plumbing dropped; absent when none.
    warnings: list[FieldWarning] | None = None


class DeliveryState(ApiModel):
    """`GET /deliveries/{deliveryId}`: where a delivery stands (DESIGN §5)."""

    delivery_id: str
    operation: str
    status: Literal["in_flight", "delivered", "queued", "parked"]
    attempts: int
    next_attempt_at: str | None = None
    reason: str | None = None
    result: dict[str, Any] | None = None


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
