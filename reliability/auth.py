"""Authentication scenario (issue #6, item 4): bad credentials of every kind on every route are refused.

For the four POST routes and `GET /vitec/contacts`, and for each of the three schemes (x-api-key,
Typeform-Signature, Standard Webhooks), it sends:

- a **control** per scheme (valid credentials): it must be accepted, else the check itself is broken;
- **wrong**, **missing**, **malformed** credentials, and signed requests that were **tampered** with
  (body, webhook-id), plus **downgrade** attempts (a valid x-api-key next to a bad signature: the
  signature header decides, DESIGN §4);
- Standard Webhooks timestamps more than 5 minutes **stale** or in the **future** (correctly signed;
  Typeform signatures and API keys carry no time, so these apply to Standard Webhooks only);
- **replays** of a captured valid Standard Webhooks request: identical within the tolerance window
  (answered idempotently, no second vendor write: "no effect"), with a different body within the window
  (signature mismatch), and identical after its timestamp has left the window (expired);
- **rotated-out** secrets: the inbound secret is rotated in the emulator's Secrets Manager (old values
  first kept beside the new ones, then removed), the product's secret cache is cleared in-process,
  the new values must be accepted and the old ones refused; the original secret is restored after.

Invariants: every bad request is answered 401; the 401 body names the scheme that failed and a reason,
and never contains the key, secret or signature that was sent (nor any configured one); nothing from a
bad request reaches the vendor (`/_sandbox/records`, matched by a unique marker in each body) or the
failure / parked queues; every control is delivered exactly once.

Signatures cover the body only (DESIGN §4), and a GET has none: a Typeform-Signature on
`GET /vitec/contacts` would be the same for every request, and a captured Standard Webhooks GET could
be re-sent within its 5 minutes with another query string. So the read route accepts x-api-key only,
and validly signed GETs are among the requests that must be refused.

The API must run in this process (as `local.stack.running_stack` does) for the in-process cache clear;
against an API in another process, give it `SECRETS_MAX_AGE_S=0` instead (the rotation is then seen
on the next request; the check waits up to `ROTATION_WAIT_S` for it).
"""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json
import secrets as random_secrets
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import requests

from local import config
from local.make_events import typeform_body
from local.stack import RunningStack
from reliability.common import Row

SCENARIO = "authentication"
EVENTS = Path(__file__).resolve().parent.parent / "events"
API_TIMEOUT_S = (3.0, 30.0)
# DESIGN §4: Standard Webhooks timestamps more than this far from now are refused.
TOLERANCE_S = 300
# The captured request is signed this many seconds in the past: still valid when captured and
# re-sent, expired a few seconds later (the re-send after the window).
CAPTURE_AGE_S = TOLERANCE_S - 10
ROTATION_WAIT_S = 10.0

Scheme = Literal["api_key", "typeform", "standard_webhooks"]
SCHEMES: tuple[Scheme, ...] = ("api_key", "typeform", "standard_webhooks")
# What a 401 message must mention for each scheme ("says which scheme failed").
SCHEME_LABEL: dict[Scheme | None, str] = {
    "api_key": "x-api-key",
    "typeform": "Typeform-Signature",
    "standard_webhooks": "Standard Webhooks",
    None: "missing credentials",
}
Expect = Literal["accept", "reject", "no_effect", "forbidden"]


@dataclass(frozen=True)
class Route:
    operation: str
    method: str
    path: str
    free_text: tuple[str, ...] = ()  # where the marker goes in the native body (a write)

    @property
    def is_write(self) -> bool:
        return self.method == "POST"


ROUTES: tuple[Route, ...] = (
    Route("vitec_person_lead", "POST", "/vitec/person-leads", ("message",)),
    Route("vitec_area_interest", "POST", "/vitec/area-interests", ("updatePerson", "note")),
    Route("vitec_viewing_participant", "POST", "/vitec/viewing-participants", ("contactMessage",)),
    Route("omnicasa_contact_on_me", "POST", "/omnicasa/contact-on-me", ("Content",)),
    Route("vitec_get_contacts", "GET", "/vitec/contacts"),
)
CONTACTS_QUERY = {"customerId": "M10001", "ids": "c-m10001-001,c-m10001-002,c-m10001-003"}


