"""Synthetic but realistic leads for the soak and the storm: one distinct person per submission.

Every submission carries a unique token (`SOAK-000123`, `STORM-000042`) that is also its delivery id
(`Idempotency-Key` or Typeform `event_id`) and that sits in the operation's free-text field
(`message`, `updatePerson.note`, `contactMessage`, `Content`). The vendor receives the free text as
is, so every write the sandbox records can be tied back to the one submission it came from.

Names, e-mail addresses, phone numbers and personnummer vary with the index, so the sandbox's
duplicate check (personnummer, e-mail, cell phone) never merges two different submissions, and
merges all copies of one submission. The people are invented; the e-mail domains are `example.*`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

# operation (sandbox record name) -> (API route, product operation / function name)
ROUTES: dict[str, tuple[str, str]] = {
    "person_lead": ("/vitec/person-leads", "vitec_person_lead"),
    "area_interest": ("/vitec/area-interests", "vitec_area_interest"),
    "viewing_participant": ("/vitec/viewing-participants", "vitec_viewing_participant"),
    "contact_on_me": ("/omnicasa/contact-on-me", "omnicasa_contact_on_me"),
}
OPERATIONS = tuple(ROUTES)


def _resendable() -> frozenset[str]:
    """From the catalog (`resend_after_ambiguous`), never a hand list: the writes that may be re-sent
    once after an ambiguous outcome (DESIGN §6). A viewing registration is not."""
    from leadhooks.catalog import write_operation

    found = set()
    for operation, (_route, function) in ROUTES.items():
        spec = write_operation(function)
        if spec is not None and spec.resend_after_ambiguous:
            found.add(operation)
    return frozenset(found)


# Writes whose bound is 2 (re-sent at most once after an ambiguous outcome); every other write: 1.
DEDUPLICATED = _resendable()
WRITE_BOUND = {True: 2, False: 1}

TOKEN_PATTERN = re.compile(r"\b((?:SOAK|STORM|LOST|KILL|DDB|CRED|BIG|BURST)-\d{6})\b")

_SV_FIRST = (
    "Anna",
    "Erik",
    "Maria",
    "Lars",
    "Karin",
    "Anders",
    "Eva",
    "Johan",
    "Sara",
    "Per",
    "Elin",
    "Mikael",
    "Ingrid",
    "Oskar",
    "Linnea",
    "Gustav",
    "Astrid",
    "Nils",
    "Frida",
    "Björn",
    "Åsa",
    "Jönsson-Ek",
    "Märta",
    "Håkan",
)
_SV_LAST = (
    "Andersson",
    "Johansson",
    "Karlsson",
    "Nilsson",
    "Eriksson",
    "Larsson",
    "Olsson",
    "Persson",
    "Svensson",
    "Gustafsson",
    "Pettersson",
    "Jonsson",
    "Lindqvist",
    "Bergström",
    "Åkesson",
    "Öberg",
    "Lindgren",
    "Sandberg",
    "Holm",
    "Fransson-Wikström",
)
_BE_FIRST = ("Sofie", "Jan", "Els", "Pieter", "Lotte", "Wim", "Marie", "Luc", "Nathalie", "Koen", "Inès")
_BE_LAST = ("Peeters", "Janssens", "Maes", "Jacobs", "Mertens", "Willems", "Claes", "Goossens", "Dubois")
_STREETS = ("Vasagatan", "Storgatan", "Kungsgatan", "Södra vägen", "Linnégatan", "Drottninggatan")
_CITIES = (("Göteborg", "411 24"), ("Stockholm", "111 52"), ("Malmö", "211 22"), ("Uppsala", "753 20"))
_BE_CITIES = (("Gent", "9000"), ("Antwerpen", "2000"), ("Leuven", "3000"), ("Brugge", "8000"))
_MESSAGES = (
    "Hej! Vi funderar på att sälja vår trea under våren och vill gärna boka en värdering.",
    "Jag är intresserad av objektet och vill veta mer om avgiften.",
    "Ring mig gärna efter klockan fem.",
    "Finns det möjlighet att se förrådet också?",
)


@dataclass(frozen=True)
class Submission:
    """One lead sent once (soak) or several times with the same id (storm)."""

    token: str  # unique; also the delivery id
    operation: str  # the sandbox's record name: person_lead, area_interest, ...
    body: dict[str, Any]  # the native body (vendor JSON + path parameters)

    @property
    def route(self) -> str:
        return ROUTES[self.operation][0]

    @property
    def function(self) -> str:
        return ROUTES[self.operation][1]

    @property
    def deduplicated(self) -> bool:
        return self.operation in DEDUPLICATED

    @property
    def bound(self) -> int:
        """Vendor writes this submission may make at most, across API, replay and ops (DESIGN §6)."""
        return WRITE_BOUND[self.deduplicated]


def _luhn_digit(digits: str) -> int:
    total = 0
    for position, char in enumerate(digits):
        value = int(char) * (2 if position % 2 == 0 else 1)
        total += value - 9 if value > 9 else value
    return (10 - total % 10) % 10


def personnummer(index: int) -> str:
    """A Luhn-valid personnummer, distinct for every index below 18,000 (one birth date each)."""
    born = date(1945, 1, 1) + timedelta(days=index + 17)
    serial = f"{(index * 37) % 1000:03d}"
    short = born.strftime("%y%m%d") + serial
    return f"{born:%Y%m%d}-{serial}{_luhn_digit(short)}"


def swedish_cell(index: int) -> str:
    """Distinct per index; national or E.164 form (the product normalises both)."""
    number = f"{9_000_000 + index:07d}"
    if index % 2:
        return f"+4670{number}"
    return f"070-{number[:3]} {number[3:5]} {number[5:]}"


def belgian_gsm(index: int) -> str:
    return f"+32475{100_000 + index:06d}"


def make_submission(
    index: int, operation: str, token: str, fixtures: dict[str, Any], *, domain: str = "example.se"
) -> Submission:
    """The native body of submission `index` for `operation`, with `token` in its free text."""
    first = _SV_FIRST[index % len(_SV_FIRST)]
    last = _SV_LAST[(index // len(_SV_FIRST)) % len(_SV_LAST)]
    slug = f"{first}.{last}".lower().replace("å", "a").replace("ä", "a").replace("ö", "o").replace("-", "")
    email = f"{slug}.{index}@{domain}"
    street = f"{_STREETS[index % len(_STREETS)]} {1 + index % 97}"
    city, zip_code = _CITIES[index % len(_CITIES)]
    customers = sorted(fixtures["vitec"])
    customer_id = customers[index % len(customers)]
    text = f"{_MESSAGES[index % len(_MESSAGES)]} Ref {token}."
    body: dict[str, Any]
    if operation == "person_lead":
        person: dict[str, Any] = {
            "firstName": first,
            "lastName": last,
            "address": {"streetAddress": street, "zipCode": zip_code, "city": city},
            "email": {"emailAddress": email},
            "telephone": {"cell": swedish_cell(index)},
        }
        if index % 2 == 0:
            person["socialSecurityNumber"] = personnummer(index)
            person["isForeignSocialSecurityNumber"] = False
        body = {
            "customerId": customer_id,
            "person": person,
            "leadSource": {"leadType": "AcceptObjectFlow", "name": "Kontaktformulär hemsida"},
            "marketing": {
                "referrer": f"https://www.example.se/objekt/{index}",
                "utmTags": [{"name": "utm_source", "value": ("hemnet", "booli", "google")[index % 3]}],
            },
            "message": text,
        }
    elif operation == "area_interest":
        update: dict[str, Any] = {
            "customerId": customer_id,
            "firstName": first,
            "lastName": last,
            "cellPhone": swedish_cell(index),
            "approval": True,
            "obtainThrough": "Interest",
            "address": {"streetAddress": street, "zipCode": zip_code, "city": city, "countryCode": "SE"},
            "email": {"emailAddress": email},
            "wishAdvertising": index % 3 == 0,
            "note": text,
        }
        if index % 2 == 1:
            update["socialSecurityNumber"] = personnummer(index)
        rooms = 2 + index % 4
        body = {
            "updatePerson": update,
            "lookingForAccommodations": [
                {
                    "countys": ["Västra Götalands län" if index % 2 else "Stockholms län"],
                    "countryCode": "SE",
                    "house": index % 2 == 0,
                    "housingCooperative": index % 2 == 1,
                    "numberOfRooms": {"min": rooms, "max": rooms + 2},
                    "price": {"min": 2_000_000 + 10_000 * (index % 50), "max": 6_000_000},
                    "active": True,
                }
            ],
            "presentAccommodation": {"estateType": "House", "livingSpace": 60 + index % 90},
        }
    elif operation == "viewing_participant":
        customer = fixtures["vitec"][customer_id]
        viewing = customer["viewings"][index % len(customer["viewings"])]
        slots = viewing["timeSlotIds"]
        persons = customer["contactIds"][:50]  # 001-050 are persons (local/sandbox/README.md)
        body = {
            "customerId": customer_id,
            "viewingId": viewing["viewingId"],
            "timeSlotId": slots[(index // 3) % len(slots)],
            "contactId": persons[index % len(persons)],
            "participated": False,
            "reminderTime": 60 * (1 + index % 3),
            "smsReminder": index % 2 == 0,
            "mailConfirmation": True,
            "smsConfirmation": index % 2 == 1,
            "contactMessage": text,
        }
    elif operation == "contact_on_me":
        be_first = _BE_FIRST[index % len(_BE_FIRST)]
        be_last = _BE_LAST[(index // len(_BE_FIRST)) % len(_BE_LAST)]
        be_city, be_zip = _BE_CITIES[index % len(_BE_CITIES)]
        omnicasa_ids = fixtures["omnicasa"]["customerIds"]
        body = {
            "CustomerId": omnicasa_ids[index % len(omnicasa_ids)],
            "Name": be_last,
            "FirstName": be_first,
            "Address": f"Kerkstraat {1 + index % 120}",
            "City": be_city,
            "Zip": be_zip,
            "Email": f"{be_first.lower().replace('è', 'e')}.{be_last.lower()}.{index}@example.be",
            "GSM": belgian_gsm(index),
            "IsReceivedEmail": index % 2 == 0,
            "Subject": "Vraag over de woning",
            "Content": f"Goedendag, ik wil graag een bezoek inplannen. Ref {token}.",
            "PropertyId": 4000 + index % 500,
            "LanguageId": 1,
        }
    else:
        raise ValueError(f"unknown operation {operation!r}")
    return Submission(token=token, operation=operation, body=body)


def make_submissions(
    prefix: str, count: int, fixtures: dict[str, Any], *, offset: int = 0, domain: str = "example.se"
) -> list[Submission]:
    """`count` submissions spread round-robin over the four write operations.

    `offset` shifts the people (e-mail, phone, personnummer) so two scenarios in one sandbox never
    share a person.
    """
    return [
        make_submission(
            offset + i, OPERATIONS[i % len(OPERATIONS)], f"{prefix}-{i:06d}", fixtures, domain=domain
        )
        for i in range(count)
    ]


def token_of(record: dict[str, Any]) -> str | None:
    """The submission token in a sandbox record's body (the free text carries it), or None."""
    body = record.get("body")
    texts: list[str] = []
    if isinstance(body, dict):
        for key in ("message", "contactMessage", "Content"):
            if isinstance(body.get(key), str):
                texts.append(body[key])
        update = body.get("updatePerson")
        if isinstance(update, dict) and isinstance(update.get("note"), str):
            texts.append(update["note"])
    for text in texts:
        match = TOKEN_PATTERN.search(text)
        if match:
            return match.group(1)
    # Not where it was put: look anywhere, so a moved token still counts as a write (not a stray one).
    match = TOKEN_PATTERN.search(json.dumps(body, ensure_ascii=False))
    return match.group(1) if match else None
