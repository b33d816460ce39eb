"""`make events`: the signed sample events in events/<function>/, built from each native.json.

Typeform and Zapier samples never expire. Standard Webhooks signatures carry a timestamp and are
rejected after 5 minutes, so re-run this before `sam local invoke -e …/standard-webhooks.json`.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from leadhooks.catalog import WRITES

from local import config

EVENTS = Path(__file__).resolve().parent.parent / "events"
# Write operation → the vendor path parameters its webhook URL carries in the query string.
POST_FUNCTIONS = {e.name: e.operation().model.PATH_PARAMS for e in WRITES}
UNMAPPED_TITLE, UNMAPPED_VALUE = "Hur hittade du oss?", "Hemnet"


def leaves(value: Any, prefix: str = "") -> list[tuple[str, Any]]:
    """Dotted target paths of every scalar in a native body (`marketing.utmTags.0.name`)."""
    if isinstance(value, dict):
        return [item for k, v in value.items() for item in leaves(v, f"{prefix}{k}.")]
    if isinstance(value, list):
        return [item for i, v in enumerate(value) for item in leaves(v, f"{prefix}{i}.")]
    return [(prefix[:-1], value)]


def _answer(index: int, ref: str, value: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    field = {"id": f"f{index:02d}", "ref": ref, "type": "short_text", "title": ref.rsplit(".", 1)[-1]}
    if isinstance(value, bool):
        field["type"] = "yes_no"
        return field, {
            "field": {k: field[k] for k in ("id", "ref", "type")},
            "type": "boolean",
            "boolean": value,
        }
    if isinstance(value, int | float):
        field["type"] = "number"
        return field, {
            "field": {k: field[k] for k in ("id", "ref", "type")},
            "type": "number",
            "number": value,
        }
    return field, {"field": {k: field[k] for k in ("id", "ref", "type")}, "type": "text", "text": str(value)}


def typeform_body(function: str, native: dict[str, Any]) -> dict[str, Any]:
    hidden_keys = set(POST_FUNCTIONS[function])
    hidden = {k: str(v) for k, v in native.items() if k in hidden_keys}
    pairs = [_answer(i, ref, v) for i, (ref, v) in enumerate(leaves(native)) if ref not in hidden_keys]
    extra_field = {"id": "f99", "ref": "found_us", "type": "short_text", "title": UNMAPPED_TITLE}
    extra = {
        "field": {"id": "f99", "ref": "found_us", "type": "short_text"},
        "type": "text",
        "text": UNMAPPED_VALUE,
    }
    return {
        "event_id": f"tf-sample-{function}",
        "event_type": "form_response",
        "form_response": {
            "form_id": "LhSample",
            "token": f"tf-sample-{function}",
            "submitted_at": "2026-11-23T10:00:00Z",
            "landed_at": "2026-11-23T09:58:12Z",
            "hidden": hidden,
            "definition": {
                "id": "LhSample",
                "title": "Intresseanmälan",
                "fields": [f for f, _ in pairs] + [extra_field],
            },
            "answers": [a for _, a in pairs] + [extra],
        },
    }


def typeform_signature(raw: bytes, secret: str = config.TYPEFORM_SECRET) -> str:
    return "sha256=" + base64.b64encode(hmac.new(secret.encode(), raw, hashlib.sha256).digest()).decode()


def webhook_signature(raw: bytes, msg_id: str, timestamp: str, secret: str = config.WEBHOOK_SECRET) -> str:
    key = base64.b64decode(secret.removeprefix("whsec_"))
    return (
        "v1,"
        + base64.b64encode(
            hmac.new(key, f"{msg_id}.{timestamp}.".encode() + raw, hashlib.sha256).digest()
        ).decode()
    )


def _event(
    template: dict[str, Any], body: str, headers: dict[str, str], query: dict[str, str] | None
) -> dict[str, Any]:
    event = copy.deepcopy(template)
    base = {k: v for k, v in template["headers"].items() if k.lower() not in ("x-api-key", "content-type")}
    event["headers"] = {**base, **headers}
    event["multiValueHeaders"] = {k: [v] for k, v in event["headers"].items()}
    event["queryStringParameters"] = query
    event["multiValueQueryStringParameters"] = {k: [v] for k, v in query.items()} if query else None
    event["body"] = body
    event["isBase64Encoded"] = False
    return event


def resign_standard_webhook(event: dict[str, Any], *, now: float | None = None) -> dict[str, Any]:
    """A fresh timestamp and signature for a Standard Webhooks sample (they expire after 5 minutes)."""
    event = copy.deepcopy(event)
    timestamp = str(int(now if now is not None else time.time()))
    msg_id = event["headers"]["webhook-id"]
    event["headers"]["webhook-timestamp"] = timestamp
    event["headers"]["webhook-signature"] = webhook_signature(event["body"].encode(), msg_id, timestamp)
    event["multiValueHeaders"] = {k: [v] for k, v in event["headers"].items()}
    return event


def build(function: str) -> dict[str, dict[str, Any]]:
    template = json.loads((EVENTS / function / "native.json").read_text())
    native = json.loads(template["body"])
    tf_raw = json.dumps(typeform_body(function, native), ensure_ascii=False, separators=(",", ":"))
    typeform = _event(
        template,
        tf_raw,
        {"Content-Type": "application/json", "Typeform-Signature": typeform_signature(tf_raw.encode())},
        None,
    )
    path_params = POST_FUNCTIONS[function]
    flat = {
        k.replace(".", "__", 1) if i % 2 else k: v
        for i, (k, v) in enumerate(leaves(native))
        if k not in path_params
    }
    flat[UNMAPPED_TITLE] = UNMAPPED_VALUE
    query = {k: str(native[k]) for k in path_params} or None
    zapier = _event(
        template,
        urlencode({k: str(v).lower() if isinstance(v, bool) else v for k, v in flat.items()}),
        {"Content-Type": "application/x-www-form-urlencoded", "x-api-key": config.API_KEY},
        query,
    )
    webhook = resign_standard_webhook(
        _event(
            template,
            template["body"],
            {"Content-Type": "application/json", "webhook-id": f"msg_sample_{function}"},
            None,
        )
    )
    return {"typeform.json": typeform, "zapier-form.json": zapier, "standard-webhooks.json": webhook}


def main() -> None:
    for function in POST_FUNCTIONS:
        for name, event in build(function).items():
            (EVENTS / function / name).write_text(json.dumps(event, indent=2, ensure_ascii=False) + "\n")
            print(f"events/{function}/{name}")


if __name__ == "__main__":
    main()
