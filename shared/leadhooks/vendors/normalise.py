"""Vendor-side normalisation after validation: phone numbers get the customer's country (DESIGN §6).

Fields are phone numbers when their model says so (`model_base.Phone`), so this works for every vendor
model; the country is the customer's `phoneRegion` from the vendor secret, else the operation's default
(`VendorOperation.phone_region`: SE for Vitec, BE for Omnicasa).

What a phone value becomes:
- a valid number: E.164 (`+46701234567`); with an extension, E.164 followed by ` ext. <digits>`
  (`+4631123456 ext. 12`), the form `phonenumbers` itself writes and reads back, so the extension is
  never lost;
- anything else (not valid for the country, text around the digits, an unknown extension marker): sent
  exactly as given, and the vendor decides.

A personnummer is not normalised or checked: the docs ask for no particular format
(`isForeignSocialSecurityNumber` allows any), so it is sent as given.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from leadhooks.vendors.model_base import PhoneMarker

if TYPE_CHECKING:
    from leadhooks.core import VendorOperation

# Digits and the usual punctuation, optionally one extension: anything else is sent as given.
_PHONE_TEXT = re.compile(
    r"^\+?[\d\s().\-/]+(?:\s*(?:ext\.?|extension|x|#|ankn\.?|anknytning)\s*\d{1,10})?$", re.I
)


def normalise_phone(value: str, region: str) -> str:
    """E.164 (plus ` ext. N`) when `phonenumbers` finds a valid number; otherwise `value` unchanged."""
    text = value.strip()
    if not text or not _PHONE_TEXT.match(text):
        return value
    import phonenumbers  # slow to import: only when a phone field is present

    try:
        number = phonenumbers.parse(text, region.upper())
    except phonenumbers.NumberParseException:
        return value
    if not phonenumbers.is_valid_number(number):
        return value
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return f"{e164} ext. {number.extension}" if number.extension else e164


def phone_fields(model: BaseModel) -> Iterator[tuple[BaseModel, str, str]]:
    """(owner model, attribute, value) of every phone number set anywhere in `model`."""
    for name, info in type(model).model_fields.items():
        value = getattr(model, name)
        if isinstance(value, str) and any(isinstance(m, PhoneMarker) for m in info.metadata):
            yield model, name, value
        for child in value if isinstance(value, list) else [value]:
            if isinstance(child, BaseModel):
                yield from phone_fields(child)


def normalise_phones(model: BaseModel, region: Callable[[], str]) -> None:
    """Rewrite every phone field of `model` in place; `region` is asked once, and only if there is one."""
    found = list(phone_fields(model))
    if not found:
        return
    country = region()
    for owner, name, value in found:
        setattr(owner, name, normalise_phone(value, country))


def customer_region(vendor: str, customer_id: str, default: str) -> str:
    """The customer's phone country from the vendor secret, else `default`."""
    from leadhooks.secrets import customer_phone_region

    region = customer_phone_region(vendor, customer_id) if customer_id else None
    if region is None:
        return default
    import phonenumbers

    return region if region in phonenumbers.SUPPORTED_REGIONS else default


def prepare(spec: VendorOperation, model: Any) -> None:
    """What the pipeline runs on a validated request before describing it (dry run, queue and send)."""
    normalise_phones(model, lambda: customer_region(spec.vendor, model.customer_id, spec.phone_region))
