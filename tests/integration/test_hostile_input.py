"""Regressions for what the hostile-input suite (reliability/hostile.py) found, over real HTTP."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests

from tests.integration.conftest import API_KEY_HEADERS, Stack

BODIES = Path(__file__).resolve().parent.parent / "fixtures" / "bodies"


def body(name: str) -> dict[str, Any]:
    return dict(json.loads((BODIES / name).read_text()))


def post(stack: Stack, route: str, data: bytes, headers: dict[str, str] | None = None) -> requests.Response:
    return requests.post(f"{stack.api}{route}", data=data, headers=headers or API_KEY_HEADERS, timeout=30)


def fields(response: requests.Response) -> set[str]:
    return {e["field"] for e in response.json()["errors"]}


def raw_status_and_body(stack: Stack, request: bytes) -> tuple[int, dict[str, Any]]:
    import http.client

    parts = urlsplit(stack.api)
    with socket.create_connection((parts.hostname, parts.port), timeout=30) as sock:
        sock.sendall(request)
        response = http.client.HTTPResponse(sock)
        response.begin()
        return response.status, json.loads(response.read())


def test_non_utf8_header_is_a_400_naming_the_header(clean: Stack) -> None:
    """Was a plain-text 500: Powertools decodes every header as UTF-8 before any handler runs."""
    data = json.dumps(body("vitec_person_lead.json")).encode()
    request = (
        b"POST /vitec/person-leads HTTP/1.1\r\nHost: x\r\nConnection: close\r\nx-api-key: local-api-key\r\n"
        b"content-type: application/json\r\nx-custom: \xff\xfe\r\nContent-Length: "
        + str(len(data)).encode()
        + b"\r\n\r\n"
        + data
    )
    status, answer = raw_status_and_body(clean, request)
    assert status == 400
    assert answer["error"] == "bad_request"
    assert answer["errors"] == [{"field": "x-custom", "reason": "is not valid UTF-8"}]
    assert clean.records() == []


def test_body_guard_answers_name_the_body(clean: Stack) -> None:
    """The local API's own 400/413 have the product's error shape, with `errors[].field`."""
    not_utf8 = post(clean, "/vitec/person-leads", b'{"message": "\xff"}')
    assert not_utf8.status_code == 400 and fields(not_utf8) == {"body"}
    too_big = post(clean, "/vitec/person-leads", json.dumps({"m": "x" * 300_000}).encode())
    assert too_big.status_code == 413 and fields(too_big) == {"body"}


def test_lone_surrogate_escape_is_a_400_not_a_500(clean: Stack) -> None:
    payload = body("vitec_person_lead.json")
    payload["person"]["firstName"] = "\ud800"  # json.dumps writes it as the escape "\ud800"
    response = post(clean, "/vitec/person-leads", json.dumps(payload).encode())
    assert response.status_code == 400, response.text
    assert fields(response) == {"person.firstName"}
    assert clean.records() == []


def test_integer_with_too_many_digits_is_a_400_not_a_500(clean: Stack) -> None:
    data = json.dumps(body("omnicasa_contact_on_me.json")).encode().replace(b"4711", b"9" * 5000)
    response = post(clean, "/omnicasa/contact-on-me", data)
    assert response.status_code == 400, response.text
    assert fields(response) == {"body"}


def test_infinity_is_a_422_not_queued_forever(clean: Stack) -> None:
    """Was 202 `queued`: `1e400` parsed as inf, passed the model, and could never be sent as JSON."""
    data = json.dumps(body("vitec_area_interest.json")).replace('"price": 3950000', '"price": 1e400')
    response = post(clean, "/vitec/area-interests", data.encode())
    assert response.status_code == 422, response.text
    assert fields(response) == {"presentAccommodation.price"}
    assert clean.messages(clean.failure_queue) == []


def test_dot_segment_ids_never_reach_the_vendor(clean: Stack) -> None:
    """Was a changed vendor path: `Viewing/M10001/../..` is resolved by the HTTP client."""
    payload = {**body("vitec_viewing_participant.json"), "viewingId": "..", "timeSlotId": "."}
    for route in ("/vitec/viewing-participants", "/vitec/viewing-participants?dryRun=true"):
        response = post(clean, route, json.dumps(payload).encode())
        assert response.status_code == 422, response.text
        assert fields(response) == {"viewingId", "timeSlotId"}
    contacts = requests.get(
        f"{clean.api}/vitec/contacts",
        params={"customerId": "M10001", "ids": "c-m10001-001,.."},
        headers=API_KEY_HEADERS,
        timeout=30,
    )
    assert contacts.status_code == 422, contacts.text
    assert fields(contacts) == {"ids.1"}
    assert clean.records() == []
