"""Inbound authentication (DESIGN §4): Typeform signatures, Standard Webhooks, or an x-api-key header.

Checked on the raw body bytes before anything else. Every comparison is constant-time, several secrets
of each kind are accepted (rotation), and no error message ever echoes a secret, key or signature.
Kept cheap to import: standard library only (plus the project's error classes).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, NoReturn

from leadhooks.errors import AuthenticationError, ConfigurationError

# Standard Webhooks: reject timestamps more than this many seconds away from now, either way.
TIMESTAMP_TOLERANCE_S = 5 * 60

_TYPEFORM_HEADER = "typeform-signature"
_SW_ID = "webhook-id"
_SW_TIMESTAMP = "webhook-timestamp"
_SW_SIGNATURE = "webhook-signature"
_API_KEY = "x-api-key"
_WHSEC_PREFIX = "whsec_"
_TYPEFORM_MALFORMED = "Typeform-Signature is malformed: expected 'sha256=<base64>'"

Scheme = Literal["typeform", "standard_webhooks", "api_key"]


@dataclass(frozen=True)
class InboundSecrets:
    """The inbound secret (`INBOUND_SECRET_ID`): every currently valid key and signing secret."""

    api_keys: tuple[str, ...] = ()
    typeform_secrets: tuple[str, ...] = ()
    webhook_secrets: tuple[str, ...] = ()  # "whsec_<base64>"

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> InboundSecrets:
        """Build from `{"apiKeys": [...], "typeformSecrets": [...], "webhookSecrets": [...]}`.

        Every list is optional; empty strings are ignored. A malformed value is a deployment error
        (`ConfigurationError`), reported by its position, never by its content.
        """
        if not isinstance(data, Mapping):
            raise ConfigurationError("the inbound secret must be a JSON object")
        api_keys = _string_list(data, "apiKeys")
        typeform = _string_list(data, "typeformSecrets")
        webhook = _string_list(data, "webhookSecrets")
        for index, secret in enumerate(webhook):
            if _decode_webhook_secret(secret) is None:
                raise ConfigurationError(
                    f"inbound secret: webhookSecrets[{index}] is not a Standard Webhooks secret "
                    "('whsec_' followed by base64)"
                )
        return cls(api_keys=api_keys, typeform_secrets=typeform, webhook_secrets=webhook)


@dataclass(frozen=True)
class AuthResult:
    """Who the request proved to be."""

    scheme: Scheme
    webhook_id: str | None = None  # Standard Webhooks `webhook-id` (used as deliveryId)
    signed: bool = False  # typeform / standard_webhooks: a machine sender whose 4xx answers are parked
    # The client the credential belongs to: the idempotency namespace with the operation (DESIGN §5).
    # One tenant until clients with scopes arrive (tenancy work).
    client: str = "default"


def authenticate(
    headers: Mapping[str, str],
    raw_body: bytes,
    secrets: InboundSecrets,
    *,
    now: float | None = None,
) -> AuthResult:
    """Check the request's credentials; raise `AuthenticationError` (401) saying which scheme failed and why.

    The first scheme whose header is present is the one checked: `Typeform-Signature`, then
    `webhook-signature` (Standard Webhooks), then `x-api-key`. Header names are case-insensitive.
    """
    lowered = {str(name).lower(): value for name, value in headers.items()}
    if _TYPEFORM_HEADER in lowered:
        return _typeform(lowered[_TYPEFORM_HEADER], raw_body, secrets.typeform_secrets)
    if _SW_SIGNATURE in lowered:
        checked_at = time.time() if now is None else now
        return _standard_webhooks(lowered, raw_body, secrets.webhook_secrets, checked_at)
    if _API_KEY in lowered:
        return _api_key(lowered[_API_KEY], secrets.api_keys)
    raise AuthenticationError(
        "missing credentials: send x-api-key, Typeform-Signature or Standard Webhooks headers",
        details=[{"field": "headers", "reason": "missing"}],
    )


# ---- Typeform --------------------------------------------------------------------------------


def _typeform(header: str, raw_body: bytes, secrets: tuple[str, ...]) -> AuthResult:
    value = (header or "").strip()
    if not value:
        _fail("Typeform-Signature", "missing", "the Typeform-Signature header is empty")
    algorithm, sep, encoded = value.partition("=")
    if not sep or algorithm.strip().lower() != "sha256":
        _fail("Typeform-Signature", "malformed", _TYPEFORM_MALFORMED)
    provided = _b64decode(encoded.strip())
    if provided is None or len(provided) != hashlib.sha256().digest_size:
        _fail("Typeform-Signature", "malformed", _TYPEFORM_MALFORMED)
    if not secrets:
        _fail(
            "Typeform-Signature",
            "mismatch",
            "Typeform-Signature does not match (mismatch): no Typeform secret is configured",
        )
    expected = [hmac.new(secret.encode(), raw_body, hashlib.sha256).digest() for secret in secrets]
    if not _any_equal(provided, expected):
        _fail(
            "Typeform-Signature",
            "mismatch",
            "Typeform-Signature does not match the body (mismatch): check the webhook secret",
        )
    return AuthResult(scheme="typeform", signed=True)


# ---- Standard Webhooks (https://www.standardwebhooks.com) ------------------------------------


def _standard_webhooks(
    headers: Mapping[str, str], raw_body: bytes, secrets: tuple[str, ...], now: float
) -> AuthResult:
    webhook_id = (headers.get(_SW_ID) or "").strip()
    timestamp = (headers.get(_SW_TIMESTAMP) or "").strip()
    if not webhook_id:
        _fail(_SW_ID, "missing", "Standard Webhooks: the webhook-id header is missing")
    if not timestamp:
        _fail(_SW_TIMESTAMP, "missing", "Standard Webhooks: the webhook-timestamp header is missing")
    if not timestamp.isascii() or not timestamp.isdigit() or len(timestamp) > 12:
        _fail(
            _SW_TIMESTAMP,
            "malformed",
            "Standard Webhooks: webhook-timestamp is malformed: expected Unix time in seconds",
        )
    sent_at = int(timestamp)
    if now - sent_at > TIMESTAMP_TOLERANCE_S:
        _fail(
            _SW_TIMESTAMP, "expired", "Standard Webhooks: webhook-timestamp is expired (older than 5 minutes)"
        )
    if sent_at - now > TIMESTAMP_TOLERANCE_S:
        _fail(
            _SW_TIMESTAMP,
            "future",
            "Standard Webhooks: webhook-timestamp in the future (more than 5 minutes ahead)",
        )

    provided = _v1_signatures(headers.get(_SW_SIGNATURE) or "")
    if not provided:
        _fail(
            _SW_SIGNATURE,
            "malformed",
            "Standard Webhooks: webhook-signature is malformed: "
            "expected space-separated 'v1,<base64>' entries",
        )
    keys = [key for key in (_decode_webhook_secret(s) for s in secrets) if key is not None]
    if not keys:
        _fail(
            _SW_SIGNATURE,
            "mismatch",
            "Standard Webhooks: webhook-signature does not match (mismatch): no webhook secret is configured",
        )
    signed_content = f"{webhook_id}.{timestamp}.".encode() + raw_body
    expected = [hmac.new(key, signed_content, hashlib.sha256).digest() for key in keys]
    matched = False
    for signature in provided:  # no early exit: every entry is compared against every secret
        matched |= _any_equal(signature, expected)
    if not matched:
        _fail(
            _SW_SIGNATURE,
            "mismatch",
            "Standard Webhooks: webhook-signature does not match the body (mismatch): "
            "check the signing secret",
        )
    return AuthResult(scheme="standard_webhooks", webhook_id=webhook_id, signed=True)


def _v1_signatures(header: str) -> list[bytes]:
    """The decodable `v1,<base64>` entries; other versions (e.g. `v1a` asymmetric) are ignored."""
    found: list[bytes] = []
    for entry in header.split():
        version, sep, encoded = entry.partition(",")
        if not sep or version != "v1":
            continue
        decoded = _b64decode(encoded)
        if decoded is not None and len(decoded) == hashlib.sha256().digest_size:
            found.append(decoded)
    return found


def _decode_webhook_secret(secret: str) -> bytes | None:
    """`whsec_<base64>` → key bytes (a bare base64 string is accepted too, as the reference libraries do)."""
    body = secret[len(_WHSEC_PREFIX) :] if secret.startswith(_WHSEC_PREFIX) else secret
    key = _b64decode(body)
    return key if key else None


# ---- x-api-key -------------------------------------------------------------------------------


def _api_key(header: str, keys: tuple[str, ...]) -> AuthResult:
    provided = (header or "").strip().encode()
    if not provided:
        _fail("x-api-key", "missing", "the x-api-key header is empty (missing)")
    matched = False
    for key in keys:  # every key is compared, no early exit
        matched |= hmac.compare_digest(provided, key.encode())
    if not matched:
        _fail("x-api-key", "mismatch", "x-api-key is not a valid key (mismatch)")
    return AuthResult(scheme="api_key")


# ---- helpers ---------------------------------------------------------------------------------


def _fail(field: str, reason: str, message: str) -> NoReturn:
    raise AuthenticationError(message, details=[{"field": field, "reason": reason}])


def _any_equal(provided: bytes, expected: Iterable[bytes]) -> bool:
    matched = False
    for candidate in expected:
        matched |= hmac.compare_digest(provided, candidate)
    return matched


def _b64decode(value: str) -> bytes | None:
    """Strict standard base64 (padding restored if a sender dropped it); None when it is not base64."""
    value = value.strip()
    if not value or not value.isascii():
        return None
    padded = value + "=" * (-len(value) % 4)
    try:
        return base64.b64decode(padded, validate=True)
    except (binascii.Error, ValueError):
        return None


def _string_list(data: Mapping[str, Any], key: str) -> tuple[str, ...]:
    value = data.get(key)
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list | tuple) or not all(isinstance(item, str) for item in value):
        raise ConfigurationError(f"inbound secret: {key} must be a list of strings")
    return tuple(item.strip() for item in value if item.strip())
