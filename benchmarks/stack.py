"""The local stack the benchmarks talk to: moto server and vendor sandbox on free loopback ports.

Started in the harness process (from .venv, which has moto), stopped when the `with` block ends.
The measured processes only get the ports, through `local.config.product_env`.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import requests

from local import config


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class Stack:
    aws_port: int
    sandbox_port: int

    @property
    def sandbox(self) -> str:
        return f"http://127.0.0.1:{self.sandbox_port}"

    def product_env(self) -> dict[str, str]:
        """The functions' environment. The one bench customer gets a delivery budget above any request
        rate here, so pacing costs its round trips (the pacing row) but never a wait for a slot: a
        warm relay that sleeps to stay within 5/s would measure the budget, not the overhead. The
        burst row (reliability.burst) paces with the real limits on its own stack."""
        return {**config.product_env(self.aws_port, self.sandbox_port), "PACING_DEFAULT_RPS": "1000"}

    def faults(self, **settings: Any) -> None:
        requests.post(f"{self.sandbox}/_sandbox/faults", json=settings, timeout=5).raise_for_status()

    def clear_faults(self) -> None:
        requests.delete(f"{self.sandbox}/_sandbox/faults", timeout=5).raise_for_status()


@contextmanager
def local_stack() -> Iterator[Stack]:
    from moto.server import ThreadedMotoServer

    from local.aws import seed, wait_until_up
    from local.sandbox.server import start_sandbox

    # moto's werkzeug server logs every request on stderr.
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    aws_port = free_port()
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=aws_port, verbose=False)
    moto.start()
    try:
        sandbox = start_sandbox(port=0)
        try:
            wait_until_up(f"http://127.0.0.1:{aws_port}/moto-api/")
            seed(aws_port)
            yield Stack(aws_port=aws_port, sandbox_port=sandbox.port)
        finally:
            sandbox.stop()
    finally:
        moto.stop()
