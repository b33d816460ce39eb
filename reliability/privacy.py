"""Privacy scenario (issue #6, item 5): canary values through every route and every failure path.

Canaries are a valid personnummer (in four spellings), an e-mail address, a phone number (three
spellings), a surname, a street, an Omnicasa person password, the local stack's real Vitec passwords
(and their Basic-auth form), the Omnicasa secret key and the inbound keys and signing secrets
(`local/config.py`). They travel in the bodies of every POST route, in every format (native JSON,
form-encoded flat, Typeform, Standard Webhooks) and down every path:

delivered; invalid input (400 / 413 / 422); signed and invalid (parked `invalid_input`); refused (401);
vendor rejection (parked `vendor_rejected`); vendor authentication failure (parked); vendor down
(queued, then replayed by `local.replay_worker.drain_once()`); vendor down for good (queued, replayed
until parked `attempts_exhausted`); answer lost (viewing participant parked `answer_lost`, person lead
queued and replayed); dry run (the Omnicasa key must be masked); the contacts read, with canaries as ids,
also while the vendor is down; and the operator CLI (`parked list`, `parked list --wide`, `parked show ID`
without `--reveal`, `queue stats`).

Captured while it runs, at DEBUG: every log record of the process (a handler on the root logger, to
which the Powertools logger propagates, plus the Powertools handler's own output stream, i.e. exactly
the JSON lines it would write to stdout), `sys.stdout` / `sys.stderr` (the replay worker and the CLI
write there), every API answer with status >= 400 (body and headers), the headers and bodies of 2xx
answers (secrets only for dry runs and contact reads, which echo the caller's own data by design), and
the message attributes of every message on both queues. Queue message *bodies* legitimately hold the
lead (the queues are encrypted) and are not counted.

It runs the same in quick and full mode (about 15 s with the suite's `REPLAY_BACKOFF_S=0,0,0,0,0`; with
the local default schedule the replay drains wait out the backoff steps, up to about 4 minutes).

Invariant: 0 canary occurrences in any of them. The capture is proven by finding known non-secret
lines (`delivered`, `delivery queued`, `delivery parked`, `replayed`, `request refused` and a DEBUG
line) in it; each path is proven exercised by its expected answer.
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import logging
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import requests

from local import config
from local.make_events import leaves, typeform_body
from local.stack import RunningStack
from reliability.auth import forget_cached_secrets, typeform_signature, webhook_signature
from reliability.common import Row

SCENARIO = "privacy"
EVENTS = Path(__file__).resolve().parent.parent / "events"
API_TIMEOUT_S = (3.0, 30.0)
DRAIN_CAP_S = 90.0
# Loggers of the emulators that stand in for AWS and the vendors: not the product, not in Lambda.
NOT_THE_PRODUCT = ("moto", "werkzeug", "local.sandbox")

PNR = "19811228-9874"
EMAIL = "kanarina.kanarieson@example.se"
PHONE = "070-174 06 98"
SURNAME = "Kanarieson"
STREET = "Kanariegatan 7"
OMNICASA_PERSON_PASSWORD = "KanariePass-7Q2x"  # noqa: S105 - a canary, not a credential
WRONG_VITEC_PASSWORD = "kanarie-wrong-vitec-pass-5581"  # noqa: S105 - a canary, not a credential
INVALID_PNR = "19811228-9875"  # fails the Luhn check: the adapter refuses it (422)


def _basic(customer: str, password: str) -> str:
    return base64.b64encode(f"api-{customer.lower()}:{password}".encode()).decode()


_VITEC = config.SECRETS[config.VITEC_SECRET_ID]["customers"]
assert isinstance(_VITEC, dict)
VITEC_PASSWORDS = {customer: str(entry["password"]) for customer, entry in _VITEC.items()}

# label -> value. Personal data first, then secrets.
PERSONAL: dict[str, str] = {
    "personnummer": PNR,
    "personnummer (12 digits)": PNR.replace("-", ""),
    "personnummer (10 digits)": PNR[2:],
    "personnummer (10 digits, no dash)": PNR[2:].replace("-", ""),
    "invalid personnummer": INVALID_PNR,
    "e-mail": EMAIL,
    "e-mail (URL-encoded)": EMAIL.replace("@", "%40"),
    "phone (national)": PHONE,
    "phone (E.164)": "+46701740698",
    "phone (E.164, URL-encoded)": "%2B46701740698",
    "phone (digits)": "0701740698",
    "surname": SURNAME,
    "street": STREET,
    "Omnicasa person password": OMNICASA_PERSON_PASSWORD,
}
SECRETS: dict[str, str] = {
    **{f"Vitec password {c}": p for c, p in VITEC_PASSWORDS.items()},
    **{f"Vitec Basic credentials {c}": _basic(c, p) for c, p in VITEC_PASSWORDS.items()},
    "wrong Vitec password": WRONG_VITEC_PASSWORD,
    "wrong Vitec Basic credentials": _basic("M10002", WRONG_VITEC_PASSWORD),
    "Omnicasa secret key": config.OMNICASA_SECRET_KEY,
    "x-api-key": config.API_KEY,
    "Typeform secret": config.TYPEFORM_SECRET,
    "webhook secret": config.WEBHOOK_SECRET,
    "webhook secret (base64 part)": config.WEBHOOK_SECRET.removeprefix("whsec_"),
}
CANARIES: dict[str, str] = {**PERSONAL, **SECRETS}
# Every way a delivery is parked, each of which must have happened.
PARK_REASONS = ("invalid_input", "vendor_rejected", "attempts_exhausted", "answer_lost")
PROOF_LINES = ("delivered", "delivery queued", "delivery parked", "replayed", "request refused")
DEBUG_PROOF = "privacy capture probe (debug)"
CANARY_TEXT = f"Ring {PHONE} eller maila {EMAIL}, personnummer {PNR}. Hälsningar {SURNAME}, {STREET}."


# ---- canary bodies --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    operation: str
    path: str


PERSON_LEAD = Route("vitec_person_lead", "/vitec/person-leads")
AREA_INTEREST = Route("vitec_area_interest", "/vitec/area-interests")
VIEWING = Route("vitec_viewing_participant", "/vitec/viewing-participants")
CONTACT_ON_ME = Route("omnicasa_contact_on_me", "/omnicasa/contact-on-me")
WRITES = (PERSON_LEAD, AREA_INTEREST, VIEWING, CONTACT_ON_ME)
CONTACTS = "/vitec/contacts"


def _native(route: Route) -> dict[str, Any]:
    event = json.loads((EVENTS / route.operation / "native.json").read_text(encoding="utf-8"))
    return dict(json.loads(event["body"]))


def canary_body(route: Route, tag: str) -> dict[str, Any]:
    """The route's sample body with every personal field a canary; `tag` keeps bodies apart."""
    body = _native(route)
    note = f"{CANARY_TEXT} [{tag}]"
    if route is PERSON_LEAD:
        body["person"].update(
            {
                "lastName": SURNAME,
                "socialSecurityNumber": PNR,
                "email": {"emailAddress": EMAIL},
                "telephone": {"cell": PHONE},
                "address": {"streetAddress": STREET, "zipCode": "411 24", "city": "Göteborg"},
            }
        )
        body["message"] = note
    elif route is AREA_INTEREST:
        body["updatePerson"].update(
            {
                "lastName": SURNAME,
                "socialSecurityNumber": PNR,
                "cellPhone": PHONE,
                "email": {"emailAddress": EMAIL},
                "note": note,
            }
        )
        body["updatePerson"]["address"]["streetAddress"] = STREET
    elif route is VIEWING:
        body["contactMessage"] = note
    else:
        body.update(
            {
                "Name": SURNAME,
                "Email": EMAIL,
                "GSM": PHONE,
                "PhoneNumber": PHONE,
                "Address": STREET,
                "Password": OMNICASA_PERSON_PASSWORD,
                "Content": note,
            }
        )
    return body


