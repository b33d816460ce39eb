"""The Lambda front door: every sample event in events/ through `lambda_handler`, against the same stack."""

from __future__ import annotations

import importlib
import json
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.integration.conftest import Stack

EVENTS = Path(__file__).resolve().parent.parent.parent / "events"
API_FUNCTIONS = [
    ("vitec_person_lead", "person_lead"),
    ("vitec_area_interest", "area_interest"),
    ("vitec_viewing_participant", "viewing_participant"),
    ("omnicasa_contact_on_me", "contact_on_me"),
    ("vitec_get_contacts", None),
]


class Context:
    function_name = "leadhooks-test"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:eu-north-1:123456789012:function:leadhooks-test"
    aws_request_id = "req-1"

    def get_remaining_time_in_millis(self) -> int:
        return 29_000


def event(function: str) -> dict[str, Any]:
    data = dict(json.loads((EVENTS / function / "native.json").read_text()))
    data["headers"] = {**(data.get("headers") or {}), "Idempotency-Key": str(uuid.uuid4())}
    return data


@pytest.mark.parametrize(("function", "operation"), API_FUNCTIONS)
def test_sample_event_is_handled_end_to_end(clean: Stack, function: str, operation: str | None) -> None:
    handler = importlib.import_module(f"functions.{function}.app").lambda_handler
    result = handler(event(function), Context())
    assert result["statusCode"] == 200, result["body"]
    body = json.loads(result["body"])
    assert body["deliveryId"]
    if operation:
        assert len(clean.records(operation=operation)) == 1
    else:
        assert body["contacts"] and not body["missing"]


SIGNED = [
    (function, kind)
    for function, operation in API_FUNCTIONS
    if operation
    for kind in ("typeform.json", "zapier-form.json", "standard-webhooks.json")
]


@pytest.mark.parametrize(("function", "kind"), SIGNED)
def test_every_sender_sample_event_is_delivered(clean: Stack, function: str, kind: str) -> None:
    from local.make_events import UNMAPPED_VALUE, resign_standard_webhook

    data = dict(json.loads((EVENTS / function / kind).read_text()))
    if kind == "standard-webhooks.json":
        data = resign_standard_webhook(data)  # its signature expires after 5 minutes
    handler = importlib.import_module(f"functions.{function}.app").lambda_handler
    result = handler(data, Context())
    assert result["statusCode"] == 200, result["body"]
    records = clean.records()
    assert len(records) == 1
    if kind != "standard-webhooks.json":
        assert UNMAPPED_VALUE in json.dumps(records[0]["body"], ensure_ascii=False), (
            "unmapped answers are kept"
        )


def test_base64_encoded_body_is_decoded_before_signature_and_parsing(clean: Stack) -> None:
    import base64

    handler = importlib.import_module("functions.vitec_person_lead.app").lambda_handler
    data = event("vitec_person_lead")
    data["body"] = base64.b64encode(data["body"].encode()).decode()
    data["isBase64Encoded"] = True
    result = handler(data, Context())
    assert result["statusCode"] == 200, result["body"]


def test_delivery_status_through_the_lambda_resolver_reads_the_path_parameter(clean: Stack) -> None:
    """`/deliveries/{deliveryId}`: the REST resolver passes the path parameter on, as the local API does."""
    delivered = importlib.import_module("functions.vitec_person_lead.app").lambda_handler(
        event("vitec_person_lead"), Context()
    )
    delivery_id = json.loads(delivered["body"])["deliveryId"]
    sample = dict(json.loads((EVENTS / "deliveries" / "native.json").read_text()))
    sample["path"] = f"/deliveries/{delivery_id}"
    sample["pathParameters"] = {"deliveryId": delivery_id}
    handler = importlib.import_module("functions.deliveries.app").lambda_handler
    result = handler(sample, Context())
    assert result["statusCode"] == 200, result["body"]
    answer = json.loads(result["body"])
    assert (answer["deliveryId"], answer["status"], answer["operation"]) == (
        delivery_id,
        "delivered",
        "vitec_person_lead",
    )
    assert answer["result"]["leadId"]
    missing = handler(dict(json.loads((EVENTS / "deliveries" / "native.json").read_text())), Context())
    assert missing["statusCode"] == 404
