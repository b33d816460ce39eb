"""What the scenarios do to the running stack: send to the API, set faults, drain and count queues.

Only loopback addresses (the `RunningStack` URLs); every loop has a count and a wall-clock cap.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import requests

from local import config
from local.stack import RunningStack
from reliability.accounting import Answer, answer_from_http

# The API's own budget is HTTP_BUDGET_S (a few seconds in the suite); this only bounds a hung socket.
API_TIMEOUT_S = (3.0, 30.0)
# Every fault key the sandbox knows, at "off": a profile is applied whole, never merged into the last.
FAULTS_OFF: dict[str, Any] = {
    "errorRate": 0.0,
    "statuses": [500, 503, 429],
    "retryAfterS": None,
    "latencyMs": 0,
    "dropRate": 0.0,
    "lostAnswerRate": 0.0,
    "failNext": 0,
}


class ApiClient:
    """Posts to the local API with one keep-alive session per thread."""

    def __init__(self, stack: RunningStack) -> None:
        self.base = stack.api
        self._local = threading.local()

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            self._local.session = session
        return session

    def post(self, token: str, route: str, raw: bytes, headers: dict[str, str]) -> Answer:
        try:
            response = self._session().post(
                f"{self.base}{route}", data=raw, headers=headers, timeout=API_TIMEOUT_S
            )
        except requests.RequestException as exc:
            return Answer(token=token, status=None, outcome=type(exc).__name__)
        try:
            body: Any = response.json()
        except ValueError:
            body = None
        return answer_from_http(token, response.status_code, body)

    def post_json(self, token: str, route: str, body: dict[str, Any], *, idempotency_key: str) -> Answer:
        raw = json.dumps(body, ensure_ascii=False).encode()
        headers = {
            "Content-Type": "application/json",
            "x-api-key": config.API_KEY,
            "Idempotency-Key": idempotency_key,
        }
        return self.post(token, route, raw, headers)


def fixtures(stack: RunningStack) -> dict[str, Any]:
    response = requests.get(f"{stack.sandbox}/_sandbox/fixtures", timeout=10)
    response.raise_for_status()
    return dict(response.json())


def set_faults(stack: RunningStack, profile: dict[str, Any]) -> None:
    """Replace the sandbox's fault settings with `profile` (unnamed keys off)."""
    stack.faults(**{**FAULTS_OFF, **profile})


def clear_faults(stack: RunningStack) -> None:
    requests.delete(f"{stack.sandbox}/_sandbox/faults", timeout=5).raise_for_status()


def queue_depth(stack: RunningStack, queue_url: str) -> int:
    """Visible + in flight + delayed: everything still on the queue."""
    names = [
        "ApproximateNumberOfMessages",
        "ApproximateNumberOfMessagesNotVisible",
        "ApproximateNumberOfMessagesDelayed",
    ]
    attributes = stack.sqs().get_queue_attributes(QueueUrl=queue_url, AttributeNames=names)["Attributes"]
    return sum(int(attributes.get(name, 0)) for name in names)


@dataclass
class DrainResult:
    handled: int = 0  # records handed to failure_replay (a retried message counts each time)
    rounds: int = 0
    seconds: float = 0.0
    capped: bool = False  # stopped by the round or time cap with messages left


def drain_failure_queue(stack: RunningStack, *, max_rounds: int, cap_s: float) -> DrainResult:
    """Run the replay worker (`local.replay_worker.drain_once`, the Lambda event source mapping's
    stand-in) until the failure queue is empty, at most `max_rounds` times and `cap_s` seconds."""
    from local.replay_worker import drain_once

    result = DrainResult()
    started = time.monotonic()
    while result.rounds < max_rounds:
        if queue_depth(stack, stack.failure_queue) == 0:
            break
        if time.monotonic() - started > cap_s:
            result.capped = True
            break
        result.rounds += 1
        handled = drain_once(max_batches=20)
        result.handled += handled
        if not handled:
            time.sleep(0.2)  # messages in flight or delayed: let them come back
    else:
        result.capped = queue_depth(stack, stack.failure_queue) > 0
    result.seconds = time.monotonic() - started
    return result


class VendorCallCounter(logging.Handler):
    """Counts the product's own log lines about vendor calls: one per failed attempt (`vendor call
    failed` / `vendor call transient status`) and one per success (`delivered`, `replayed`), so a
    scenario can say what share of vendor calls the injected faults really hit."""

    FAILED = frozenset({"vendor call failed", "vendor call transient status", "vendor call ambiguous status"})
    SUCCEEDED = frozenset({"delivered", "replayed"})

    def __init__(self) -> None:
        super().__init__(level=logging.INFO)
        self.counts: Counter[str] = Counter()
        self._count_lock = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        message = record.msg if isinstance(record.msg, str) else ""
        if message in self.FAILED or message in self.SUCCEEDED:
            with self._count_lock:
                self.counts[message] += 1

    def snapshot(self) -> tuple[int, int]:
        """(failed attempts, successful calls) so far."""
        with self._count_lock:
            failed = sum(self.counts[m] for m in self.FAILED)
            succeeded = sum(self.counts[m] for m in self.SUCCEEDED)
        return failed, succeeded


@contextmanager
def counting_vendor_calls() -> Iterator[VendorCallCounter]:
    product_logger = logging.getLogger(os.environ.get("POWERTOOLS_SERVICE_NAME", "leadhooks"))
    counter = VendorCallCounter()
    product_logger.addHandler(counter)
    try:
        yield counter
    finally:
        product_logger.removeHandler(counter)
