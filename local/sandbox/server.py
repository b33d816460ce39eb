"""HTTP front of the vendor sandbox: routing, fault injection, inspection API, lifecycle.

Vitec lives at the root and Omnicasa under /omnicasa, on one port, so the local stack needs
one process. /_sandbox/* (health, fixtures, records, stats, faults) is never subject to faults,
the rate limit or the stats.
"""

from __future__ import annotations

import contextlib
import socket
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from local.sandbox.faults import FaultConfigError, Faults, fault_reply
from local.sandbox.omnicasa import OmnicasaApi, mask_path
from local.sandbox.store import Store, load_fixtures
from local.sandbox.traffic import RateLimiter, Stats
from local.sandbox.validate import JsonObj
from local.sandbox.vitec import VitecApi
from local.sandbox.wire import BodyError, RejectedError, Reply, Request, Route, json_reply, no_content

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 4010
DEFAULT_DB = ".local-data/sandbox.db"
MAX_BODY_BYTES = 1_000_000
INSPECTION_PREFIX = "/_sandbox"
UNKNOWN_CUSTOMER = "-"  # stats key of a request no customer can be read from


def fixtures_summary(fixtures: JsonObj) -> JsonObj:
    """The seed ids a caller can use, without the credentials that sit beside them."""
    vitec = {
        customer_id: {
            "contactIds": [contact["id"] for contact in customer["contacts"]],
            "viewings": [
                {
                    "viewingId": viewing["viewingId"],
                    "timeSlotIds": [slot["timeSlotId"] for slot in viewing["timeSlots"]],
                }
                for viewing in customer["viewings"]
            ],
        }
        for customer_id, customer in fixtures["vitec"]["customers"].items()
    }
    omnicasa_ids = [customer["customerId"] for customer in fixtures["omnicasa"]["customers"]]
    return {"vitec": vitec, "omnicasa": {"customerIds": omnicasa_ids}}


class SandboxApp:
    """Everything behind the socket; the request handler only moves bytes."""

    def __init__(self, db_path: str, faults: JsonObj | None = None, log: bool = False) -> None:
        fixtures = load_fixtures()
        self.log_enabled = log
        self.faults = Faults()
        if faults:
            self.faults.update(faults)  # before the store: a bad setting must not leave a DB open
        self.store = Store(db_path, fixtures)
        self.summary = fixtures_summary(fixtures)
        self.stats = Stats()
        self.limiter = RateLimiter()
        self.vitec = VitecApi(self.store, fixtures["vitec"]["customers"])
        self.omnicasa = OmnicasaApi(self.store, fixtures["omnicasa"]["secretKey"])
        self.vendor_routes: list[Route] = [
            *self.vitec.routes(),
            *self.omnicasa.routes(),
        ]

    def close(self) -> None:
        self.store.close()

    def vendor(self, request: Request) -> Reply:
        allowed: list[str] = []
        for candidate in self.vendor_routes:
            match = candidate.pattern.match(request.path)
            if match is None:
                continue
            if candidate.method != request.method:
                allowed.append(candidate.method)
                continue
            params = tuple(unquote(group) for group in match.groups())
            try:
                return candidate.handler(request, params)
            except RejectedError as rejected:
                return rejected.reply
        if allowed:
            return json_reply(
                405,
                {"message": f"The requested resource does not support http method '{request.method}'."},
                {"Allow": ", ".join(sorted(set(allowed)))},
            )
        uri = mask_path(request.path)
        return json_reply(
            404, {"message": f"No HTTP resource was found that matches the request URI '{uri}'."}
        )

    def customer_of(self, request: Request) -> str:
        """Whose request this is, for stats and the rate limit (never fails, never rejects)."""
        for api in (self.vitec, self.omnicasa):
            customer = api.customer_of(request)
            if customer is not None:
                return customer
        # Any other path: the Basic login's customer if there is one.
        return self.vitec.login_customer(request) or UNKNOWN_CUSTOMER

    def throttle(self, request: Request) -> Reply | None:
        """Count the request; a 429 with Retry-After if its customer is over `rateLimitRps`."""
        customer = self.customer_of(request)
        wait_s = self.limiter.acquire(customer, self.faults.rate_limit_rps())
        self.stats.count(customer, throttled=wait_s is not None)
        if wait_s is None:
            return None
        return json_reply(
            429, {"message": "Too many requests. Try again later."}, {"Retry-After": str(wait_s)}
        )

    def inspection(self, request: Request) -> Reply:
        name = request.path[len(INSPECTION_PREFIX) :].strip("/")
        method = request.method
        if name == "health" and method == "GET":
            return json_reply(200, {"ok": True})
        if name == "fixtures" and method == "GET":
            return json_reply(200, self.summary)
        if name == "records" and method == "GET":
            return json_reply(200, self.store.records(request.query))
        if name == "records" and method == "DELETE":
            self.store.clear_records()
            return no_content()
        if name == "stats" and method == "GET":
            return json_reply(200, self.stats.snapshot())
        if name == "stats" and method == "DELETE":
            return json_reply(200, self.stats.clear())
        if name == "faults":
            return self._faults(request)
        if name in ("health", "fixtures", "records", "stats"):
            return json_reply(405, {"error": f"{method} is not allowed on {request.path}"})
        return json_reply(404, {"error": f"unknown sandbox endpoint {request.path}"})

    def _faults(self, request: Request) -> Reply:
        if request.method == "GET":
            return json_reply(200, self.faults.snapshot())
        if request.method == "DELETE":
            self.limiter.clear()
            return json_reply(200, self.faults.clear())
        if request.method == "POST":
            try:
                patch = request.json_body(any_media_type=True)  # a bare `curl -d` is fine here
                return json_reply(200, self.faults.update({} if patch is None else patch))
            except BodyError as exc:
                return json_reply(400, {"error": str(exc)})
            except FaultConfigError as exc:
                return json_reply(400, {"error": "invalid fault settings", "fields": exc.errors})
        return json_reply(405, {"error": f"{request.method} is not allowed on {request.path}"})


class SandboxServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], make_app: Callable[[], SandboxApp]) -> None:
        # Bind first: a taken port must fail before the app wipes a database another sandbox uses.
        super().__init__(address, SandboxHandler)
        try:
            self.app = make_app()
        except BaseException:
            self.server_close()
            raise


class _UnreadableRequestError(Exception):
    """The request cannot even be read (length, chunking): answered and the connection closed."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class SandboxHandler(BaseHTTPRequestHandler):
    server: SandboxServer
    protocol_version = "HTTP/1.1"
    server_version = "leadhooks-sandbox"
    sys_version = ""
    timeout = 60
    # Headers and body go out in two sends; with Nagle on, the body waits for the client's delayed
    # ACK (~40 ms on loopback) and every vendor call looks 40x slower than a real vendor's.
    disable_nagle_algorithm = True

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def do_PUT(self) -> None:
        self._handle()

    def do_PATCH(self) -> None:
        self._handle()

    def do_DELETE(self) -> None:
        self._handle()

    def _handle(self) -> None:
        try:
            request = self._request()
        except _UnreadableRequestError as exc:
            self._send(json_reply(exc.status, {"message": str(exc)}))
            self.close_connection = True
            return
        try:
            reply = self._respond(self.server.app, request)
        except Exception as exc:  # the sandbox must answer like a server, never die on a request
            frame = exc.__traceback__
            while frame is not None and frame.tb_next is not None:
                frame = frame.tb_next
            where = f"{Path(frame.tb_frame.f_code.co_filename).name}:{frame.tb_lineno}" if frame else "?"
            # Type and place only: an exception message may quote personal data from the body.
            self._log(f"internal error {type(exc).__name__} at {where}")
            reply = json_reply(500, {"message": "An error has occurred."})
        if reply is None:
            self._drop()
        else:
            self._send(reply)

    @staticmethod
    def _respond(app: SandboxApp, request: Request) -> Reply | None:
        """The answer to send, or None to close the connection without one."""
        if request.path == INSPECTION_PREFIX or request.path.startswith(INSPECTION_PREFIX + "/"):
            return app.inspection(request)
        throttled = app.throttle(request)  # the vendor's gateway: before faults and processing
        if throttled is not None:
            return throttled
        decision = app.faults.decide()
        if decision.latency_s > 0:
            time.sleep(decision.latency_s)
        if decision.drop:
            return None
        if decision.status is not None:
            return fault_reply(decision.status, decision.retry_after_s)
        reply = app.vendor(request)
        # The write above is committed: losing the answer now is the "did it go through?" case.
        return None if app.faults.lose_answer() else reply

    def _request(self) -> Request:
        parts = urlsplit(self.path)
        headers = {key.lower(): value for key, value in self.headers.items()}
        return Request(
            method=self.command,
            path=parts.path or "/",
            query=dict(parse_qsl(parts.query)),
            headers=headers,
            body=self._read_body(headers),
        )

    def _read_body(self, headers: dict[str, str]) -> bytes:
        if "chunked" in headers.get("transfer-encoding", "").lower():
            return self._read_chunked()
        try:
            length = int(headers.get("content-length", "0") or "0")
        except ValueError:
            raise _UnreadableRequestError(400, "Invalid Content-Length.") from None
        if length < 0:
            raise _UnreadableRequestError(400, "Invalid Content-Length.")
        if length > MAX_BODY_BYTES:
            raise _UnreadableRequestError(413, "Request body too large.")
        return self.rfile.read(length) if length else b""

    def _read_chunked(self) -> bytes:
        chunks: list[bytes] = []
        total = 0
        while True:
            size_line = self.rfile.readline(1024).split(b";")[0].strip()
            try:
                size = int(size_line, 16)
            except ValueError:
                raise _UnreadableRequestError(400, "Invalid chunked body.") from None
            if size == 0:
                while self.rfile.readline(1024).strip():  # trailers
                    pass
                return b"".join(chunks)
            total += size
            if total > MAX_BODY_BYTES:
                raise _UnreadableRequestError(413, "Request body too large.")
            chunks.append(self.rfile.read(size))
            self.rfile.readline(1024)

    def _send(self, reply: Reply) -> None:
        self.send_response(reply.status)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        if reply.content_type:
            self.send_header("Content-Type", reply.content_type)
        if reply.status not in (204, 304):
            self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        if reply.body and self.command != "HEAD" and reply.status not in (204, 304):
            self.wfile.write(reply.body)

    def _drop(self) -> None:
        self.close_connection = True
        self._log(f"{self.command} {self._log_path()} dropped")
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def _log_path(self) -> str:
        # Path only (no query string), with the Omnicasa secret key masked.
        return mask_path(urlsplit(self.path).path) if hasattr(self, "path") else "-"

    def _log(self, line: str) -> None:
        if self.server.app.log_enabled:
            sys.stderr.write(f"sandbox: {line}\n")

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        self._log(f"{getattr(self, 'command', '-')} {self._log_path()} {code}")

    def log_error(self, format: str, *args: Any) -> None:
        # The raw request line can hold the Omnicasa key; say what failed, not what was sent.
        self._log(f"protocol error {getattr(self, 'command', None) or '-'} {self._log_path()}")

    def log_message(self, format: str, *args: Any) -> None:
        self._log(mask_path(format % args))


def build_server(
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    db_path: str = ":memory:",
    faults: JsonObj | None = None,
    log: bool = False,
) -> SandboxServer:
    """Bind and seed, but do not serve yet; raises OSError when the port is taken."""
    return SandboxServer((host, port), lambda: SandboxApp(db_path, faults, log))


@dataclass
class SandboxHandle:
    """A sandbox serving on a background thread; `url` is the Vitec base URL."""

    server: SandboxServer
    thread: threading.Thread
    host: str
    port: int
    _stopped: bool = field(default=False, repr=False)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def omnicasa_url(self) -> str:
        return f"{self.url}/omnicasa"

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)
        self.server.app.close()

    def __enter__(self) -> SandboxHandle:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def start_sandbox(
    host: str = DEFAULT_HOST,
    port: int = 0,
    db_path: str = ":memory:",
    *,
    faults: JsonObj | None = None,
    log: bool = False,
) -> SandboxHandle:
    """Serve in a daemon thread; port 0 picks a free port (read it from the handle)."""
    server = build_server(host, port, db_path, faults, log)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="sandbox", daemon=True
    )
    thread.start()
    bound_host = host if host not in ("", "0.0.0.0") else "127.0.0.1"
    return SandboxHandle(server, thread, bound_host, int(server.server_address[1]))
