"""One boto3 session per process, built lazily: every AWS client (Secrets Manager, DynamoDB, SQS) comes
from it, so botocore loads its endpoint and retry data once (measured: two clients ~230 ms from
separate sessions, ~130 ms from one)."""

from __future__ import annotations

from functools import cache, lru_cache
from typing import Any


@lru_cache(maxsize=1)
def get_boto3_session() -> Any:
    import boto3

    return boto3.session.Session()


def get_client(service: str, region: str | None = None) -> Any:
    """One client per service (and region, where a caller names one: the ops CLI's --region)."""
    return _client(service, region or None)


@cache
def _client(service: str, region: str | None) -> Any:
    if region:
        return get_boto3_session().client(service, region_name=region)
    return get_boto3_session().client(service)


def clear_clients() -> None:
    """Forget every client and the session (tests, or after the environment changed)."""
    _client.cache_clear()
    get_boto3_session.cache_clear()
