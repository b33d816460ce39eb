"""SnapStart priming: clients and models are built at init, and nothing touches the network."""

from __future__ import annotations

import socket

import pytest
from leadhooks import aws, secrets
from leadhooks.logic import delivery
from leadhooks.warmup import prime


def test_prime_builds_clients_without_any_network_call(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    for cached in (aws.get_boto3_session, aws.get_client, secrets.provider, delivery._sender):
        cached.cache_clear()

    def no_network(*_: object, **__: object) -> None:
        raise AssertionError("priming must not open a connection")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    calls: list[str] = []
    prime(lambda: calls.append("extra"), delivery.prime)
    assert calls == ["extra"]
    assert secrets.provider.cache_info().currsize == 1
    assert aws.get_client.cache_info().currsize == 1  # sqs
    assert delivery._sender.cache_info().currsize == 1  # the idempotency store's DynamoDB client
    for cached in (aws.get_boto3_session, aws.get_client, secrets.provider, delivery._sender):
        cached.cache_clear()
