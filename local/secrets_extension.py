"""A stand-in for the AWS Parameters and Secrets Lambda Extension, backed by the moto server.

Lambda runs the real extension as a separate process in the function's sandbox; this one lets the
tests and benchmarks exercise leadhooks' extension path (`LEADHOOKS_SECRETS_VIA_EXTENSION=true`)
on loopback. Same endpoint, same token header, same answer shape (GetSecretValue's JSON).
"""

from __future__ import annotations

import hmac
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

TOKEN_HEADER = "X-Aws-Parameters-Secrets-Token"


@dataclass
class ExtensionHandle:
    port: int
    token: str
    server: ThreadingHTTPServer
    served: list[str] = field(default_factory=list)

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def start_secrets_extension(aws_port: int, token: str = "local-session-token") -> ExtensionHandle:  # noqa: S107
    from local.aws import client as aws_client

    client: Any = aws_client("secretsmanager", aws_port)
    handle: ExtensionHandle

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            url = urlsplit(self.path)
            secret_id = (parse_qs(url.query).get("secretId") or [""])[0]
            if url.path != "/secretsmanager/get" or not secret_id:
                self._answer(400, {"message": "secretId is required"})
                return
            if not hmac.compare_digest(self.headers.get(TOKEN_HEADER, ""), handle.token):
                self._answer(403, {"message": "missing or wrong token"})
                return
            try:
                value = client.get_secret_value(SecretId=secret_id)
            except client.exceptions.ResourceNotFoundException:
                self._answer(400, {"message": "secret not found"})
                return
            handle.served.append(secret_id)
            self._answer(
                200, {k: v for k, v in value.items() if k in ("ARN", "Name", "SecretString", "VersionId")}
            )

        def _answer(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *_: Any) -> None:  # quiet: secret ids are not for the console
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    handle = ExtensionHandle(port=int(server.server_address[1]), token=token, server=server)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return handle
