"""Hostile input (issue #6, item 3): schemathesis against `/openapi.json`, a hand-written corpus, and the
Hypothesis properties over the models and adapters.

Three rows:

- **hostile: schemathesis**: positive and negative cases generated from the OpenAPI document the local
  API publishes, for every route, body (JSON and form-encoded), query parameter and header it
  documents; every request carries the valid `x-api-key`, so it reaches parsing and validation, and a
  share of the bodies get the sandbox's known ids, so they reach the vendor too. Schemathesis' own
  conformance checks (status code, content type, response schema) run on every answer.
- **hostile: corpus**: deep nesting, huge strings, wrong types, unicode/RTL/emoji/combining marks, null
  bytes, duplicate keys, numbers as strings and back, NaN/Infinity, path traversal and injection
  strings in ids, non-UTF-8 bytes (body and headers), empty bodies, wrong content types, form
  garbage, gigantic arrays, Typeform payloads with unknown answer types, odd methods and paths.
- **hostile: properties**: tests/unit/test_hostile_models.py in a child pytest, with the `reliability`
  Hypothesis profile in the full run (counts are examples, not HTTP requests).

Invariants, checked on every answer: no 5xx; no `internal_error`; every 4xx is JSON with `error` and
`message`; a 400/413/422 of leadhooks' own names the field or header (`errors[].field`), while a 422
`vendor_*` carries the vendor's verdict (DESIGN §5); no error repeats a submitted value (the corpus
marks values with a token); no answer shows that the vendor saw a path it does not have; a dry run of
a hostile id gives a vendor path that keeps its shape after the HTTP client's own normalisation; and
every path the sandbox recorded has one of the documented shapes. Accounting: every distinct
`delivered` answer is one sandbox write, every distinct `parked` answer one message on the parked
queue.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import http.client
import json
import os
import random
import re
import socket
import subprocess
import sys
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlencode, urlsplit

import requests

from local import config
from local.stack import RunningStack
from reliability.bounded import settled_records
from reliability.common import Row

SCHEMATHESIS_SCENARIO = "hostile: schemathesis"
CORPUS_SCENARIO = "hostile: corpus"
PROPERTIES_SCENARIO = "hostile: properties"
ROOT = Path(__file__).resolve().parent.parent
PROPERTY_TESTS = ROOT / "tests" / "unit" / "test_hostile_models.py"
PROPERTIES_TIME_CAP_S = {False: 900.0, True: 180.0}
SCHEMATHESIS_CASES = {False: 10_000, True: 500}  # quick → cases
SCHEMATHESIS_TIME_CAP_S = {False: 900.0, True: 120.0}
CORPUS_TIME_CAP_S = {False: 600.0, True: 180.0}
LISTED_FAILURES = 12
SNIPPET = 160
TIMEOUT_S = (3.0, 60.0)
# Marks submitted values that must never come back in an error answer.
ECHO = "qz7echo"

KEY = config.API_KEY
OTHER_AUTH_HEADERS = frozenset({"typeform-signature", "webhook-id", "webhook-timestamp", "webhook-signature"})
PERSON_LEADS = "/vitec/person-leads"
AREA_INTERESTS = "/vitec/area-interests"
VIEWING_PARTICIPANTS = "/vitec/viewing-participants"
CONTACT_ON_ME = "/omnicasa/contact-on-me"
CONTACTS = "/vitec/contacts"
DELIVERIES = "/deliveries/{deliveryId}"
WRITE_ROUTES = (PERSON_LEADS, AREA_INTERESTS, VIEWING_PARTICIPANTS, CONTACT_ON_ME)
OWN_4XX_NAMING_A_FIELD = (400, 413, 422)

# Where each operation puts ids into the vendor URL: the documented shapes (DESIGN §2), as the vendor
# receives them. Every segment is one percent-encoded id; `.` and `..` are never a segment.
_SEG = r"([^/?#]+)"
VENDOR_PATHS = {
    PERSON_LEADS: re.compile(rf"^/?PublicAdvertising/{_SEG}/Contact/Person/Lead$"),
    AREA_INTERESTS: re.compile(r"^/?Interest/SendInterestAndContactOnArea$"),
    VIEWING_PARTICIPANTS: re.compile(rf"^/?Viewing/{_SEG}/{_SEG}/{_SEG}/Participant/{_SEG}$"),
    CONTACT_ON_ME: re.compile(rf"^/?(?:omnicasa/)?techworks/contactonme/{_SEG}$"),
    CONTACTS: re.compile(rf"^/?CRM/Contact/{_SEG}/{_SEG}$"),
}
RECORD_PATHS = (
    VENDOR_PATHS[PERSON_LEADS],
    VENDOR_PATHS[AREA_INTERESTS],
    VENDOR_PATHS[VIEWING_PARTICIPANTS],
    VENDOR_PATHS[CONTACT_ON_ME],
)
# The vendor's "no such route" answer: seeing it means a request reached a path the vendor does not have.
NO_SUCH_ROUTE = "No HTTP resource was found"

# Valid bodies over the sandbox's seed data (docs/local-fixtures.md).
KNOWN_IDS = {
    "customerId": "M10001",
    "viewingId": "v-m10001-1",
    "timeSlotId": "t-m10001-1a",
    "contactId": "c-m10001-001",
}
VALID: dict[str, dict[str, Any]] = {
    PERSON_LEADS: {
        "customerId": "M10001",
        "person": {
            "firstName": "Anna",
            "lastName": "Lindqvist",
            "socialSecurityNumber": "19850612-1238",
            "address": {"streetAddress": "Vasagatan 12", "zipCode": "411 24", "city": "Göteborg"},
            "email": {"emailAddress": "anna.lindqvist@example.se"},
            "telephone": {"cell": "+46701234567"},
        },
        "leadSource": {"leadType": "AcceptObjectFlow", "name": "hostile suite"},
        "marketing": {
            "referrer": "https://www.example.se/",
            "utmTags": [{"name": "utm_source", "value": "x"}],
        },
        "message": "Hej!",
    },
    AREA_INTERESTS: {
        "updatePerson": {
            "customerId": "M10001",
            "firstName": "Erik",
            "lastName": "Johansson",
            "cellPhone": "+46702345678",
            "approval": True,
            "approvalDate": "2025-03-14T09:12:00+01:00",
            "obtainThrough": "Interest",
            "email": {"emailAddress": "erik.johansson@example.se"},
            "note": "Söker villa.",
        },
        "lookingForAccommodations": [
            {
                "countys": ["Västra Götalands län"],
                "polygon": [{"longitud": 11.9, "latitud": 57.74}],
                "house": True,
                "livingSpace": {"min": 110, "max": 180},
                "price": {"min": 4500000, "max": 7500000},
            }
        ],
        "presentAccommodation": {"estateType": "House", "livingSpace": 92, "price": 3950000},
        "watched": "Yes",
    },
    VIEWING_PARTICIPANTS: {
        **KNOWN_IDS,
        "participated": False,
        "reminderTime": 120,
        "smsReminder": True,
        "contactMessage": "Vi kommer två.",
        "options": {"isDeadlineValidationEnabled": True},
    },
    CONTACT_ON_ME: {
        "CustomerId": 101,
        "Name": "Peeters",
        "FirstName": "Sofie",
        "Email": "sofie.peeters@example.be",
        "GSM": "+32475123456",
        "Subject": "Vraag",
        "Content": "Goedendag",
        "PropertyId": 4711,
        "LanguageId": 1,
    },
}
# The one name field per operation that gets the 200 KB string.
NAME_FIELD = {
    PERSON_LEADS: ("person", "firstName"),
    AREA_INTERESTS: ("updatePerson", "firstName"),
    VIEWING_PARTICIPANTS: ("contactMessage",),
    CONTACT_ON_ME: ("Name",),
}
FREE_TEXT = {
    PERSON_LEADS: ("message",),
    AREA_INTERESTS: ("updatePerson", "note"),
    VIEWING_PARTICIPANTS: ("contactMessage",),
    CONTACT_ON_ME: ("Content",),
}
# Ids that go into vendor URLs (body path, and query parameter name when the route takes one).
ID_FIELDS: dict[str, list[tuple[tuple[str, ...], str | None]]] = {
    PERSON_LEADS: [(("customerId",), "customerId")],
    AREA_INTERESTS: [
        (("updatePerson", "customerId"), "updatePerson.customerId"),
        (("updatePerson", "contactId"), None),
    ],
    VIEWING_PARTICIPANTS: [
        ((name,), name) for name in ("customerId", "viewingId", "timeSlotId", "contactId")
    ],
    CONTACT_ON_ME: [(("CustomerId",), None)],
}

HOSTILE_IDS = (
    "../../CRM", "..", ".", "%2e%2e/", "%2e%2e%2f", "%2E%2E", "..%2f..%2fCRM", "..;/", "?x=1", "#x", "/",
    "a/b", "\\..\\..\\CRM", "M10001/../M10002", "M10001%2F..%2FM10002", "' OR 1=1 --", "\" OR \"\"=\"",
    "1; DROP TABLE leads", "<script>alert(1)</script>", "${jndi:ldap://x/a}", "{{7*7}}", "$(id)", "`id`",
    "|ls", "M10001\u0000", "\u0000", "..\u0000", " ", "\t..\n", "\r\nX-Injected: 1", "M10001?dryRun=false",
    "\u202eM10001", "\uff0e\uff0e\uff0f", "\u2025", "%252e%252e%252f", "CON", "x" * 41, "m10001", "M10001 ",
)  # fmt: skip
UNICODE = (
    "\u00c5sa \u00d6berg-\u00c4ngstr\u00f6m",
    "\u0645\u0631\u062d\u0628\u0627 \u0628\u0627\u0644\u0639\u0627\u0644\u0645",
    "\u05e9\u05dc\u05d5\u05dd \u05e2\u05d5\u05dc\u05dd", "\u202egnp.exe",
    "\U0001f469\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466\U0001f3f3\ufe0f\u200d\U0001f308",
    "Z\u0338\u0322\u031b\u0316\u034ea\u0335\u0321l\u0336g\u0337o\u0334", "e\u0301\u0301\u0301",
    "\u200b\u200c\u200d\ufeff", "\ufffd\ufffe", "\U0001d573\U0001d58a\U0001d591\U0001d591\U0001d594",
    "\U0010ffff", "\u01c5\u0130\u00df", "\ufdfd", "\U0001242b\U0001242b", "\x1b[31mred\x1b[0m",
    "a\u0000b", "\u0000", "\u2028\u2029", "\ud800", "\udfff x", "\ud83d",
)  # fmt: skip
WRONG_VALUES: tuple[Any, ...] = (
    None, True, False, 0, -1, 2**63, 1.5, -0.0, 1e308, "", " ", "x", "123", "1,5", "true", "٣",
    [], [None], [1, "a"], {}, {"a": 1},
)  # fmt: skip
NUMBERS_RAW = (
    "NaN", "Infinity", "-Infinity", "1e400", "-1e400", "1e-400", "1" * 5000, "-0", "1.0e+309", "0x10", "01",
    "1_000", ".5", "5.", "+1",
)  # fmt: skip
FORM_NUMBERS = ("inf", "nan", "-inf", "Infinity", "1e999", "1" * 5000, "1" * 5000 + ".5", "1,500", "٣")


# ---- answers and invariants ------------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    status: int | None  # None: no HTTP answer at all
    content_type: str
    body: bytes
    error: str = ""  # why there was no answer

    def json(self) -> Any:
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    def snippet(self) -> str:
        text = self.body[:SNIPPET].decode("utf-8", errors="replace")
        more = "…" if len(self.body) > SNIPPET else ""
        return (text + more).replace("\n", " ")


def problems(answer: Answer, *, echo: Sequence[str] = (), server_level: bool = False) -> list[str]:
    """Every invariant this answer breaks (empty: it is fine).

    `server_level`: the request is refused by the HTTP server itself before the application runs (a
    request line uvicorn cannot parse); only "a 4xx, never a 5xx" applies.
    """
    if answer.status is None:
        return [f"no answer ({answer.error})"]
    found: list[str] = []
    if answer.status >= 500:
        found.append("5xx")
    text = answer.body.decode("utf-8", errors="replace")
    if NO_SUCH_ROUTE in text:
        found.append("the vendor was called on a path it does not have")
    if answer.status < 400:
        return found
    if server_level:
        if not 400 <= answer.status < 500:
            found.append("not a 4xx")
        return found
    body = answer.json()
    if not answer.content_type.startswith("application/json") or not isinstance(body, dict):
        return [*found, "error answer is not a JSON object"]
    if body.get("error") == "internal_error":
        found.append("unhandled exception (internal_error)")
    if not isinstance(body.get("error"), str) or not body["error"]:
        found.append("no `error` code")
    if not isinstance(body.get("message"), str) or not body["message"]:
        found.append("no `message`")
    if answer.status in OWN_4XX_NAMING_A_FIELD and not _names_a_field(body):
        found.append("does not name the offending field or header")
    leaked = [value for value in echo if value and value in text]
    if leaked:
        found.append("repeats a submitted value")
    return found


def _names_a_field(body: Mapping[str, Any]) -> bool:
    errors = body.get("errors")
    if isinstance(errors, list) and errors:
        return all(isinstance(e, dict) and isinstance(e.get("field"), str) and e["field"] for e in errors)
    # The vendor's own verdict (DESIGN §5: "vendor message included"): it names what the vendor names.
    code = str(body.get("error") or "")
    return code.startswith("vendor_") and bool(body.get("message"))


class Tally:
    """What one row saw: answers by outcome, broken invariants (the first few listed in full)."""

    def __init__(self, scenario: str, earlier: set[tuple[str, str]] | None = None) -> None:
        self.row = Row(scenario=scenario)
        self.broken = 0
        self.statuses: Counter[int] = Counter()
        self.delivered: dict[str, set[str]] = {}  # route → distinct deliveryIds
        self.queued: dict[str, set[str]] = {}
        self.parked: set[tuple[str, str]] = set()  # (route, deliveryId)
        # (route, deliveryId) kept by an earlier part of this run: the idempotency table outlives
        # `stack.reset()`, so such a delivery is answered from its first answer, with no new write here.
        self.earlier = earlier if earlier is not None else set()
        self.replayed = 0
        self.kinds: set[str] = set()
        self.held: list[str] = []
        self.all_failures: list[str] = []

    def record(self, label: str, method: str, route: str, answer: Answer, found: Sequence[str]) -> None:
        self.row.requests += 1
        if answer.status is not None:
            self.statuses[answer.status] += 1
            if answer.status >= 500:
                self.row.server_errors += 1
        body = answer.json() if answer.status is not None else None
        if isinstance(body, dict) and answer.status is not None:
            delivery_id = str(body.get("deliveryId") or "")
            if (route, delivery_id) in self.earlier:
                self.replayed += 1
            elif answer.status < 300 and body.get("status") == "delivered":
                self.delivered.setdefault(route, set()).add(delivery_id)
            elif answer.status < 300 and body.get("status") == "queued":
                self.queued.setdefault(route, set()).add(delivery_id)
            if body.get("parked") is True and (route, delivery_id) not in self.earlier:
                self.parked.add((route, delivery_id))
        if found:
            kind = f"{route} {'; '.join(problem.split(':')[0] for problem in found)}"
            self.fail(
                f"{label}: {method} {route} → {answer.status}: {'; '.join(found)}: {answer.snippet()}", kind
            )

    def fail(self, text: str, kind: str | None = None) -> None:
        """List the first case of each kind of problem (then others, up to LISTED_FAILURES)."""
        self.broken += 1
        self.all_failures.append(text)
        kind = kind or text
        if kind in self.kinds:
            self.held.append(text)
            return
        self.kinds.add(kind)
        if len(self.row.failures) < LISTED_FAILURES:
            self.row.failures.append(text)

    def finish(self, started: float, notes: str) -> Row:
        for route, ids in [*self.delivered.items(), *self.queued.items()]:
            self.earlier.update((route, delivery_id) for delivery_id in ids)
        self.earlier.update(self.parked)
        if self.replayed:
            notes += f"; {self.replayed} answered from an earlier part's delivery (idempotency)"
        while self.held and len(self.row.failures) < LISTED_FAILURES:
            self.row.failures.append(self.held.pop(0))
        listed = len(self.row.failures)
        if self.broken > listed:
            self.row.failures.append(
                f"… {self.broken - listed} more broken invariant(s) ({len(self.kinds)} kinds)"
            )
        self.row.seconds = time.monotonic() - started
        self.row.notes = notes
        target = os.environ.get("HOSTILE_FAILURES_FILE")
        if target and self.all_failures:
            with Path(target).open("a", encoding="utf-8") as out:
                out.writelines(f"{self.row.scenario}: {line}\n" for line in self.all_failures)
        return self.row


# ---- sending ---------------------------------------------------------------------------------------


def send(
    session: requests.Session,
    base: str,
    method: str,
    path: str,
    *,
    body: bytes | None = None,
    headers: Mapping[str, str | bytes] | None = None,
) -> Answer:
    try:
        response = session.request(
            method,
            base + path,
            data=body,
            headers=dict(headers or {}),
            timeout=TIMEOUT_S,
            allow_redirects=False,
        )
    except requests.RequestException as exc:
        return Answer(None, "", b"", type(exc).__name__)
    return Answer(response.status_code, response.headers.get("content-type", ""), response.content)


def send_raw(base: str, request: bytes) -> Answer:
    """One request exactly as given (request line, headers, body), for what HTTP clients refuse to send."""
    parts = urlsplit(base)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 80), timeout=30) as sock:
            sock.sendall(request)
            response = http.client.HTTPResponse(sock)
            response.begin()
            return Answer(response.status, response.getheader("content-type") or "", response.read())
    except (OSError, http.client.HTTPException) as exc:
        return Answer(None, "", b"", type(exc).__name__)


def raw_request(
    method: str, target: bytes, headers: Sequence[tuple[bytes, bytes]], body: bytes = b""
) -> bytes:
    lines = [method.encode() + b" " + target + b" HTTP/1.1", b"Host: 127.0.0.1", b"Connection: close"]
    lines += [name + b": " + value for name, value in headers]
    lines.append(b"Content-Length: " + str(len(body)).encode())
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


def json_headers(**extra: str | bytes) -> dict[str, str | bytes]:
    return {"x-api-key": KEY, "Content-Type": "application/json", **extra}


# ---- the hand-written corpus -------------------------------------------------------------------------


@dataclass
class Probe:
    label: str
    method: str
    path: str  # route plus query string, as sent
    body: bytes | None = None
    headers: dict[str, str | bytes] = field(default_factory=lambda: {"x-api-key": KEY})
    raw: bytes | None = None  # a whole raw request instead of the fields above
    echo: tuple[str, ...] = ()
    server_level: bool = False
    # Dry run of a hostile id: the vendor path must keep the operation's shape.
    shape: str | None = None
    # Further checks of this probe's answer.
    expect: Callable[[Answer], list[str]] | None = None

    @property
    def route(self) -> str:
        return urlsplit(self.path).path


def dumps(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=True).encode()


def with_query(route: str, params: Mapping[str, str] | Sequence[tuple[str, str]] | None = None) -> str:
    return f"{route}?{urlencode(params)}" if params else route


def put(body: dict[str, Any], path: Sequence[str | int], value: Any) -> dict[str, Any]:
    """A deep copy of `body` with `value` at `path` (creating objects on the way)."""
    copy: dict[str, Any] = json.loads(json.dumps(body))
    node: Any = copy
    for step in path[:-1]:
        node = node[int(step)] if isinstance(node, list) else node.setdefault(str(step), {})
    if isinstance(node, list):
        node[int(path[-1])] = value
    else:
        node[str(path[-1])] = value
    return copy


def leaves_and_branches(value: Any, prefix: tuple[str | int, ...] = ()) -> Iterator[tuple[str | int, ...]]:
    """Every path in a JSON value (objects, list items and scalars), parents first."""
    if prefix:
        yield prefix
    if isinstance(value, dict):
        for key, item in value.items():
            yield from leaves_and_branches(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value[:2]):
            yield from leaves_and_branches(item, (*prefix, index))


def nested(levels: int, leaf: Any = 1, kind: str = "object") -> Any:
    value: Any = leaf
    for _ in range(levels):
        value = {"a": value} if kind == "object" else [value]
    return value


def deep_text(levels: int, kind: str = "object") -> bytes:
    """Nesting too deep for `json.dumps` (a recursion limit) written out as text."""
    if kind == "object":
        return b'{"a":' * levels + b"1" + b"}" * levels
    return b"[" * levels + b"]" * levels


def corpus(quick: bool, rng: random.Random) -> list[Probe]:
    probes: list[Probe] = []
    add = probes.append
    big = "x" * 200_000

    for route in WRITE_ROUTES:
        valid = VALID[route]
        name_path = NAME_FIELD[route]
        free = FREE_TEXT[route]
        tag = route.rsplit("/", 1)[1]

        # deep nesting: 1,000 levels, at the top and inside fields; JSON, flat and form
        add(Probe(f"{tag}: 1000 nested arrays", "POST", route, deep_text(1000, "array"), json_headers()))
        add(Probe(f"{tag}: 1000 nested objects", "POST", route, deep_text(1000), json_headers()))
        inner = dumps(put(valid, free, "@@")).replace(b'"@@"', deep_text(1000, "array"))
        add(Probe(f"{tag}: 1000 levels in the free-text field", "POST", route, inner, json_headers()))
        inner = dumps(put(valid, name_path, "@@")).replace(b'"@@"', deep_text(1000))
        add(Probe(f"{tag}: 1000 levels in a name", "POST", route, inner, json_headers()))
        add(
            Probe(
                f"{tag}: 31 levels (allowed depth)",
                "POST",
                route,
                dumps(put(valid, free, nested(28))),
                json_headers(),
            )
        )
        flat_key = ".".join(["person"] + ["a"] * 999)
        add(
            Probe(
                f"{tag}: flat key 1000 segments",
                "POST",
                route,
                dumps({flat_key: "v", "x.y": "z"}),
                json_headers(),
            )
        )
        add(
            Probe(
                f"{tag}: form key 1000 segments",
                "POST",
                route,
                ("__".join(["person"] * 1000) + "=v").encode(),
                {"x-api-key": KEY, "Content-Type": "application/x-www-form-urlencoded"},
            )
        )

        # huge strings: 200 KB in a name (native, flat, form), a 100 KB key, a body just over the limit
        value = ECHO + big
        add(
            Probe(
                f"{tag}: 200 KB name",
                "POST",
                route,
                dumps(put(valid, name_path, value)),
                json_headers(),
                echo=(value[:64],),
            )
        )
        flat_name = ".".join(name_path)
        add(
            Probe(
                f"{tag}: 200 KB flat name",
                "POST",
                route,
                dumps({flat_name: value, "x.y": "z"}),
                json_headers(),
                echo=(value[:64],),
            )
        )
        add(
            Probe(
                f"{tag}: 200 KB form name",
                "POST",
                route,
                urlencode({flat_name: value}).encode(),
                {"x-api-key": KEY, "Content-Type": "application/x-www-form-urlencoded"},
                echo=(value[:64],),
            )
        )
        add(Probe(f"{tag}: 100 KB key", "POST", route, dumps({**valid, "k" * 100_000: "v"}), json_headers()))
        add(
            Probe(
                f"{tag}: body over 256 KB",
                "POST",
                route,
                dumps({**valid, "pad": "p" * 270_000}),
                json_headers(),
            )
        )
        add(
            Probe(
                f"{tag}: 200 KB of null bytes",
                "POST",
                route,
                dumps(put(valid, free, "\u0000" * 40_000)),
                json_headers(),
            )
        )

        # wrong types everywhere
        paths = list(leaves_and_branches(valid))
        for path in paths:
            values = WRONG_VALUES if not quick else rng.sample(WRONG_VALUES, 4)
            for wrong in values:
                add(
                    Probe(
                        f"{tag}: {'.'.join(map(str, path))} = {json.dumps(wrong)[:20]}",
                        "POST",
                        route,
                        dumps(put(valid, path, wrong)),
                        json_headers(),
                    )
                )
        add(
            Probe(
                f"{tag}: every value a list",
                "POST",
                route,
                dumps({k: [v] for k, v in valid.items()}),
                json_headers(),
            )
        )
        add(
            Probe(
                f"{tag}: every value an object",
                "POST",
                route,
                dumps({k: {"v": v} for k, v in valid.items()}),
                json_headers(),
            )
        )
        add(Probe(f"{tag}: every value null", "POST", route, dumps(dict.fromkeys(valid)), json_headers()))
        add(
            Probe(
                f"{tag}: keys in Python spelling and alias at once",
                "POST",
                route,
                dumps({**valid, **{_snake(k): v for k, v in valid.items()}}),
                json_headers(),
            )
        )
        add(
            Probe(
                f"{tag}: keys upper-cased",
                "POST",
                route,
                dumps({k.upper(): v for k, v in valid.items()}),
                json_headers(),
            )
        )
        add(
            Probe(
                f"{tag}: unknown keys",
                "POST",
                route,
                dumps({**valid, "__proto__": {"x": 1}, "constructor": "y", "": ""}),
                json_headers(),
            )
        )

        # unicode, RTL, emoji, combining marks, null bytes, lone surrogates: in every string, then per name
        for text in UNICODE:
            marked = text + ECHO
            everywhere = _map_strings(valid, _except_ids(marked))
            add(
                Probe(
                    f"{tag}: {text!r} in every string",
                    "POST",
                    route,
                    dumps(everywhere),
                    json_headers(),
                    echo=(ECHO,),
                )
            )
            add(
                Probe(
                    f"{tag}: {text!r} as name",
                    "POST",
                    route,
                    dumps(put(valid, name_path, text)),
                    json_headers(),
                )
            )
            add(Probe(f"{tag}: {text!r} as key", "POST", route, dumps({**valid, text: "v"}), json_headers()))
        add(
            Probe(
                f"{tag}: null byte in a key", "POST", route, dumps({**valid, "a\u0000b": 1}), json_headers()
            )
        )
        add(
            Probe(
                f"{tag}: flat null bytes",
                "POST",
                route,
                dumps({flat_name + "\u0000": "a\u0000", "x.\u0000": "\u0000"}),
                json_headers(),
            )
        )

        # duplicate keys: top level, nested, flat, in a form
        body = dumps(valid)
        add(
            Probe(
                f"{tag}: duplicate top-level key",
                "POST",
                route,
                body[:-1] + b', "' + next(iter(valid)).encode() + b'": "again"}',
                json_headers(),
            )
        )
        nested_dup = body.replace(b"{", b'{"dup": 1, "dup": 2, ', 2)
        add(Probe(f"{tag}: duplicate nested key", "POST", route, nested_dup, json_headers()))
        add(Probe(f"{tag}: duplicate flat key", "POST", route, b'{"a.b": 1, "a.b": 2}', json_headers()))
        add(
            Probe(
                f"{tag}: same flat field twice (dotted and __)",
                "POST",
                route,
                dumps({flat_name: "A", "__".join(name_path): "B"}),
                json_headers(),
            )
        )
        form = "&".join([f"{flat_name}=A", f"{flat_name}=B", f"{name_path[0]}=C"])
        add(
            Probe(
                f"{tag}: repeated and conflicting form keys",
                "POST",
                route,
                form.encode(),
                {"x-api-key": KEY, "Content-Type": "application/x-www-form-urlencoded"},
            )
        )

        # numbers as strings and strings as numbers; NaN / Infinity / huge numbers, in every numeric field
        add(
            Probe(
                f"{tag}: every scalar as a string",
                "POST",
                route,
                dumps(_map_scalars(valid, lambda v: json.dumps(v) if not isinstance(v, str) else v)),
                json_headers(),
            )
        )
        add(
            Probe(
                f"{tag}: every string as a number",
                "POST",
                route,
                dumps(_map_strings(valid, lambda s: 12345)),
                json_headers(),
            )
        )
        for number in NUMBERS_RAW:
            text_body = dumps(
                _map_scalars(
                    valid, lambda v: "@@" if isinstance(v, int | float) and not isinstance(v, bool) else v
                )
            )
            add(
                Probe(
                    f"{tag}: {number[:12]} in every number",
                    "POST",
                    route,
                    text_body.replace(b'"@@"', number.encode()),
                    json_headers(),
                )
            )
            add(
                Probe(
                    f"{tag}: {number[:12]} as the name",
                    "POST",
                    route,
                    dumps(put(valid, name_path, "@@")).replace(b'"@@"', number.encode()),
                    json_headers(),
                )
            )
        for number in FORM_NUMBERS:
            form_body = urlencode({**_flatten(valid), **{p: number for p in _numeric_paths(valid)}}).encode()
            add(
                Probe(
                    f"{tag}: form {number[:12]} in every number",
                    "POST",
                    route,
                    form_body,
                    {"x-api-key": KEY, "Content-Type": "application/x-www-form-urlencoded"},
                )
            )
            flat_body = dumps({**_flatten(valid), **{p: number for p in _numeric_paths(valid)}})
            add(Probe(f"{tag}: flat {number[:12]} in every number", "POST", route, flat_body, json_headers()))

        # path traversal and injection strings in ids: body, query string, and the dry run's vendor path
        ids = HOSTILE_IDS if not quick else (*rng.sample(HOSTILE_IDS, 10), "..", ".", "../../CRM")
        for path, query_name in ID_FIELDS[route]:
            for hostile in ids:
                for dry in (False, True):
                    query = {"dryRun": "true"} if dry else {}
                    label = f"{tag}: {'.'.join(path)} = {hostile!r}{' (dry run)' if dry else ''}"
                    add(
                        Probe(
                            label,
                            "POST",
                            with_query(route, query),
                            dumps(put(valid, path, hostile)),
                            json_headers(),
                            shape=route if dry else None,
                        )
                    )
                    if query_name:
                        without = _drop(valid, path)
                        add(
                            Probe(
                                label + " in the query",
                                "POST",
                                with_query(route, {**query, query_name: hostile}),
                                dumps(without),
                                json_headers(),
                                shape=route if dry else None,
                            )
                        )

        # non-UTF-8 bytes: body, inside JSON strings, form values, header values
        for name, raw in (
            ("0xff 0xfe", b"\xff\xfe"),
            ("invalid continuation", dumps(valid)[:-1] + b', "x": "\xc3\x28"}'),
            ("overlong slash", b'{"a": "\xc0\xaf"}'),
            ("UTF-8 encoded surrogate", b'{"a": "\xed\xa0\x80"}'),
            ("Latin-1 text", '{"message": "Göteborg"}'.encode("latin-1")),
            ("UTF-16 with BOM", json.dumps(valid).encode("utf-16")),
            ("UTF-8 BOM", b"\xef\xbb\xbf" + dumps(valid)),
            ("truncated multibyte", dumps(valid)[:-2] + b"\xe2\x82"),
        ):
            add(Probe(f"{tag}: body {name}", "POST", route, raw, json_headers()))
        latin_form = b"person.firstName=G\xf6ran&customerId=M10001"
        add(
            Probe(
                f"{tag}: Latin-1 form",
                "POST",
                route,
                latin_form,
                {"x-api-key": KEY, "Content-Type": "application/x-www-form-urlencoded; charset=latin-1"},
            )
        )
        for header in (
            b"x-api-key",
            b"content-type",
            b"idempotency-key",
            b"x-anything",
            b"typeform-signature",
            b"webhook-id",
        ):
            headers = [
                (b"x-api-key", KEY.encode()),
                (b"content-type", b"application/json"),
                (header, b"\xff\xfe\xc0\xaf"),
            ]
            add(
                Probe(
                    f"{tag}: non-UTF-8 header {header.decode()}",
                    "POST",
                    route,
                    raw=raw_request("POST", route.encode(), headers, dumps(valid)),
                )
            )
        add(
            Probe(
                f"{tag}: non-ASCII in the request line",
                "POST",
                route,
                raw=raw_request(
                    "POST", route.encode() + b"?customerId=\xff", [(b"x-api-key", KEY.encode())], dumps(valid)
                ),
                server_level=True,
            )
        )
        add(
            Probe(
                f"{tag}: %FF in the query",
                "POST",
                route + "?customerId=%FF%FE&dryRun=%C0%AF",
                dumps(_drop(valid, ("customerId",))),
                json_headers(),
            )
        )

        # empty bodies and bodies that are not objects
        not_objects = (
            ("empty", b""), ("blank", b" \r\n\t"), ("null", b"null"), ("list", b"[]"), ("string", b'"x"'),
            ("number", b"0"), ("true", b"true"), ("empty object", b"{}"),
            ("list of nulls", b"[" + b"null," * 60_000 + b"null]"),
        )  # fmt: skip
        for name, raw in not_objects:
            add(Probe(f"{tag}: {name} body (JSON)", "POST", route, raw, json_headers()))
            add(Probe(f"{tag}: {name} body (no content type)", "POST", route, raw, {"x-api-key": KEY}))
        add(Probe(f"{tag}: no body at all", "POST", route, None, {"x-api-key": KEY}))

        # wrong content types
        json_body = dumps(valid)
        for content_type, raw in (
            ("text/plain", json_body),
            ("application/xml", b"<lead><name>x</name></lead>"),
            (
                "multipart/form-data; boundary=b",
                b'--b\r\nContent-Disposition: form-data; name="customerId"\r\n\r\nM10001\r\n--b--\r\n',
            ),
            ("application/json", b"customerId=M10001&person.firstName=A"),
            ("application/x-www-form-urlencoded", json_body),
            ("application/json; charset=utf-16", json_body),
            ("APPLICATION/JSON", json_body),
            ("application/vnd.api+json", json_body),
            ("application/jsonx", json_body),
            (";;;", json_body),
            ("a" * 4000, json_body),
            ("application/octet-stream", bytes(range(256))),
            ("image/png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 64),
        ):
            add(
                Probe(
                    f"{tag}: content type {content_type[:30]}",
                    "POST",
                    route,
                    raw,
                    {"x-api-key": KEY, "Content-Type": content_type},
                )
            )

        # form-encoded garbage
        form_headers: dict[str, str | bytes] = {
            "x-api-key": KEY,
            "Content-Type": "application/x-www-form-urlencoded",
        }
        for name, raw in (
            ("percent garbage", b"%%%&&&==&a=%zz&%=%"),
            ("only separators", b"&&&&===&"),
            ("keys without values", b"a&b&c.d&e__f"),
            ("dots and underscores", b".=1&..=2&__=3&a..b=4&a____b=5&.a=6&a.=7"),
            ("index gap", b"marketing.utmTags.5.name=x&marketing.utmTags.0.name=y"),
            ("index too big", b"marketing.utmTags.99999999.name=x&marketing.utmTags.999999.name=y"),
            ("value and object", b"person=x&person.firstName=y"),
            ("list and object", b"marketing.utmTags=x&marketing.utmTags.0.name=y"),
            ("2,000 fields", "&".join(f"f{i}={i}" for i in range(2000)).encode()),
            ("999 fields", "&".join(f"f{i}={i}" for i in range(999)).encode()),
            ("null bytes", b"person.firstName=%00&%00=%00&message=a%00b"),
            ("plus and spaces", b"person.firstName=+++&customerId=+M10001+"),
            ("semicolons", b"a=1;b=2;customerId=M10001"),
            ("proto keys", b"__proto__.x=1&constructor.prototype.x=2&__class__=3"),
        ):
            add(Probe(f"{tag}: form {name}", "POST", route, raw, form_headers))

        # gigantic arrays (each still under the 256 KB limit)
        add(
            Probe(
                f"{tag}: 60,000 empty objects in a list",
                "POST",
                route,
                dumps({**valid, "list": [{}] * 60_000}),
                json_headers(),
            )
        )
        add(
            Probe(
                f"{tag}: 100,000 numbers in the free text",
                "POST",
                route,
                dumps(put(valid, free, list(range(20_000)))),
                json_headers(),
            )
        )
        add(
            Probe(
                f"{tag}: flat list with 20,000 items",
                "POST",
                route,
                dumps({**_flatten(valid), **{f"marketing.utmTags.{i}.name": "n" for i in range(1, 5_000)}}),
                json_headers(),
            )
        )

        # idempotency keys (sent raw: clients refuse some of these header values)
        for key in ("../x", "", " ", "a" * 129, "a" * 8000, "é", "a\tb", "🙂", "0", "a b", "\x7f"):
            headers = [(b"x-api-key", KEY.encode()), (b"content-type", b"application/json")]
            request = raw_request(
                "POST", route.encode(), [*headers, (b"idempotency-key", key.encode())], dumps(valid)
            )
            add(Probe(f"{tag}: Idempotency-Key {key[:12]!r}", "POST", route, raw=request))

        # odd methods and paths
        for method in ("GET", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE"):
            add(Probe(f"{tag}: {method}", method, route, dumps(valid), json_headers()))
        for target in (
            route + "/",
            "/" + route,
            route + "/..",
            route + "%2F..",
            route + ";x=1",
            route.upper(),
            route + "%00",
        ):
            add(Probe(f"{tag}: path {target}", "POST", target, dumps(valid), json_headers()))
        for raw_target in (
            b"/vitec/../" + route.lstrip("/").encode(),
            route.encode() + b"/./",
            b"/vitec/%2e%2e" + route.encode(),
        ):
            add(
                Probe(
                    f"{tag}: raw path {raw_target.decode()}",
                    "POST",
                    route,
                    raw=raw_request(
                        "POST",
                        raw_target,
                        [(b"x-api-key", KEY.encode()), (b"content-type", b"application/json")],
                        dumps(valid),
                    ),
                )
            )

    probes.extend(_typeform_probes(quick))
    probes.extend(_contacts_probes(quick))
    probes.extend(_query_probes())
    return probes


# A Typeform delivery whose answers are of types leadhooks does not know: each must end up, as text, in
# the free-text field (DESIGN §3: never dropped), and a payment answer never copies card data.
_TF_UNKNOWN = [
    {"type": "matrix", "matrix": {"rows": [{"a": [1, {"b": ECHO + "-matrix"}]}]},
     "field": {"ref": "q_matrix"}},
    {"type": "multi_format", "multi_format": {"video": "https://x/" + ECHO + "-mf"}, "field": {"id": "f_mf"}},
    {"type": "ranking", "ranking": [ECHO + "-ranking", "second"], "field": {"ref": "q_ranking"}},
    {"type": "hologram", "hologram": {"deep": {"x": ECHO + "-hologram"}}, "field": {"ref": "q_holo"}},
    {"type": "contact_info", "contact_info": {"first_name": ECHO + "-ci"}, "field": {"ref": "q_ci"}},
    {"type": "file_url", "file_url": "https://x/" + ECHO + "-file", "field": {"ref": "q_file"}},
    {"type": "opinion_scale", "number": 7, "field": {"ref": "q_scale"}},
    {"no_type": ECHO + "-untyped", "field": {"ref": "q_untyped"}},
    {"type": "payment", "field": {"ref": "q_pay"},
     "payment": {"amount": "1.00", "last4": "4242", "name": "Card Holder", "success": True}},
]  # fmt: skip
_TF_MARKS = (
    ECHO + "-matrix",
    ECHO + "-mf",
    ECHO + "-ranking",
    ECHO + "-hologram",
    ECHO + "-ci",
    ECHO + "-file",
)
_TF_KNOWN = [
    {"type": "text", "text": "Anna", "field": {"ref": "person.firstName", "type": "short_text"}},
    {"type": "email", "email": "anna@example.se", "field": {"ref": "person__email__emailAddress"}},
]
_TF_HIDDEN = {"leadsource__name": "Typeform", "leadSource.leadType": "AcceptObjectFlow"}


def typeform(answers: list[Any], hidden: Any = None, **extra: Any) -> dict[str, Any]:
    fields = [{"id": "f_mf", "title": "Multi format question", "ref": "q_mf"}, "junk", {"title": 5}]
    response = {"form_id": "hostile", "definition": {"id": "hostile", "fields": fields}, "answers": answers}
    response["hidden"] = _TF_HIDDEN if hidden is None else hidden
    event = {"event_id": f"ev-hostile-{time.time_ns()}", "event_type": "form_response"}
    return {**event, "form_response": response, **extra}


def _nothing_dropped(answer: Answer) -> list[str]:
    """The dry run of `_TF_UNKNOWN`: every unknown answer is in the lead's message, no card data is."""
    body = answer.json()
    if answer.status != 200 or not isinstance(body, dict):
        return [f"a Typeform delivery with unknown answer types was refused ({answer.status})"]
    message = str(((body.get("vendorRequest") or {}).get("body") or {}).get("message") or "")
    dropped = [mark for mark in _TF_MARKS if mark not in message]
    found = [f"unknown answers dropped: {dropped}"] if dropped else []
    if "4242" in message or "Card Holder" in message:
        found.append("card data copied into the lead")
    return found


