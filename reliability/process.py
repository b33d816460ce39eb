"""A local API in a process of its own, to kill for real, and a fault proxy in front of DynamoDB.

`ApiProcess` runs `uvicorn --factory local.api:create_app` (what `make run` starts) on a free loopback
port against the suite's moto server and sandbox, with its own environment. `kill()` is SIGKILL to that
one process id: no cleanup, no `finally`, like a Lambda environment that dies mid-invocation.

`DynamoFaultProxy` listens on loopback and forwards every DynamoDB request to the moto server, except
the item writes it is told to fail (`UpdateItem`: the idempotency record's "completed" write after the
vendor call), which get a 500 in DynamoDB's error shape. The API process reaches it through
`AWS_ENDPOINT_URL_DYNAMODB` (botocore's per-service endpoint), so SQS, S3 and Secrets Manager still go
straight to moto.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import IO, Any

import requests

from local.stack import free_port

ROOT = Path(__file__).resolve().parent.parent
START_CAP_S = 30.0


class ApiProcess:
    """One local API process (started, killed, restarted by pid)."""

    def __init__(self, env: dict[str, str], log: IO[str] | None = None) -> None:
        self.port = free_port()
        self.env = {**os.environ, **env, "PYTHONPATH": f"{ROOT}:{ROOT / 'shared'}"}
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        args = [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            "local.api:create_app",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--log-level",
            "warning",
        ]
        out = self.log if self.log is not None else subprocess.DEVNULL
        self.proc = subprocess.Popen(  # noqa: S603 - our own command line
            args, cwd=ROOT, env=self.env, stdout=out, stderr=out, start_new_session=True
        )
        deadline = time.monotonic() + START_CAP_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the API process exited with {self.proc.returncode} while starting")
            try:
                requests.get(f"{self.url}/", timeout=1)
                return
            except requests.RequestException:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"the API process did not answer within {START_CAP_S:.0f} s")

    def kill(self) -> None:
        """SIGKILL, as a function environment dies: nothing after the current line runs."""
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.kill()


@contextlib.contextmanager
def api_process(env: dict[str, str], log: IO[str] | None = None) -> Any:
    process = ApiProcess(env, log)
    process.start()
    try:
        yield process
    finally:
        process.stop()


# ---- DynamoDB fault proxy -------------------------------------------------------------------------

_HOP_HEADERS = {"host", "content-length", "connection", "transfer-encoding", "accept-encoding"}


class DynamoFaultProxy:
    """Forwards DynamoDB's JSON protocol to moto; fails the chosen operations while armed."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        self.fail: set[str] = set()
        self.failed: dict[str, int] = {}
        self.forwarded = 0
        self._lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", "0") or "0")
                body = self.rfile.read(length)
                operation = str(self.headers.get("x-amz-target", "")).rpartition(".")[2]
                if proxy.should_fail(operation):
                    payload = json.dumps(
                        {
                            "__type": "com.amazonaws.dynamodb.v20120810#InternalServerError",
                            "message": "injected by the reliability suite",
                        }
                    ).encode()
                    self.send_response(500)
                    self.send_header("Content-Type", "application/x-amz-json-1.0")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                    return
                headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_HEADERS}
                answer = requests.post(f"{proxy.upstream}{self.path}", data=body, headers=headers, timeout=30)
                with proxy._lock:
                    proxy.forwarded += 1
                self.send_response(answer.status_code)
                for name, value in answer.headers.items():
                    if name.lower() not in _HOP_HEADERS and name.lower() != "content-encoding":
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(answer.content)))
                self.end_headers()
                self.wfile.write(answer.content)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def should_fail(self, operation: str) -> bool:
        with self._lock:
            if operation in self.fail:
                self.failed[operation] = self.failed.get(operation, 0) + 1
                return True
        return False

    def __enter__(self) -> DynamoFaultProxy:
        self.thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)
