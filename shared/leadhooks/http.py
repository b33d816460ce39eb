"""The one HTTP session factory and the one in-request retry policy used by every vendor client (DESIGN §6).

Inside a request only what provably wrote nothing is retried: 429, 500, 503 (the vendor said "not
done") and a connection that never opened. An ambiguous outcome (read timeout or reset after the
request went out, 502, 504) is raised at once as `AnswerLostError`: whether a write may be sent again
is the failure policy's decision (`leadhooks.policy`), counted on the delivery record, never this loop's.
A read (`idempotent=True`) creates nothing, so it retries those too.
"""

from __future__ import annotations

import email.utils
import random
import time
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import requests
from requests.adapters import HTTPAdapter

from leadhooks.errors import AnswerLostError, TransientVendorError
from leadhooks.masking import mask_url_for_log
from leadhooks.observability import logger
from leadhooks.settings import get_settings

# The vendor answered "not done": nothing was written, so a retry is always safe.
NOT_DONE_STATUSES = frozenset({429, 500, 503})
# A gateway answered for the vendor: the request may have reached it and been processed (DESIGN §6).
AMBIGUOUS_STATUSES = frozenset({502, 504})


@lru_cache(maxsize=1)
def get_session() -> requests.Session:
    """One pooled session per process: keep-alive saves a TLS handshake on every warm call."""
    session = requests.Session()
    adapter = HTTPAdapter(pool_connections=4, pool_maxsize=16, max_retries=0)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    session.headers.update({"Accept": "application/json", "User-Agent": "leadhooks/0.1"})
    return session


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with full jitter inside one request, bounded by a time budget."""

    attempts: int
    budget_s: float
    backoff_base_s: float
    retry_after_cap_s: float
    connect_timeout_s: float
    read_timeout_s: float

    @classmethod
    def from_settings(cls) -> RetryPolicy:
        s = get_settings()
        return cls(
            attempts=s.http_attempts,
            budget_s=s.http_budget_s,
            backoff_base_s=s.http_backoff_base_s,
            retry_after_cap_s=s.retry_after_cap_s,
            connect_timeout_s=s.http_connect_timeout_s,
            read_timeout_s=s.http_read_timeout_s,
        )

    def backoff(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(retry_after, self.retry_after_cap_s)
        return random.uniform(0, self.backoff_base_s * (2 ** (attempt - 1)))  # noqa: S311 - jitter


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """`Retry-After` is either delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def _was_sent(exc: requests.RequestException) -> bool:
    """Could the vendor have received the request? Connect failures mean no; anything later means maybe."""
    if isinstance(exc, requests.ConnectTimeout):
        return False
    if isinstance(exc, requests.ConnectionError):
        text = repr(exc)
        return not any(
            marker in text for marker in ("NewConnectionError", "NameResolutionError", "Connection refused")
        )
    return True


def send(
    method: str,
    url: str,
    *,
    vendor: str,
    idempotent: bool = False,
    retry_throttled: bool = True,
    policy: RetryPolicy | None = None,
    **kwargs: Any,
) -> requests.Response:
    """Send with the retry policy; return the final response for the client to classify.

    Raises TransientVendorError when "not done" retries are exhausted (nothing was written), and
    AnswerLostError at the first ambiguous outcome of a write (something may have been written).
    With `retry_throttled` off a 429 is raised at once: a paced write is queued for its customer's next
    slot instead (leadhooks.pacing), since a retry here would be one more request over the vendor's limit.
    """
    policy = policy or RetryPolicy.from_settings()
    session = get_session()
    started = time.monotonic()
    last: TransientVendorError | None = None
    for attempt in range(1, policy.attempts + 1):
        elapsed = time.monotonic() - started
        if attempt > 1 and elapsed + policy.read_timeout_s > policy.budget_s:
            break
        try:
            response = session.request(
                method, url, timeout=(policy.connect_timeout_s, policy.read_timeout_s), **kwargs
            )
        except requests.RequestException as exc:
            last = _unanswered(exc, url, vendor=vendor, idempotent=idempotent)
        else:
            last = _unusable(response, url, vendor=vendor, idempotent=idempotent)
            if last is None:
                return response
        delay = _next_delay(policy, attempt, last, started=started, retry_throttled=retry_throttled)
        if delay is None:
            break
        time.sleep(delay)
    assert last is not None
    raise last


def _unanswered(
    exc: requests.RequestException, url: str, *, vendor: str, idempotent: bool
) -> TransientVendorError:
    """The error a failed call stands for; raised at once when a write may have reached the vendor."""
    sent = _was_sent(exc)
    kind = type(exc).__name__
    logger.warning(
        "vendor call failed", extra={"vendor": vendor, "url": mask_url_for_log(url), "error": kind}
    )
    if sent and not idempotent:
        raise AnswerLostError(
            f"{vendor} did not answer ({kind}); the request may have been received",
            vendor=vendor,
        ) from None
    error_cls = AnswerLostError if sent else TransientVendorError
    return error_cls(f"{vendor} unreachable ({kind})", vendor=vendor)


def _unusable(
    response: requests.Response, url: str, *, vendor: str, idempotent: bool
) -> TransientVendorError | None:
    """None for an answer to hand back; else the retryable error it stands for. A gateway status on a
    write is raised at once as `AnswerLostError`: the vendor may have processed it."""
    status = response.status_code
    ambiguous = status in AMBIGUOUS_STATUSES
    if status not in NOT_DONE_STATUSES and not ambiguous:
        return None
    retry_after = parse_retry_after(response.headers.get("Retry-After"))
    if ambiguous and not idempotent:
        logger.warning(
            "vendor call ambiguous status",
            extra={"vendor": vendor, "url": mask_url_for_log(url), "status": status},
        )
        raise AnswerLostError(
            f"{vendor} answered HTTP {status} through its gateway; the request may have been processed",
            vendor=vendor,
            vendor_status=status,
        )
    logger.warning(
        "vendor call transient status",
        extra={"vendor": vendor, "url": mask_url_for_log(url), "status": status},
    )
    return TransientVendorError(
        f"{vendor} answered HTTP {status}",
        vendor=vendor,
        vendor_status=status,
        retry_after_s=retry_after,
    )


def _next_delay(
    policy: RetryPolicy, attempt: int, last: TransientVendorError, *, started: float, retry_throttled: bool
) -> float | None:
    """Seconds to wait before the next attempt, or None to give up: attempts spent, a 429 that pacing
    handles instead (`retry_throttled` off), or a wait that would leave no room for the answer in the budget.
    Retry-After (carried on the error) is honoured up to the policy's cap."""
    throttled = last.vendor_status == 429
    if attempt == policy.attempts or (throttled and not retry_throttled):
        return None
    delay = policy.backoff(attempt, last.retry_after_s)
    if time.monotonic() - started + delay + policy.read_timeout_s > policy.budget_s:
        return None
    return delay