def _delivered(answer: Answer) -> list[str]:
    body = answer.json()
    if answer.status == 200 and isinstance(body, dict) and body.get("status") == "delivered":
        return []
    return ["a valid Typeform delivery with unknown answer types was not delivered"]


def _parked(answer: Answer) -> list[str]:
    body = answer.json()
    if answer.status == 422 and isinstance(body, dict) and body.get("parked") is True:
        return []
    return ["a signed delivery that fails validation is not answered 422 + parked"]


def _typeform_probes(quick: bool) -> list[Probe]:
    """Typeform payloads with unknown and broken answers (x-api-key), and signed ones that must be parked."""
    route = with_query(PERSON_LEADS, {"customerId": "M10001"})
    dry = with_query(PERSON_LEADS, {"customerId": "M10001", "dryRun": "true"})
    clean = typeform([*_TF_KNOWN, *_TF_UNKNOWN])
    probes = [
        Probe("typeform: unknown answer types (dry run)", "POST", dry, dumps(clean), json_headers(),
              expect=_nothing_dropped),
        Probe("typeform: unknown answer types", "POST", route, dumps(clean), json_headers(),
              expect=_delivered),
    ]  # fmt: skip
    broken: list[Any] = [
        {"type": "opinion_scale", "number": "ten", "field": {"ref": "person.lastName"}},
        {"type": "number", "number": 1e308, "field": {"ref": "leadSource.leadType"}},
        {"type": "date", "date": "9999-99-99", "field": {"ref": "marketing.referrer"}},
        {"type": "choice", "choice": [1, 2], "field": {"ref": "leadSource.name"}},
        {"type": "choices", "choices": {"labels": [None, {"x": 1}, ECHO + "-choices"]},
         "field": {"ref": "message"}},
        {"type": 7, "field": {"ref": ["a"]}},
        {"type": "unknown_type", "unknown_type": {"deep": nested(20)}, "field": None},
        {"type": "boolean", "boolean": "yes", "field": {"ref": "person.isForeignSocialSecurityNumber"}},
        {"type": "text", "text": "19811228-9875" + ECHO, "field": {"ref": "person.socialSecurityNumber"}},
        {"field": {"ref": "..", "id": "../../x"}},
        {"type": "text", "text": "x", "field": {"ref": "person.\u0000"}},
        {"type": "file_url", "file_url": "https://x/" + "a" * 10_000,
         "field": {"ref": "marketing.utmTags.7.name"}},
        {"type": "text", "text": "A", "field": {"ref": "person.firstName"}},
        {"type": "text", "text": "B", "field": {"ref": "person__firstName"}},
        "not an object",
        5,
        None,
    ]  # fmt: skip
    variants: list[tuple[str, Any]] = [
        ("broken answers", typeform([*_TF_UNKNOWN, *broken])),
        ("broken hidden fields", typeform(_TF_KNOWN, {"x": {"y": [1]}, "leadSource": 5, "..": "", "": None})),
        ("no leadSource (invalid)", typeform(_TF_KNOWN, {})),
        (
            "a lone surrogate in an answer",
            typeform([{"type": "text", "text": "\ud800", "field": {"ref": "q"}}]),
        ),
        ("form_response is a list", {"form_response": []}),
        ("form_response is a string", {"form_response": "x"}),
        ("form_response is null", {"form_response": None}),
        ("answers is an object", {"form_response": {"answers": {"a": 1}}}),
        ("answers is a string", {"form_response": {"answers": "abc"}}),
        ("hidden is a list", {"form_response": {"answers": [], "hidden": [1, 2]}}),
        ("event_id is a list", typeform(_TF_KNOWN, event_id=[1])),
        ("event_id is a path", typeform(_TF_KNOWN, event_id="../../x")),
        ("event_id is long", typeform(_TF_KNOWN, event_id="e" * 5000)),
        ("event_id is unicode", typeform(_TF_KNOWN, event_id="\u00e9\U0001f642")),
        ("event_id is a number", typeform(_TF_KNOWN, event_id=12345)),
        (
            "3,000 answers",
            typeform([{"type": "text", "text": "t", "field": {"ref": f"q{i}"}} for i in range(3_000)]),
        ),
        ("deep answer value", typeform([{"type": "text", "text": nested(30), "field": {"ref": "message"}}])),
    ]
    for name, payload in variants:
        probes.append(Probe(f"typeform: {name}", "POST", route, dumps(payload), json_headers(), echo=(ECHO,)))
    probes.append(Probe("typeform: duplicate answers key", "POST", route,
                        b'{"form_response": {"answers": [], "answers": []}}', json_headers()))  # fmt: skip
    deep = dumps(clean).replace(b'"Anna"', deep_text(1000, "array"))
    probes.append(Probe("typeform: 1000 levels in an answer", "POST", route, deep, json_headers()))
    # Signed by Typeform, authentic, and failing validation: parked for an operator (DESIGN §5).
    # (Only these: a payload that cannot even be parsed is a 400, and a 400 is not parked.)
    parkable = ["broken answers", "no leadSource (invalid)"] + ([] if quick else ["broken hidden fields"])
    for name, payload in [(name, payload) for name, payload in variants if name in parkable]:
        body = dumps({**payload, "event_id": f"ev-hostile-signed-{time.time_ns()}"})
        digest = hmac.new(config.TYPEFORM_SECRET.encode(), body, hashlib.sha256).digest()
        headers: dict[str, str | bytes] = {
            "Content-Type": "application/json",
            "Typeform-Signature": f"sha256={base64.b64encode(digest).decode()}",
        }
        probes.append(
            Probe(f"typeform (signed): {name}", "POST", route, body, headers, echo=(ECHO,), expect=_parked)
        )
    return probes


