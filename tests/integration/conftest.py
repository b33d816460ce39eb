"""The local stack on free loopback ports, started once per test session: moto server, vendor sandbox,
and the API served by uvicorn through the same HttpResolver `make run` uses. Real HTTP everywhere."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
import requests

from local import config


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Stack:
    api: str
    sandbox: str
    aws_port: int

    def sqs(self) -> Any:
        return boto3.client(
            "sqs", endpoint_url=f"http://127.0.0.1:{self.aws_port}", region_name=config.REGION
        )

    @property
    def failure_queue(self) -> str:
        return config.queue_url(self.aws_port, config.FAILURE_QUEUE)

    @property
    def parked_queue(self) -> str:
        return config.queue_url(self.aws_port, config.PARKED_QUEUE)

    def records(self, **params: str) -> list[dict[str, Any]]:
        response = requests.get(f"{self.sandbox}/_sandbox/records", params=params, timeout=5)
        response.raise_for_status()
        return list(response.json())

    def faults(self, **faults: Any) -> None:
        requests.post(f"{self.sandbox}/_sandbox/faults", json=faults, timeout=5).raise_for_status()

    def drain(self, queue_url: str) -> int:
        """Empty a queue (moto allows one PurgeQueue a minute, so receive and delete instead)."""
        sqs, removed = self.sqs(), 0
        while True:
            batch = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, VisibilityTimeout=30)
            messages = batch.get("Messages", [])
            if not messages:
                return removed
            for message in messages:
                sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
            removed += len(messages)

    def messages(self, queue_url: str, max_messages: int = 10) -> list[dict[str, Any]]:
        """Read without consuming: messages become visible again immediately."""
        answer = self.sqs().receive_message(
            QueueUrl=queue_url,
            MaxNumberOfMessages=max_messages,
            VisibilityTimeout=0,
            MessageAttributeNames=["All"],
            AttributeNames=["All"],
        )
        return list(answer.get("Messages", []))


@pytest.fixture(scope="session")
def stack() -> Iterator[Stack]:
    from moto.server import ThreadedMotoServer

    from local.aws import seed, wait_until_up
    from local.sandbox.server import start_sandbox

    aws_port, api_port = free_port(), free_port()
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=aws_port, verbose=False)
    moto.start()
    sandbox = start_sandbox(port=0)
    env = {
        **config.product_env(aws_port, sandbox.port),
        # Fast, bounded retries so fault tests finish quickly.
        "HTTP_BACKOFF_BASE_S": "0.01",
        "HTTP_READ_TIMEOUT_S": "2",
        "HTTP_BUDGET_S": "6",
        "RETRY_AFTER_CAP_S": "0.2",
        "REPLAY_BACKOFF_S": "0,0,0,0,0",
    }
    os.environ.update(env)
    wait_until_up(f"http://127.0.0.1:{aws_port}/moto-api/")
    seed(aws_port)

    import uvicorn

    from local.api import create_app

    server = uvicorn.Server(
        uvicorn.Config(create_app(), host="127.0.0.1", port=api_port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the local API did not start")
        time.sleep(0.05)
    yield Stack(api=f"http://127.0.0.1:{api_port}", sandbox=sandbox.url, aws_port=aws_port)
    server.should_exit = True
    thread.join(timeout=5)
    sandbox.stop()
    moto.stop()


@pytest.fixture
def clean(stack: Stack) -> Stack:
    """Each test starts with no faults, no records and empty queues."""
    requests.delete(f"{stack.sandbox}/_sandbox/faults", timeout=5)
    requests.delete(f"{stack.sandbox}/_sandbox/records", timeout=5)
    for url in (stack.failure_queue, stack.parked_queue):
        stack.drain(url)
    return stack


API_KEY_HEADERS = {"x-api-key": config.API_KEY, "Content-Type": "application/json"}