@dataclass(frozen=True)
class Credentials:
    """One inbound secret value set (`INBOUND_SECRET_ID`)."""

    api_key: str
    typeform_secret: str
    webhook_secret: str

    def as_secret(self) -> dict[str, list[str]]:
        return {
            "apiKeys": [self.api_key],
            "typeformSecrets": [self.typeform_secret],
            "webhookSecrets": [self.webhook_secret],
        }

    def client(self, **reach: list[str]) -> dict[str, list[str]]:
        """This set as one client of the inbound secret (DESIGN §4), reaching `reach`."""
        return {**self.as_secret(), **reach}

    def values(self) -> tuple[str, ...]:
        return (
            self.api_key,
            self.typeform_secret,
            self.webhook_secret,
            self.webhook_secret.removeprefix("whsec_"),
        )


LOCAL = Credentials(config.API_KEY, config.TYPEFORM_SECRET, config.WEBHOOK_SECRET)
EVERY_CUSTOMER = {"vitecCustomers": ["*"], "omnicasaCustomers": ["*"]}


def local_only(lists: dict[str, list[str]]) -> dict[str, Any]:
    """The inbound secret with one client, `local`, holding these credential lists and reaching everything."""
    return {"clients": {config.LOCAL_CLIENT: {**lists, **EVERY_CUSTOMER}}}


# Cross-client attempts (issue 11): two more clients whose credentials are valid but reach neither the
# customers nor the operations the probes aim at. Every such request must be answered 403, reach no vendor,
# and (from a signed sender) be parked `forbidden`.
# - `reader` may use the contacts route only, for customer M10002: writes are outside its operations.
# - `neighbour` may use every operation, for customer M10002 and an Omnicasa customer nobody sends to:
#   the probes' customers (M10001, the sample's Omnicasa customer) are outside its customers.
READER_REACH = {"vitecCustomers": ["M10002"], "operations": ["contacts"]}
NEIGHBOUR_REACH = {"vitecCustomers": ["M10002"], "omnicasaCustomers": ["999999"]}


def rotated_credentials() -> Credentials:
    return Credentials(
        api_key=f"rotated-{random_secrets.token_urlsafe(24)}",
        typeform_secret=f"rotated-tf-{random_secrets.token_urlsafe(24)}",
        webhook_secret="whsec_" + base64.b64encode(random_secrets.token_bytes(24)).decode(),
    )


@dataclass
class Probe:
    """One request and what must come of it."""

    label: str
    route: Route
    body: bytes
    headers: dict[str, str]
    expect: Expect
    scheme: Scheme | None = None
    reasons: frozenset[str] = frozenset()  # accepted `errors[].reason` values for a 401
    marker: str | None = None  # unique text in a write's body, found in the vendor's records
    query: dict[str, str] = field(default_factory=dict)
    # Set after sending.
    status: int | None = None
    answer: Any = None
    text: str = ""
    answer_headers: dict[str, str] = field(default_factory=dict)


# ---- request builders ----------------------------------------------------------------------------


def _native(route: Route) -> dict[str, Any]:
    event = json.loads((EVENTS / route.operation / "native.json").read_text(encoding="utf-8"))
    return dict(json.loads(event["body"]))


def _with_marker(route: Route, marker: str) -> dict[str, Any]:
    body = _native(route)
    target = body
    for key in route.free_text[:-1]:
        target = target[key]
    target[route.free_text[-1]] = f"{target.get(route.free_text[-1], '')} [{marker}]".strip()
    return body


def _json(data: Any) -> bytes:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()


def typeform_signature(raw: bytes, secret: str) -> str:
    return "sha256=" + base64.b64encode(hmac.new(secret.encode(), raw, hashlib.sha256).digest()).decode()


