"""The replay of one failure-queue record: stubs for SQS, parking and the vendor; the delivery record on
an in-process moto table (the same store the API path uses)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Annotated, Any, ClassVar

import pytest
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from leadhooks import queues
from leadhooks.core import VendorOperation
from leadhooks.deliveries import DeliveryKey, DeliveryStore, Record
from leadhooks.errors import (
    AnswerLostError,
    ConfigurationError,
    IdempotencyStoreError,
    PermanentVendorError,
    TransientVendorError,
    VendorAuthError,
)
from leadhooks.failures import FailureEnvelope, LastError
from leadhooks.logic import replay
from leadhooks.settings import Settings, get_settings
from leadhooks.vendors.model_base import OperationRequest, ReqText, VitecModel
from pydantic import StringConstraints

from local.replay_worker import LocalLambdaContext, to_lambda_record

pytestmark = pytest.mark.filterwarnings("ignore:No application metrics")


class StubRequest(OperationRequest, VitecModel):
    PATH_PARAMS: ClassVar[tuple[str, ...]] = ("customerId",)
    customer_id: ReqText
    first_name: Annotated[str, StringConstraints(max_length=40)]  # a rule a stored request can break


class FakeSQS:
    def __init__(self, fail: bool = False) -> None:
        self.visibility: list[dict[str, Any]] = []
        self.fail = fail

    def change_message_visibility(self, **kwargs: Any) -> None:
        if self.fail:
            raise RuntimeError("receipt handle expired")
        self.visibility.append(kwargs)


class Harness:
    def __init__(self, store: DeliveryStore) -> None:
        self.parked: list[tuple[FailureEnvelope, str]] = []
        self.counted: list[tuple[str, dict[str, str]]] = []
        self.sqs = FakeSQS()
        self.calls: list[StubRequest] = []
        self.outcome: Callable[[StubRequest], dict[str, Any]] = lambda _req: {"lead_id": "L-1"}
        self.store = store

    def spec(self, *, dedupe_safe: bool = True) -> VendorOperation:
        def call(req: StubRequest) -> dict[str, Any]:
            self.calls.append(req)
            return self.outcome(req)

        return VendorOperation(
            name="stub_op",
            vendor="vitec",
            model=StubRequest,
            describe=lambda m: m,
            execute=call,  # describe() hands the model itself to execute()
            creates="a stub record",
            resend_after_ambiguous=dedupe_safe,
        )

    def counts(self, name: str) -> int:
        return sum(1 for n, _ in self.counted if n == name)

    def record_of(self, operation: str = "stub_op") -> Record | None:
        return self.store.get(DeliveryKey("default", operation, envelope_id))


@pytest.fixture
def h(monkeypatch: pytest.MonkeyPatch, record_store: DeliveryStore) -> Iterator[Harness]:
    monkeypatch.setenv("FAILURE_QUEUE_URL", "http://sqs.test/000000000000/failures")
    monkeypatch.setenv("PARKED_QUEUE_URL", "http://sqs.test/000000000000/parked")
    monkeypatch.setenv("IDEMPOTENCY_TABLE", "unit-idempotency")
    monkeypatch.setenv("REPLAY_BACKOFF_S", "60,300,1800,7200,21600")
    get_settings.cache_clear()
    harness = Harness(record_store)

    def park(env: FailureEnvelope, reason: str, **_: Any) -> None:
        env.reason = reason  # type: ignore[assignment]
        harness.parked.append((env, reason))

    monkeypatch.setattr(queues, "park", park)
    monkeypatch.setattr(queues, "sqs", lambda region=None: harness.sqs)
    monkeypatch.setattr(replay, "count", lambda name, **dims: harness.counted.append((name, dims)))
    stubs = {"stub_op": harness.spec(), "stub_lossy": _lossy(harness)}
    monkeypatch.setattr(replay, "write_operation", stubs.get)
    yield harness
    get_settings.cache_clear()


def _lossy(h: Harness) -> VendorOperation:
    spec = h.spec(dedupe_safe=False)
    return VendorOperation(
        name="stub_lossy",
        vendor=spec.vendor,
        model=spec.model,
        describe=spec.describe,
        execute=spec.execute,
        creates=spec.creates,
        resend_after_ambiguous=False,
    )


envelope_id = "d-123"


def envelope(**overrides: Any) -> FailureEnvelope:
    data: dict[str, Any] = {
        "delivery_id": envelope_id,
        "operation": "stub_op",
        "customer_id": "M10001",
        "request": {"customerId": "M10001", "firstName": "Anna"},
        "last_error": LastError(kind="TransientVendorError", status=503, message="vitec answered 503"),
    }
    data.update(overrides)
    return FailureEnvelope(**data)


def record(body: str | FailureEnvelope, receive_count: int = 1, **attributes: str) -> SQSRecord:
    text = body.to_message() if isinstance(body, FailureEnvelope) else body
    message = {
        "MessageId": "m-1",
        "ReceiptHandle": "rh-1",
        "Body": text,
        "Attributes": {"ApproximateReceiveCount": str(receive_count), "SentTimestamp": "1700000000000"},
        "MessageAttributes": {k: {"DataType": "String", "StringValue": v} for k, v in attributes.items()},
    }
    return SQSRecord(to_lambda_record(message, "arn:aws:sqs:eu-north-1:000000000000:failures", "eu-north-1"))


def fail_with(exc: Exception) -> Callable[[StubRequest], dict[str, Any]]:
    def call(_req: StubRequest) -> dict[str, Any]:
        raise exc

    return call


# ---- malformed messages are parked, never looped on -----------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        "not json at all",
        "[1, 2, 3]",
        json.dumps({"deliveryId": "x"}),
        json.dumps({"operation": "stub_op"}),
        "",
    ],
)
def test_malformed_body_is_parked_and_the_record_succeeds(h: Harness, body: str) -> None:
    replay.replay_record(record(body, deliveryId="d-attr", operation="stub_op"))
    [(parked, reason)] = h.parked
    assert reason == "malformed_message"
    assert parked.delivery_id == "d-attr"
    assert parked.operation == "stub_op"
    assert parked.request == {"rawBody": body}
    assert parked.last_error is not None and parked.last_error.kind == "MalformedMessage"
    assert h.calls == [] and h.sqs.visibility == []


def test_malformed_body_without_attributes_gets_an_id_from_the_message(h: Harness) -> None:
    replay.replay_record(record("{"))
    [(parked, _)] = h.parked
    assert parked.delivery_id == "sqs-m-1"
    assert parked.operation == "unknown"


def test_huge_malformed_body_is_truncated(h: Harness) -> None:
    replay.replay_record(record("x" * (replay.RAW_BODY_LIMIT + 10)))
    [(parked, _)] = h.parked
    assert parked.request is not None
    assert len(parked.request["rawBody"]) == replay.RAW_BODY_LIMIT
    assert parked.request["truncatedFrom"] == replay.RAW_BODY_LIMIT + 10


def test_unknown_operation_is_parked_with_its_envelope(h: Harness) -> None:
    replay.replay_record(record(envelope(operation="no_such_op")))
    [(parked, reason)] = h.parked
    assert reason == "malformed_message"
    assert parked.delivery_id == envelope_id
    assert parked.request == {"customerId": "M10001", "firstName": "Anna"}
    assert parked.last_error is not None and "unknown operation" in parked.last_error.message


def test_request_that_no_longer_validates_is_parked_with_field_errors(h: Harness) -> None:
    replay.replay_record(record(envelope(request={"customerId": "M10001", "firstName": "x" * 41})))
    [(parked, reason)] = h.parked
    assert reason == "malformed_message"
    assert [e["field"] for e in parked.errors] == ["firstName"]
    assert "x" * 41 not in json.dumps(parked.errors)
    assert h.calls == []


def test_envelope_without_request_is_parked(h: Harness) -> None:
    replay.replay_record(record(envelope(request=None)))
    assert [reason for _, reason in h.parked] == ["malformed_message"]


# ---- vendor outcomes ----------------------------------------------------------------------------


def test_success_is_not_parked_and_is_counted(h: Harness) -> None:
    replay.replay_record(record(envelope()))
    assert h.parked == [] and h.sqs.visibility == []
    assert [c.first_name for c in h.calls] == ["Anna"]
    assert h.counts("Replayed") == 1 and h.counts("Delivered") == 1
    assert ("Replayed", {"operation": "stub_op"}) in h.counted


def test_already_delivered_replay_does_not_call_or_count_a_delivery(h: Harness) -> None:
    replay.replay_record(record(envelope()))
    replay.replay_record(record(envelope()))  # the same message again (SQS delivers at least once)
    assert len(h.calls) == 1 and h.parked == []
    assert h.counts("Delivered") == 1 and h.counts("ReplayDuplicate") == 1
    stored = h.record_of()
    assert stored is not None and (stored.status, stored.result) == ("delivered", {"leadId": "L-1"})


def test_permanent_rejection_is_parked_with_the_vendor_error(h: Harness) -> None:
    details = [{"field": "person.firstName", "reason": "too long"}]
    h.outcome = fail_with(
        PermanentVendorError(
            "vitec rejected the request (HTTP 400): bad", vendor="vitec", vendor_status=400, details=details
        )
    )
    replay.replay_record(record(envelope(), receive_count=2))
    [(parked, reason)] = h.parked
    assert reason == "vendor_rejected"
    assert parked.last_error is not None
    assert (parked.last_error.kind, parked.last_error.status) == ("PermanentVendorError", 400)
    assert parked.errors == details
    assert parked.attempt == 2
    assert h.sqs.visibility == []


def test_vendor_auth_failure_is_a_permanent_rejection(h: Harness) -> None:
    h.outcome = fail_with(VendorAuthError("refused", vendor="vitec", vendor_status=401))
    replay.replay_record(record(envelope()))
    assert [reason for _, reason in h.parked] == ["vendor_auth_failed"]


@pytest.mark.parametrize(("receive_count", "wait"), [(1, 300), (2, 1800), (3, 7200), (4, 21600)])
def test_transient_failure_sets_the_next_backoff_and_raises(
    h: Harness, receive_count: int, wait: int
) -> None:
    h.outcome = fail_with(TransientVendorError("vitec answered 503", vendor="vitec", vendor_status=503))
    with pytest.raises(replay.ReplayRetryError):
        replay.replay_record(record(envelope(), receive_count=receive_count))
    assert h.parked == []
    assert h.sqs.visibility == [
        {
            "QueueUrl": "http://sqs.test/000000000000/failures",
            "ReceiptHandle": "rh-1",
            "VisibilityTimeout": wait,
        }
    ]
    assert h.counts("ReplayRetry") == 1


def test_retry_after_longer_than_the_step_is_honoured(h: Harness) -> None:
    h.outcome = fail_with(TransientVendorError("429", vendor="vitec", vendor_status=429, retry_after_s=390.5))
    with pytest.raises(replay.ReplayRetryError):
        replay.replay_record(record(envelope()))
    assert h.sqs.visibility[0]["VisibilityTimeout"] == 391


def test_visibility_change_failure_still_keeps_the_message(h: Harness) -> None:
    h.sqs.fail = True
    h.outcome = fail_with(TransientVendorError("503", vendor="vitec", vendor_status=503))
    with pytest.raises(replay.ReplayRetryError):
        replay.replay_record(record(envelope()))
    assert h.parked == []


@pytest.mark.parametrize(("receive_count", "attempt"), [(5, 1), (1, 5), (9, 1)])
def test_exhausted_attempts_are_parked(h: Harness, receive_count: int, attempt: int) -> None:
    h.outcome = fail_with(TransientVendorError("503", vendor="vitec", vendor_status=503))
    replay.replay_record(record(envelope(attempt=attempt), receive_count=receive_count))
    [(parked, reason)] = h.parked
    assert reason == "attempts_exhausted"
    assert parked.attempt == max(receive_count, attempt)
    assert parked.last_error is not None and parked.last_error.status == 503
    assert h.sqs.visibility == []


def test_lost_answer_on_an_operation_the_vendor_does_not_deduplicate_is_parked(h: Harness) -> None:
    h.outcome = fail_with(AnswerLostError("timeout after sending", vendor="vitec"))
    replay.replay_record(record(envelope(operation="stub_lossy")))
    assert [reason for _, reason in h.parked] == ["answer_lost"]
    assert h.sqs.visibility == []


def test_lost_answer_on_a_deduplicated_operation_is_resent_once_then_parked(h: Harness) -> None:
    """The bound (DESIGN §6): two sends that may have written, then a person decides."""
    h.outcome = fail_with(AnswerLostError("timeout after sending", vendor="vitec"))
    with pytest.raises(replay.ReplayRetryError):
        replay.replay_record(record(envelope()))
    assert h.parked == [] and len(h.sqs.visibility) == 1
    replay.replay_record(record(envelope(), receive_count=2))
    assert [reason for _, reason in h.parked] == ["answer_lost"]
    replay.replay_record(record(envelope(), receive_count=3))  # a stale copy: nothing more
    assert len(h.calls) == 2 and len(h.parked) == 1
    stored = h.record_of()
    assert stored is not None and (stored.status, stored.maybe_written) == ("parked", 2)


def test_a_viewing_like_write_queued_after_a_lost_answer_is_parked_unsent(h: Harness) -> None:
    """An API send whose answer was lost already used a no-resend write's only slot."""
    key = DeliveryKey("default", "stub_lossy", envelope_id)
    lease = h.store.create(key, fingerprint="", customer_id="M10001", by="api", send=True)
    assert not isinstance(lease, Record)
    h.store.settle(lease, "queued", by="api", event="queued")
    replay.replay_record(record(envelope(operation="stub_lossy")))
    assert h.calls == []
    assert [reason for _, reason in h.parked] == ["answer_lost"]


