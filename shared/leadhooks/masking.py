"""The one masking function family: all that may reach a log line or an error body goes through here."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote

MASK = "*****"

# Keys (any case, any vendor spelling) whose values are personal data or secrets.
_SENSITIVE_KEY = re.compile(
    r"(password|secret|token|api[-_]?key|authorization|signature|socialsecuritynumber|ssn|personnummer"
    r"|e-?mail|phone|gsm|fax|cell|telephone|firstname|lastname|^name$|address|zip|city|street"
    r"|username|credentials|cookie|note|message|content|contactmessage)",
    re.IGNORECASE,
)
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")
# Swedish personnummer/samordningsnummer (10 or 12 digits, optional separator) and phone-like runs.
_PNR = re.compile(r"\b(\d{2})?\d{6}[-+]?\d{4}\b")
_PHONE = re.compile(r"(?<![\w/])\+?\d[\d ()-]{6,}\d")
# Omnicasa puts its secret key in the URL path: techworks/contactonme/{secretKey}.
_URL_SECRET = re.compile(r"(contactonme/)[^/?#\s]+", re.IGNORECASE)
_URL_USERINFO = re.compile(r"(https?://)[^/@\s]+@")


# Caller-chosen delivery ids (Idempotency-Key, webhook-id, Typeform event_id) are logged as the correlation
# id. One that looks like personal data is masked whole: an e-mail address anywhere in it, or a personnummer
# or phone number standing as its own token (digits not glued to letters, so hex hashes and ULIDs stay).
_ID_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_ID_PNR = re.compile(r"(?<![0-9A-Za-z])(\d{6}|\d{8})[-+]?\d{4}(?![0-9A-Za-z])")
_ID_PHONE = re.compile(r"(?<![0-9A-Za-z])\+?\d[\d ().-]{5,}\d(?![0-9A-Za-z])")
_UUID = re.compile(r"[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}")
# Log keys that hold a delivery id.
DELIVERY_ID_KEYS = frozenset({"correlation_id", "deliveryId", "delivery_id"})


def mask_delivery_id(value: Any) -> Any:
    """A delivery id fit for a log line: masked whole when it looks like an e-mail, personnummer or phone."""
    if not isinstance(value, str) or _UUID.fullmatch(value):
        return value
    if _ID_EMAIL.search(value) or _ID_PNR.search(value) or _ID_PHONE.search(value):
        return MASK
    return value


def mask_url(url: str) -> str:
    """Hide path-embedded secrets and user-info in a URL."""
    url = _URL_SECRET.sub(r"\1" + MASK, url)
    return _URL_USERINFO.sub(r"\1" + MASK + "@", url)


def mask_url_for_log(url: str) -> str:
    """A vendor URL fit for a log line: percent-decoded, then secrets, user-info and any personal data
    in it masked (a caller can put an e-mail, personnummer or phone number where an id belongs, and
    `GET /vitec/contacts` puts the caller's ids in the vendor's path)."""
    return mask_text(unquote(url))


def mask_text(text: str, secrets: tuple[str, ...] = ()) -> str:
    """Mask emails, personnummer, phone numbers and any known secret values inside free text."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, MASK)
    text = mask_url(text)
    text = _EMAIL.sub(MASK, text)
    text = _PNR.sub(MASK, text)
    return _PHONE.sub(MASK, text)


def mask(value: Any, *, key: str | None = None) -> Any:
    """Recursively mask a JSON-like value: sensitive keys are blanked, free text is scrubbed."""
    if key is not None and _SENSITIVE_KEY.search(key) and value not in (None, "", [], {}):
        return MASK
    if isinstance(value, Mapping):
        return {k: mask(v, key=str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [mask(v, key=key) for v in value]
    if isinstance(value, str):
        return mask_text(value)
    return value