def webhook_signature(raw: bytes, msg_id: str, timestamp: str | int, secret: str) -> str:
    key = base64.b64decode(secret.removeprefix("whsec_"))
    digest = hmac.new(key, f"{msg_id}.{timestamp}.".encode() + raw, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


class Builder:
    """Makes each probe's body unique (a marker in the free text) so the vendor's records tell them apart."""

    def __init__(self, run_id: str) -> None:
        self.run_id = run_id
        self.count = 0

    def marker(self) -> str:
        self.count += 1
        return f"authprobe-{self.run_id}-{self.count:04d}"

    def body(self, route: Route, scheme: Scheme) -> tuple[bytes, str | None]:
        """A valid body for the route in the scheme's usual format (Typeform senders send Typeform)."""
        if not route.is_write:
            return b"", None
        marker = self.marker()
        native = _with_marker(route, marker)
        if scheme == "typeform":
            payload = typeform_body(route.operation, native)
            payload["event_id"] = f"tf-{marker}"
            payload["form_response"]["token"] = f"tf-{marker}"
            return _json(payload), marker
        return _json(native), marker

    def probe(
        self,
        label: str,
        route: Route,
        scheme: Scheme | None,
        expect: Expect,
        headers: Callable[[bytes], dict[str, str]],
        *,
        body_scheme: Scheme = "api_key",
        reasons: tuple[str, ...] = (),
        body: tuple[bytes, str | None] | None = None,
    ) -> Probe:
        raw, marker = body if body is not None else self.body(route, body_scheme)
        base = {"Content-Type": "application/json"} if route.is_write else {}
        return Probe(
            label=f"{route.path} {label}",
            route=route,
            body=raw,
            headers={**base, **headers(raw)},
            expect=expect,
            scheme=scheme,
            reasons=frozenset(reasons),
            marker=marker,
            query=dict(CONTACTS_QUERY) if not route.is_write else {},
        )


def _sw_headers(
    raw: bytes, secret: str, *, msg_id: str | None = None, ts: int | None = None
) -> dict[str, str]:
    msg_id = msg_id or f"msg_{uuid.uuid4().hex}"
    timestamp = int(time.time()) if ts is None else ts
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": webhook_signature(raw, msg_id, timestamp, secret),
    }


def valid_headers(scheme: Scheme, creds: Credentials) -> Callable[[bytes], dict[str, str]]:
    if scheme == "api_key":
        return lambda raw: {"x-api-key": creds.api_key}
    if scheme == "typeform":
        return lambda raw: {"Typeform-Signature": typeform_signature(raw, creds.typeform_secret)}
    return lambda raw: _sw_headers(raw, creds.webhook_secret)


def control(b: Builder, route: Route, scheme: Scheme, creds: Credentials, label: str = "control") -> Probe:
    if not route.is_write and scheme != "api_key":
        # A signature covers the body and a GET has none: the read route takes an API key only, so a
        # validly signed GET must be refused (it could be replayed with any query string).
        return b.probe(
            f"{scheme} {label} (signed GET)",
            route,
            scheme,
            "reject",
            valid_headers(scheme, creds),
            body_scheme=scheme,
            reasons=("unsupported",),
        )
    return b.probe(
        f"{scheme} {label}", route, scheme, "accept", valid_headers(scheme, creds), body_scheme=scheme
    )


