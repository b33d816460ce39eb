"""SnapStart priming: clients and models are built at init, nothing touches the network, and the
clients built are exactly the ones the product then uses (no client is built twice or for nothing)."""

from __future__ import annotations

import socket
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
