"""The delivery journal's keyed hashes (issue 15): find a lead by the e-mail, phone or personnummer an
operator types, without the journal holding any of them in clear.

The delivery record (`leadhooks.deliveries`) is the journal; this module gives it `emailHash`,
`phoneHash` and `ssnHash`: HMAC-SHA256 of the normalised value with a pepper from the journal secret
(`JOURNAL_SECRET_ID`: `{"journalPeppers": ["<newest>", "<previous>", ...]}`). Records are written with
the first pepper; a lookup tries every listed one, so hashes made before a rotation stay findable while
the old pepper is kept in the list (docs/operations.md). No pepper configured: no hashes (the record is
still written), never a failed delivery.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterator
from typing import Any, Literal

from leadhooks.observability import logger

Kind = Literal["email", "phone", "ssn"]
HASH_ATTRIBUTES: dict[Kind, str] = {"email": "emailHash", "phone": "phoneHash", "ssn": "ssnHash"}
# The GSI of each hash attribute (template.yaml, local/aws.py): its name is the attribute's.
INDEXES: dict[Kind, str] = dict(HASH_ATTRIBUTES)

_EMAIL_KEY = re.compile(r"e-?mail", re.I)
_PHONE_KEY = re.compile(r"phone|mobile|gsm|cell|telephone", re.I)
_SSN_KEY = re.compile(r"personnummer|socialsecurity|ssn|personalnumber|civicnumber|personalid", re.I)
_DIGITS = re.compile(r"\D+")


def normalise(kind: Kind, value: str, region: str = "SE") -> str:
    """The form a value is hashed in: e-mail lower-cased and stripped; phone as E.164 when parseable,
    else its digits; personnummer its digits only."""
    text = value.strip()
    if kind == "email":
        return text.lower()
    if kind == "ssn":
        return _DIGITS.sub("", text)
    import phonenumbers

    try:
        parsed = phonenumbers.parse(text, region)
        if phonenumbers.is_possible_number(parsed):
            return str(phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164))
    except phonenumbers.NumberParseException:
        pass
    return _DIGITS.sub("", text)


def keyed_hash(kind: Kind, value: str, pepper: str, region: str = "SE") -> str | None:
    """HMAC-SHA256 (hex) of the normalised value; None when nothing is left to hash."""
    normal = normalise(kind, value, region)
    if not normal:
        return None
    message = f"{kind}:{normal}".encode()
    return hmac.new(pepper.encode(), message, hashlib.sha256).hexdigest()


def _kind_of(key: str) -> Kind | None:
    for kind, pattern in (("email", _EMAIL_KEY), ("ssn", _SSN_KEY), ("phone", _PHONE_KEY)):
        if pattern.search(key):
            return kind  # type: ignore[return-value]
    return None


def contact_values(data: Any, depth: int = 0) -> Iterator[tuple[Kind, str]]:
    """Every (kind, value) of a request by its field names, depth first (bounded)."""
    if depth > 8:
        return
    if isinstance(data, dict):
        for key, value in data.items():
            kind = _kind_of(str(key))
            if kind is not None and isinstance(value, str | int) and not isinstance(value, bool):
                yield kind, str(value)
            elif isinstance(value, dict | list):
                yield from contact_values(value, depth + 1)
    elif isinstance(data, list):
        for item in data:
            yield from contact_values(item, depth + 1)


def peppers_from(secret: dict[str, Any]) -> list[str]:
    """`journalPeppers` (newest first), or a single `journalPepper`; empty strings dropped."""
    listed = secret.get("journalPeppers")
    if listed is None and secret.get("journalPepper"):
        listed = [secret["journalPepper"]]
    return [p for p in (listed or []) if isinstance(p, str) and p]


def current_pepper() -> str | None:
    """The pepper new records are hashed with, or None (no journal secret, or it cannot be read)."""
    from leadhooks.errors import ConfigurationError
    from leadhooks.secrets import journal_secret
    from leadhooks.settings import get_settings

    if not get_settings().journal_secret_id:  # not configured: no hashes, and nothing to warn about
        return None
    try:
        secret = journal_secret()
    except ConfigurationError:
        logger.warning("journal pepper unavailable: the delivery is journalled without contact hashes")
        return None
    peppers = peppers_from(secret)
    return peppers[0] if peppers else None


def contact_hashes(data: Any, region: str = "SE") -> dict[str, str]:
    """The record's hash attributes for a request (the first value of each kind), or {} without pepper."""
    found: dict[Kind, str] = {}
    for kind, value in contact_values(data):
        found.setdefault(kind, value)
    if not found:
        return {}
    pepper = current_pepper()
    if pepper is None:
        return {}
    hashes: dict[str, str] = {}
    for kind, value in found.items():
        digest = keyed_hash(kind, value, pepper, region)
        if digest:
            hashes[HASH_ATTRIBUTES[kind]] = digest
    return hashes


def source_of(
    payload: Any, adapted_format: str, webhook_id: str | None, event_id: str | None
) -> dict[str, str]:
    """The sender format and its own ids: Typeform `event_id` and form id, Standard Webhooks `webhook-id`."""
    source: dict[str, str] = {"format": adapted_format}
    if event_id:
        source["sourceEventId"] = event_id
    form = payload.get("form_response") if isinstance(payload, dict) else None
    form_id = form.get("form_id") if isinstance(form, dict) else None
    if isinstance(form_id, str) and form_id:
        source["sourceFormId"] = form_id[:128]
    if webhook_id:
        source["webhookId"] = webhook_id[:128]
    return source
