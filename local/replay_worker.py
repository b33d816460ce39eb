"""`python -m local.replay_worker`: the Lambda SQS event source mapping of `failure_replay`, locally.

It polls the failure queue on the emulator (FAILURE_QUEUE_URL), hands each batch to
`functions.failure_replay.app.lambda_handler` as the event source mapping would (same record shape,
batches of up to 10, the queue's own visibility timeout, up to CONCURRENCY batches at once as the
mapping's `ScalingConfig.MaximumConcurrency`), and then deletes exactly the messages that the handler
did not list in `batchItemFailures`. If the handler raises, nothing is deleted: the
messages come back after their visibility timeout, as after a failed Lambda invocation.
Stops cleanly on SIGINT/SIGTERM (finishing the batch in hand).
"""

from __future__ import annotations

import base64
import hashlib
import os
import signal
import sys
import threading
import uuid
from collections.abc import Iterable
from types import FrameType
from typing import Any

from leadhooks import queues

from functions.failure_replay.app import lambda_handler
from local import config

BATCH_SIZE = 10
WAIT_TIME_S = 1
# Concurrent invocations, as template.yaml's FailureReplayEventSource ScalingConfig.MaximumConcurrency
# (tests/unit/test_template.py keeps the two equal). Paced deliveries sleep at most PACING_MAX_WAIT_S
# for their slot, so one customer's backlog cannot hold every poller for long.
CONCURRENCY = 5
# failure_replay's timeout in Lambda (template.yaml); bounds an in-progress idempotency record.
FUNCTION_TIMEOUT_S = 180


class LocalLambdaContext:
    """The parts of a Lambda context that Powertools' logger and idempotency read."""

    def __init__(self, region: str) -> None:
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "leadhooks-failure-replay")
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = 256
        self.invoked_function_arn = (
            f"arn:aws:lambda:{region}:{config.ACCOUNT_ID}:function:{self.function_name}"
        )
        self.aws_request_id = str(uuid.uuid4())

    def get_remaining_time_in_millis(self) -> int:
        # Constant rather than counting down: in tests the API shares this process, and the context
        # registered for idempotency outlives the batch (an in-progress record then expires after the
        # function's timeout, as in Lambda, instead of at once).
        return FUNCTION_TIMEOUT_S * 1000


# ---- the event, as the event source mapping builds it ------------------------------------------


def _attribute_value(value: dict[str, Any]) -> dict[str, Any]:
    """ReceiveMessage's `{"StringValue", "DataType"}` → Lambda's lower-camel attribute shape."""
    shaped: dict[str, Any] = {
        "stringListValues": list(value.get("StringListValues", [])),
        "binaryListValues": [_b64(v) for v in value.get("BinaryListValues", [])],
        "dataType": value["DataType"],
    }
    if "StringValue" in value:
        shaped["stringValue"] = value["StringValue"]
    if "BinaryValue" in value:
        shaped["binaryValue"] = _b64(value["BinaryValue"])
    return shaped


def _b64(value: bytes | str) -> str:
    return value if isinstance(value, str) else base64.b64encode(value).decode("ascii")


def to_lambda_record(message: dict[str, Any], queue_arn: str, region: str) -> dict[str, Any]:
    """One ReceiveMessage message → one `Records[]` entry of a Lambda SQS event."""
    body = str(message["Body"])
    record: dict[str, Any] = {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": body,
        "attributes": {str(k): str(v) for k, v in message.get("Attributes", {}).items()},
        "messageAttributes": {
            str(name): _attribute_value(value) for name, value in message.get("MessageAttributes", {}).items()
        },
        "md5OfBody": message.get("MD5OfBody") or hashlib.md5(body.encode()).hexdigest(),  # noqa: S324
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }
    if message.get("MD5OfMessageAttributes"):
        record["md5OfMessageAttributes"] = message["MD5OfMessageAttributes"]
    return record


def build_event(messages: Iterable[dict[str, Any]], queue_arn: str, region: str) -> dict[str, Any]:
    return {"Records": [to_lambda_record(m, queue_arn, region) for m in messages]}


# ---- polling -----------------------------------------------------------------------------------


class Worker:
    """One failure queue, one handler: receive → invoke → delete the successes."""

    def __init__(self, queue_url: str | None = None) -> None:
        self.queue_url = queue_url or os.environ["FAILURE_QUEUE_URL"]
        self.sqs: Any = queues.sqs()
        self.region = str(self.sqs.meta.region_name or config.REGION)
        self._queue_arn: str | None = None

    @property
    def queue_arn(self) -> str:
        if self._queue_arn is None:
            answer = self.sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=["QueueArn"])
            self._queue_arn = str(answer["Attributes"]["QueueArn"])
        return self._queue_arn

    def receive(self, wait_s: int = WAIT_TIME_S) -> list[dict[str, Any]]:
        answer = self.sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=BATCH_SIZE,
            WaitTimeSeconds=wait_s,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        return list(answer.get("Messages", []))

    def invoke(self, messages: list[dict[str, Any]]) -> int:
        """Run one batch through the handler; return how many messages were deleted."""
        event = build_event(messages, self.queue_arn, self.region)
        try:
            response = lambda_handler(event, LocalLambdaContext(self.region))
        except Exception as exc:  # an invocation error: the event source mapping deletes nothing
            print(
                f"replay worker: failure_replay raised {type(exc).__name__}; batch left on the queue",
                file=sys.stderr,
                flush=True,
            )
            return 0
        failed = {str(item["itemIdentifier"]) for item in response.get("batchItemFailures", [])}
        done = [m for m in messages if m["MessageId"] not in failed]
        for start in range(0, len(done), BATCH_SIZE):
            chunk = done[start : start + BATCH_SIZE]
            self.sqs.delete_message_batch(
                QueueUrl=self.queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(chunk)],
            )
        return len(done)

    def poll_once(self, wait_s: int = WAIT_TIME_S) -> int:
        """Receive one batch and process it; the number of messages received."""
        messages = self.receive(wait_s)
        if messages:
            self.invoke(messages)
        return len(messages)


def drain_once(max_batches: int = 10) -> int:
    """Process what is visible on the failure queue now, up to `max_batches` batches.

    Returns the number of messages handed to the handler (delivered, parked or left for a retry).
    """
    worker = Worker()
    handled = 0
    for _ in range(max_batches):
        received = worker.poll_once()
        if not received:
            break
        handled += received
    return handled


def run(stop: threading.Event, concurrency: int = CONCURRENCY) -> None:
    """Poll with `concurrency` pollers until `stop` is set."""
    pollers = [
        threading.Thread(target=_poll, args=(stop,), name=f"replay-{i}", daemon=True)
        for i in range(concurrency)
    ]
    for poller in pollers:
        poller.start()
    for poller in pollers:
        poller.join()


def _poll(stop: threading.Event) -> None:
    worker = Worker()
    while not stop.is_set():
        try:
            worker.poll_once()
        except Exception as exc:  # the emulator restarting or going away: wait and try again
            if stop.is_set():
                break
            print(
                f"replay worker: polling failed ({type(exc).__name__}); retrying", file=sys.stderr, flush=True
            )
            stop.wait(1.0)


def main() -> int:
    stop = threading.Event()

    def _stop(signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    if not os.environ.get("FAILURE_QUEUE_URL"):
        print("replay worker: FAILURE_QUEUE_URL is not set", file=sys.stderr)
        return 2
    run(stop)
    return 0


if __name__ == "__main__":
    sys.exit(main())