def _contacts_probes(quick: bool) -> list[Probe]:
    probes: list[Probe] = []
    ids = HOSTILE_IDS if not quick else ("..", ".", "../../CRM", "?x=1", "' OR 1=1 --", "<script>")
    for hostile in ids:
        for dry in (False, True):
            extra = {"dryRun": "true"} if dry else {}
            suffix = " (dry run)" if dry else ""
            probes.append(
                Probe(
                    f"contacts: ids = {hostile!r}{suffix}",
                    "GET",
                    with_query(CONTACTS, {"customerId": "M10001", "ids": hostile, **extra}),
                    None,
                    {"x-api-key": KEY},
                    shape=CONTACTS if dry else None,
                )
            )
            probes.append(
                Probe(
                    f"contacts: ids = c-m10001-001,{hostile!r}{suffix}",
                    "GET",
                    with_query(CONTACTS, {"customerId": "M10001", "ids": "c-m10001-001," + hostile, **extra}),
                    None,
                    {"x-api-key": KEY},
                    shape=CONTACTS if dry else None,
                )
            )
            probes.append(
                Probe(
                    f"contacts: customerId = {hostile!r}{suffix}",
                    "GET",
                    with_query(CONTACTS, {"customerId": hostile, "ids": "c-m10001-001", **extra}),
                    None,
                    {"x-api-key": KEY},
                    shape=CONTACTS if dry else None,
                )
            )
    many = ",".join(f"c-m10001-{i:03d}" for i in range(1, 61)) + "," + ",".join(f"x{i}" for i in range(900))
    for name, params in (
        ("1,000 ids", [("customerId", "M10001"), ("ids", many)]),
        ("only commas", [("customerId", "M10001"), ("ids", ",,,,")]),
        ("empty ids", [("customerId", "M10001"), ("ids", "")]),
        ("no parameters", []),
        (
            "repeated parameters",
            [("customerId", "M10001"), ("customerId", "M10002"), ("ids", "a"), ("ids", "b")],
        ),
        ("array-style parameters", [("customerId[]", "M10001"), ("ids[0]", "a")]),
        ("41-character id", [("customerId", "M10001"), ("ids", "x" * 41)]),
        ("null bytes", [("customerId", "M10001\u0000"), ("ids", "\u0000")]),
        ("unicode ids", [("customerId", "M10001"), ("ids", "ü,🙂,\u202e,\u0301")]),
        ("dryRun=maybe", [("customerId", "M10001"), ("ids", "c-m10001-001"), ("dryRun", "maybe")]),
    ):
        probes.append(
            Probe(f"contacts: {name}", "GET", with_query(CONTACTS, params), None, {"x-api-key": KEY})
        )
    probes.append(
        Probe(
            "contacts: GET with a body",
            "GET",
            with_query(CONTACTS, {"customerId": "M10001", "ids": "c-m10001-001"}),
            deep_text(1000),
            json_headers(),
        )
    )
    probes.append(Probe("contacts: POST", "POST", CONTACTS, b"{}", json_headers()))
    probes.append(
        Probe(
            "contacts: non-UTF-8 header",
            "GET",
            CONTACTS,
            raw=raw_request(
                "GET", CONTACTS.encode() + b"?customerId=M10001&ids=a", [(b"x-api-key", b"\xff")]
            ),
        )
    )
    probes.append(
        Probe(
            "contacts: %-encoded garbage",
            "GET",
            CONTACTS + "?customerId=%zz%FF&ids=%00%ff%2e%2e%2f",
            None,
            {"x-api-key": KEY},
        )
    )
    return probes