def bad_cases(b: Builder, route: Route, creds: Credentials, quick: bool) -> list[Probe]:
    """Every kind of bad credential for one route (valid ones are `control`)."""
    other_whsec = "whsec_" + base64.b64encode(b"a-webhook-secret-nobody-configured").decode()
    probes: list[Probe] = [
        b.probe("no credentials at all", route, None, "reject", lambda raw: {}, reasons=("missing",)),
        # Credentials where the product does not look for them are no credentials.
        b.probe(
            "x-api-key as Authorization: Bearer",
            route,
            None,
            "reject",
            lambda raw: {"Authorization": f"Bearer {creds.api_key}"},
            reasons=("missing",),
        ),
    ]

    def api(label: str, key: str, reasons: tuple[str, ...]) -> Probe:
        return b.probe(
            f"api_key {label}", route, "api_key", "reject", lambda raw: {"x-api-key": key}, reasons=reasons
        )

    probes += [
        api("wrong key", f"wrong-{random_secrets.token_urlsafe(18)}", ("mismatch",)),
        api("empty header (missing)", "", ("missing",)),
        api("truncated key (prefix)", creds.api_key[:-1], ("mismatch",)),
        api("key with a suffix", creds.api_key + "x", ("mismatch",)),
        api("key in another case", creds.api_key.upper(), ("mismatch",)),
        api("the Typeform secret as a key", creds.typeform_secret, ("mismatch",)),
    ]
    if not quick:
        probes += [
            api("key twice, comma-joined (malformed)", f"{creds.api_key},{creds.api_key}", ("mismatch",)),
            # requests sends header values as Latin-1: this puts the UTF-8 bytes of "é" on the wire.
            api("non-ASCII key (malformed)", creds.api_key + "é".encode().decode("latin-1"), ("mismatch",)),
        ]

    def tf(label: str, make: Callable[[bytes], str], reasons: tuple[str, ...], **kw: Any) -> Probe:
        return b.probe(
            f"typeform {label}",
            route,
            "typeform",
            "reject",
            lambda raw: {"Typeform-Signature": make(raw)},
            body_scheme="typeform",
            reasons=reasons,
            **kw,
        )

    def tf_digest(raw: bytes) -> bytes:
        return hmac.new(creds.typeform_secret.encode(), raw, hashlib.sha256).digest()

    probes += [
        tf("wrong secret", lambda raw: typeform_signature(raw, "not-the-typeform-secret"), ("mismatch",)),
        tf("empty header (missing)", lambda raw: "", ("missing",)),
        tf(
            "no 'sha256=' prefix (malformed)",
            lambda raw: base64.b64encode(tf_digest(raw)).decode(),
            ("malformed",),
        ),
        tf(
            "sha1= (malformed)",
            lambda raw: "sha1=" + base64.b64encode(tf_digest(raw)).decode(),
            ("malformed",),
        ),
        tf("not base64 (malformed)", lambda raw: "sha256=%%%not*base64%%%", ("malformed",)),
        tf("hex instead of base64 (malformed)", lambda raw: "sha256=" + tf_digest(raw).hex(), ("malformed",)),
        tf(
            "truncated (malformed)",
            lambda raw: typeform_signature(raw, creds.typeform_secret)[:-6],
            ("malformed",),
        ),
        tf(
            "signature of another body",
            lambda raw: typeform_signature(raw + b" ", creds.typeform_secret),
            ("mismatch",),
        ),
        b.probe(
            "typeform bad signature beside a valid x-api-key (downgrade)",
            route,
            "typeform",
            "reject",
            lambda raw: {
                "x-api-key": creds.api_key,
                "Typeform-Signature": typeform_signature(raw, "not-the-typeform-secret"),
            },
            body_scheme="typeform",
            reasons=("mismatch",),
        ),
    ]

    def sw(label: str, make: Callable[[bytes], dict[str, str]], reasons: tuple[str, ...]) -> Probe:
        return b.probe(
            f"standard_webhooks {label}",
            route,
            "standard_webhooks",
            "reject",
            make,
            body_scheme="standard_webhooks",
            reasons=reasons,
        )

    def sw_valid(raw: bytes, **kw: Any) -> dict[str, str]:
        return _sw_headers(raw, creds.webhook_secret, **kw)

    def without(name: str) -> Callable[[bytes], dict[str, str]]:
        return lambda raw: {k: v for k, v in sw_valid(raw).items() if k != name}

    def replace(name: str, value: str) -> Callable[[bytes], dict[str, str]]:
        return lambda raw: {**sw_valid(raw), name: value}

    def signed_with_other_id(raw: bytes) -> dict[str, str]:
        headers = sw_valid(raw)
        headers["webhook-id"] = f"msg_{uuid.uuid4().hex}"
        return headers

    def ts_ms(raw: bytes) -> dict[str, str]:
        ts = int(time.time() * 1000)
        return {**sw_valid(raw, ts=ts), "webhook-timestamp": str(ts)}

    now = int(time.time())
    probes += [
        sw("wrong secret", lambda raw: _sw_headers(raw, other_whsec), ("mismatch",)),
        sw("webhook-id missing", without("webhook-id"), ("missing",)),
        sw("webhook-timestamp missing", without("webhook-timestamp"), ("missing",)),
        sw("webhook-signature empty", replace("webhook-signature", ""), ("missing", "malformed")),
        sw("timestamp not a number (malformed)", replace("webhook-timestamp", "yesterday"), ("malformed",)),
        sw("timestamp in milliseconds (malformed)", ts_ms, ("malformed",)),
        sw(
            "signature not base64 (malformed)",
            replace("webhook-signature", "v1,%%%not*base64%%%"),
            ("malformed",),
        ),
        sw(
            "signature without 'v1,' (malformed)",
            lambda raw: {**sw_valid(raw), "webhook-signature": sw_valid(raw)["webhook-signature"][3:]},
            ("malformed",),
        ),
        sw(
            "only an unknown version 'v2,' (malformed)",
            lambda raw: {
                **sw_valid(raw),
                "webhook-signature": "v2," + sw_valid(raw)["webhook-signature"][3:],
            },
            ("malformed",),
        ),
        sw("stale: signed 10 minutes ago", lambda raw: sw_valid(raw, ts=now - 600), ("expired",)),
        sw(
            "stale: just outside the window",
            lambda raw: sw_valid(raw, ts=int(time.time()) - TOLERANCE_S - 5),
            ("expired",),
        ),
        sw("future: 10 minutes ahead", lambda raw: sw_valid(raw, ts=now + 600), ("future",)),
        sw(
            "future: just outside the window",
            lambda raw: sw_valid(raw, ts=int(time.time()) + TOLERANCE_S + 5),
            ("future",),
        ),
        sw("signed for another webhook-id", signed_with_other_id, ("mismatch",)),
        sw(
            "signature of another body",
            lambda raw: {**sw_valid(raw + b" ")},
            ("mismatch",),
        ),
        sw(
            "two signatures, both wrong",
            lambda raw: {
                **sw_valid(raw),
                "webhook-signature": " ".join(
                    webhook_signature(raw, "msg_x", now, s) for s in (other_whsec, creds.webhook_secret)
                ),
            },
            ("mismatch",),
        ),
        b.probe(
            "standard_webhooks bad signature beside a valid x-api-key (downgrade)",
            route,
            "standard_webhooks",
            "reject",
            lambda raw: {**_sw_headers(raw, other_whsec), "x-api-key": creds.api_key},
            body_scheme="standard_webhooks",
            reasons=("mismatch",),
        ),
    ]
    return probes


