"""Fault injection: what a flaky vendor or its load balancer does to a client.

`rateLimitRps` is kept here with the other settings; traffic.RateLimiter applies it.

Decisions are drawn from one RNG under one lock, so `seed` makes a run reproducible when
requests arrive in the same order, and `failNext` gives tests a deterministic failure.
"""

from __future__ import annotations

import math
import random
import threading
from dataclasses import dataclass
from typing import Any

from local.sandbox.wire import Reply, json_reply

DEFAULT_STATUSES = (500, 503, 429)
_MAX_LATENCY_MS = 120_000

_SERVICE_UNAVAILABLE_HTML = (
    "<!DOCTYPE html>\n<html><head><title>503 Service Unavailable</title></head>\n"
    "<body><h1>503 Service Unavailable</h1>\n"
    "<p>No server is available to handle this request.</p></body></html>\n"
)


class FaultConfigError(ValueError):
    """A fault setting that cannot be applied; `errors` maps each key to what is wrong."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{key}: {message}" for key, message in errors.items()))
        self.errors = errors


@dataclass(frozen=True)
class Decision:
    """What to do to one vendor request before it is processed."""

    latency_s: float
    drop: bool
    status: int | None
    retry_after_s: float | None


def _rate(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        return None
    return float(value)


def _non_negative_int(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        return None
    return value


class Faults:
    """Current fault settings; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._config: dict[str, Any] = self._defaults()
        self._rng = random.Random()  # noqa: S311 - fault injection, not security

    @staticmethod
    def _defaults() -> dict[str, Any]:
        return {
            "errorRate": 0.0,
            "statuses": list(DEFAULT_STATUSES),
            "retryAfterS": None,
            "latencyMs": 0,
            "dropRate": 0.0,
            "lostAnswerRate": 0.0,
            "failNext": 0,
            "seed": None,
            "rateLimitRps": 0,
        }

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {**self._config, "statuses": list(self._config["statuses"])}

    def clear(self) -> dict[str, Any]:
        with self._lock:
            self._config = self._defaults()
            self._rng = random.Random()  # noqa: S311
        return self.snapshot()

    def update(self, patch: Any) -> dict[str, Any]:
        """Merge `patch` into the current settings; nothing changes if any key is invalid."""
        checked = self._check(patch)
        with self._lock:
            self._config.update(checked)
            if "seed" in checked:
                self._rng = random.Random(checked["seed"])  # noqa: S311
        return self.snapshot()

    @staticmethod
    def _check(patch: Any) -> dict[str, Any]:
        if not isinstance(patch, dict):
            raise FaultConfigError({"": "expected a JSON object"})
        errors: dict[str, str] = {}
        checked: dict[str, Any] = {}
        for key, value in patch.items():
            if key in ("errorRate", "dropRate", "lostAnswerRate"):
                rate = _rate(value)
                if rate is None:
                    errors[key] = "expected a number from 0 to 1"
                else:
                    checked[key] = rate
            elif key == "statuses":
                if (
                    not isinstance(value, list)
                    or not value
                    or not all(
                        isinstance(s, int) and not isinstance(s, bool) and 400 <= s <= 599 for s in value
                    )
                ):
                    errors[key] = "expected a non-empty list of HTTP status codes 400-599"
                else:
                    checked[key] = list(value)
            elif key == "retryAfterS":
                if value is not None and (
                    isinstance(value, bool) or not isinstance(value, int | float) or value < 0
                ):
                    errors[key] = "expected a number of seconds >= 0, or null"
                else:
                    checked[key] = value
            elif key == "latencyMs":
                if (
                    isinstance(value, bool)
                    or not isinstance(value, int | float)
                    or not 0 <= value <= _MAX_LATENCY_MS
                ):
                    errors[key] = f"expected milliseconds from 0 to {_MAX_LATENCY_MS}"
                else:
                    checked[key] = value
            elif key == "failNext":
                count = _non_negative_int(value)
                if count is None:
                    errors[key] = "expected an integer >= 0"
                else:
                    checked[key] = count
            elif key == "rateLimitRps":
                if (
                    isinstance(value, bool)
                    or not isinstance(value, int | float)
                    or not math.isfinite(value)
                    or value < 0
                ):
                    errors[key] = "expected requests per second >= 0 (0 = no limit)"
                else:
                    checked[key] = value
            elif key == "seed":
                if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
                    errors[key] = "expected an integer, or null"
                else:
                    checked[key] = value
            else:
                errors[key] = "unknown fault setting"
        if errors:
            raise FaultConfigError(errors)
        return checked

    def decide(self) -> Decision:
        with self._lock:
            config = self._config
            latency_s = float(config["latencyMs"]) / 1000
            retry_after = config["retryAfterS"]
            if config["dropRate"] > 0 and self._rng.random() < config["dropRate"]:
                return Decision(latency_s, drop=True, status=None, retry_after_s=retry_after)
            if config["failNext"] > 0:
                config["failNext"] -= 1
                return Decision(
                    latency_s, drop=False, status=config["statuses"][0], retry_after_s=retry_after
                )
            if config["errorRate"] > 0 and self._rng.random() < config["errorRate"]:
                status = self._rng.choice(config["statuses"])
                return Decision(latency_s, drop=False, status=status, retry_after_s=retry_after)
            return Decision(latency_s, drop=False, status=None, retry_after_s=retry_after)

    def rate_limit_rps(self) -> float:
        with self._lock:
            return float(self._config["rateLimitRps"])

    def lose_answer(self) -> bool:
        with self._lock:
            rate = self._config["lostAnswerRate"]
            return bool(rate > 0 and self._rng.random() < rate)


def fault_reply(status: int, retry_after_s: float | None) -> Reply:
    """Shaped like the real thing: IIS/ASP.NET JSON for 500, a load balancer's HTML page for 503."""
    headers: dict[str, str] = {}
    # Retry-After is whole seconds (RFC 9110); 429 always carries one, 503 when configured.
    if status == 429:
        headers["Retry-After"] = str(math.ceil(retry_after_s if retry_after_s is not None else 1))
    elif status == 503 and retry_after_s is not None:
        headers["Retry-After"] = str(math.ceil(retry_after_s))
    if status == 503:
        return Reply(status, _SERVICE_UNAVAILABLE_HTML.encode(), "text/html; charset=utf-8", headers)
    if status == 429:
        reply = json_reply(status, {"message": "Too many requests. Try again later."})
    elif status == 500:
        reply = json_reply(status, {"message": "An error has occurred."})
    else:
        reply = json_reply(status, {"message": f"Injected fault {status}."})
    return Reply(reply.status, reply.body, reply.content_type, headers)
