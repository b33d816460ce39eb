"""Unit tests run without AWS: settings point nowhere reachable, and each test gets fresh caches."""

from __future__ import annotations

import os

os.environ.setdefault("FAILURE_QUEUE_URL", "http://127.0.0.1:9/000000000000/failures")
os.environ.setdefault("PARKED_QUEUE_URL", "http://127.0.0.1:9/000000000000/parked")
os.environ.setdefault("IDEMPOTENCY_TABLE", "unit-idempotency")
os.environ.setdefault("ARCHIVE_BUCKET", "unit-archive")
os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
os.environ.setdefault("AWS_DEFAULT_REGION", "eu-north-1")


from collections.abc import Iterator
from typing import Any

import pytest


@pytest.fixture
def record_store(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A `DeliveryStore` on an in-process moto DynamoDB table (no server, no network), installed as the
    product's store (`leadhooks.deliveries.get_store`)."""
    import boto3
    from leadhooks import deliveries
    from moto import mock_aws

    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        client = boto3.client("dynamodb", region_name="eu-north-1")
        client.create_table(
            TableName="unit-deliveries",
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            BillingMode="PAY_PER_REQUEST",
        )
        store = deliveries.DeliveryStore("unit-deliveries", client)
        from leadhooks.logic import deliveries as read
        from leadhooks.logic import delivery, replay

        for module in (deliveries, delivery, replay, read):
            monkeypatch.setattr(module, "get_store", lambda: store)
        yield store
