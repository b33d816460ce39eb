"""The AWS emulator (moto server) and its seed: secrets, both queues, the idempotency table."""

from __future__ import annotations

import json
import time
from typing import Any

import boto3
import requests

from local import config


def _client(service: str, aws_port: int) -> Any:
    env = config.aws_env(aws_port)
    return boto3.client(
        service,
        endpoint_url=env["AWS_ENDPOINT_URL"],
        region_name=config.REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


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
    secrets = _client("secretsmanager", aws_port)
    for name, value in config.SECRETS.items():
        try:
            secrets.create_secret(Name=name, SecretString=json.dumps(value))
        except secrets.exceptions.ResourceExistsException:
            secrets.put_secret_value(SecretId=name, SecretString=json.dumps(value))
    sqs = _client("sqs", aws_port)
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
    dynamodb = _client("dynamodb", aws_port)
    try:
        dynamodb.create_table(
            TableName=config.IDEMPOTENCY_TABLE,
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            BillingMode="PAY_PER_REQUEST",
        )
        dynamodb.update_time_to_live(
            TableName=config.IDEMPOTENCY_TABLE,
            TimeToLiveSpecification={"Enabled": True, "AttributeName": "expiration"},
        )
    except dynamodb.exceptions.ResourceInUseException:
        pass
