"""SnapStart priming: clients and models are built at init, nothing touches the network, and the
clients built are exactly the ones the product then uses (no client is built twice or for nothing)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from leadhooks import aws, deliveries, queues, secrets
from leadhooks.warmup import prime


def _clear() -> None:
    aws.clear_clients()
    for cached in (secrets.provider, deliveries.get_store):
        cached.cache_clear()


def test_prime_builds_the_clients_the_product_uses_without_any_network_call(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    _clear()

    def no_network(*_: object, **__: object) -> None:
        raise AssertionError("priming must not open a connection")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    session = aws.get_boto3_session()
    built: list[str] = []
    original = session.client

    def counting_client(service: str, *args: Any, **kwargs: Any) -> Any:
        built.append(service)
        return original(service, *args, **kwargs)

    monkeypatch.setattr(session, "client", counting_client)
    calls: list[str] = []
    prime(lambda: calls.append("extra"))
    assert calls == ["extra"]
    assert sorted(built) == ["dynamodb", "secretsmanager", "sqs"]

    # What a request then reaches for is what priming built: nothing new, the same objects.
    primed = list(built)
    sqs_client, table_client = queues.sqs(), deliveries.get_store().client
    assert secrets.provider.cache_info().currsize == 1
    assert built == primed
    assert sqs_client is aws.get_client("sqs") and table_client is aws.get_client("dynamodb")
    _clear()


PROBE = """
import json
from leadhooks.catalog import WRITES
from leadhooks.vendors.vitec.models import ContactsQuery
from phonenumbers.phonemetadata import PhoneMetadata

models = [entry.operation().model for entry in WRITES] + [ContactsQuery]
before = [type(m.__pydantic_validator__).__name__ for m in models]
from leadhooks.warmup import prime

prime()
after = [type(m.__pydantic_validator__).__name__ for m in models]
print(json.dumps({"before": before, "after": after, "regions": sorted(PhoneMetadata._region_metadata)}))
"""


def test_prime_builds_every_model_and_the_phone_countries() -> None:
    """What priming is for: the validators (deferred on import) and the phone metadata are built at init,
    so the first request pays for neither. Run in a fresh interpreter: this one has built them already."""
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run(
        [sys.executable, "-c", PROBE],
        capture_output=True,
        text=True,
        check=True,
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root / "shared"), "AWS_ENDPOINT_URL": "http://127.0.0.1:9"},
    )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert set(result["before"]) == {"MockValSer"}, "models are built lazily on import (cold start)"
    assert set(result["after"]) == {"SchemaValidator"}
    assert {"SE", "BE"} <= set(result["regions"])