def rotated_out_cases(b: Builder, route: Route, old: Credentials) -> list[Probe]:
    """The old (rotated-out) credentials, validly formed: each must now be refused."""
    return [
        b.probe(
            f"{scheme} rotated-out secret",
            route,
            scheme,
            "reject",
            valid_headers(scheme, old),
            body_scheme=scheme,
            reasons=("mismatch",),
        )
        for scheme in SCHEMES
    ]


# ---- sending and judging ---------------------------------------------------------------------------


class Sender:
    def __init__(self, stack: RunningStack) -> None:
        self.stack = stack
        self.session = requests.Session()
        self.sent: list[Probe] = []

    def send(self, probe: Probe) -> Probe:
        response = self.session.request(
            probe.route.method,
            f"{self.stack.api}{probe.route.path}",
            params=probe.query or None,
            data=probe.body if probe.route.is_write else None,
            headers=probe.headers,
            timeout=API_TIMEOUT_S,
        )
        probe.status = response.status_code
        probe.text = response.text
        probe.answer_headers = dict(response.headers)
        try:
            probe.answer = response.json()
        except ValueError:
            probe.answer = None
        self.sent.append(probe)
        return probe

    def resend(self, probe: Probe, label: str, expect: Expect, **changes: Any) -> Probe:
        again = copy.copy(probe)
        again.label = f"{probe.label} -> {label}"
        again.expect = expect
        again.status, again.answer, again.text, again.answer_headers = None, None, "", {}
        for name, value in changes.items():
            setattr(again, name, value)
        return self.send(again)


def _sent_secrets(probe: Probe) -> list[str]:
    """What the request carried that must never come back: keys, signatures and their base64 parts."""
    found: list[str] = []
    for name, value in probe.headers.items():
        if name.lower() in ("x-api-key", "typeform-signature", "webhook-signature", "authorization"):
            found.append(value.strip())
            for part in value.replace("=", " ").replace(",", " ").split():
                found.append(part)
    return [v for v in found if len(v) >= 8 and v not in ("Bearer", "sha256")]


def judge(probe: Probe, forbidden: tuple[str, ...]) -> list[str]:
    """The broken invariants of one answered probe (empty when it behaved)."""
    where = f"{probe.label}: "
    if probe.expect == "accept":
        if probe.status != 200 or not isinstance(probe.answer, dict):
            return [f"{where}control not accepted (HTTP {probe.status}: {probe.text[:200]})"]
        if probe.route.is_write and probe.answer.get("status") != "delivered":
            return [f"{where}control answered {probe.answer.get('status')!r}, not delivered"]
        if not probe.route.is_write and "contacts" not in probe.answer:
            return [f"{where}control answered without contacts"]
        return []
    if probe.expect == "no_effect":
        if probe.status != 200 or not isinstance(probe.answer, dict):
            return [f"{where}identical replay not answered 200 (HTTP {probe.status}: {probe.text[:200]})"]
        return []
    if probe.expect == "forbidden":
        if probe.status != 403 or not isinstance(probe.answer, dict):
            return [f"{where}CROSS-CLIENT ACCESS: HTTP {probe.status} instead of 403 ({probe.text[:200]})"]
        found = [] if probe.answer.get("error") == "forbidden" else [f"{where}403 without error=forbidden"]
        answer_text = probe.text + json.dumps(probe.answer_headers)
        if any(value and value in answer_text for value in (*_sent_secrets(probe), *forbidden)):
            found.append(f"{where}403 answer contains a key, signature or secret")
        return found
    problems: list[str] = []
    if probe.status != 401:
        return [f"{where}ACCEPTED OR MISHANDLED: HTTP {probe.status} instead of 401 ({probe.text[:200]})"]
    body = probe.answer if isinstance(probe.answer, dict) else {}
    message = str(body.get("message", ""))
    errors = body.get("errors") or []
    label = SCHEME_LABEL[probe.scheme]
    if body.get("error") != "unauthorized":
        problems.append(f"{where}401 body has error={body.get('error')!r}, not 'unauthorized'")
    if label.lower() not in message.lower():
        problems.append(f"{where}401 message does not name the scheme ({label!r}): {message!r}")
    reasons = {str(e.get("reason")) for e in errors if isinstance(e, dict)}
    if probe.reasons and not reasons & probe.reasons:
        problems.append(f"{where}401 reason {sorted(reasons)} is not one of {sorted(probe.reasons)}")
    answer_text = probe.text + json.dumps(probe.answer_headers)
    for value in (*_sent_secrets(probe), *forbidden):
        if value and value in answer_text:
            problems.append(f"{where}401 answer contains a key, signature or secret (sent or configured)")
            break
    return problems


