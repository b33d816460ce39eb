"""The HTTP edge shared by the Lambda handlers and the local API: event in, Outcome or error out."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.exceptions import ServiceError
from aws_lambda_powertools.event_handler.request import Request

from leadhooks.core import InboundRequest, Outcome
from leadhooks.errors import (
    BadRequestError,
    ConflictError,
    LeadhooksError,
    QueueUnavailableError,
    TransientVendorError,
)
from leadhooks.masking import mask_text
from leadhooks.models.api import ErrorBody, FieldError
from leadhooks.observability import logger

JSON = "application/json"


def inbound_from(request: Request, route: str) -> InboundRequest:
    """Raw body bytes exactly as signed: base64-decoded in Lambda, UTF-8 re-encoded under ASGI."""
    event = request.resolved_event
    body = event.body or ""
    if event.is_base64_encoded:
        try:
            raw = base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            raise BadRequestError("the body is not valid base64") from None
    else:
        raw = body.encode("utf-8", errors="surrogateescape")
    headers = {str(k).lower(): str(v) for k, v in (event.headers or {}).items()}
    query = {str(k): str(v) for k, v in (event.query_string_parameters or {}).items()}
    path_params = {str(k): str(v) for k, v in (request.path_parameters or {}).items()}
    return InboundRequest(
        route=route,
        method=event.http_method,
        headers=headers,
        query=query,
        raw_body=raw,
        path_params=path_params,
    )


def _json_response(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> Response[str]:
    return Response(
        status_code=status,
        content_type=JSON,
        body=json.dumps(body, ensure_ascii=False, separators=(",", ":")),
        headers=headers or {},
    )


def respond(outcome: Outcome) -> Response[str]:
    return _json_response(outcome.status, outcome.body, outcome.headers)


def handle(request: Request, route: str, logic: Callable[[InboundRequest], Outcome]) -> Response[str]:
    """The whole body of every route: one logic call, one response."""
    logger.set_correlation_id(None)  # the local server is one long-lived process: no stale ids
    return respond(logic(inbound_from(request, route)))


def error_body(exc: LeadhooksError) -> dict[str, Any]:
    return ErrorBody(
        delivery_id=exc.delivery_id,
        error=exc.code,
        message=exc.message,
        errors=[
            FieldError(field=str(d.get("field", "body")), reason=str(d.get("reason", "")))
            for d in exc.details
        ],
    ).to_body()


def register_error_handlers(router: Router) -> None:
    """Domain errors → their status; anything else → a 500 without a stack trace or raw text."""

    @router.exception_handler(LeadhooksError)
    def _domain(exc: LeadhooksError) -> Response[str]:
        headers: dict[str, str] = {}
        if isinstance(exc, TransientVendorError) and exc.retry_after_s:
            headers["Retry-After"] = str(int(exc.retry_after_s) or 1)
        elif isinstance(exc, ConflictError | QueueUnavailableError):
            headers["Retry-After"] = "1"
        if exc.status >= 500:
            logger.error("request failed", extra={"error": exc.code, "detail": mask_text(exc.message)})
        else:
            logger.info("request refused", extra={"status": exc.status, "error": exc.code})
        return _json_response(exc.status, error_body(exc), headers)

    @router.exception_handler(ServiceError)
    def _routing(exc: ServiceError) -> Response[str]:
        """Powertools' own 404/405s: keep their status, answer in our error shape."""
        body = ErrorBody(error="not_found" if exc.status_code == 404 else "http_error", message=str(exc.msg))
        return _json_response(exc.status_code, body.to_body())

    @router.exception_handler(Exception)
    def _unexpected(exc: Exception) -> Response[str]:
        logger.error("unexpected error", extra={"error": type(exc).__name__})
        return _json_response(
            500, {"error": "internal_error", "message": "unexpected error; the request was not kept"}
        )


def operation_router(name: str) -> Router:
    """The one route of catalog entry `name`: one logic call, errors mapped to statuses."""
    from leadhooks.catalog import entry

    op = entry(name)
    logic = op.logic()
    router = Router()  # type: ignore[no-untyped-call]
    register_error_handlers(router)

    def route(request: Request, **_path_params: str) -> Response[str]:
        # Powertools passes `{x}` path parameters as keywords; inbound_from reads them off the request.
        return handle(request, op.route, logic)

    route.__name__ = f"{name}_route"
    router.route(op.resource_route, method=[op.method])(route)
    return router


LambdaHandler = Callable[[dict[str, Any], Any], dict[str, Any]]


def operation_entrypoint(name: str) -> tuple[Router, Any, LambdaHandler]:
    """Everything a function's app.py exports: its router (the local API mounts it), the Lambda
    resolver and the Lambda handler."""
    router = operation_router(name)
    app, lambda_handler = lambda_entrypoint(router)
    return router, app, lambda_handler


def lambda_entrypoint(router: Router) -> tuple[Any, LambdaHandler]:
    """The Lambda front door for one router: REST resolver, logger context, metrics flush."""
    from aws_lambda_powertools.event_handler import APIGatewayRestResolver

    from leadhooks.observability import metrics
    from leadhooks.settings import get_settings

    if get_settings().prime_at_init:  # also checks the environment once, at init, loudly
        from leadhooks.warmup import prime

        prime()
    app = APIGatewayRestResolver()
    app.include_router(router)

    @logger.inject_lambda_context(clear_state=True)
    @metrics.log_metrics
    def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        return app.resolve(event, context)

    return app, lambda_handler