def _json(data: Any) -> bytes:
    return json.dumps(data, ensure_ascii=False).encode()


def _flat(native: dict[str, Any]) -> bytes:
    pairs = [(k, str(v).lower() if isinstance(v, bool) else str(v)) for k, v in leaves(native)]
    return urlencode(pairs).encode()


# ---- the API client -------------------------------------------------------------------------------


@dataclass
class Answer:
    label: str
    expected: tuple[int, ...]
    status: int | None
    text: str
    headers: dict[str, str]
    body: Any
    echoes_input: bool = False  # a dry run or a contacts read: the caller's own data comes back

    @property
    def delivery_id(self) -> str | None:
        return self.body.get("deliveryId") if isinstance(self.body, dict) else None


class Client:
    def __init__(self, stack: RunningStack) -> None:
        self.stack = stack
        self.session = requests.Session()
        self.answers: list[Answer] = []

    def call(
        self,
        label: str,
        expected: tuple[int, ...],
        path: str,
        *,
        raw: bytes | None = None,
        headers: dict[str, str] | None = None,
        query: dict[str, str] | None = None,
        method: str = "POST",
        echoes_input: bool = False,
    ) -> Answer:
        response = self.session.request(
            method,
            f"{self.stack.api}{path}",
            data=raw,
            headers=headers or {},
            params=query,
            timeout=API_TIMEOUT_S,
        )
        try:
            body: Any = response.json()
        except ValueError:
            body = None
        answer = Answer(
            label, expected, response.status_code, response.text, dict(response.headers), body, echoes_input
        )
        self.answers.append(answer)
        return answer

    def api_key(self, label: str, expected: tuple[int, ...], route: Route, raw: bytes, **kw: Any) -> Answer:
        content_type = kw.pop("content_type", "application/json")
        headers = {"x-api-key": config.API_KEY, "Content-Type": content_type}
        return self.call(label, expected, route.path, raw=raw, headers=headers, **kw)

    def typeform(
        self, label: str, expected: tuple[int, ...], route: Route, payload: dict[str, Any]
    ) -> Answer:
        raw = _json(payload)
        headers = {
            "Typeform-Signature": typeform_signature(raw, config.TYPEFORM_SECRET),
            "Content-Type": "application/json",
        }
        return self.call(label, expected, route.path, raw=raw, headers=headers)

    def webhook(self, label: str, expected: tuple[int, ...], route: Route, raw: bytes) -> Answer:
        msg_id, ts = f"msg_{uuid.uuid4().hex}", str(int(time.time()))
        headers = {
            "webhook-id": msg_id,
            "webhook-timestamp": ts,
            "webhook-signature": webhook_signature(raw, msg_id, ts, config.WEBHOOK_SECRET),
            "Content-Type": "application/json",
        }
        return self.call(label, expected, route.path, raw=raw, headers=headers)