# ---- rotation -------------------------------------------------------------------------------------


def forget_cached_secrets() -> None:
    """Drop the product's cached secret values (the API runs in this process)."""
    from aws_lambda_powertools.utilities import parameters
    from leadhooks import secrets as product_secrets

    clear = getattr(product_secrets, "clear_cache", None)
    if callable(clear):
        clear()
    parameters.clear_caches()  # type: ignore[no-untyped-call]


def put_inbound_secret(stack: RunningStack, value: dict[str, Any]) -> None:
    stack.client("secretsmanager").put_secret_value(
        SecretId=config.INBOUND_SECRET_ID, SecretString=json.dumps(value)
    )
    forget_cached_secrets()


@contextmanager
def inbound_secret_restored(stack: RunningStack) -> Iterator[None]:
    try:
        yield
    finally:
        put_inbound_secret(stack, dict(config.SECRETS[config.INBOUND_SECRET_ID]))


def wait_until_accepted(sender: Sender, b: Builder, creds: Credentials) -> bool:
    """The rotation is live once a read with the new key is accepted (bounded wait)."""
    contacts = ROUTES[-1]
    deadline = time.monotonic() + ROTATION_WAIT_S
    while True:
        probe = sender.send(control(b, contacts, "api_key", creds, "rotation probe"))
        if probe.status == 200:
            return True
        sender.sent.remove(probe)  # not yet: a wait, not a broken control
        if time.monotonic() > deadline:
            return False
        time.sleep(0.5)


# ---- accounting ----------------------------------------------------------------------------------


def _queue_depth(stack: RunningStack) -> dict[str, int]:
    sqs = stack.sqs()
    depth: dict[str, int] = {}
    for name, url in (("failure", stack.failure_queue), ("parked", stack.parked_queue)):
        attrs = sqs.get_queue_attributes(
            QueueUrl=url,
            AttributeNames=[
                "ApproximateNumberOfMessages",
                "ApproximateNumberOfMessagesNotVisible",
                "ApproximateNumberOfMessagesDelayed",
            ],
        )["Attributes"]
        depth[name] = sum(int(v) for v in attrs.values())
    return depth


def _marker_counts(stack: RunningStack, markers: set[str]) -> dict[str, int]:
    counts = dict.fromkeys(markers, 0)
    for record in stack.records():
        text = json.dumps(record, ensure_ascii=False)
        if "authprobe-" not in text:
            continue
        for marker in markers:
            if marker in text:
                counts[marker] += 1
    return counts


# ---- the scenario --------------------------------------------------------------------------------


