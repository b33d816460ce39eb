"""The local API: every function's router behind one Powertools HttpResolver, served by uvicorn.

Same routers, same code path as in Lambda (DESIGN §9). Run in its own process: a Router remembers the
resolver that included it last (PLATFORM-NOTES), so the Lambda resolvers are never driven from here.
"""

from __future__ import annotations

import asyncio
import importlib
import json
from collections.abc import Awaitable, Callable, MutableMapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from aws_lambda_powertools.event_handler import HttpResolver, Response
from leadhooks.catalog import CATALOG
from leadhooks.settings import get_settings

from local import openapi
from local.openapi import LocalResolver

# Requests served at the same time (like concurrent Lambda invocations); more wait for a thread.
CONCURRENT_REQUESTS = 16
# The largest body that reaches a function, as in Lambda: a synchronous invocation's payload is capped
# at 6 MB, and API Gateway refuses anything above it before the function runs. Below it, the function
# itself decides (MAX_BODY_BYTES: 413, or for a signed sender 413 with the body kept, DESIGN §5).
LAMBDA_PAYLOAD_LIMIT = 6 * 1024 * 1024

FUNCTIONS = tuple(entry.name for entry in CATALOG)

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


def build_resolver() -> HttpResolver:
    resolver = LocalResolver()
    for name in FUNCTIONS:
        module = importlib.import_module(f"functions.{name}.app")
        resolver.include_router(module.router)
    enable_openapi(resolver)
    return resolver


def enable_openapi(resolver: HttpResolver) -> None:
    """Swagger UI at `/docs`, the document at `/openapi.json` (also `/docs?format=json`). Local only:
    a Lambda cold start never builds it."""
    resolver.configure_openapi(
        title=openapi.TITLE,
        version=openapi.VERSION,
        description=openapi.DESCRIPTION,
        security_schemes=openapi.SECURITY_SCHEMES,
        security=[{openapi.API_KEY_SCHEME: []}],
    )
    resolver.enable_swagger(path="/docs")

    @resolver.get("/openapi.json", include_in_schema=False)
    def openapi_json() -> Response[str]:
        document = resolver.get_openapi_json_schema()
        return Response(status_code=200, content_type="application/json", body=document)


class BodyGuard:
    """Answers 400/413 before the resolver sees a body or header it cannot decode (else: a bare 500),
    or a body larger than Lambda would ever be handed (`max_bytes`)."""

    def __init__(self, app: Callable[[Scope, Receive, Send], Awaitable[None]], max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.workers = ThreadPoolExecutor(max_workers=CONCURRENT_REQUESTS, thread_name_prefix="api")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            try:
                value.decode("utf-8")
            except UnicodeDecodeError:  # Powertools decodes every header as UTF-8: a bare 500 otherwise
                header = name.decode("latin-1")
                await _reject(send, 400, "bad_request", f"the header '{header}' is not valid UTF-8", header)
                return
        body = b""
        more = True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = bool(message.get("more_body", False))
            if len(body) > self.max_bytes:
                await _reject(
                    send, 413, "payload_too_large", f"the body is larger than {self.max_bytes} bytes", "body"
                )
                return
        try:
            body.decode("utf-8")
        except UnicodeDecodeError:
            await _reject(send, 400, "bad_request", "the body is not valid UTF-8", "body")
            return
        sent = False

        async def replay() -> MutableMapping[str, Any]:
            nonlocal sent
            if sent:
                return {"type": "http.disconnect"}
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        # Lambda runs concurrent requests side by side, each in its own execution environment. The
        # routes are synchronous, and HttpResolver calls a synchronous route on the event loop, so
        # served directly one slow vendor call would hold up every other request, and concurrent
        # copies of one delivery (the idempotency race that answers 409) could never overlap.
        # Each request therefore runs on a worker thread with its own event loop; the answer is
        # collected there and sent from here.
        answer: list[MutableMapping[str, Any]] = []

        async def collect(message: MutableMapping[str, Any]) -> None:
            answer.append(message)

        async def handle() -> None:
            await self.app(scope, replay, collect)

        def serve() -> None:
            asyncio.run(handle())

        await asyncio.get_running_loop().run_in_executor(self.workers, serve)
        for message in answer:
            await send(message)


async def _reject(send: Send, status: int, code: str, message: str, field: str) -> None:
    """The product's error shape (`ErrorBody`): `errors[].field` names the body or header at fault."""
    reason = message.removeprefix(f"the header '{field}' ").removeprefix("the body ")
    errors = [{"field": field, "reason": reason}]
    payload = json.dumps({"error": code, "message": message, "errors": errors}).encode()
    await send(
        {"type": "http.response.start", "status": status, "headers": [(b"content-type", b"application/json")]}
    )
    await send({"type": "http.response.body", "body": payload})


def create_app() -> BodyGuard:
    settings = get_settings()  # fail loudly on a missing setting before serving
    return BodyGuard(build_resolver(), max(settings.max_body_bytes, LAMBDA_PAYLOAD_LIMIT))
