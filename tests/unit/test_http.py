"""The one retry policy: what is retried, what is not, and what a lost answer becomes."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from leadhooks import http
from leadhooks.errors import AnswerLostError, TransientVendorError
from leadhooks.http import RetryPolicy, parse_retry_after, send

FAST = RetryPolicy(
    attempts=3, budget_s=5, backoff_base_s=0, retry_after_cap_s=0.01, connect_timeout_s=1, read_timeout_s=1
)


def response(status: int, headers: dict[str, str] | None = None, body: bytes = b"{}") -> requests.Response:
    r = requests.Response()
    r.status_code = status
    r.headers.update(headers or {})
    r._content = body
    return r


class StubSession:
    def __init__(self, *outcomes: Any) -> None:
        self.outcomes = list(outcomes)
        self.calls = 0

    def request(self, *_: Any, **kwargs: Any) -> requests.Response:
        assert kwargs["timeout"] == (1, 1), "every call carries a timeout"
        self.calls += 1
        outcome = self.outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome


@pytest.fixture
def stub(monkeypatch: pytest.MonkeyPatch):
    def install(*outcomes: Any) -> StubSession:
        session = StubSession(*outcomes)
        monkeypatch.setattr(http, "get_session", lambda: session)
        return session

    return install


@pytest.mark.parametrize("status", [500, 503, 429])
def test_not_done_statuses_are_retried_then_succeed(stub, status: int) -> None:
    session = stub(response(status), response(200))
    assert send("POST", "http://x", vendor="vitec", policy=FAST).status_code == 200
    assert session.calls == 2


@pytest.mark.parametrize("status", [502, 504])
def test_gateway_statuses_on_a_write_are_ambiguous_and_never_repeated(stub, status: int) -> None:
    """A 502/504 came from a gateway: the vendor may have processed the write (DESIGN §6)."""
    session = stub(response(status), response(200))
    with pytest.raises(AnswerLostError) as info:
        send("POST", "http://x", vendor="vitec", policy=FAST)
    assert info.value.vendor_status == status
    assert session.calls == 1


@pytest.mark.parametrize("status", [502, 504])
def test_gateway_statuses_on_a_read_are_retried(stub, status: int) -> None:
    session = stub(response(status), response(200))
    assert send("GET", "http://x", vendor="vitec", idempotent=True, policy=FAST).status_code == 200
    assert session.calls == 2


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 422])
def test_permanent_statuses_are_never_retried(stub, status: int) -> None:
    session = stub(response(status))
    assert send("POST", "http://x", vendor="vitec", policy=FAST).status_code == status
    assert session.calls == 1


def test_exhausted_retries_raise_transient_with_status(stub) -> None:
    session = stub(response(503), response(503), response(503, {"Retry-After": "7"}))
    with pytest.raises(TransientVendorError) as info:
        send("POST", "http://x", vendor="vitec", policy=FAST)
    assert info.value.vendor_status == 503
    assert info.value.retry_after_s == 7
    assert session.calls == 3


def test_connect_failure_is_retried_even_for_unsafe_writes(stub) -> None:
    session = stub(requests.ConnectTimeout("connect timed out"), response(204))
    assert send("POST", "http://x", vendor="vitec", policy=FAST).status_code == 204
    assert session.calls == 2


def test_read_timeout_on_unsafe_write_is_not_repeated(stub) -> None:
    session = stub(requests.ReadTimeout("read timed out"), response(204))
    with pytest.raises(AnswerLostError):
        send("POST", "http://x", vendor="vitec", policy=FAST)
    assert session.calls == 1


@pytest.mark.parametrize(
    "lost", [requests.ReadTimeout("read timed out"), requests.ConnectionError("Connection reset by peer")]
)
def test_a_lost_answer_on_any_write_is_never_repeated_in_the_request(stub, lost: Exception) -> None:
    """Whether to re-send is the failure policy's decision, counted on the delivery record."""
    session = stub(lost, response(200))
    with pytest.raises(AnswerLostError):
        send("POST", "http://x", vendor="vitec", policy=FAST)
    assert session.calls == 1


def test_read_timeout_on_a_read_is_retried(stub) -> None:
    session = stub(requests.ReadTimeout("read timed out"), response(200))
    assert send("GET", "http://x", vendor="vitec", idempotent=True, policy=FAST).status_code == 200
    assert session.calls == 2


def test_retry_after_beyond_budget_stops_early(stub) -> None:
    policy = RetryPolicy(
        attempts=5,
        budget_s=1.5,
        backoff_base_s=0,
        retry_after_cap_s=60,
        connect_timeout_s=1,
        read_timeout_s=1,
    )
    session = stub(response(429, {"Retry-After": "30"}), response(200))
    with pytest.raises(TransientVendorError):
        send("POST", "http://x", vendor="vitec", policy=policy)
    assert session.calls == 1


def test_retry_after_forms() -> None:
    assert parse_retry_after("3") == 3
    assert parse_retry_after(None) is None
    assert parse_retry_after("garbage") is None
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470.0) == pytest.approx(10)


def test_logged_vendor_urls_carry_no_personal_data(stub, monkeypatch: pytest.MonkeyPatch) -> None:
    """GET /vitec/contacts puts the caller's ids in the vendor's path: one may be a personnummer, an
    e-mail or a phone number (percent-encoded, too). The retry warnings log the URL masked."""
    logged: list[dict[str, Any]] = []
    monkeypatch.setattr(http.logger, "warning", lambda msg, extra: logged.append(extra))
    stub(response(503), requests.ConnectionError("refused"), response(503))
    url = "http://vitec/CRM/Contact/M10001/c-1,19811228-9874,kanarie%40example.se,%2B46701740698"
    with pytest.raises(TransientVendorError):
        send("GET", url, vendor="vitec", idempotent=True, policy=FAST)
    assert len(logged) == 3
    for extra in logged:
        for secret in ("19811228-9874", "kanarie", "46701740698"):
            assert secret not in extra["url"], extra["url"]
        assert extra["url"].startswith("http://vitec/CRM/Contact/M10001/c-1,")
