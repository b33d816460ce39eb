"""Per-customer traffic: request counters (`/_sandbox/stats`) and the `rateLimitRps` limiter.

The limiter is a token bucket per vendor customer, burst = rate: a customer starts with
`rate` tokens, each request takes one, and tokens come back at `rate` per second. A request
that finds no token is throttled (429) and takes none, so a client that waits `Retry-After`
gets through. Over any stretch of t seconds a customer gets at most rate * (t + 1) requests.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


class Stats:
    """Vendor requests (never /_sandbox/*) received and throttled, in total and per customer."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests = 0
        self._throttled = 0
        self._by_customer: dict[str, dict[str, int]] = {}

    def count(self, customer: str, throttled: bool) -> None:
        with self._lock:
            entry = self._by_customer.setdefault(customer, {"requests": 0, "throttled": 0})
            self._requests += 1
            entry["requests"] += 1
            if throttled:
                self._throttled += 1
                entry["throttled"] += 1

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "requests": self._requests,
                "throttled": self._throttled,
                "byCustomer": {customer: dict(entry) for customer, entry in self._by_customer.items()},
            }

    def clear(self) -> dict[str, Any]:
        with self._lock:
            self._requests = 0
            self._throttled = 0
            self._by_customer = {}
        return self.snapshot()


@dataclass
class _Bucket:
    rate: float
    tokens: float
    updated: float


class RateLimiter:
    """Token buckets per customer; a change of rate starts every bucket full again."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._lock = threading.Lock()
        self._clock = clock
        self._buckets: dict[str, _Bucket] = {}

    def acquire(self, customer: str, rate: float) -> int | None:
        """None if the request may go on, else the whole seconds to wait (>= 1) for Retry-After."""
        if rate <= 0:
            return None
        with self._lock:
            now = self._clock()
            bucket = self._buckets.get(customer)
            burst = max(rate, 1.0)  # a rate below 1 still lets one request through now and then
            if bucket is None or bucket.rate != rate:
                bucket = self._buckets[customer] = _Bucket(rate, burst, now)
            bucket.tokens = min(burst, bucket.tokens + (now - bucket.updated) * rate)
            bucket.updated = now
            if bucket.tokens >= 1:
                bucket.tokens -= 1
                return None
            return max(1, math.ceil((1 - bucket.tokens) / rate))

    def clear(self) -> None:
        with self._lock:
            self._buckets = {}
