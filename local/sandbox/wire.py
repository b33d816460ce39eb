"""Request and answer types shared by every sandbox handler, so the HTTP layer stays dumb."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

JSON_TYPE = "application/json; charset=utf-8"
_JSON_MEDIA_TYPES = ("application/json", "text/json")


class BodyError(Exception):
    """The body cannot be bound: `unsupported_media` for a non-JSON type, else malformed JSON."""

    def __init__(self, message: str, *, unsupported_media: bool = False) -> None:
        super().__init__(message)
        self.unsupported_media = unsupported_media


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    def json_body(self, any_media_type: bool = False) -> Any:
        """ASP.NET binds only JSON media types (415 otherwise); an empty body binds as null."""
        if not self.body.strip():
            return None
        media_type = (self.header("content-type") or "application/octet-stream").split(";")[0].strip().lower()
        if not any_media_type and media_type not in _JSON_MEDIA_TYPES and not media_type.endswith("+json"):
            raise BodyError(
                f"The request entity's media type '{media_type}' is not supported for this resource.",
                unsupported_media=True,
            )
        try:
            return json.loads(self.body.decode("utf-8-sig"))
        except UnicodeDecodeError:
            raise BodyError("The request body is not valid UTF-8.") from None
        except json.JSONDecodeError as exc:
            raise BodyError(f"Invalid JSON at line {exc.lineno}, position {exc.colno}: {exc.msg}.") from None


@dataclass(frozen=True)
class Reply:
    status: int
    body: bytes = b""
    content_type: str | None = None
    headers: dict[str, str] = field(default_factory=dict)


class RejectedError(Exception):
    """Raised anywhere in a handler (even inside a store transaction, which then rolls back)."""

    def __init__(self, reply: Reply) -> None:
        super().__init__(reply.status)
        self.reply = reply


Handler = Callable[[Request, tuple[str, ...]], Reply]


@dataclass(frozen=True)
class Route:
    """Vendor paths match case-insensitively, as ASP.NET routing does."""

    method: str
    pattern: re.Pattern[str]
    handler: Handler


def route(method: str, pattern: str, handler: Handler) -> Route:
    return Route(method, re.compile(pattern, re.IGNORECASE), handler)


def json_reply(status: int, payload: Any, headers: dict[str, str] | None = None) -> Reply:
    body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    return Reply(status, body, JSON_TYPE, dict(headers or {}))


def no_content() -> Reply:
    return Reply(204)
