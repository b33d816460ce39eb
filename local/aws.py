"""The AWS emulator (moto server) and its seed: secrets, both queues, the idempotency table and the
parked archive bucket."""

from __future__ import annotations

import contextlib
import functools
import json
import threading
import time
from typing import Any

import boto3
import requests

from local import config


def client(service: str, aws_port: int) -> Any:
    env = config.aws_env(aws_port)
    return boto3.client(
        service,
        endpoint_url=env["AWS_ENDPOINT_URL"],
        region_name=config.REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


_ITEM_WRITES = ("put_item", "update_item", "delete_item", "transact_write_items")
_item_write_lock = threading.RLock()


def atomic_conditional_writes() -> None:
    """Make moto's DynamoDB item writes atomic, as DynamoDB's are. Call before the server serves.

    moto evaluates a ConditionExpression and then writes the item with no lock, and its server is
    threaded. So two concurrent conditional PutItems on one key can both succeed: about 1 key in 300
    with three writers at once. Powertools idempotency relies on that condition to let only one
    concurrent copy of a delivery through. On the emulator, a redelivery storm would then reach the
    vendor twice; on DynamoDB it cannot. One lock around every item write restores the guarantee.
    """
    from moto.dynamodb.models import DynamoDBBackend

    if getattr(DynamoDBBackend, "_leadhooks_atomic_writes", False):
        return
    for name in _ITEM_WRITES:
        original = getattr(DynamoDBBackend, name)

        @functools.wraps(original)
        def locked(self: Any, *args: Any, _original: Any = original, **kwargs: Any) -> Any:
            with _item_write_lock:
                return _original(self, *args, **kwargs)

        setattr(DynamoDBBackend, name, locked)
    DynamoDBBackend._leadhooks_atomic_writes = True  # type: ignore[attr-defined]


def serve(argv: list[str] | None = None) -> None:
    """`python -m local.aws -H 127.0.0.1 -p 5000`: moto's own server, with atomic item writes.

    Quiet unless `LEADHOOKS_VERBOSE` is set: werkzeug otherwise logs every request, and the replay
    worker polls the failure queue every second (`make run VERBOSE=1` shows them).
    """
    import logging

    atomic_conditional_writes()
    from moto.server import main

    if not config.verbose():
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C / make run stopping it: no traceback
        main(argv)


def wait_until_up(url: str, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            requests.get(url, timeout=1)
            return
        except requests.RequestException:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{url} did not come up within {timeout_s:.0f} s") from None
            time.sleep(0.1)


def seed(aws_port: int) -> None:
    """Create what template.yaml creates, with the documented local credentials. Idempotent."""
    secrets = client("secretsmanager", aws_port)
    for name, value in config.SECRETS.items():
        try:
            secrets.create_secret(Name=name, SecretString=json.dumps(value))
        except secrets.exceptions.ResourceExistsException:
            secrets.put_secret_value(SecretId=name, SecretString=json.dumps(value))
    sqs = client("sqs", aws_port)
    parked = sqs.create_queue(
        QueueName=config.PARKED_QUEUE,
        Attributes={"MessageRetentionPeriod": "1209600", "SqsManagedSseEnabled": "true"},
    )["QueueUrl"]
    parked_arn = sqs.get_queue_attributes(QueueUrl=parked, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    sqs.create_queue(
        QueueName=config.FAILURE_QUEUE,
        Attributes={
            "VisibilityTimeout": "30",
            "SqsManagedSseEnabled": "true",
            "RedrivePolicy": json.dumps(
                {"deadLetterTargetArn": parked_arn, "maxReceiveCount": str(config.MAX_RECEIVE_COUNT)}
            ),
        },
    )
    create_archive_bucket(client("s3", aws_port), config.ARCHIVE_BUCKET)
    dynamodb = client("dynamodb", aws_port)
    # The delivery records (with the journal's hash indexes, as template.yaml) and the pacing budgets
    # (leadhooks.pacing): key `id`, TTL `expiration`.
    for table in (config.IDEMPOTENCY_TABLE, config.PACING_TABLE):
        indexes = JOURNAL_INDEXES if table == config.IDEMPOTENCY_TABLE else ()
        try:
            extra: dict[str, Any] = {}
            if indexes:
                extra["GlobalSecondaryIndexes"] = [
                    {
                        "IndexName": name,
                        "KeySchema": [{"AttributeName": name, "KeyType": "HASH"}],
                        "Projection": {"ProjectionType": "KEYS_ONLY"},
                    }
                    for name in indexes
                ]
            dynamodb.create_table(
                TableName=table,
                AttributeDefinitions=[
                    {"AttributeName": name, "AttributeType": "S"} for name in ("id", *indexes)
                ],
                KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                BillingMode="PAY_PER_REQUEST",
                **extra,
            )
            dynamodb.update_time_to_live(
                TableName=table, TimeToLiveSpecification={"Enabled": True, "AttributeName": "expiration"}
            )
        except dynamodb.exceptions.ResourceInUseException:
            pass


JOURNAL_INDEXES = ("emailHash", "phoneHash", "ssnHash")


def create_archive_bucket(s3: Any, name: str) -> None:
    """As template.yaml's ArchiveBucket: versioned, encrypted, no public access. Idempotent."""
    with contextlib.suppress(s3.exceptions.BucketAlreadyOwnedByYou, s3.exceptions.BucketAlreadyExists):
        s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": config.REGION})
    s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_encryption(
        Bucket=name,
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
        },
    )
    s3.put_public_access_block(
        Bucket=name,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True,
        },
    )


if __name__ == "__main__":
    serve()
