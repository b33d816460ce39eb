"""Signed requests for the scenarios: a submission as a Typeform event or a Standard Webhooks post."""

from __future__ import annotations

import json
import time
from typing import Any

from local.make_events import typeform_body, typeform_signature, webhook_signature
from reliability.leads import Submission


def typeform(sub: Submission, **extra_hidden: str) -> tuple[bytes, dict[str, str]]:
    """The submission as Typeform posts it; `event_id` (the deliveryId) is its token."""
    event: dict[str, Any] = typeform_body(sub.function, sub.body)
    event["event_id"] = sub.token
    event["form_response"]["token"] = sub.token
    event["form_response"]["hidden"].update(extra_hidden)
    raw = json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode()
    return raw, {"Content-Type": "application/json", "Typeform-Signature": typeform_signature(raw)}


def standard_webhook(sub: Submission, body: dict[str, Any] | None = None) -> tuple[bytes, dict[str, str]]:
    """The native body signed as a Standard Webhooks sender signs it; `webhook-id` is its token."""
    raw = json.dumps(body if body is not None else sub.body, ensure_ascii=False).encode()
    timestamp = str(int(time.time()))
    return raw, {
        "Content-Type": "application/json",
        "webhook-id": sub.token,
        "webhook-timestamp": timestamp,
        "webhook-signature": webhook_signature(raw, sub.token, timestamp),
    }
