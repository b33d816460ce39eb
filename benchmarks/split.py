"""Where a warm write request spends its time, and the design's own floor for it.

Runs inside the warm worker (bench venv). Two things:

- `capture_store_calls`: the delivery record calls one request makes (operation + parameters), taken
  from the real pipeline, so the floor replays exactly those calls with boto3 directly;
- `Split`: exclusive wall-clock time per phase (delivery record I/O, vendor call, secrets cache,
  validation, parse + adapt, logging, metrics, response building, the rest = framework), by wrapping
  the pipeline's own functions for a few extra requests after the timed ones. Wrapping costs a few
  microseconds per call; the timed runs are never wrapped.
"""

from __future__ import annotations

import copy
import logging
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

StoreCall = tuple[str, dict[str, Any]]


@contextmanager
def capture_store_calls() -> Iterator[list[StoreCall]]:
    """Record every DeliveryStore call (operation, parameters without TableName) while active."""
    from leadhooks.deliveries import DeliveryStore

    calls: list[StoreCall] = []
    original = DeliveryStore._call

    def recording(self: DeliveryStore, operation: str, **kwargs: Any) -> dict[str, Any]:
        calls.append((operation, copy.deepcopy(kwargs)))
        return original(self, operation, **kwargs)

    DeliveryStore._call = recording  # type: ignore[method-assign]
    try:
        yield calls
    finally:
        DeliveryStore._call = original  # type: ignore[method-assign]


def with_record_id(calls: list[StoreCall], record_id: str) -> list[StoreCall]:
    """The captured calls for another record id (`Item.id` of the put, `Key.id` of the updates)."""
    out: list[StoreCall] = []
    for operation, kwargs in calls:
        params = copy.deepcopy(kwargs)
        for field in ("Item", "Key"):
            if field in params and "id" in params[field]:
                params[field]["id"] = {"S": record_id}
        out.append((operation, params))
    return out


# Phases, in the order they are reported. "framework" is what is left: resolver, event parsing,
# logger context injection, routing, the pipeline's own glue.
PHASES = (
    "delivery record I/O (DynamoDB)",
    "vendor call (HTTP)",
    "secrets cache",
    "auth (signature / api key)",
    "parse + adapt",
    "validation + normalisation",
    "fingerprint + envelope data",
    "logging",
    "metrics",
    "response building",
    "framework + pipeline glue",
)


class Split:
    """Exclusive time per phase: a wrapped call's time minus the wrapped calls inside it."""

    def __init__(self) -> None:
        self.totals: dict[str, float] = defaultdict(float)
        self._stack: list[float] = []  # child time accumulated by each open frame
        self._undo: list[Callable[[], None]] = []

    def _timed(self, phase: str, func: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            self._stack.append(0.0)
            started = time.perf_counter()
            try:
                return func(*args, **kwargs)
            finally:
                elapsed = time.perf_counter() - started
                children = self._stack.pop()
                self.totals[phase] += elapsed - children
                if self._stack:
                    self._stack[-1] += elapsed

        return wrapper

    def wrap(self, owner: Any, name: str, phase: str) -> None:
        original = owner.__dict__[name] if isinstance(owner, type) else getattr(owner, name)
        func = original.__func__ if isinstance(original, classmethod | staticmethod) else original
        wrapped = self._timed(phase, func)
        setattr(owner, name, wrapped)
        self._undo.append(lambda: setattr(owner, name, original))

    def install(self) -> None:
        from aws_lambda_powertools.metrics.provider.cloudwatch_emf import cloudwatch
        from leadhooks import deliveries, secrets, web
        from leadhooks.logic import caller, delivery
        from leadhooks.vendors.vitec import client as vitec_client

        self.wrap(deliveries.DeliveryStore, "_call", PHASES[0])
        self.wrap(vitec_client, "send", PHASES[1])
        self.wrap(secrets, "_read_json_secret", PHASES[2])
        self.wrap(caller, "authenticate", PHASES[3])
        self.wrap(delivery, "parse_body", PHASES[4])
        self.wrap(delivery, "to_native", PHASES[4])
        self.wrap(delivery, "_validate", PHASES[5])
        self.wrap(delivery, "fingerprint_of", PHASES[6])
        self.wrap(delivery, "model_data", PHASES[6])
        self.wrap(logging.StreamHandler, "emit", PHASES[7])
        self.wrap(delivery, "count", PHASES[8])
        self.wrap(cloudwatch.AmazonCloudWatchEMFProvider, "flush_metrics", PHASES[8])
        self.wrap(web, "respond", PHASES[9])
        self.wrap(delivery, "_warnings_of", PHASES[9])

    def uninstall(self) -> None:
        while self._undo:
            self._undo.pop()()

    def measure(self, request: Callable[[], Any], n: int) -> dict[str, float]:
        """Mean ms per request for each phase over `n` requests (total included as `total`)."""
        self.install()
        try:
            total = 0.0
            for _ in range(n):
                self._stack.append(0.0)
                started = time.perf_counter()
                request()
                elapsed = time.perf_counter() - started
                covered = self._stack.pop()
                total += elapsed
                self.totals[PHASES[-1]] += elapsed - covered
        finally:
            self.uninstall()
        per_request = {phase: self.totals.get(phase, 0.0) * 1e3 / n for phase in PHASES}
        per_request["total"] = total * 1e3 / n
        return per_request