def typeform_payload(route: Route, native: dict[str, Any]) -> dict[str, Any]:
    payload = typeform_body(route.operation, native)
    payload["event_id"] = payload["form_response"]["token"] = f"tf-privacy-{uuid.uuid4().hex[:16]}"
    return payload


# ---- capture --------------------------------------------------------------------------------------


class _Records(logging.Handler):
    """Every record of every logger (but the emulators'), formatted and with all its fields."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.lines: list[str] = []
        self.count = 0
        self.levels: set[int] = set()

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.startswith(NOT_THE_PRODUCT):
            return
        self.count += 1
        self.levels.add(record.levelno)
        try:
            message = record.getMessage()
        except Exception:  # a bad format string is still captured raw
            message = str(record.msg)
        fields = json.dumps(record.__dict__, default=str, ensure_ascii=False)
        self.lines.append(f"{record.name} {record.levelname} {message} {fields}")


@dataclass
class Captured:
    records: _Records
    powertools: io.StringIO = field(default_factory=io.StringIO)
    stdout: io.StringIO = field(default_factory=io.StringIO)
    stderr: io.StringIO = field(default_factory=io.StringIO)

    def text(self) -> str:
        return "\n".join(
            (self.powertools.getvalue(), self.stdout.getvalue(), self.stderr.getvalue(), *self.records.lines)
        )


@contextlib.contextmanager
def capture_logs() -> Iterator[Captured]:
    """Root logger and the Powertools logger at DEBUG; its handler's stream and sys.stdout/err captured."""
    from leadhooks.observability import logger as product_logger

    root = logging.getLogger()
    product = logging.getLogger(product_logger.name)
    emulators = [logging.getLogger(name) for name in NOT_THE_PRODUCT]
    saved_levels = [(lg, lg.level) for lg in (root, product, *emulators)]
    captured = Captured(records=_Records())
    streams: list[tuple[logging.StreamHandler[Any], Any]] = []
    for handler in product.handlers:
        if isinstance(handler, logging.StreamHandler):
            streams.append((handler, handler.setStream(captured.powertools)))
    root.addHandler(captured.records)
    extra = not product.propagate
    if extra:
        product.addHandler(captured.records)
    root.setLevel(logging.DEBUG)
    product.setLevel(logging.DEBUG)
    for lg in emulators:  # the emulators' DEBUG chatter is not the product's and costs time
        lg.setLevel(logging.WARNING)
    try:
        with contextlib.redirect_stdout(captured.stdout), contextlib.redirect_stderr(captured.stderr):
            product_logger.debug(DEBUG_PROOF)
            yield captured
    finally:
        for handler, stream in streams:
            handler.setStream(stream)
        root.removeHandler(captured.records)
        if extra:
            product.removeHandler(captured.records)
        for lg, level in saved_levels:
            lg.setLevel(level)


