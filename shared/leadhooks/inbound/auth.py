"""Inbound authentication (DESIGN §4): Typeform signatures, Standard Webhooks, or an x-api-key header.

Checked on the raw body bytes before anything else. Every credential belongs to one client
(`leadhooks.inbound.clients`); the answer names that client and what it may reach, and
`leadhooks.inbound.scope.authorize` decides the rest. Every comparison is constant-time and runs against
every configured value of every client (no early exit), several secrets of each kind are accepted
(rotation), and no error message ever echoes a secret, key or signature.
Standard Webhooks signatures are computed by the spec's own Python implementation (`standardwebhooks`).
Kept cheap to import: standard library only (plus `standardwebhooks`, itself stdlib only).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal, NoReturn

from standardwebhooks.webhooks import Webhook

from leadhooks.errors import AuthenticationError
from leadhooks.inbound.clients import Client, InboundSecrets, Reach

__all__ = ["AuthResult", "InboundSecrets", "authenticate", "standard_webhooks_signature"]

# Standard Webhooks: reject timestamps more than this many seconds away from now, either way.
TIMESTAMP_TOLERANCE_S = 5 * 60

_TYPEFORM_HEADER = "typeform-signature"
_SW_ID = "webhook-id"
_SW_TIMESTAMP = "webhook-timestamp"
_SW_SIGNATURE = "webhook-signature"
_API_KEY = "x-api-key"
_TYPEFORM_MALFORMED = "Typeform-Signature is malformed: expected 'sha256=<base64>'"

Scheme = Literal["typeform", "standard_webhooks", "api_key"]


@dataclass(frozen=True)
class AuthResult:
    """Who the request proved to be: the scheme, the client (by name) and what that client may reach."""

    scheme: Scheme
    client: str  # the client's name in the inbound secret; the delivery-id namespace uses it
    reach: Reach
    webhook_id: str | None = None  # Standard Webhooks `webhook-id` (used as deliveryId)
    signed: bool = False  # typeform / standard_webhooks: a machine sender whose 4xx answers are parked


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
    clients = secrets.clients
    if _TYPEFORM_HEADER in lowered:
        return _typeform(lowered[_TYPEFORM_HEADER], raw_body, clients)
    if _SW_SIGNATURE in lowered:
        checked_at = time.time() if now is None else now
        return _standard_webhooks(lowered, raw_body, clients, checked_at)
    if _API_KEY in lowered:
        return _api_key(lowered[_API_KEY], clients)
    raise AuthenticationError(
        "missing credentials: send x-api-key, Typeform-Signature or Standard Webhooks headers",
        details=[{"field": "headers", "reason": "missing"}],
    )


# ---- Typeform --------------------------------------------------------------------------------


def _typeform(header: str, raw_body: bytes, clients: tuple[Client, ...]) -> AuthResult:
    value = (header or "").strip()
    if not value:
        _fail("Typeform-Signature", "missing", "the Typeform-Signature header is empty")
    algorithm, sep, encoded = value.partition("=")
    if not sep or algorithm.strip().lower() != "sha256":
        _fail("Typeform-Signature", "malformed", _TYPEFORM_MALFORMED)
    provided = _b64decode(encoded.strip())
    if provided is None or len(provided) != hashlib.sha256().digest_size:
        _fail("Typeform-Signature", "malformed", _TYPEFORM_MALFORMED)
    if not any(client.typeform_secrets for client in clients):
        _fail(
            "Typeform-Signature",
            "mismatch",
            "Typeform-Signature does not match (mismatch): no Typeform secret is configured",
        )
    expected = [
        (client, hmac.new(secret.encode(), raw_body, hashlib.sha256).digest())
        for client in clients
        for secret in client.typeform_secrets
    ]
    owner = _owner([provided], expected)
    if owner is None:
        _fail(
            "Typeform-Signature",
            "mismatch",
            "Typeform-Signature does not match the body (mismatch): check the webhook secret",
        )
    return AuthResult(scheme="typeform", client=owner.name, reach=owner.reach, signed=True)


# ---- Standard Webhooks (https://www.standardwebhooks.com) ------------------------------------


def _standard_webhooks(
    headers: Mapping[str, str], raw_body: bytes, clients: tuple[Client, ...], now: float
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
    if not any(client.webhook_secrets for client in clients):
        _fail(
            _SW_SIGNATURE,
            "mismatch",
            "Standard Webhooks: webhook-signature does not match (mismatch): no webhook secret is configured",
        )
    expected = [
        (client, standard_webhooks_signature(key, webhook_id, sent_at, raw_body))
        for client in clients
        for key in client.webhook_secrets
    ]
    owner = _owner(provided, expected)  # every entry against every secret, no early exit
    if owner is None:
        _fail(
            _SW_SIGNATURE,
            "mismatch",
            "Standard Webhooks: webhook-signature does not match the body (mismatch): "
            "check the signing secret",
        )
    return AuthResult(
        scheme="standard_webhooks", client=owner.name, reach=owner.reach, webhook_id=webhook_id, signed=True
    )


def standard_webhooks_signature(key: bytes, msg_id: str, timestamp: int, raw_body: bytes) -> bytes:
    """The v1 signature (raw HMAC bytes) of one message, as the spec's reference implementation signs it.

    `standardwebhooks.Webhook.sign` is used rather than its `verify`: `verify` reads the clock itself (no
    injected time, so published vectors cannot be checked), returns at the first match (we compare every
    entry with every secret of every client), and raises ValueError / binascii.Error on a malformed
    `webhook-signature` entry (a 500 instead of a 401). Our own checks above cover the headers and the
    5-minute tolerance. The reference signs text: a body that is not UTF-8 (which we park as unparseable
    rather than lose) is signed over its bytes, which is the spec's definition and gives the same bytes
    for UTF-8 text (tests/unit/test_auth.py holds the two together).
    """
    try:
        text = raw_body.decode("utf-8")
    except UnicodeDecodeError:
        return hmac.new(key, f"{msg_id}.{timestamp}.".encode() + raw_body, hashlib.sha256).digest()
    signed = Webhook(key).sign(msg_id=msg_id, timestamp=datetime.fromtimestamp(timestamp, UTC), data=text)
    return base64.b64decode(signed.partition(",")[2])


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


# ---- x-api-key -------------------------------------------------------------------------------


def _api_key(header: str, clients: tuple[Client, ...]) -> AuthResult:
    provided = (header or "").strip().encode()
    if not provided:
        _fail("x-api-key", "missing", "the x-api-key header is empty (missing)")
    owner = _owner([provided], [(client, key.encode()) for client in clients for key in client.api_keys])
    if owner is None:
        _fail("x-api-key", "mismatch", "x-api-key is not a valid key (mismatch)")
    return AuthResult(scheme="api_key", client=owner.name, reach=owner.reach)


# ---- helpers ---------------------------------------------------------------------------------


def _fail(field: str, reason: str, message: str) -> NoReturn:
    raise AuthenticationError(message, details=[{"field": field, "reason": reason}])


def _owner(provided: Iterable[bytes], expected: list[tuple[Client, bytes]]) -> Client | None:
    """The client one of whose values equals a provided value. Every provided value is compared with every
    configured value of every client, whichever matches (no early exit); credentials shared by two clients
    were removed when the secret was read, so at most one client can match."""
    owner: Client | None = None
    for value in provided:
        for client, candidate in expected:
            if hmac.compare_digest(value, candidate):
                owner = client
    return owner


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