def run(stack: RunningStack, quick: bool) -> list[Row]:
    started = time.monotonic()
    row = Row(scenario=SCENARIO)
    b = Builder(uuid.uuid4().hex[:8])
    sender = Sender(stack)
    depth_before = _queue_depth(stack)
    records_before = len(stack.records())
    rotated = rotated_credentials()
    forbidden = (*LOCAL.values(), *rotated.values())

    # 1. Controls and every kind of bad credential, on every route, with the current secret.
    for route in ROUTES:
        for scheme in SCHEMES:
            sender.send(control(b, route, scheme, LOCAL))
        for probe in bad_cases(b, route, LOCAL, quick):
            sender.send(probe)

    # 2. Replays of captured Standard Webhooks requests.
    _replays(sender, b, row)

    # 3. Rotation: old and new side by side (both work), then the old ones removed (refused).
    with inbound_secret_restored(stack):
        both = {k: [*LOCAL.as_secret()[k], *rotated.as_secret()[k]] for k in LOCAL.as_secret()}
        put_inbound_secret(stack, local_only(both))
        contacts = ROUTES[-1]
        if not wait_until_accepted(sender, b, rotated):
            row.failures.append(
                "rotation: the new inbound secret was not used within "
                f"{ROTATION_WAIT_S:.0f} s (API in another process? set SECRETS_MAX_AGE_S=0)"
            )
        else:
            for scheme in SCHEMES:
                sender.send(control(b, contacts, scheme, LOCAL, "old secret during the overlap"))
                sender.send(control(b, contacts, scheme, rotated, "new secret during the overlap"))
            # The first put proved that a new value is read at once; this one removes the old values.
            put_inbound_secret(stack, local_only(rotated.as_secret()))
            for route in ROUTES:
                for scheme in SCHEMES:
                    sender.send(control(b, route, scheme, rotated, "new secret after rotation"))
                for probe in rotated_out_cases(b, route, LOCAL):
                    sender.send(probe)

    # 4. Cross-client attempts: valid credentials of clients that may not reach the target.
    reader, neighbour = rotated_credentials(), rotated_credentials()
    forbidden = (*forbidden, *reader.values(), *neighbour.values())
    with inbound_secret_restored(stack):
        put_inbound_secret(
            stack,
            {
                "clients": {
                    config.LOCAL_CLIENT: LOCAL.client(**EVERY_CUSTOMER),
                    "reader": reader.client(**READER_REACH),
                    "neighbour": neighbour.client(**NEIGHBOUR_REACH),
                }
            },
        )
        if not wait_until_accepted(sender, b, LOCAL):
            row.failures.append("cross-client: the two extra clients were not read in time")
        for probe in cross_client_cases(b, reader, neighbour):
            sender.send(probe)
    _remove_parked_forbidden(stack, sender, row)

    # Judge every answer, then what reached the vendor and the queues.
    for probe in sender.sent:
        row.failures.extend(judge(probe, forbidden))
    accepted = [p for p in sender.sent if p.expect == "accept"]
    bad = [p for p in sender.sent if p.expect in ("reject", "forbidden")]
    cross = [p for p in sender.sent if p.expect == "forbidden"]
    rejected = [p for p in bad if p.status == (403 if p.expect == "forbidden" else 401)]
    delivered = [p for p in accepted if not judge(p, forbidden)]
    counts = _marker_counts(stack, {p.marker for p in sender.sent if p.marker})
    bad_markers = {p.marker for p in bad if p.marker} - {p.marker for p in accepted if p.marker}
    for probe in bad:
        if probe.marker in bad_markers and counts.get(probe.marker, 0):
            row.failures.append(f"{probe.label}: REACHED THE VENDOR ({counts[probe.marker]} record(s))")
    for probe in accepted:
        if probe.marker and counts.get(probe.marker, 0) != 1:
            row.failures.append(
                f"{probe.label}: {counts.get(probe.marker, 0)} vendor record(s) for one control, not 1"
            )
    writes = sum(1 for p in accepted if p.marker)
    new_records = len(stack.records()) - records_before
    if new_records != writes:
        row.failures.append(
            f"the vendor recorded {new_records} writes; the {writes} write controls explain {writes}"
        )
    depth_after = _queue_depth(stack)
    if depth_after != depth_before:
        row.failures.append(
            f"queue depth changed from {depth_before} to {depth_after}: something was queued or parked"
        )

    row.requests = len(sender.sent)
    row.delivered = len(delivered)
    row.server_errors = sum(1 for p in sender.sent if p.status is not None and p.status >= 500)
    row.seconds = time.monotonic() - started
    no_effect = sum(1 for p in sender.sent if p.expect == "no_effect")
    cross_succeeded = sum(1 for p in cross if p.status is not None and p.status < 300)
    row.notes = (
        f"{len(bad)} bad requests, {len(rejected)} rejected with 401/403 "
        f"({100.0 * len(rejected) / max(1, len(bad)):.0f}%); {cross_succeeded} of {len(cross)} "
        f"cross-client attempts succeeded; {len(accepted)} controls; "
        f"{no_effect} identical replays without effect; 3 schemes x {len(ROUTES)} routes"
    )
    return [row]


