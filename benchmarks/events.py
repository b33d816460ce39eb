"""Sample Lambda events for the benchmarks, and a stand-in Lambda context.

Standard library only: the measured processes in .venv-bench import this module too.

API events come from `events/<function>/native.json` when that file exists (the samples `sam local
invoke` uses), else they are built from `tests/fixtures/bodies/<function>.json`. Every request
gets its own `Idempotency-Key` so none is answered from the idempotency table.
"""

from __future__ import annotations

import copy
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from leadhooks.catalog import CATALOG

REPO = Path(__file__).resolve().parent.parent
EVENTS_DIR = REPO / "events"
BODIES_DIR = REPO / "tests" / "fixtures" / "bodies"

API_KEY = "local-api-key"  # local.config.API_KEY (docs/local-fixtures.md)
CUSTOMER_ID = "M10001"
AUTH_HEADERS = ("x-api-key", "typeform-signature", "webhook-signature")


@dataclass(frozen=True)
class FunctionSpec:
    """One Lambda function of the template and how its sample event looks."""

    name: str
    method: str  # "SQS" for the failure queue's event source
    route: str
    body_fixture: str | None = None
    query: tuple[tuple[str, str], ...] = ()

    @property
    def module(self) -> str:
        return f"functions.{self.name}.app"

    @property
    def handler(self) -> str:
        return f"{self.module}:lambda_handler"

    @property
    def baseline_handler(self) -> str:
        attr = "replay_handler" if self.method == "SQS" else "lambda_handler"
        return f"benchmarks.baseline_handler:{attr}"

    @property
    def exists(self) -> bool:
        return (REPO / "functions" / self.name / "app.py").is_file()


def contact_ids(count: int, customer_id: str = CUSTOMER_ID) -> list[str]:
    """Seeded sandbox ids `c-m10001-001`…`-060`; past 60 the ids are unknown (reported as missing)."""
    return [f"c-{customer_id.lower()}-{n:03d}" for n in range(1, count + 1)]


FUNCTIONS: tuple[FunctionSpec, ...] = (
    *(
        FunctionSpec(e.name, e.method, e.route, f"{e.name}.json")
        if e.kind == "write"
        else FunctionSpec(
            e.name, e.method, e.route, query=(("customerId", CUSTOMER_ID), ("ids", ",".join(contact_ids(5))))
        )
        for e in CATALOG
        if e.vendor is not None  # GET /deliveries reads leadhooks' own records, not a vendor
    ),
    FunctionSpec("failure_replay", "SQS", "", "vitec_person_lead.json"),
)
BY_NAME = {spec.name: spec for spec in FUNCTIONS}


def fixture_body(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((BODIES_DIR / name).read_text(encoding="utf-8"))
    return data


def api_event(
    method: str,
    route: str,
    *,
    body: str | None = None,
    query: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    """An API Gateway REST (v1 proxy) event, as the `live` stage would send it."""
    all_headers = {"Content-Type": "application/json", "x-api-key": API_KEY, **(headers or {})}
    return {
        "resource": route,
        "path": route,
        "httpMethod": method,
        "headers": all_headers,
        "multiValueHeaders": {k: [v] for k, v in all_headers.items()},
        "queryStringParameters": dict(query) if query else None,
        "multiValueQueryStringParameters": {k: [v] for k, v in query.items()} if query else None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": route,
            "httpMethod": method,
            "path": f"/live{route}",
            "stage": "live",
            "requestId": "bench-request",
            "accountId": "123456789012",
            "identity": {"sourceIp": "127.0.0.1", "userAgent": "leadhooks-bench"},
        },
        "body": body,
        "isBase64Encoded": False,
    }


def sqs_event(envelope: dict[str, Any]) -> dict[str, Any]:
    """The failure queue's event source mapping, one record."""
    return {
        "Records": [
            {
                "messageId": str(uuid.uuid4()),
                "receiptHandle": "bench-receipt",
                "body": json.dumps(envelope),
                "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "0"},
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:eu-north-1:123456789012:leadhooks-failures",
                "awsRegion": "eu-north-1",
            }
        ]
    }


def _sample_file(spec: FunctionSpec) -> Path | None:
    folder = EVENTS_DIR / spec.name
    preferred = folder / "native.json"
    if preferred.is_file():
        return preferred
    candidates = sorted(folder.glob("*.json")) if folder.is_dir() else []
    return candidates[0] if candidates and spec.method == "SQS" else None


def sample_event(spec: FunctionSpec) -> tuple[dict[str, Any], str]:
    """The function's sample event and where it came from."""
    path = _sample_file(spec)
    if path is not None:
        event: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        return event, str(path.relative_to(REPO))
    if spec.method == "SQS":
        envelope = {
            "deliveryId": "bench",
            "operation": "vitec_person_lead",
            "customerId": CUSTOMER_ID,
            "attempt": 1,
            "firstSeenAt": datetime.now(UTC).isoformat(),
            "request": fixture_body(spec.body_fixture or "vitec_person_lead.json"),
        }
        return sqs_event(envelope), f"built from tests/fixtures/bodies/{spec.body_fixture}"
    body = json.dumps(fixture_body(spec.body_fixture), ensure_ascii=False) if spec.body_fixture else None
    source = f"tests/fixtures/bodies/{spec.body_fixture}" if spec.body_fixture else "query string"
    return api_event(spec.method, spec.route, body=body, query=dict(spec.query)), f"built from {source}"


def _set_header(event: dict[str, Any], name: str, value: str) -> None:
    for field in ("headers", "multiValueHeaders"):
        current = event.get(field) or {}
        kept = {k: v for k, v in current.items() if k.lower() != name.lower()}
        kept[name] = [value] if field == "multiValueHeaders" else value
        event[field] = kept


def fresh(
    event: dict[str, Any], key: str | None = None, query: dict[str, str] | None = None
) -> dict[str, Any]:
    """A copy with its own delivery id (Idempotency-Key, or the envelope's deliveryId) and API key."""
    event = copy.deepcopy(event)
    key = key or f"bench-{uuid.uuid4().hex}"
    if "Records" in event:
        for record in event["Records"]:
            envelope = json.loads(record["body"])
            envelope["deliveryId"] = key
            record["body"] = json.dumps(envelope)
            record["messageId"] = str(uuid.uuid4())
        return event
    _set_header(event, "Idempotency-Key", key)
    if not any(h.lower() in AUTH_HEADERS for h in event.get("headers") or {}):
        _set_header(event, "x-api-key", API_KEY)
    if query:
        merged = {**(event.get("queryStringParameters") or {}), **query}
        event["queryStringParameters"] = merged
        event["multiValueQueryStringParameters"] = {k: [v] for k, v in merged.items()}
    return event


class LambdaContext:
    """What Powertools reads from the real context (logger fields, idempotency's remaining time)."""

    function_name = "leadhooks-bench"
    function_version = "$LATEST"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:eu-north-1:123456789012:function:leadhooks-bench"
    log_group_name = "/aws/lambda/leadhooks-bench"
    log_stream_name = "bench"

    def __init__(self, request_id: str = "bench") -> None:
        self.aws_request_id = request_id

    def get_remaining_time_in_millis(self) -> int:
        return 28_000
