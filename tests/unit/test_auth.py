"""Inbound authentication (DESIGN §4): Typeform, Standard Webhooks and x-api-key."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import subprocess
import sys
from pathlib import Path

import pytest
from leadhooks.errors import AuthenticationError
from leadhooks.inbound.auth import AuthResult, InboundSecrets, authenticate, standard_webhooks_signature
from leadhooks.inbound.clients import EVERYTHING, one_client

BODY = b'{"event_id":"01HZX","form_response":{"answers":[]}}'
NOW = 1_750_000_000.0

API_KEY = "local-api-key"
API_KEY_2 = "rotated-api-key-2"
TYPEFORM_SECRET = "local-typeform-secret"
TYPEFORM_SECRET_2 = "rotated-typeform-secret"
WHSEC = "whsec_bG9jYWwtd2ViaG9vay1zZWNyZXQtMDEyMzQ1Njc4OWFi"  # docs/local-fixtures.md
WHSEC_2 = "whsec_" + base64.b64encode(b"second-webhook-secret-for-rotation").decode()

SECRETS = one_client(
    "test", api_keys=(API_KEY,), typeform_secrets=(TYPEFORM_SECRET,), webhook_secrets=(WHSEC,)
)


def typeform_signature(secret: str, body: bytes = BODY) -> str:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    return "sha256=" + base64.b64encode(digest).decode()


def sw_signature(secret: str, msg_id: str, timestamp: int | str, body: bytes = BODY) -> str:
    key = base64.b64decode(secret.removeprefix("whsec_"))
    digest = hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def sw_headers(secret: str = WHSEC, *, msg_id: str = "msg_2Kx9", ts: int | str = int(NOW)) -> dict[str, str]:
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(ts),
        "webhook-signature": sw_signature(secret, msg_id, ts),
    }


def reject(
    headers: dict[str, str], secrets: InboundSecrets = SECRETS, body: bytes = BODY
) -> AuthenticationError:
    with pytest.raises(AuthenticationError) as info:
        authenticate(headers, body, secrets, now=NOW)
    err = info.value
    assert err.status == 401
    return err


def assert_no_secret(err: AuthenticationError, *values: str) -> None:
    text = f"{err.message} {err.details}"
    for value in (API_KEY, API_KEY_2, TYPEFORM_SECRET, WHSEC, WHSEC.removeprefix("whsec_"), *values):
        assert value not in text


# ---- secrets shape: tests/unit/test_clients_scope.py -----------------------------------------


# ---- no credentials --------------------------------------------------------------------------


def test_no_credentials():
    err = reject({"content-type": "application/json"})
    assert (
        err.message == "missing credentials: send x-api-key, Typeform-Signature or Standard Webhooks headers"
    )


# ---- x-api-key -------------------------------------------------------------------------------


def test_api_key_valid():
    result = authenticate({"x-api-key": API_KEY}, BODY, SECRETS, now=NOW)
    assert result == AuthResult(
        scheme="api_key", client="test", reach=EVERYTHING, webhook_id=None, signed=False
    )


@pytest.mark.parametrize("name", ["X-Api-Key", "X-API-KEY", "x-api-key"])
def test_api_key_header_is_case_insensitive(name):
    assert authenticate({name: API_KEY}, BODY, SECRETS).scheme == "api_key"


def test_api_key_wrong():
    err = reject({"x-api-key": "guessed-key"})
    assert "x-api-key" in err.message and "mismatch" in err.message
    assert_no_secret(err, "guessed-key")


def test_api_key_empty():
    err = reject({"x-api-key": "  "})
    assert "missing" in err.message


def test_api_key_rotation():
    rotated = one_client(api_keys=(API_KEY, API_KEY_2))
    assert authenticate({"x-api-key": API_KEY_2}, BODY, rotated).scheme == "api_key"
    assert authenticate({"x-api-key": API_KEY}, BODY, rotated).scheme == "api_key"
    removed = one_client(api_keys=(API_KEY_2,))
    reject({"x-api-key": API_KEY}, removed)


def test_api_key_with_no_keys_configured():
    reject({"x-api-key": API_KEY}, InboundSecrets())


def test_api_key_non_ascii_does_not_crash():
    err = reject({"x-api-key": "nyckel-åäö"})
    assert "mismatch" in err.message


# ---- Typeform --------------------------------------------------------------------------------


def test_typeform_valid():
    result = authenticate({"Typeform-Signature": typeform_signature(TYPEFORM_SECRET)}, BODY, SECRETS)
    assert result == AuthResult(
        scheme="typeform", client="test", reach=EVERYTHING, webhook_id=None, signed=True
    )


@pytest.mark.parametrize("name", ["typeform-signature", "TYPEFORM-SIGNATURE", "TypeForm-Signature"])
def test_typeform_header_is_case_insensitive(name):
    assert authenticate({name: typeform_signature(TYPEFORM_SECRET)}, BODY, SECRETS).signed


def test_typeform_wrong_secret():
    signature = typeform_signature("some-other-secret")
    err = reject({"Typeform-Signature": signature})
    assert "Typeform-Signature" in err.message and "mismatch" in err.message
    assert err.details == [{"field": "Typeform-Signature", "reason": "mismatch"}]
    assert_no_secret(err, signature, signature.removeprefix("sha256="))


def test_typeform_signature_is_over_the_raw_bytes():
    signature = typeform_signature(TYPEFORM_SECRET)
    reject({"Typeform-Signature": signature}, body=BODY + b" ")
    reject({"Typeform-Signature": signature}, body=BODY.replace(b":", b": "))


@pytest.mark.parametrize(
    "value",
    ["", "sha1=abc", "abc", "sha256=", "sha256=not base64!", "sha256=" + base64.b64encode(b"short").decode()],
)
def test_typeform_malformed(value):
    err = reject({"Typeform-Signature": value})
    assert "Typeform-Signature" in err.message
    assert err.details[0]["reason"] in ("malformed", "missing")


def test_typeform_rotation():
    rotated = one_client(typeform_secrets=(TYPEFORM_SECRET, TYPEFORM_SECRET_2))
    assert authenticate({"Typeform-Signature": typeform_signature(TYPEFORM_SECRET_2)}, BODY, rotated).signed
    assert authenticate({"Typeform-Signature": typeform_signature(TYPEFORM_SECRET)}, BODY, rotated).signed
    removed = one_client(typeform_secrets=(TYPEFORM_SECRET_2,))
    reject({"Typeform-Signature": typeform_signature(TYPEFORM_SECRET)}, removed)


def test_typeform_takes_precedence_over_an_api_key():
    headers = {"Typeform-Signature": typeform_signature("wrong"), "x-api-key": API_KEY}
    err = reject(headers)
    assert "Typeform" in err.message


def test_typeform_without_configured_secret():
    err = reject({"Typeform-Signature": typeform_signature(TYPEFORM_SECRET)}, one_client(api_keys=(API_KEY,)))
    assert "mismatch" in err.message


# ---- Standard Webhooks -----------------------------------------------------------------------


def test_standard_webhooks_valid():
    result = authenticate(sw_headers(), BODY, SECRETS, now=NOW)
    assert result == AuthResult(
        scheme="standard_webhooks", client="test", reach=EVERYTHING, webhook_id="msg_2Kx9", signed=True
    )


def test_standard_webhooks_headers_case_insensitive():
    headers = {k.upper(): v for k, v in sw_headers().items()}
    assert authenticate(headers, BODY, SECRETS, now=NOW).webhook_id == "msg_2Kx9"
    headers = {"Webhook-Id": "msg_2Kx9", "Webhook-Timestamp": str(int(NOW))}
    headers["Webhook-Signature"] = sw_signature(WHSEC, "msg_2Kx9", int(NOW))
    assert authenticate(headers, BODY, SECRETS, now=NOW).scheme == "standard_webhooks"


def test_standard_webhooks_wrong_secret():
    headers = sw_headers(WHSEC_2)
    err = reject(headers)
    assert "webhook-signature" in err.message and "mismatch" in err.message
    assert_no_secret(err, headers["webhook-signature"], headers["webhook-signature"][3:], WHSEC_2)


def test_standard_webhooks_signs_id_and_timestamp_too():
    headers = sw_headers()
    headers["webhook-id"] = "msg_other"
    assert "mismatch" in reject(headers).message
    headers = sw_headers()
    headers["webhook-timestamp"] = str(int(NOW) + 1)
    assert "mismatch" in reject(headers).message


def test_standard_webhooks_tampered_body():
    err = reject(sw_headers(), body=BODY + b"\n")
    assert "mismatch" in err.message


@pytest.mark.parametrize("missing", ["webhook-id", "webhook-timestamp"])
def test_standard_webhooks_missing_header(missing):
    headers = sw_headers()
    del headers[missing]
    err = reject(headers)
    assert missing in err.message and "missing" in err.message
    assert err.details == [{"field": missing, "reason": "missing"}]


@pytest.mark.parametrize("ts", ["yesterday", "1.5e9", "-5", ""])
def test_standard_webhooks_malformed_timestamp(ts):
    headers = sw_headers()
    headers["webhook-timestamp"] = ts
    err = reject(headers)
    assert "webhook-timestamp" in err.message
    assert err.details[0]["reason"] in ("malformed", "missing")


def test_standard_webhooks_expired():
    stale = int(NOW) - 5 * 60 - 1
    err = reject(sw_headers(ts=stale))
    assert "expired" in err.message
    assert err.details == [{"field": "webhook-timestamp", "reason": "expired"}]


def test_standard_webhooks_future():
    ahead = int(NOW) + 5 * 60 + 1
    err = reject(sw_headers(ts=ahead))
    assert "timestamp in the future" in err.message
    assert err.details == [{"field": "webhook-timestamp", "reason": "future"}]


@pytest.mark.parametrize("offset", [-300, -299, 0, 299, 300])
def test_standard_webhooks_within_tolerance(offset):
    ts = int(NOW) + offset
    assert authenticate(sw_headers(ts=ts), BODY, SECRETS, now=NOW).signed


def test_standard_webhooks_uses_the_clock_when_now_is_not_given():
    import time

    ts = int(time.time())
    assert authenticate(sw_headers(ts=ts), BODY, SECRETS).signed
    reject_headers = sw_headers(ts=ts - 3600)
    with pytest.raises(AuthenticationError, match="expired"):
        authenticate(reject_headers, BODY, SECRETS)


@pytest.mark.parametrize("value", ["", "v1", "v1,", "v1,not-base64!", "v2,abc", "garbage"])
def test_standard_webhooks_malformed_signature(value):
    headers = sw_headers()
    headers["webhook-signature"] = value
    err = reject(headers)
    assert "webhook-signature" in err.message and "malformed" in err.message


def test_standard_webhooks_several_signatures_any_one_passes():
    good = sw_signature(WHSEC, "msg_2Kx9", int(NOW))
    stale = sw_signature(WHSEC_2, "msg_2Kx9", int(NOW))
    headers = sw_headers()
    headers["webhook-signature"] = f"v1,{base64.b64encode(b'x' * 32).decode()} {stale} {good}"
    assert authenticate(headers, BODY, SECRETS, now=NOW).signed
    headers["webhook-signature"] = f"v1a,c29tZXRoaW5n {good}"  # other versions are ignored
    assert authenticate(headers, BODY, SECRETS, now=NOW).signed


def test_standard_webhooks_rotation():
    rotated = one_client(webhook_secrets=(WHSEC, WHSEC_2))
    assert authenticate(sw_headers(WHSEC_2), BODY, rotated, now=NOW).signed
    assert authenticate(sw_headers(WHSEC), BODY, rotated, now=NOW).signed
    removed = one_client(webhook_secrets=(WHSEC_2,))
    reject(sw_headers(WHSEC), removed)


def test_standard_webhooks_sender_rotating_sends_both_signatures():
    headers = sw_headers(WHSEC_2)
    headers["webhook-signature"] += " " + sw_signature(WHSEC, "msg_2Kx9", int(NOW))
    assert authenticate(headers, BODY, one_client(webhook_secrets=(WHSEC,)), now=NOW).signed


def test_standard_webhooks_precedes_an_api_key():
    headers = sw_headers(WHSEC_2)
    headers["x-api-key"] = API_KEY
    assert "webhook-signature" in reject(headers).message


def test_messages_never_echo_what_was_sent():
    cases = [
        {"x-api-key": "sk_live_supersecretvalue"},
        {"Typeform-Signature": typeform_signature("sk_live_supersecretvalue")},
        sw_headers(WHSEC_2),
    ]
    for headers in cases:
        err = reject(headers)
        for value in headers.values():
            assert value not in err.message
            assert value not in str(err.details)
        assert "sk_live_supersecretvalue" not in err.message


def test_auth_module_imports_cheaply():
    code = (
        "import sys, leadhooks.inbound.auth; "
        "heavy = [m for m in ('pydantic', 'phonenumbers', 'stdnum', 'boto3', 'requests') "
        "if m in sys.modules]; "
        "print(','.join(heavy))"
    )
    shared = str(Path(__file__).resolve().parents[2] / "shared")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [shared, os.environ.get("PYTHONPATH")]))}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    assert out.stdout.strip() == ""


# ---- published vectors -----------------------------------------------------------------------

# The Standard Webhooks spec's own test vector (standard-webhooks/standard-webhooks,
# libraries/python/tests/test_webhooks.py `test_sign_function`).
SPEC_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SPEC_MSG_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
SPEC_TIMESTAMP = 1614265330
SPEC_PAYLOAD = b'{"test": 2432232314}'
SPEC_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_standard_webhooks_spec_vector_is_accepted():
    secrets = one_client("spec", webhook_secrets=(SPEC_SECRET,))
    headers = {
        "webhook-id": SPEC_MSG_ID,
        "webhook-timestamp": str(SPEC_TIMESTAMP),
        "webhook-signature": SPEC_SIGNATURE,
    }
    result = authenticate(headers, SPEC_PAYLOAD, secrets, now=SPEC_TIMESTAMP + 10)
    assert (result.client, result.webhook_id, result.signed) == ("spec", SPEC_MSG_ID, True)
    # One bit off in the body, the id or the timestamp: refused.
    reject(headers, secrets, SPEC_PAYLOAD.replace(b"2", b"3"))
    with pytest.raises(AuthenticationError):
        authenticate({**headers, "webhook-id": "msg_other"}, SPEC_PAYLOAD, secrets, now=SPEC_TIMESTAMP)
    with pytest.raises(AuthenticationError):
        ts = str(SPEC_TIMESTAMP + 1)
        authenticate({**headers, "webhook-timestamp": ts}, SPEC_PAYLOAD, secrets, now=SPEC_TIMESTAMP)
    # The spec's multi-signature example: unknown versions and wrong v1 entries beside the valid one.
    several = " ".join(
        [
            "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=",
            "v2,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=",
            SPEC_SIGNATURE,
        ]
    )
    assert authenticate({**headers, "webhook-signature": several}, SPEC_PAYLOAD, secrets, now=SPEC_TIMESTAMP)


def test_standard_webhooks_signature_is_the_reference_implementations():
    """For UTF-8 bodies the signature comes from `standardwebhooks`; the byte-level path for a body that is
    not UTF-8 is the same construction (checked here on UTF-8 bodies, where both apply)."""
    key = base64.b64decode(SPEC_SECRET.removeprefix("whsec_"))
    for body in (SPEC_PAYLOAD, '{"namn": "Åsa Öberg"}'.encode(), b"\xef\xbb\xbf{}"):
        ours = standard_webhooks_signature(key, SPEC_MSG_ID, SPEC_TIMESTAMP, body)
        by_hand = hmac.new(key, f"{SPEC_MSG_ID}.{SPEC_TIMESTAMP}.".encode() + body, hashlib.sha256).digest()
        assert ours == by_hand
    ours = standard_webhooks_signature(key, SPEC_MSG_ID, SPEC_TIMESTAMP, SPEC_PAYLOAD)
    assert "v1," + base64.b64encode(ours).decode() == SPEC_SIGNATURE


def test_standard_webhooks_body_that_is_not_utf8_is_still_verified():
    """Such a body is parked as unparseable (never lost), so its signature must still be checkable."""
    body = b'{"message": "\xff"}'
    headers = {"webhook-id": "msg_1", "webhook-timestamp": str(int(NOW))}
    headers["webhook-signature"] = sw_signature(WHSEC, "msg_1", int(NOW), body)
    assert authenticate(headers, body, SECRETS, now=NOW).signed


# Typeform's documented check ("Secure your webhooks" in Typeform's developer docs): `sha256=` +
# base64(HMAC-SHA256(secret, whole raw payload)). The docs publish the construction, not a vector; this one
# was computed outside Python (`openssl dgst -sha256 -hmac abc123 -binary | base64`) and is pinned here.
TYPEFORM_DOC_SECRET = "abc123"
TYPEFORM_DOC_BODY = (
    b'{"event_id":"LtWXD3crgy","event_type":"form_response","form_response":{"form_id":"lT4Z3j"}}'
)
TYPEFORM_DOC_SIGNATURE = "sha256=o17c/OlPvun82Du/d0c0unyuC4MnTgCT28J8p7euFS0="


def test_typeform_documented_construction_is_accepted():
    secrets = one_client("tf", typeform_secrets=(TYPEFORM_DOC_SECRET,))
    result = authenticate({"Typeform-Signature": TYPEFORM_DOC_SIGNATURE}, TYPEFORM_DOC_BODY, secrets)
    assert (result.client, result.scheme, result.signed) == ("tf", "typeform", True)
    hex_form = (
        "sha256=" + hmac.new(TYPEFORM_DOC_SECRET.encode(), TYPEFORM_DOC_BODY, hashlib.sha256).hexdigest()
    )
    with pytest.raises(AuthenticationError):  # hex is not what Typeform sends
        authenticate({"Typeform-Signature": hex_form}, TYPEFORM_DOC_BODY, secrets)
    with pytest.raises(AuthenticationError):
        authenticate({"Typeform-Signature": TYPEFORM_DOC_SIGNATURE}, TYPEFORM_DOC_BODY + b" ", secrets)
