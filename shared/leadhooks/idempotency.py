"""Powertools idempotency on the DynamoDB table (TTL attribute `expiration`): the one setup shared by
the API pipeline and the replay worker. Built on first use: the utility imports boto3."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import BaseModel

from leadhooks.aws import get_boto3_session
from leadhooks.errors import ConflictError, IdempotencyStoreError
from leadhooks.settings import get_settings

M = TypeVar("M", bound=BaseModel)

_context: list[Any] = []
_configs: list[Any] = []


def bind_lambda_context(context: Any) -> None:
    """Lets Powertools expire an in-progress record when the invocation that held it times out."""
    _context[:] = [context]
    for config in _configs:
        config.register_lambda_context(context)


def idempotent(func: Callable[..., M], output: type[M]) -> Callable[..., M]:
    """Wrap `func`, called as `func(key={"key": ...}, **kwargs)`, so each key runs it at most once."""
    from aws_lambda_powertools.utilities.idempotency import (
        DynamoDBPersistenceLayer,
        IdempotencyConfig,
        idempotent_function,
    )
    from aws_lambda_powertools.utilities.idempotency.serialization.pydantic import (
        PydanticSerializer,
    )

    settings = get_settings()
    config = IdempotencyConfig(
        event_key_jmespath="key",
        expires_after_seconds=settings.idempotency_ttl_s,
        raise_on_no_idempotency_key=True,
    )
    if _context:
        config.register_lambda_context(_context[0])
    _configs.append(config)
    decorate: Callable[[Callable[..., M]], Callable[..., M]] = idempotent_function(
        data_keyword_argument="key",
        config=config,
        persistence_store=DynamoDBPersistenceLayer(
            table_name=settings.idempotency_table, boto3_session=get_boto3_session()
        ),
        output_serializer=PydanticSerializer(model=output),
    )
    return decorate(func)


def call_once(wrapped: Callable[..., M], key: str, **kwargs: Any) -> M:
    """Run `wrapped` for `key` unless it already ran; map Powertools' errors onto ours."""
    from aws_lambda_powertools.utilities.idempotency.exceptions import (
        IdempotencyAlreadyInProgressError,
        IdempotencyPersistenceLayerError,
    )

    try:
        return wrapped(key={"key": key}, **kwargs)
    except IdempotencyAlreadyInProgressError:
        raise ConflictError(
            "a delivery with this id is being processed right now; retry in a few seconds"
        ) from None
    except IdempotencyPersistenceLayerError:
        raise IdempotencyStoreError("the idempotency store is unavailable") from None
