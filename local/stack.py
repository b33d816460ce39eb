"""The whole local stack in one process, on free loopback ports: moto server, vendor sandbox and the
API (uvicorn + the same HttpResolver `make run` serves). Used by the integration tests and the
reliability suite; `make run` starts the same parts as separate processes instead."""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
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


@dataclass
class RunningStack:
    api: str
    sandbox: str
    aws_port: int

    def client(self, service: str) -> Any:
        """A boto3 client on this stack's AWS emulator."""
        from local.aws import client

        return client(service, self.aws_port)

    def sqs(self) -> Any:
        return self.client("sqs")

    @property
    def failure_queue(self) -> str:
        return config.queue_url(self.aws_port, config.FAILURE_QUEUE)

    @property
    def parked_queue(self) -> str:
        return config.queue_url(self.aws_port, config.PARKED_QUEUE)

    @property
    def archive_bucket(self) -> str:
        return config.ARCHIVE_BUCKET

    def archived(self, prefix: str = "parked/") -> dict[str, dict[str, Any]]:
        """The archive's current objects under `prefix`: key -> the JSON it holds (or `{"bytes": n}`)."""
        s3 = self.client("s3")
        found: dict[str, dict[str, Any]] = {}
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=self.archive_bucket, Prefix=prefix):
            for item in page.get("Contents", []):
                data = s3.get_object(Bucket=self.archive_bucket, Key=item["Key"])["Body"].read()
                try:
                    found[item["Key"]] = json.loads(data)
                except ValueError:
                    found[item["Key"]] = {"bytes": len(data)}
        return found

    def clear_archive(self) -> None:
        """Delete every version of every object in the archive bucket."""
        s3 = self.client("s3")
        for page in s3.get_paginator("list_object_versions").paginate(Bucket=self.archive_bucket):
            doomed = [
                {"Key": v["Key"], "VersionId": v["VersionId"]}
                for v in [*page.get("Versions", []), *page.get("DeleteMarkers", [])]
            ]
            if doomed:
                s3.delete_objects(Bucket=self.archive_bucket, Delete={"Objects": doomed, "Quiet": True})

    def records(self, **params: str) -> list[dict[str, Any]]:
        response = requests.get(f"{self.sandbox}/_sandbox/records", params=params, timeout=30)
        response.raise_for_status()
        return list(response.json())

    def faults(self, **faults: Any) -> None:
        requests.post(f"{self.sandbox}/_sandbox/faults", json=faults, timeout=5).raise_for_status()

    def reset(self) -> None:
        """No faults, no records, empty queues, an empty archive."""
        requests.delete(f"{self.sandbox}/_sandbox/faults", timeout=5)
        requests.delete(f"{self.sandbox}/_sandbox/records", timeout=5)
        for url in (self.failure_queue, self.parked_queue):
            self.drain(url)
        self.clear_archive()

    def pacing_limits(self, limits: dict[str, float], sandbox_rps: float = 0) -> None:
        """Set `rateLimitRps` per Vitec customer in the secret (others: the default), the sandbox's
        own limit, and start every pacing budget afresh (docs/pacing.md)."""
        import json

        from leadhooks import pacing, secrets

        value = json.loads(json.dumps(config.SECRETS[config.VITEC_SECRET_ID]))
        for customer, rate in limits.items():
            value["customers"][customer]["rateLimitRps"] = rate
        self.client("secretsmanager").put_secret_value(
            SecretId=config.VITEC_SECRET_ID, SecretString=json.dumps(value)
        )
        secrets.clear_cache()
        dynamodb = self.client("dynamodb")
        for item in dynamodb.scan(TableName=config.PACING_TABLE).get("Items", []):
            dynamodb.delete_item(TableName=config.PACING_TABLE, Key={"id": item["id"]})
        pacing.get_pacer.cache_clear()
        self.faults(rateLimitRps=sandbox_rps)
        requests.delete(f"{self.sandbox}/_sandbox/stats", timeout=5)

    def stats(self) -> dict[str, Any]:
        """The sandbox's request and 429 counters (`GET /_sandbox/stats`)."""
        response = requests.get(f"{self.sandbox}/_sandbox/stats", timeout=10)
        response.raise_for_status()
        return dict(response.json())

    def drain(self, queue_url: str) -> list[dict[str, Any]]:
        """Empty a queue and return what was on it (moto allows one PurgeQueue a minute)."""
        sqs = self.sqs()
        removed: list[dict[str, Any]] = []
        while True:
            batch = sqs.receive_message(
                QueueUrl=queue_url,
                MaxNumberOfMessages=10,
                VisibilityTimeout=30,
                MessageAttributeNames=["All"],
                AttributeNames=["All"],
            )
            messages = batch.get("Messages", [])
            if not messages:
                return removed
            for message in messages:
                sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
            removed.extend(messages)

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


@contextmanager
def running_stack(env: dict[str, str] | None = None) -> Iterator[RunningStack]:
    """Start everything, point this process's settings at it, and stop it all on exit.

    `env` overrides the product environment (timeouts, replay schedule, …). Settings are read once
    per process, so start the stack before anything calls `leadhooks.settings.get_settings()`.
    """
    from moto.server import ThreadedMotoServer

    from local.aws import atomic_conditional_writes, seed, wait_until_up
    from local.sandbox.server import start_sandbox

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto logs every request otherwise
    aws_port, api_port = free_port(), free_port()
    atomic_conditional_writes()  # as DynamoDB: concurrent conditional writes on one key never both win
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=aws_port, verbose=False)
    moto.start()
    sandbox = start_sandbox(port=0)
    os.environ.update({**config.product_env(aws_port, sandbox.port), **(env or {})})
    server: Any = None
    thread: threading.Thread | None = None
    try:
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
            if time.monotonic() > deadline or not thread.is_alive():
                raise RuntimeError("the local API did not start")
            time.sleep(0.05)
        yield RunningStack(api=f"http://127.0.0.1:{api_port}", sandbox=sandbox.url, aws_port=aws_port)
    finally:
        if server is not None:
            server.should_exit = True
        if thread is not None:
            thread.join(timeout=5)
        sandbox.stop()
        moto.stop()