def _query_probes() -> list[Probe]:
    probes: list[Probe] = []
    valid = _drop(VALID[PERSON_LEADS], ("customerId",))
    for name, params in (
        ("repeated customerId", [("customerId", "M10001"), ("customerId", "M10002")]),
        ("empty customerId", [("customerId", "")]),
        ("1,000 parameters", [(f"p{i}", str(i)) for i in range(1000)]),
        (
            "model fields in the query",
            [("customerId", "M10001"), ("person.firstName", "Q" * 100), ("leadSource.leadType", "nope")],
        ),
        ("list index in the query", [("customerId", "M10001"), ("marketing.utmTags.0.name", "x")]),
        ("proto keys", [("customerId", "M10001"), ("__proto__", "x"), ("constructor.prototype", "y")]),
        ("dryRun variants", [("customerId", "M10001"), ("dryRun", "TRUE"), ("dryRun", "1")]),
        ("key of 1000 dots", [("customerId", "M10001"), ("." * 1000, "x")]),
        ("huge value", [("customerId", "M" * 8000)]),
    ):
        probes.append(
            Probe(f"query: {name}", "POST", with_query(PERSON_LEADS, params), dumps(valid), json_headers())
        )
    for path in (
        "/",
        "/vitec",
        "/nope",
        "/vitec/person-leads/extra",
        "/" + "a/" * 2000,
        "/%00",
        "/docs/../openapi.json",
    ):
        probes.append(Probe(f"path: {path[:30]}", "GET", path, None, {"x-api-key": KEY}))
    return probes


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _drop(body: dict[str, Any], path: Sequence[str]) -> dict[str, Any]:
    copy: dict[str, Any] = json.loads(json.dumps(body))
    node = copy
    for step in path[:-1]:
        node = node[step]
    node.pop(path[-1], None)
    return copy