@pytest.mark.parametrize("exc", [KeyError("boom"), ConfigurationError("no credentials for M10001")])
def test_unexpected_errors_are_retried_not_lost(h: Harness, exc: Exception) -> None:
    h.outcome = fail_with(exc)
    with pytest.raises(replay.ReplayRetryError):
        replay.replay_record(record(envelope()))
    assert h.parked == []


def test_a_delivery_held_by_another_path_is_retried_unsent(h: Harness) -> None:
    key = DeliveryKey("default", "stub_op", envelope_id)
    assert not isinstance(h.store.create(key, fingerprint="", customer_id=None, by="api", send=True), Record)
    with pytest.raises(replay.ReplayRetryError):
        replay.replay_record(record(envelope()))
    assert h.parked == [] and h.calls == []


def test_store_unreachable_is_retried_unsent(h: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    def down(*_: Any, **__: Any) -> Any:
        raise IdempotencyStoreError("the delivery record store is unavailable")

    monkeypatch.setattr(h.store, "create", down)
    with pytest.raises(replay.ReplayRetryError):
        replay.replay_record(record(envelope()))
    assert h.parked == [] and h.calls == []


def test_a_malformed_message_delivered_twice_is_parked_once(h: Harness) -> None:
    replay.replay_record(record("junk", deliveryId="d-attr", operation="stub_op"))
    replay.replay_record(record("junk", deliveryId="d-attr", operation="stub_op"))
    assert [reason for _, reason in h.parked] == ["malformed_message"]


# ---- schedule -----------------------------------------------------------------------------------


def test_backoff_schedule_default_and_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    base = {
        "FAILURE_QUEUE_URL": "q",
        "PARKED_QUEUE_URL": "p",
        "IDEMPOTENCY_TABLE": "t",
        "ARCHIVE_BUCKET": "a",
    }
    assert Settings.model_validate(base).replay_backoff_s == (60, 300, 1800, 7200, 21600)
    assert Settings.model_validate({**base, "REPLAY_BACKOFF_S": " 0, 5 ,10"}).replay_backoff_s == (0, 5, 10)
    for bad in ("", "soon", "-1", "50000"):
        with pytest.raises(ValueError, match=r"REPLAY_BACKOFF_S|replay_backoff_s"):
            Settings.model_validate({**base, "REPLAY_BACKOFF_S": bad})


def test_backoff_for(h: Harness) -> None:
    assert [replay.backoff_for(a) for a in range(1, 7)] == [300, 1800, 7200, 21600, None, None]
    assert replay.backoff_for(1, retry_after_s=100000) == replay.MAX_VISIBILITY_S


# ---- the handler: partial batch response --------------------------------------------------------


def test_handler_reports_only_the_transient_record_as_failed(h: Harness) -> None:
    from functions.failure_replay.app import lambda_handler

    def outcome(req: StubRequest) -> dict[str, Any]:
        if req.first_name == "Flaky":
            raise TransientVendorError("503", vendor="vitec", vendor_status=503)
        return {"lead_id": "L-1"}

    h.outcome = outcome
    ok = to_lambda_record(
        {
            "MessageId": "ok",
            "ReceiptHandle": "rh-ok",
            "Body": envelope().to_message(),
            "Attributes": {"ApproximateReceiveCount": "1"},
        },
        "arn:aws:sqs:eu-north-1:000000000000:failures",
        "eu-north-1",
    )
    flaky_env = envelope(delivery_id="d-flaky", request={"customerId": "M10001", "firstName": "Flaky"})
    flaky = {**ok, "messageId": "flaky", "receiptHandle": "rh-flaky", "body": flaky_env.to_message()}
    junk = {**ok, "messageId": "junk", "receiptHandle": "rh-junk", "body": "junk"}
    response = lambda_handler({"Records": [ok, flaky, junk]}, LocalLambdaContext("eu-north-1"))
    assert response == {"batchItemFailures": [{"itemIdentifier": "flaky"}]}
    assert [reason for _, reason in h.parked] == ["malformed_message"]
    assert h.sqs.visibility[0]["ReceiptHandle"] == "rh-flaky"


def test_handler_reports_a_wholly_failed_batch_without_raising(h: Harness) -> None:
    from functions.failure_replay.app import lambda_handler

    h.outcome = fail_with(TransientVendorError("503", vendor="vitec", vendor_status=503))
    event = {"Records": [record(envelope()).raw_event]}
    assert lambda_handler(event, LocalLambdaContext("eu-north-1")) == {
        "batchItemFailures": [{"itemIdentifier": "m-1"}]
    }


# ---- the local event source mapping's record shape ---------------------------------------------


def test_lambda_record_shape_matches_the_event_source_mapping() -> None:
    message = {
        "MessageId": "m-9",
        "ReceiptHandle": "rh-9",
        "Body": "{}",
        "MD5OfBody": "99914b932bd37a50b983c5e7c90ae93b",
        "MD5OfMessageAttributes": "abc",
        "Attributes": {
            "ApproximateReceiveCount": "3",
            "SentTimestamp": "1",
            "SenderId": "AID",
            "ApproximateFirstReceiveTimestamp": "2",
        },
        "MessageAttributes": {
            "operation": {"DataType": "String", "StringValue": "vitec_person_lead"},
            "blob": {"DataType": "Binary", "BinaryValue": b"\x00\x01"},
        },
    }
    shaped = to_lambda_record(message, "arn:aws:sqs:eu-north-1:123456789012:leadhooks-failures", "eu-north-1")
    assert shaped == {
        "messageId": "m-9",
        "receiptHandle": "rh-9",
        "body": "{}",
        "attributes": {
            "ApproximateReceiveCount": "3",
            "SentTimestamp": "1",
            "SenderId": "AID",
            "ApproximateFirstReceiveTimestamp": "2",
        },
        "messageAttributes": {
            "operation": {
                "stringValue": "vitec_person_lead",
                "stringListValues": [],
                "binaryListValues": [],
                "dataType": "String",
            },
            "blob": {
                "binaryValue": "AAE=",
                "stringListValues": [],
                "binaryListValues": [],
                "dataType": "Binary",
            },
        },
        "md5OfBody": "99914b932bd37a50b983c5e7c90ae93b",
        "md5OfMessageAttributes": "abc",
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:eu-north-1:123456789012:leadhooks-failures",
        "awsRegion": "eu-north-1",
    }
    sqs_record = SQSRecord(shaped)
    assert sqs_record.attributes.approximate_receive_count == "3"
    operation = sqs_record.message_attributes["operation"]
    assert operation is not None and operation.string_value == "vitec_person_lead"