# ---- stack helpers --------------------------------------------------------------------------------


@contextlib.contextmanager
def wrong_vitec_password(stack: RunningStack, customer: str) -> Iterator[None]:
    """Vitec answers 401 for `customer` while this lasts (its password in the secret is wrong)."""
    client = stack.client("secretsmanager")
    original = config.SECRETS[config.VITEC_SECRET_ID]
    broken = json.loads(json.dumps(original))
    broken["customers"][customer]["password"] = WRONG_VITEC_PASSWORD
    client.put_secret_value(SecretId=config.VITEC_SECRET_ID, SecretString=json.dumps(broken))
    forget_cached_secrets()
    try:
        yield
    finally:
        client.put_secret_value(SecretId=config.VITEC_SECRET_ID, SecretString=json.dumps(original))
        forget_cached_secrets()


def _depth(stack: RunningStack, url: str) -> int:
    attrs = stack.sqs().get_queue_attributes(
        QueueUrl=url,
        AttributeNames=[
            "ApproximateNumberOfMessages",
            "ApproximateNumberOfMessagesNotVisible",
            "ApproximateNumberOfMessagesDelayed",
        ],
    )["Attributes"]
    return sum(int(v) for v in attrs.values())


def drain_replays(stack: RunningStack) -> tuple[int, bool]:
    """Run the replay worker until the failure queue is empty; (messages handled, emptied in time)."""
    from leadhooks.settings import get_settings

    from local.replay_worker import drain_once

    handled = 0
    deadline = time.monotonic() + DRAIN_CAP_S + sum(get_settings().replay_backoff_s)
    while time.monotonic() < deadline:
        handled += drain_once(max_batches=20)
        if _depth(stack, stack.failure_queue) == 0:
            return handled, True
        time.sleep(0.2)
    return handled, False