def cross_client_cases(b: Builder, reader: Credentials, neighbour: Credentials) -> list[Probe]:
    """Valid credentials aimed outside their client's reach, on every route and scheme: all must be 403."""
    probes: list[Probe] = []
    for route in ROUTES:
        for scheme in SCHEMES:
            if not route.is_write and scheme != "api_key":
                continue  # a signed GET is refused with 401 before scope (see `control`)
            if route.is_write:  # `reader` may not use any write operation
                probes.append(
                    b.probe(
                        f"{scheme} cross-client: another client's operation",
                        route,
                        scheme,
                        "forbidden",
                        valid_headers(scheme, reader),
                        body_scheme=scheme,
                    )
                )
            # `neighbour` may use the operation but not the probe's customer (M10001 / the sample's).
            probes.append(
                b.probe(
                    f"{scheme} cross-client: another client's customer",
                    route,
                    scheme,
                    "forbidden",
                    valid_headers(scheme, neighbour),
                    body_scheme=scheme,
                )
            )
    # `reader` may read contacts, but only for M10002: M10001's contacts are another client's.
    probes.append(
        b.probe(
            "api_key cross-client: another client's contacts",
            ROUTES[-1],
            "api_key",
            "forbidden",
            valid_headers("api_key", reader),
        )
    )
    return probes


def _remove_parked_forbidden(stack: RunningStack, sender: Sender, row: Row) -> None:
    """A signed cross-client delivery is parked `forbidden` (DESIGN §4): check each was, then take exactly
    those off the parked queue so the scenario leaves the queues as it found them."""
    signed = {
        str((p.answer or {}).get("deliveryId"))
        for p in sender.sent
        if p.expect == "forbidden" and p.route.is_write and p.scheme != "api_key" and p.status == 403
    }
    sqs = stack.sqs()
    found: set[str] = set()
    for _ in range(20):  # bounded: a few receives of up to 10 messages
        batch = sqs.receive_message(
            QueueUrl=stack.parked_queue, MaxNumberOfMessages=10, VisibilityTimeout=30, WaitTimeSeconds=0
        ).get("Messages", [])
        if not batch:
            break
        for message in batch:
            envelope = json.loads(message["Body"])
            if envelope.get("deliveryId") in signed and envelope.get("reason") == "forbidden":
                found.add(envelope["deliveryId"])
                sqs.delete_message(QueueUrl=stack.parked_queue, ReceiptHandle=message["ReceiptHandle"])
            else:
                sqs.change_message_visibility(
                    QueueUrl=stack.parked_queue, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
                )
        if found >= signed:
            break
    if found != signed:
        row.failures.append(
            f"cross-client: {len(signed - found)} of {len(signed)} signed forbidden deliveries "
            "not parked 'forbidden'"
        )


def _replays(sender: Sender, b: Builder, row: Row) -> None:
    """Capture a valid Standard Webhooks request per route, signed `CAPTURE_AGE_S` ago, then replay it."""
    signed_at = int(time.time()) - CAPTURE_AGE_S
    captured: list[Probe] = []
    # Write routes only: the read route refuses signed requests outright (see `control`).
    for route in (r for r in ROUTES if r.is_write):
        probe = b.probe(
            "standard_webhooks captured request",
            route,
            "standard_webhooks",
            "accept",
            lambda raw: _sw_headers(raw, LOCAL.webhook_secret, ts=signed_at),
            body_scheme="standard_webhooks",
        )
        first = sender.send(probe)
        captured.append(first)
        # Identical, inside the window: the first answer again, and no second vendor write.
        again = sender.resend(first, "replayed identically within the window", "no_effect")
        if first.route.is_write and isinstance(first.answer, dict) and again.answer != first.answer:
            row.failures.append(f"{again.label}: answer differs from the first ({again.text[:200]})")
        # Same headers, another body, inside the window: the signature no longer matches.
        other_body, other_marker = b.body(route, "standard_webhooks")
        sender.resend(
            first,
            "re-sent with another body within the window",
            "reject",
            body=other_body,
            marker=other_marker,
            reasons=frozenset({"mismatch"}),
        )
    if time.time() - signed_at >= TOLERANCE_S:
        row.failures.append("replay: the in-window replays took longer than the window; inconclusive")
    # Wait until the captured timestamp has left the window, then replay each capture unchanged.
    time.sleep(max(0.0, signed_at + TOLERANCE_S + 2 - time.time()))
    for first in captured:
        sender.resend(
            first, "replayed identically after the window", "reject", reasons=frozenset({"expired"})
        )