def _except_ids(text: str) -> Callable[[str], str]:
    """Replace every string but the sandbox's known ids (so the request can still be delivered)."""

    def change(value: str) -> str:
        return value if value in KNOWN_IDS.values() else text

    return change


def _map_strings(value: Any, change: Callable[[str], Any]) -> Any:
    if isinstance(value, str):
        return change(value)
    if isinstance(value, dict):
        return {k: _map_strings(v, change) for k, v in value.items()}
    if isinstance(value, list):
        return [_map_strings(v, change) for v in value]
    return value


def _map_scalars(value: Any, change: Callable[[Any], Any]) -> Any:
    if isinstance(value, dict):
        return {k: _map_scalars(v, change) for k, v in value.items()}
    if isinstance(value, list):
        return [_map_scalars(v, change) for v in value]
    return change(value)


def _flatten(value: Any, prefix: str = "") -> dict[str, str]:
    flat: dict[str, str] = {}
    if isinstance(value, dict):
        for key, item in value.items():
            flat.update(_flatten(item, f"{prefix}.{key}" if prefix else str(key)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            flat.update(_flatten(item, f"{prefix}.{index}"))
    else:
        flat[prefix] = value if isinstance(value, str) else json.dumps(value)
    return flat


def _numeric_paths(value: Any) -> list[str]:
    return [
        path
        for path, item in _flatten(value).items()
        if item.lstrip("-").replace(".", "", 1).isdigit() and not path.endswith(("Id", "customerId"))
    ]


def vendor_path_problems(route: str, answer: Answer) -> list[str]:
    """A dry run's vendor path must keep its shape once the HTTP client has normalised it."""
    if answer.status != 200:
        return []
    body = answer.json()
    vendor_request = body.get("vendorRequest") if isinstance(body, dict) else None
    if not isinstance(vendor_request, dict):
        return ["dry run without vendorRequest"]
    paths = [str(vendor_request.get("path"))] if "path" in vendor_request else []
    paths += [str(call.get("path")) for call in vendor_request.get("calls") or [] if isinstance(call, dict)]
    found: list[str] = []
    for path in paths:
        path = path.replace("{secretKey}", "secret")  # Omnicasa's key: a placeholder the client fills in
        sent = requests.Request("GET", "http://vendor.invalid/" + path.lstrip("/")).prepare().path_url
        if sent.lstrip("/") != path.lstrip("/"):
            found.append(f"the HTTP client would send {sent!r} for {path!r}")
        elif not path_has_shape(path, (VENDOR_PATHS[route],)):
            found.append(f"vendor path {path!r} is not the documented shape")
    return found


def path_has_shape(path: str, shapes: Sequence[re.Pattern[str]]) -> bool:
    for shape in shapes:
        match = shape.match(path)
        if match is not None:
            return all(unquote(segment) not in (".", "..") for segment in match.groups())
    return False


# ---- running ---------------------------------------------------------------------------------------


def run_corpus(
    stack: RunningStack, quick: bool, seed: int, earlier: set[tuple[str, str]] | None = None
) -> Row:
    """The hand-written probes; `earlier`: deliveries kept by a previous part (see `Tally`)."""
    tally = Tally(CORPUS_SCENARIO, earlier)
    started = time.monotonic()
    rng = random.Random(seed)  # noqa: S311 - picks test cases, not secrets
    probes = corpus(quick, rng)
    deadline = started + CORPUS_TIME_CAP_S[quick]
    with requests.Session() as session:
        for probe in probes:
            if time.monotonic() > deadline:
                tally.fail(
                    f"time cap of {CORPUS_TIME_CAP_S[quick]:.0f} s reached after {tally.row.requests} probes"
                )
                break
            if probe.raw is not None:
                answer = send_raw(stack.api, probe.raw)
            else:
                answer = send(
                    session, stack.api, probe.method, probe.path, body=probe.body, headers=probe.headers
                )
            found = problems(answer, echo=probe.echo, server_level=probe.server_level)
            if probe.shape is not None:
                found += vendor_path_problems(probe.shape, answer)
            if probe.expect is not None:
                found += probe.expect(answer)
            tally.record(probe.label, probe.method, probe.route, answer, found)
    settle(stack, tally)
    return tally.finish(
        started, f"{len(probes)} probes; statuses {dict(sorted(tally.statuses.items()))}; seed {seed}"
    )


class _BudgetSpentError(Exception):
    """Raised inside a Hypothesis test to end it: the budget is spent or time is up."""


class _Generated:
    """Sends schemathesis cases for one operation and generation mode until its budget is spent."""

    def __init__(self, stack: RunningStack, tally: Tally, session: requests.Session, deadline: float) -> None:
        from schemathesis.checks import not_a_server_error
        from schemathesis.specs.openapi.checks import (
            content_type_conformance,
            response_schema_conformance,
            status_code_conformance,
        )

        self.stack = stack
        self.tally = tally
        self.session = session
        self.deadline = deadline
        self.checks = [
            not_a_server_error,
            status_code_conformance,
            content_type_conformance,
            response_schema_conformance,
        ]
        self.skipped = Counter[str]()

    def run(self, operation: Any, mode: Any, goal: int, seed: int) -> int:
        """Up to `goal` cases; returns how many were sent (fewer when the strategy runs dry or time is up)."""
        from hypothesis import HealthCheck, Phase, given, settings
        from hypothesis import seed as hypothesis_seed
        from hypothesis import strategies as st

        sent = 0
        for round_ in range(5):
            if sent >= goal or time.monotonic() > self.deadline:
                break
            before = sent
            budget = goal - sent

            @hypothesis_seed(seed + round_)
            @settings(
                max_examples=budget,
                deadline=None,
                database=None,
                phases=[Phase.generate],
                suppress_health_check=list(HealthCheck),
            )
            @given(case=operation.as_strategy(generation_mode=mode), known=st.booleans())
            def exercise(case: Any, known: bool) -> None:
                nonlocal sent
                if sent >= goal or time.monotonic() > self.deadline:
                    raise _BudgetSpentError  # ends the test: no more cases generated, none shrunk
                if self.one(case, mode, known):
                    sent += 1

            with contextlib.suppress(_BudgetSpentError):
                exercise()
            if sent == before:
                break  # the strategy has nothing more to give
        return sent

    def one(self, case: Any, mode: Any, known: bool) -> bool:
        """Send one case and check the answer; False when the HTTP client refused to send it."""
        headers = dict(case.headers or {})
        headers["x-api-key"] = KEY  # always past authentication: parsing and validation are the target
        case.headers = headers
        if known:
            _use_known_ids(case)
        label = _case_label(case, mode)
        try:
            request = case.as_transport_kwargs(base_url=self.stack.api)
            headers = request["headers"]
            # Negative cases add unexpected headers, named from strings in the document: a signature
            # header would select that scheme instead (docs/inbound.md) and stop the case at 401.
            for name in [name for name in headers if str(name).lower() in OTHER_AUTH_HEADERS]:
                del headers[name]
            # Added after serialisation: a negative case "missing header" would have dropped it.
            headers["x-api-key"] = KEY
            response = self.session.request(**request, timeout=TIMEOUT_S, allow_redirects=False)
        except (requests.exceptions.InvalidHeader, UnicodeError, ValueError) as exc:
            self.skipped[type(exc).__name__] += 1  # refused by the client: nothing reached the API
            return False
        except requests.RequestException as exc:
            answer = Answer(None, "", b"", type(exc).__name__)
            self.tally.record(label, case.method, case.path, answer, problems(answer))
            return True
        answer = Answer(response.status_code, response.headers.get("content-type", ""), response.content)
        found = problems(answer)
        if answer.status == 401:
            found.append(
                f"401 although the valid x-api-key was sent (headers sent: {sorted(request['headers'])})"
            )
        try:
            case.validate_response(response, checks=self.checks)
        except BaseExceptionGroup as group:  # schemathesis' FailureGroup: several failed checks
            found.extend(f"schemathesis: {_first_line(exc)}" for exc in group.exceptions)
        except AssertionError as exc:  # one failed check (schemathesis' Failure)
            found.append(f"schemathesis: {_first_line(exc)}")
        self.tally.record(label, case.method, case.path, answer, found)
        return True


def _first_line(exc: BaseException) -> str:
    """A check failure's title and its first explanation line (schemathesis prints pages otherwise)."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return " / ".join(lines[:2])[:200] or type(exc).__name__


def run_schemathesis(
    stack: RunningStack, quick: bool, seed: int, earlier: set[tuple[str, str]] | None = None
) -> Row:
    """Generated cases for every operation, positive and negative, until the case budget is spent."""
    import schemathesis
    from schemathesis import GenerationMode
    from schemathesis.core.result import Ok

    tally = Tally(SCHEMATHESIS_SCENARIO, earlier)
    started = time.monotonic()
    target = SCHEMATHESIS_CASES[quick]
    schema = schemathesis.openapi.from_url(
        f"{stack.api}/openapi.json", config=schemathesis.Config(), timeout=30
    )
    operations: list[Any] = []
    for result in schema.get_all_operations():
        if isinstance(result, Ok):
            operations.append(result.ok())
        else:
            tally.fail(f"/openapi.json: an operation schemathesis cannot use: {str(result.err())[:200]}")
    documented = {(op.method.upper(), op.path) for op in operations}
    expected = {("POST", route) for route in WRITE_ROUTES} | {("GET", CONTACTS), ("GET", DELIVERIES)}
    if documented != expected:
        tally.fail(f"/openapi.json documents {sorted(documented)}, expected {sorted(expected)}")
    runs = [(op, mode) for op in operations for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)]
    with requests.Session() as session:
        generated = _Generated(stack, tally, session, started + SCHEMATHESIS_TIME_CAP_S[quick])
        for index, (operation, mode) in enumerate(runs):
            # Spread what is left over the runs still to come, so a run that runs dry is made up for.
            goal = -(-(target - tally.row.requests) // (len(runs) - index))
            generated.run(operation, mode, goal, seed + 1000 * index)
    if tally.row.requests < target:
        tally.fail(
            f"only {tally.row.requests} of {target} cases were sent (time cap or exhausted strategies)"
        )
    settle(stack, tally)
    return tally.finish(
        started,
        f"{len(operations)} operations x positive/negative; "
        f"statuses {dict(sorted(tally.statuses.items()))}; "
        f"refused by the HTTP client (not sent): {sum(generated.skipped.values())}; seed {seed}",
    )


def _use_known_ids(case: Any) -> None:
    """Half the cases carry the sandbox's seed ids, so they get past the customer check to the vendor."""
    if case.path == CONTACTS:
        query = dict(case.query or {})
        query["customerId"] = KNOWN_IDS["customerId"]
        case.query = query
        return
    if isinstance(case.body, dict):
        body = dict(case.body)
        if case.path == AREA_INTERESTS and isinstance(body.get("updatePerson"), dict):
            body["updatePerson"] = {**body["updatePerson"], "customerId": KNOWN_IDS["customerId"]}
        elif case.path == CONTACT_ON_ME:
            body["CustomerId"] = 101
        elif case.path in (PERSON_LEADS, VIEWING_PARTICIPANTS):
            for name in ("customerId", "viewingId", "timeSlotId", "contactId"):
                if name in body or case.path == VIEWING_PARTICIPANTS:
                    body[name] = KNOWN_IDS[name]
            if case.path == PERSON_LEADS:
                body["customerId"] = KNOWN_IDS["customerId"]
        case.body = body


def _case_label(case: Any, mode: Any) -> str:
    query = urlencode(case.query or {}, doseq=True)[:80]
    return f"schemathesis {mode.value}{' ?' + query if query else ''}"


def settle(stack: RunningStack, tally: Tally) -> None:
    """Accounting against the sandbox and the queues, and the shape of every path the vendor saw.

    No faults are injected here, so every distinct `delivered` answer is exactly one sandbox write, and
    a `queued` one is a write whose answer came too late (the sandbox still made it): a delivery queued
    without reaching the vendor is one the vendor can never take, and more writes than answers are
    duplicates. Every distinct `parked` answer is one message on the parked queue.
    """
    records = settled_records(stack, cap_s=10.0)
    by_route = Counter[str]()
    for record in records:
        path = str(record.get("path") or "")
        if not path_has_shape(path, RECORD_PATHS):
            tally.fail(f"the sandbox recorded a write on {path[:120]!r}, not a documented route shape")
        by_route[_route_of(path)] += 1
    lost = duplicates = 0
    for route in WRITE_ROUTES:
        delivered = len(tally.delivered.get(route, set()))
        queued = len(tally.queued.get(route, set()))
        written = by_route.get(route, 0)
        if written < delivered:
            lost += delivered - written
            tally.fail(f"{route}: {delivered} distinct `delivered` answers, {written} sandbox writes")
        elif written < delivered + queued:
            tally.fail(
                f"{route}: {delivered + queued - written} `queued` answer(s) the vendor, though up, never "
                "received them: a delivery the vendor cannot take was accepted for retry"
            )
        if written > delivered + queued:
            duplicates += written - delivered - queued
            tally.fail(
                f"{route}: {written} sandbox writes for {delivered} delivered + {queued} queued answers"
            )
    parked_messages = queue_length(stack, stack.parked_queue)
    if parked_messages < len(tally.parked):
        lost += len(tally.parked) - parked_messages
        tally.fail(
            f"{len(tally.parked)} distinct parked answers, {parked_messages} messages on the parked queue"
        )
    elif parked_messages > len(tally.parked):
        duplicates += parked_messages - len(tally.parked)
        tally.fail(f"{parked_messages} parked messages for {len(tally.parked)} distinct parked answers")
    row = tally.row
    row.delivered = sum(len(ids) for ids in tally.delivered.values())
    row.queued = queue_length(stack, stack.failure_queue)
    row.parked = parked_messages
    row.lost = lost
    row.duplicates = duplicates


def _route_of(path: str) -> str:
    for route in WRITE_ROUTES:
        if VENDOR_PATHS[route].match(path):
            return route
    return "?"


def queue_length(stack: RunningStack, queue_url: str) -> int:
    attributes = stack.sqs().get_queue_attributes(
        QueueUrl=queue_url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(
        attributes["ApproximateNumberOfMessagesNotVisible"]
    )


def run_properties(quick: bool) -> Row:
    """The Hypothesis properties over every model and adapter (tests/unit/test_hostile_models.py).

    Run by pytest in a child process: the `reliability` profile (1,000 examples per property) in the
    full run, the default (100) in the quick one. `requests` counts examples, not HTTP requests.
    """
    row = Row(scenario=PROPERTIES_SCENARIO)
    started = time.monotonic()
    env = {**os.environ, "HYPOTHESIS_PROFILE": "default" if quick else "reliability"}
    command = [sys.executable, "-m", "pytest", str(PROPERTY_TESTS), "-q", "-p", "no:cacheprovider",
               "--hypothesis-show-statistics", "-o", "addopts="]  # fmt: skip
    try:
        done = subprocess.run(  # noqa: S603 - our own interpreter and test file
            command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=PROPERTIES_TIME_CAP_S[quick],
            check=False,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        row.failures.append(f"the property tests did not finish within {PROPERTIES_TIME_CAP_S[quick]:.0f} s")
        row.seconds = time.monotonic() - started
        return row
    output = done.stdout + done.stderr
    examples = [tuple(map(int, m)) for m in re.findall(r"(\d+) passing, (\d+) failing", output)]
    row.requests = sum(passing + failing for passing, failing in examples)
    summary = re.findall(r"^=* ?(\d+ (?:passed|failed).*?) in [\d.]+s", output, flags=re.MULTILINE)
    failed = re.findall(r"^(?:FAILED|ERROR) (\S+)", output, flags=re.MULTILINE)
    row.failures.extend(f"property failed: {name}" for name in failed[:LISTED_FAILURES])
    if done.returncode != 0:
        # The falsifying example and its @reproduce_failure blob (the suite's runner logs stderr).
        sys.stderr.write(output)
    if done.returncode != 0 and not failed:
        row.failures.append(f"pytest exited {done.returncode}: {output.strip()[-300:]}")
    row.seconds = time.monotonic() - started
    row.notes = (
        f"{len(examples)} Hypothesis properties, {row.requests} examples over models and adapters "
        f"(profile {env['HYPOTHESIS_PROFILE']}); pytest: {summary[-1] if summary else 'no summary'}"
    )
    return row


def run(stack: RunningStack, quick: bool) -> list[Row]:
    """Schemathesis and the hand-written corpus (each on a clean stack), then the model properties."""
    seed = int(os.environ.get("HOSTILE_SEED") or random.SystemRandom().randrange(1 << 30))
    rows: list[Row] = []
    kept: set[tuple[str, str]] = set()
    parts = ((SCHEMATHESIS_SCENARIO, run_schemathesis), (CORPUS_SCENARIO, run_corpus))
    for scenario, part in parts:
        stack.reset()
        started = time.monotonic()
        try:
            rows.append(part(stack, quick, seed, kept))
        except Exception as exc:  # one part's crash must not cost the other rows
            traceback.print_exc()
            row = Row(scenario=scenario, seconds=time.monotonic() - started)
            row.failures.append(f"crashed: {type(exc).__name__}: {str(exc)[:300]} (traceback on stderr)")
            rows.append(row)
    rows.append(run_properties(quick))
    return rows