def peek_attributes(stack: RunningStack, url: str) -> list[dict[str, Any]]:
    """Message attributes of what is on a queue now, without consuming it."""
    seen: dict[str, dict[str, Any]] = {}
    for message in stack.messages(url):
        seen[message["MessageId"]] = message.get("MessageAttributes", {})
    return list(seen.values())


def run_cli(argv: list[str]) -> tuple[int, str]:
    """`python -m leadhooks.ops …` in-process; stdout and stderr together."""
    from leadhooks_ops.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(err):
        status = main(argv, out=out)
    return status, out.getvalue() + err.getvalue()


def faults(stack: RunningStack, **settings: Any) -> None:
    requests.delete(f"{stack.sandbox}/_sandbox/faults", timeout=5).raise_for_status()
    if settings:
        stack.faults(**settings)


# ---- the scenario ---------------------------------------------------------------------------------


@dataclass
class Sources:
    """Where canaries must not be: name -> texts."""

    texts: dict[str, list[str]] = field(default_factory=dict)

    def add(self, name: str, text: str) -> None:
        self.texts.setdefault(name, []).append(text)


def _leaks(sources: Sources, answers: list[Answer]) -> list[str]:
    found: list[str] = []

    def scan(source: str, text: str, canaries: dict[str, str]) -> None:
        for label, value in canaries.items():
            if value in text:
                at = text.index(value)
                excerpt = text[max(0, at - 80) : at + len(value) + 40]
                for other_label, other in CANARIES.items():
                    excerpt = excerpt.replace(other, f"<{other_label}>")
                found.append(f"LEAK of the {label} in {source}: …{excerpt}…")

    for name, texts in sources.texts.items():
        for text in texts:
            scan(name, text, CANARIES)
    for answer in answers:
        headers = json.dumps(answer.headers, ensure_ascii=False)
        if answer.status is None or answer.status >= 400:
            scan(
                f"the error answer of {answer.label} (HTTP {answer.status})", answer.text + headers, CANARIES
            )
        else:
            canaries = SECRETS if answer.echoes_input else CANARIES
            scan(f"the answer of {answer.label} (HTTP {answer.status})", answer.text + headers, canaries)
    return found


def run(stack: RunningStack, quick: bool) -> list[Row]:
    started = time.monotonic()
    row = Row(scenario=SCENARIO)
    client = Client(stack)
    sources = Sources()
    parked_ids: list[str] = []
    reasons: Counter[str] = Counter()
    try:
        with capture_logs() as captured:
            _exercise(stack, client, sources, parked_ids, row, quick)
            # The operator CLI, on what is parked now (without --reveal).
            for argv in (["parked", "list"], ["parked", "list", "--wide"], ["queue", "stats"]):
                status, output = run_cli(argv)
                sources.add(f"`{' '.join(argv)}`", output)
                if status != 0:
                    row.failures.append(f"`{' '.join(argv)}` exited {status}")
            for delivery_id in parked_ids:
                status, output = run_cli(["parked", "show", delivery_id])
                sources.add(f"`parked show {delivery_id}`", output)
                if status != 0 or delivery_id not in output:
                    row.failures.append(f"`parked show {delivery_id}` exited {status} without the delivery")
            # What is left on both queues: every message's attributes (bodies hold the lead, by design).
            for name, url in (("failure", stack.failure_queue), ("parked", stack.parked_queue)):
                for message in stack.drain(url):
                    attributes = message.get("MessageAttributes", {})
                    sources.add(f"a {name} queue message's attributes", json.dumps(attributes))
                    if name == "parked":
                        row.parked += 1
                        reasons[str(attributes.get("reason", {}).get("StringValue"))] += 1
                    else:
                        row.queued += 1
    finally:
        faults(stack)
    logs = captured.text()
    sources.add("the logs", logs)
    for line in PROOF_LINES:
        if f'"{line}"' not in captured.powertools.getvalue():
            row.failures.append(f"capture not proven: no {line!r} line in the Powertools output")
    if DEBUG_PROOF not in logs or logging.DEBUG not in captured.records.levels:
        row.failures.append("capture not proven: no DEBUG record captured")
    for answer in client.answers:
        if answer.status not in answer.expected:
            row.failures.append(
                f"path not exercised: {answer.label} answered HTTP {answer.status}, "
                f"expected {'/'.join(map(str, answer.expected))} ({answer.text[:160]})"
            )
    missing = set(PARK_REASONS) - set(reasons)
    if missing:
        row.failures.append(f"path not exercised: nothing parked as {', '.join(sorted(missing))}")
    leaks = _leaks(sources, client.answers)
    row.failures.extend(leaks)
    row.requests = len(client.answers)
    # Unexpected ones only: a contacts read while the vendor is down is a 503 by design (DESIGN §5).
    row.server_errors = sum(
        1 for a in client.answers if a.status is not None and a.status >= 500 and a.status not in a.expected
    )
    row.delivered = sum(
        1 for a in client.answers if isinstance(a.body, dict) and a.body.get("status") == "delivered"
    )
    row.seconds = time.monotonic() - started
    checked = sum(len(texts) for texts in sources.texts.values()) + len(client.answers)
    row.notes = (
        f"{len(CANARIES)} canaries x {checked} texts ({captured.records.count} log records, "
        f"{len(parked_ids)} shown by the CLI; parked {dict(sorted(reasons.items()))}): {len(leaks)} leaks"
    )
    return [row]


