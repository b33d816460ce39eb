"""What both vendor clients share: answer classification and the per-customer auth cool-down."""

from __future__ import annotations

import threading
import time
from typing import Any

import requests

from leadhooks.errors import AnswerLostError, PermanentVendorError, TransientVendorError, VendorAuthError
from leadhooks.masking import mask_text


def json_or_lost(response: requests.Response, vendor: str) -> Any:
    """A 2xx that is not JSON (an HTML error page, an empty body) is not a success: the answer is lost."""
    try:
        return response.json()
    except ValueError:
        raise AnswerLostError(
            f"{vendor} answered HTTP {response.status_code} without a JSON body",
            vendor=vendor,
            vendor_status=response.status_code,
        ) from None


def raise_for_vendor_status(response: requests.Response, vendor: str, customer_id: str) -> None:
    """Map the vendor's 4xx answers onto the permanent branch of the error hierarchy."""
    status = response.status_code
    if status < 400:
        return
    if status in (401, 403):
        raise VendorAuthError(
            f"{vendor} refused the credentials for customer {customer_id} (HTTP {status})",
            vendor=vendor,
            vendor_status=status,
        )
    message = f"{vendor} rejected the request (HTTP {status})"
    try:
        payload = response.json()
    except ValueError:
        payload = None
    vendor_message, details = _validation_answer(payload)
    if vendor_message:
        message = f"{message}: {vendor_message}"
    raise PermanentVendorError(message, vendor=vendor, vendor_status=status, details=details)


def retry_throttled_in_request(method: str) -> bool:
    """Writes are paced (leadhooks.pacing): a 429 queues them for a later slot. Reads are not paced and
    have nothing to queue, so the in-request retry stays theirs."""
    from leadhooks import pacing

    return method == "GET" or not pacing.enabled()


def note_throttle(exc: TransientVendorError, vendor: str, customer_id: str) -> None:
    """A vendor 429 slows the customer down for every instance (leadhooks.pacing)."""
    if exc.vendor_status == 429:
        from leadhooks import pacing

        pacing.penalise(vendor, customer_id, exc.retry_after_s)


def _validation_answer(payload: Any) -> tuple[str, list[dict[str, Any]]]:
    """ASP.NET's `{"message", "modelState": {field: [reasons]}}`, masked and cut to 300 characters."""
    if not isinstance(payload, dict):
        return "", []
    vendor_message = payload.get("message") or payload.get("Message")
    message = mask_text(vendor_message)[:300] if isinstance(vendor_message, str) else ""
    model_state = payload.get("modelState") or payload.get("ModelState") or {}
    details: list[dict[str, Any]] = []
    for field, reasons in model_state.items() if isinstance(model_state, dict) else ():
        for reason in reasons if isinstance(reasons, list) else [reasons]:
            details.append({"field": str(field), "reason": mask_text(str(reason))[:300]})
    return message, details


class AuthCooldown:
    """After repeated 401/403 for one customer, stop calling the vendor for a while.

    Hammering a vendor with bad credentials can lock the account; deliveries refused during the
    cool-down are parked (VendorAuthError is permanent) for an operator to replay once fixed.
    State is per warm Lambda container, which is enough to stop a burst.
    """

    def __init__(self, threshold: int = 3, cooldown_s: float = 300.0) -> None:
        self.threshold = threshold
        self.cooldown_s = cooldown_s
        self._failures: dict[tuple[str, str], tuple[int, float]] = {}
        self._lock = threading.Lock()

    def check(self, vendor: str, customer_id: str) -> None:
        with self._lock:
            count, since = self._failures.get((vendor, customer_id), (0, 0.0))
        if count >= self.threshold and time.monotonic() - since < self.cooldown_s:
            raise VendorAuthError(
                f"{vendor} refused the credentials for customer {customer_id} {count} times; "
                f"calls paused for {int(self.cooldown_s)} s to avoid a lockout",
                vendor=vendor,
            )

    def record(self, vendor: str, customer_id: str, status: int) -> None:
        key = (vendor, customer_id)
        with self._lock:
            if status in (401, 403):
                count, _ = self._failures.get(key, (0, 0.0))
                self._failures[key] = (count + 1, time.monotonic())
            else:
                self._failures.pop(key, None)


auth_cooldown = AuthCooldown()