def _exercise(
    stack: RunningStack, client: Client, sources: Sources, parked_ids: list[str], row: Row, quick: bool
) -> None:
    tag = iter(range(1, 10_000))

    def body(route: Route) -> dict[str, Any]:
        return canary_body(route, f"privacy-{next(tag):04d}")

    def parked(answer: Answer) -> None:
        if answer.delivery_id and isinstance(answer.body, dict) and answer.body.get("parked"):
            parked_ids.append(answer.delivery_id)

    # Delivered, in every format.
    for route in WRITES:
        client.api_key(f"{route.path} native (delivered)", (200,), route, _json(body(route)))
        client.api_key(
            f"{route.path} form-encoded (delivered)",
            (200,),
            route,
            _flat(body(route)),
            content_type="application/x-www-form-urlencoded",
        )
        client.typeform(
            f"{route.path} Typeform (delivered)", (200,), route, typeform_payload(route, body(route))
        )
        client.webhook(f"{route.path} Standard Webhooks (delivered)", (200,), route, _json(body(route)))
    contact_ids = ",".join(("c-m10001-001", PNR, EMAIL, "+46701740698"))
    client.call(
        "GET /vitec/contacts with canary ids",
        (200, 422),
        CONTACTS,
        method="GET",
        headers={"x-api-key": config.API_KEY},
        query={"customerId": "M10001", "ids": contact_ids},
        echoes_input=True,
    )

    # Invalid input from an API-key caller: 400 / 413 / 422, nothing kept.
    too_long = body(PERSON_LEAD)
    too_long["person"]["firstName"] = f"{SURNAME} {EMAIL} {PHONE}"
    too_long["receiver"] = {}  # names nobody (vitec-person-lead.txt:26)
    client.api_key("person lead, receiver names nobody (422)", (422,), PERSON_LEAD, _json(too_long))
    bad_pnr = body(PERSON_LEAD)
    bad_pnr["person"]["socialSecurityNumber"] = INVALID_PNR  # sent as given: the docs ask for no check
    bad_pnr["person"]["isForeignSocialSecurityNumber"] = PNR  # not a boolean
    client.api_key(
        "person lead form-encoded, isForeignSocialSecurityNumber not a boolean (422)",
        (422,),
        PERSON_LEAD,
        _flat(bad_pnr),
        content_type="application/x-www-form-urlencoded",
    )
    interest = body(AREA_INTEREST)
    interest["updatePerson"]["firstName"] = f"{SURNAME} {PNR} {EMAIL}"
    interest["updatePerson"]["approvalDate"] = "20241121"  # compact: refused, never converted
    client.api_key("area interest, compact date (422)", (422,), AREA_INTEREST, _json(interest))
    viewing = body(VIEWING)
    viewing["reminderTime"] = f"{EMAIL} {PNR}"
    client.api_key("viewing, reminderTime not a number (422)", (422,), VIEWING, _json(viewing))
    omnicasa = body(CONTACT_ON_ME)
    omnicasa["CustomerId"] = f"{EMAIL} {PHONE}"
    client.api_key("contact-on-me, CustomerId not a number (422)", (422,), CONTACT_ON_ME, _json(omnicasa))
    raw = _json(body(PERSON_LEAD))
    client.api_key("person lead, JSON cut short (400)", (400,), PERSON_LEAD, raw[: len(raw) // 2])
    duplicate = f'{{"message": "{PNR} {EMAIL}", "message": "{SURNAME} {PHONE}"}}'.encode()
    client.api_key("person lead, duplicate JSON key (400)", (400,), PERSON_LEAD, duplicate)
    client.api_key("person lead, not UTF-8 (400)", (400,), PERSON_LEAD, raw[:-1] + b"\xff}")
    huge = body(CONTACT_ON_ME)
    huge["Content"] = (CANARY_TEXT + " ") * (300 * 1024 // len(CANARY_TEXT))
    client.api_key("contact-on-me, body too large (413)", (413,), CONTACT_ON_ME, _json(huge))
    client.call(
        "person lead with a wrong x-api-key (401)",
        (401,),
        PERSON_LEAD.path,
        raw=_json(body(PERSON_LEAD)),
        headers={"x-api-key": f"{EMAIL}-{PNR}", "Content-Type": "application/json"},
    )
    client.call(
        "GET /vitec/contacts, an id too long (422)",
        (422,),
        CONTACTS,
        method="GET",
        headers={"x-api-key": config.API_KEY},
        query={"customerId": "M10001", "ids": f"{EMAIL}-{PNR}-{SURNAME}"},
    )

    # Signed senders' invalid input: 422 and parked (invalid_input).
    tf_bad = body(PERSON_LEAD)
    tf_bad["person"]["socialSecurityNumber"] = INVALID_PNR
    tf_bad["person"]["isForeignSocialSecurityNumber"] = PNR
    parked(
        client.typeform(
            "person lead Typeform, isForeignSocialSecurityNumber not a boolean (parked)",
            (422,),
            PERSON_LEAD,
            typeform_payload(PERSON_LEAD, tf_bad),
        )
    )
    tf_interest = body(AREA_INTEREST)
    tf_interest["updatePerson"]["firstName"] = f"{SURNAME} {EMAIL} {PHONE}"
    tf_interest["updatePerson"]["approvalDate"] = "20241121"
    parked(
        client.typeform(
            "area interest Typeform, compact date (parked)",
            (422,),
            AREA_INTEREST,
            typeform_payload(AREA_INTEREST, tf_interest),
        )
    )
    parked(
        client.webhook(
            "viewing Standard Webhooks, reminderTime not a number (parked)", (422,), VIEWING, _json(viewing)
        )
    )
    parked(
        client.webhook(
            "contact-on-me Standard Webhooks, CustomerId not a number (parked)",
            (422,),
            CONTACT_ON_ME,
            _json(omnicasa),
        )
    )

    # The vendor rejects it: 422 and parked (vendor_rejected / vendor_auth_failed).
    # An unknown contactId is not an error in the docs (the duplicate check decides), so the sandbox
    # refuses the next call instead.
    faults(stack, failNext=1, statuses=[400])
    parked(
        client.api_key(
            "area interest, vendor rejects (HTTP 400)", (422,), AREA_INTEREST, _json(body(AREA_INTEREST))
        )
    )
    faults(stack)
    unknown_viewing = body(VIEWING)
    unknown_viewing["viewingId"] = "v-m10001-9"
    parked(
        client.webhook("viewing, unknown viewing (vendor rejects)", (422,), VIEWING, _json(unknown_viewing))
    )
    unknown_contact_id = body(VIEWING)
    unknown_contact_id["contactId"] = PNR
    parked(
        client.api_key(
            "viewing, a personnummer as contactId (vendor rejects)",
            (422,),
            VIEWING,
            _json(unknown_contact_id),
        )
    )
    # No doc says Omnicasa refuses any particular value, so the sandbox refuses the next call instead.
    faults(stack, failNext=1, statuses=[400])
    parked(
        client.typeform(
            "contact-on-me, vendor rejects (HTTP 400)",
            (422,),
            CONTACT_ON_ME,
            typeform_payload(CONTACT_ON_ME, body(CONTACT_ON_ME)),
        )
    )
    faults(stack)
    with wrong_vitec_password(stack, "M10002"):
        other_customer = body(PERSON_LEAD)
        other_customer["customerId"] = "M10002"
        other_customer["receiver"] = {"office": {"id": "o-m10002-1", "customerId": "M10002"}}
        parked(
            client.api_key(
                "person lead, Vitec refuses our credentials (parked)",
                (422,),
                PERSON_LEAD,
                _json(other_customer),
            )
        )

    # Dry run: the vendor request comes back, the Omnicasa key masked.
    for route in WRITES:
        dry = client.api_key(
            f"{route.path} dry run",
            (200,),
            route,
            _json(body(route)),
            query={"dryRun": "true"},
            echoes_input=True,
        )
        if route is CONTACT_ON_ME and "contactonme/" not in dry.text.lower():
            row.failures.append(
                f"path not exercised: the Omnicasa dry run shows no vendor path ({dry.text[:160]})"
            )

    # The vendor is down: queued; the replay worker delivers once it is back.
    faults(stack, errorRate=1.0, statuses=[503])
    for route in WRITES:
        client.api_key(f"{route.path} vendor down (queued)", (202,), route, _json(body(route)))
    client.call(
        "GET /vitec/contacts with canary ids, vendor down (503)",
        (503,),
        CONTACTS,
        method="GET",
        headers={"x-api-key": config.API_KEY},
        query={"customerId": "M10001", "ids": contact_ids},
    )
    for attributes in peek_attributes(stack, stack.failure_queue):
        sources.add("a failure queue message's attributes", json.dumps(attributes))
    faults(stack)
    _drain(stack, row, "after the vendor came back")

    # The vendor stays down: replayed until the attempts are used up, then parked (attempts_exhausted).
    faults(stack, errorRate=1.0, statuses=[500, 503, 429], retryAfterS=0)
    exhausted = [
        client.api_key(f"{route.path} vendor down for good (queued)", (202,), route, _json(body(route)))
        for route in WRITES
    ]
    _drain(stack, row, "while the vendor stayed down")
    parked_ids.extend(a.delivery_id for a in exhausted if a.delivery_id)
    faults(stack)

    # The answer is lost after the vendor acted: the viewing is parked (answer_lost), the lead queued.
    faults(stack, lostAnswerRate=1.0)
    lost = client.webhook("viewing, answer lost (parked)", (202,), VIEWING, _json(body(VIEWING)))
    parked(lost)
    client.api_key("person lead, answer lost (queued)", (202,), PERSON_LEAD, _json(body(PERSON_LEAD)))
    faults(stack)
    _drain(stack, row, "after the lost answer")


def _drain(stack: RunningStack, row: Row, when: str) -> None:
    _, emptied = drain_replays(stack)
    if not emptied:
        row.failures.append(f"the failure queue did not empty {when} (time cap reached)")
