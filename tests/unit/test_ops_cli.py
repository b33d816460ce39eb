"""The operator CLI against in-memory SQS and S3 stand-ins: argparse, table rendering, masking, queue
moves, the parked archive, poison messages."""

# ruff: noqa: N803 - the stand-in takes boto3's parameter names

from __future__ import annotations

import base64
import contextlib
import io
import itertools
import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from leadhooks import archive as layout
from leadhooks.archive import StoredObject
from leadhooks.failures import FailureEnvelope, LastError
from leadhooks_ops import cli, target

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

FAILURES = "http://sqs.test/000000000000/failures"
PARKED = "http://sqs.test/000000000000/parked"
BUCKET = "archive-test"
REQUEUED = (
    "re-queued {n} on the failure queue (the replay worker sends them; `leadhooks-ops queue stats` shows "
    "what waits), not replayable 0, failed {failed}"
)


class Message:
    def __init__(self, mid: str, body: str, attributes: dict[str, Any]) -> None:
        self.mid = mid
        self.body = body
        self.attributes = attributes
        self.visible_at = 0.0
        self.receipt: str | None = None
        self.receives = 0
        self.sent = int(time.time() * 1000)


class FakeSQS:
    """Enough of SQS for the CLI: visibility timeouts, receipt handles, batches of 10."""

    def __init__(self) -> None:
        self.queues: dict[str, list[Message]] = {FAILURES: [], PARKED: []}
        self.ids = itertools.count(1)
        self.calls: list[str] = []

    def put(self, url: str, body: str, attributes: dict[str, Any] | None = None) -> str:
        mid = f"m{next(self.ids)}"
        self.queues[url].append(Message(mid, body, attributes or {}))
        return mid

    def receive_message(
        self, *, QueueUrl: str, MaxNumberOfMessages: int, VisibilityTimeout: int, **_: Any
    ) -> dict[str, Any]:
        self.calls.append("receive")
        now = time.monotonic()
        out: list[dict[str, Any]] = []
        for m in self.queues[QueueUrl]:
            if len(out) >= MaxNumberOfMessages:
                break
            if m.visible_at <= now:
                m.visible_at = now + VisibilityTimeout
                m.receipt = f"{m.mid}-r{next(self.ids)}"
                m.receives += 1
                out.append(
                    {
                        "MessageId": m.mid,
                        "ReceiptHandle": m.receipt,
                        "Body": m.body,
                        "Attributes": {
                            "SentTimestamp": str(m.sent),
                            "ApproximateReceiveCount": str(m.receives),
                        },
                        "MessageAttributes": m.attributes,
                    }
                )
        return {"Messages": out} if out else {}

    def _by_receipt(self, url: str, receipt: str) -> Message:
        return next(m for m in self.queues[url] if m.receipt == receipt)

    def change_message_visibility_batch(self, *, QueueUrl: str, Entries: list[dict[str, Any]]) -> None:
        assert len(Entries) <= 10
        self.calls.append("release")
        for entry in Entries:
            message = self._by_receipt(QueueUrl, entry["ReceiptHandle"])
            message.visible_at = time.monotonic() + entry["VisibilityTimeout"]

    def delete_message(self, *, QueueUrl: str, ReceiptHandle: str) -> None:
        self.calls.append("delete")
        self.queues[QueueUrl].remove(self._by_receipt(QueueUrl, ReceiptHandle))

    def send_message(
        self, *, QueueUrl: str, MessageBody: str, MessageAttributes: dict[str, Any], **_: Any
    ) -> None:
        self.calls.append("send")
        self.put(QueueUrl, MessageBody, MessageAttributes)

    def get_queue_attributes(self, *, QueueUrl: str, AttributeNames: list[str]) -> dict[str, Any]:
        now = time.monotonic()
        queue = self.queues[QueueUrl]
        visible = sum(1 for m in queue if m.visible_at <= now)
        return {
            "Attributes": {
                "ApproximateNumberOfMessages": str(visible),
                "ApproximateNumberOfMessagesNotVisible": str(len(queue) - visible),
                "ApproximateNumberOfMessagesDelayed": "0",
            }
        }

    def visible(self, url: str) -> int:
        return sum(1 for m in self.queues[url] if m.visible_at <= time.monotonic())


class FakeBody:
    def __init__(self, data: bytes) -> None:
        self.data = data

    def read(self) -> bytes:
        return self.data


class FakeS3:
    """Enough of S3 for the CLI: a versioned bucket per name (delete = a delete marker)."""

    def __init__(self) -> None:
        self.objects: dict[tuple[str, str], bytes] = {}
        self.deleted: list[tuple[str, str]] = []
        self.versions = itertools.count(1)

    def put_object(self, *, Bucket: str, Key: str, Body: bytes, **_: Any) -> dict[str, Any]:
        self.objects[(Bucket, Key)] = Body
        return {"VersionId": f"v{next(self.versions)}"}

    def get_object(self, *, Bucket: str, Key: str, **_: Any) -> dict[str, Any]:
        if (Bucket, Key) not in self.objects:
            raise KeyError(Key)
        return {"Body": FakeBody(self.objects[(Bucket, Key)]), "VersionId": "v0"}

    def delete_object(self, *, Bucket: str, Key: str) -> None:
        self.objects.pop((Bucket, Key), None)
        self.deleted.append((Bucket, Key))

    def list_objects_v2(self, *, Bucket: str, Prefix: str, **_: Any) -> dict[str, Any]:
        keys = sorted(k for b, k in self.objects if b == Bucket and k.startswith(Prefix))
        return {
            "Contents": [{"Key": k, "LastModified": datetime.now(UTC)} for k in keys],
            "IsTruncated": False,
        }

    def stored_keys(self) -> list[str]:
        return sorted(k for _, k in self.objects)


def parked_envelope(
    delivery_id: str, reason: str = "vendor_rejected", minutes_ago: int = 5
) -> FailureEnvelope:
    return FailureEnvelope(
        delivery_id=delivery_id,
        operation="vitec_person_lead",
        customer_id="M10001",
        attempt=3,
        request={
            "customerId": "M10001",
            "person": {
                "firstName": "Anna",
                "lastName": "Svensson",
                "socialSecurityNumber": "19800101-1234",
                "email": {"emailAddress": "anna@example.com"},
                "telephone": {"cell": "+46701234567"},
            },
            "message": "Ring mig på 070-123 45 67",
            "leadSource": {"leadType": "Buy", "name": "Hemnet"},
        },
        last_error=LastError(
            kind="PermanentVendorError",
            status=400,
            message="vitec rejected the request (HTTP 400): person.firstName is invalid",
        ),
        errors=[{"field": "person.firstName", "reason": "too long"}],
        reason=reason,
        parked_at=datetime.now(UTC) - timedelta(minutes=minutes_ago),
    )


def park(sqs: FakeSQS, env: FailureEnvelope) -> None:
    attrs = {
        "operation": {"DataType": "String", "StringValue": env.operation},
        "deliveryId": {"DataType": "String", "StringValue": env.delivery_id},
    }
    sqs.put(PARKED, env.to_message(), attrs)


class FakeStore:
    """The delivery records as the CLI sees them: requeue parked → queued, or refuse."""

    def __init__(self) -> None:
        self.status: dict[str, str] = {}
        self.requeued: list[str] = []

    def requeue(self, key: Any) -> None:
        status = self.status.get(key.delivery_id)
        if status is None:
            raise LookupError("no delivery record")
        if status not in ("parked", "queued"):
            raise LookupError(f"the delivery is {status}, not parked")
        self.status[key.delivery_id] = "queued"
        self.requeued.append(key.id)


def run(
    sqs: FakeSQS, *argv: str, s3: FakeS3 | None = None, store: FakeStore | None = None
) -> tuple[int, str]:
    out = io.StringIO()
    urls = ["--failure-queue-url", FAILURES, "--parked-queue-url", PARKED, "--archive-bucket", BUCKET]
    code = cli.main([*urls, *argv], sqs=sqs, s3=s3 or FakeS3(), store=store or FakeStore(), out=out)
    return code, out.getvalue()


def archive(s3: FakeS3, env: FailureEnvelope) -> str:
    key = layout.parked_key(env.delivery_id, env.operation)
    s3.put_object(Bucket=BUCKET, Key=key, Body=env.to_message().encode())
    return key


@pytest.fixture
def sqs() -> FakeSQS:
    return FakeSQS()


# ---- argparse -----------------------------------------------------------------------------------


def test_every_command_has_help(capsys: pytest.CaptureFixture[str]) -> None:
    commands = list(cli.iter_commands())
    assert sorted(commands) == [
        ["edit"],
        ["find"],
        ["mapping", "check"],
        ["parked", "archive"],
        ["parked", "discard"],
        ["parked", "list"],
        ["parked", "replay"],
        ["parked", "show"],
        ["queue", "stats"],
        ["secrets", "check"],
        ["typeform", "check"],
    ]
    for path in [[], ["parked"], ["queue"], ["secrets"], ["mapping"], ["typeform"], *commands]:
        with pytest.raises(SystemExit) as exit_info:
            cli.build_parser().parse_args([*path, "--help"])
        assert exit_info.value.code == 0
        assert "usage: leadhooks-ops" in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["parked"],
        ["parked", "replay"],
        ["parked", "replay", "d-1", "--all"],
        ["parked", "show"],
        ["parked", "list", "--limit", "0"],
        ["parked", "list", "--reason", "nope"],
        ["queue", "stats", "--visibility-timeout", "0"],
    ],
)
def test_bad_usage_exits_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.build_parser().parse_args(argv)
    assert exit_info.value.code == 2


def test_connection_options_work_before_and_after_the_command() -> None:
    parser = cli.build_parser()
    before = parser.parse_args(["--parked-queue-url", "A", "--visibility-timeout", "5", "parked", "list"])
    after = parser.parse_args(["parked", "list", "--parked-queue-url", "B", "--visibility-timeout", "7"])
    neither = parser.parse_args(["parked", "list"])
    assert (before.parked_queue_url, before.visibility_timeout) == ("A", 5)
    assert (after.parked_queue_url, after.visibility_timeout) == ("B", 7)
    assert (neither.parked_queue_url, neither.visibility_timeout) == (None, cli.DEFAULT_VISIBILITY_S)


def test_missing_queue_url_is_a_usage_error(
    sqs: FakeSQS, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("PARKED_QUEUE_URL", raising=False)
    monkeypatch.delenv("LEADHOOKS_STACK", raising=False)
    assert cli.main(["parked", "list"], sqs=sqs, s3=FakeS3(), out=io.StringIO()) == 2
    assert "PARKED_QUEUE_URL" in capsys.readouterr().err


def test_queue_urls_come_from_the_environment(sqs: FakeSQS, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PARKED_QUEUE_URL", PARKED)
    park(sqs, parked_envelope("d-env"))
    out = io.StringIO()
    assert cli.main(["parked", "list"], sqs=sqs, s3=FakeS3(), out=out) == 0
    assert "d-env" in out.getvalue()


def test_region_is_taken_from_an_aws_queue_url(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[tuple[str, str | None]] = []

    class FakeBoto3:
        @staticmethod
        def client(name: str, region_name: str | None = None) -> FakeSQS:
            seen.append((name, region_name))
            return FakeSQS()

    monkeypatch.setitem(__import__("sys").modules, "boto3", FakeBoto3)
    url = "https://sqs.eu-north-1.amazonaws.com/123456789012/leadhooks-parked"
    monkeypatch.delenv("ARCHIVE_BUCKET", raising=False)
    monkeypatch.delenv("FAILURE_QUEUE_URL", raising=False)
    assert cli.main(["--parked-queue-url", url, "queue", "stats"], out=io.StringIO()) == 1  # fake has no url
    assert seen == [("sqs", "eu-north-1")]


# ---- rendering ----------------------------------------------------------------------------------


def test_table_is_aligned_and_has_a_header_even_when_empty() -> None:
    table = cli.render_table(["deliveryId", "age"], [["a", "5m00s"], ["longer-id", "1s"]])
    lines = table.splitlines()
    assert lines[0] == "DELIVERYID  AGE"
    assert lines[1] == "a           5m00s"
    assert lines[2] == "longer-id   1s"
    assert cli.render_table(["a", "b"], []) == "A  B"


@pytest.mark.parametrize(
    ("delta", "text"),
    [
        (timedelta(seconds=7), "7s"),
        (timedelta(minutes=3, seconds=4), "3m04s"),
        (timedelta(hours=2, minutes=5), "2h05m"),
        (timedelta(days=3, hours=4), "3d04h"),
        (timedelta(seconds=-5), "0s"),
    ],
)
def test_age_format(delta: timedelta, text: str) -> None:
    now = datetime(2025, 1, 1, tzinfo=UTC)
    assert cli.format_age(now - delta, now) == text
    assert cli.format_age(None, now) == "?"


def test_list_shows_ids_and_reason_but_no_personal_data(sqs: FakeSQS) -> None:
    park(sqs, parked_envelope("d-new", minutes_ago=1))
    park(sqs, parked_envelope("d-old", reason="attempts_exhausted", minutes_ago=90))
    code, out = run(sqs, "parked", "list", "--wide")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == [
        "DELIVERYID",
        "OPERATION",
        "CUSTOMER",
        "AGE",
        "REASON",
        "KEPT",
        "IN",
        "ATTEMPT",
        "LAST",
        "ERROR",
    ]
    assert lines[1].split()[:6] == [
        "d-old",
        "vitec_person_lead",
        "M10001",
        "1h30m",
        "attempts_exhausted",
        "queue",
    ]
    assert lines[2].split()[:6] == [
        "d-new",
        "vitec_person_lead",
        "M10001",
        "1m00s",
        "vendor_rejected",
        "queue",
    ]
    assert "PermanentVendorError 400" in lines[1]
    assert lines[3] == "2 parked deliveries"
    for secret in ("Anna", "Svensson", "anna@example.com", "19800101-1234", "070-123"):
        assert secret not in out


def test_list_does_not_consume_and_hands_messages_back(sqs: FakeSQS) -> None:
    for i in range(23):
        park(sqs, parked_envelope(f"d-{i:02d}"))
    code, out = run(sqs, "parked", "list")
    assert code == 0
    assert "23 parked deliveries" in out.splitlines()
    assert len(sqs.queues[PARKED]) == 23
    assert sqs.visible(PARKED) == 23  # visibility set back to 0 for every one
    assert "delete" not in sqs.calls


def test_list_filters_and_limit(sqs: FakeSQS) -> None:
    park(sqs, parked_envelope("d-a"))
    park(sqs, parked_envelope("d-b", reason="attempts_exhausted"))
    _, out = run(sqs, "parked", "list", "--reason", "attempts_exhausted")
    assert "d-b" in out and "d-a" not in out
    _, out = run(sqs, "parked", "list", "--limit", "1")
    assert "limit reached" in out
    assert sqs.visible(PARKED) == 2


def test_list_copes_with_a_message_that_is_not_an_envelope(sqs: FakeSQS) -> None:
    mid = sqs.put(PARKED, "garbage", {"deliveryId": {"DataType": "String", "StringValue": "d-junk"}})
    code, out = run(sqs, "parked", "list")
    assert code == 0
    assert "0 parked deliveries" in out
    assert f"1 message(s) on the parked queue could not be read: {mid} (not JSON; deliveryId d-junk)" in out


def test_show_masks_personal_data_but_keeps_ids_and_the_error(sqs: FakeSQS) -> None:
    park(sqs, parked_envelope("d-show"))
    park(sqs, parked_envelope("d-other"))
    code, out = run(sqs, "parked", "show", "d-show")
    assert code == 0
    shown = json.loads(out)
    assert shown["deliveryId"] == "d-show"
    assert shown["customerId"] == "M10001"
    assert shown["reason"] == "vendor_rejected"
    assert shown["attempt"] == 3
    assert shown["firstSeenAt"].startswith("20") and shown["parkedAt"].startswith("20")
    assert shown["request"]["person"]["firstName"] == "*****"
    assert shown["request"]["person"]["email"] == "*****"
    assert shown["lastError"]["message"].startswith("vitec rejected the request (HTTP 400)")
    assert shown["errors"] == [{"field": "person.firstName", "reason": "too long"}]
    for secret in ("Anna", "Svensson", "anna@example.com", "19800101-1234", "070-123", "+46701234567"):
        assert secret not in out
    assert sqs.visible(PARKED) == 2


def test_show_reveal_prints_the_envelope_as_parked(sqs: FakeSQS) -> None:
    park(sqs, parked_envelope("d-show"))
    _, out = run(sqs, "parked", "show", "d-show", "--reveal")
    assert json.loads(out)["request"]["person"]["email"]["emailAddress"] == "anna@example.com"


@pytest.mark.parametrize(("field", "reason"), [("raw", "invalid_input"), ("rawBody", "malformed_message")])
def test_show_withholds_a_body_kept_as_received(sqs: FakeSQS, field: str, reason: str) -> None:
    """A body the adapter could not read (a Typeform payload with an invalid personnummer) is kept as
    text; its answers sit under generic keys (`text`), so key-based masking cannot find the surname."""
    raw = json.dumps(
        {
            "form_response": {
                "answers": [
                    {"field": {"ref": "person.lastName"}, "type": "text", "text": "Kanarieson"},
                    {"field": {"ref": "address"}, "type": "text", "text": "Kanariegatan 7"},
                    {
                        "field": {"ref": "person.socialSecurityNumber"},
                        "type": "text",
                        "text": "19811228-9875",
                    },
                ]
            }
        }
    )
    env = FailureEnvelope(
        delivery_id="d-raw",
        operation="vitec_person_lead",
        request={field: raw},
        reason=reason,
        parked_at=datetime.now(UTC),
    )
    park(sqs, env)
    junk_id = {"deliveryId": {"DataType": "String", "StringValue": "d-junk"}}
    sqs.put(PARKED, f"not an envelope: {raw}", junk_id)
    for delivery_id in ("d-raw", "d-junk"):
        code, out = run(sqs, "parked", "show", delivery_id)
        assert code == 0
        for secret in ("Kanarieson", "Kanariegatan", "19811228-9875"):
            assert secret not in out, (delivery_id, secret)
        assert "--reveal shows them" in out
    _, revealed = run(sqs, "parked", "show", "d-raw", "--reveal")
    assert "Kanarieson" in revealed


def test_show_unknown_id_fails(sqs: FakeSQS, capsys: pytest.CaptureFixture[str]) -> None:
    park(sqs, parked_envelope("d-1"))
    code, _ = run(sqs, "parked", "show", "d-missing")
    assert code == 1
    assert "no parked delivery d-missing" in capsys.readouterr().err
    assert sqs.visible(PARKED) == 1


# ---- replay and discard -------------------------------------------------------------------------


def test_replay_one_moves_it_to_the_failure_queue_as_attempt_1(
    sqs: FakeSQS, capsys: pytest.CaptureFixture[str]
) -> None:
    park(sqs, parked_envelope("d-1"))
    park(sqs, parked_envelope("d-2"))
    code, out = run(sqs, "parked", "replay", "d-1")
    assert code == 0
    assert out.startswith("re-queued 1 on the failure queue") and "not replayable 0, failed 0" in out
    assert "[" in capsys.readouterr().err  # progress bar
    [queued] = sqs.queues[FAILURES]
    env = FailureEnvelope.model_validate_json(queued.body)
    assert (env.delivery_id, env.attempt, env.reason, env.parked_at) == ("d-1", 1, None, None)
    assert env.request is not None and env.request["person"]["firstName"] == "Anna"
    assert set(queued.attributes) == {"operation", "deliveryId"}
    assert [json.loads(m.body)["deliveryId"] for m in sqs.queues[PARKED]] == ["d-2"]
    assert sqs.visible(PARKED) == 1


def test_replay_sets_the_record_queued_and_never_sends_itself(sqs: FakeSQS) -> None:
    park(sqs, parked_envelope("d-1"))
    store = FakeStore()
    store.status["d-1"] = "parked"
    code, out = run(sqs, "parked", "replay", "d-1", store=store)
    assert (code, out.strip()) == (0, REQUEUED.format(n=1, failed=0))
    assert store.requeued == ["default#vitec_person_lead#d-1"]
    assert len(sqs.queues[FAILURES]) == 1


def test_replay_of_a_delivery_the_record_says_is_delivered_is_refused(sqs: FakeSQS) -> None:
    park(sqs, parked_envelope("d-1"))
    store = FakeStore()
    store.status["d-1"] = "delivered"
    code, out = run(sqs, "parked", "replay", "d-1", store=store)
    assert (code, out.strip()) == (1, REQUEUED.format(n=0, failed=1))
    assert sqs.queues[FAILURES] == []
    assert sqs.visible(PARKED) == 1


def test_replay_all_with_a_reason_filter(sqs: FakeSQS) -> None:
    for i in range(12):
        park(sqs, parked_envelope(f"d-x{i}", reason="attempts_exhausted"))
    park(sqs, parked_envelope("d-keep", reason="vendor_rejected"))
    code, out = run(sqs, "parked", "replay", "--all", "--reason", "attempts_exhausted")
    assert code == 0 and out.startswith("re-queued 12 on the failure queue")
    assert len(sqs.queues[FAILURES]) == 12
    assert [json.loads(m.body)["deliveryId"] for m in sqs.queues[PARKED]] == ["d-keep"]
    assert sqs.visible(PARKED) == 1


def test_replay_all_replays_what_it_can_and_reports_the_rest(sqs: FakeSQS) -> None:
    park(sqs, parked_envelope("d-ok"))
    garbage = sqs.put(PARKED, "garbage")
    unknown = parked_envelope("d-unknown")
    unknown.operation = "vitec_teleport"
    park(sqs, unknown)
    code, out = run(sqs, "parked", "replay", "--all")
    assert code == 1
    assert out.startswith("re-queued 1 on the failure queue") and "not replayable 1, failed 0" in out
    assert f"could not be read: {garbage} (not JSON)" in out
    assert sorted(m.body[:20] for m in sqs.queues[PARKED]) == sorted(["garbage", unknown.to_message()[:20]])
    assert sqs.visible(PARKED) == 2


def test_replay_needs_the_failure_queue(sqs: FakeSQS, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FAILURE_QUEUE_URL", raising=False)
    park(sqs, parked_envelope("d-1"))
    code = cli.main(["--parked-queue-url", PARKED, "parked", "replay", "d-1"], sqs=sqs, out=io.StringIO())
    assert code == 2
    assert sqs.calls == []


def test_discard_asks_and_keeps_on_no(sqs: FakeSQS, monkeypatch: pytest.MonkeyPatch) -> None:
    park(sqs, parked_envelope("d-1"))
    prompts: list[str] = []

    def answer_no(prompt: str) -> str:
        prompts.append(prompt)
        return "n"

    monkeypatch.setattr("builtins.input", answer_no)
    code, out = run(sqs, "parked", "discard", "d-1")
    assert code == 1 and "kept d-1" in out
    assert "[y/N]" in prompts[0] and "d-1" in prompts[0]
    assert sqs.visible(PARKED) == 1


def test_discard_on_eof_keeps(sqs: FakeSQS, monkeypatch: pytest.MonkeyPatch) -> None:
    park(sqs, parked_envelope("d-1"))

    def eof(_prompt: str) -> str:
        raise EOFError

    monkeypatch.setattr("builtins.input", eof)
    assert run(sqs, "parked", "discard", "d-1")[0] == 1
    assert len(sqs.queues[PARKED]) == 1


def test_discard_with_yes_or_y_deletes(sqs: FakeSQS, monkeypatch: pytest.MonkeyPatch) -> None:
    park(sqs, parked_envelope("d-1"))
    park(sqs, parked_envelope("d-2"))
    code, out = run(sqs, "parked", "discard", "d-1", "--yes")
    assert code == 0 and "discarded d-1" in out
    monkeypatch.setattr("builtins.input", lambda _prompt: "y")
    assert run(sqs, "parked", "discard", "d-2")[0] == 0
    assert sqs.queues[PARKED] == []


def test_queue_stats(sqs: FakeSQS) -> None:
    park(sqs, parked_envelope("d-1"))
    park(sqs, parked_envelope("d-2"))
    sqs.put(FAILURES, "{}")
    sqs.receive_message(QueueUrl=PARKED, MaxNumberOfMessages=1, VisibilityTimeout=60)
    code, out = run(sqs, "queue", "stats")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["QUEUE", "VISIBLE", "IN-FLIGHT", "DELAYED", "URL"]
    assert lines[1].split() == ["failure", "1", "0", "0", FAILURES]
    assert lines[2].split() == ["parked", "1", "1", "0", PARKED]


def test_aws_errors_are_reported_without_a_traceback(capsys: pytest.CaptureFixture[str]) -> None:
    class Broken(FakeSQS):
        def receive_message(self, **_: Any) -> dict[str, Any]:
            raise ConnectionError("could not connect to https://sqs.example/ for anna@example.com")

    code, _ = run(Broken(), "parked", "list")
    err = capsys.readouterr().err
    assert code == 1
    assert err.startswith("error: ConnectionError")
    assert "anna@example.com" not in err


def test_progress_bar() -> None:
    stream = io.StringIO()
    bar = cli.Progress(4, stream, width=8)
    for _ in range(4):
        bar.step()
    assert stream.getvalue().endswith("\r[########] 4/4\n")
    assert "\r[####----] 2/4" in stream.getvalue()


# ---- secrets check (DESIGN §4) ---------------------------------------------------------------------

GOOD_KEY = "agency-a-key-0123456789"
GOOD_WHSEC = "whsec_" + base64.b64encode(b"agency-a-signing-secret-32-bytes").decode()


def _check(tmp_path: Path, content: str) -> tuple[int, str]:
    path = tmp_path / "inbound.json"
    path.write_text(content, encoding="utf-8")
    out = io.StringIO()
    code = cli.main(["secrets", "check", str(path)], out=out, sqs=object())
    return code, out.getvalue()


def test_secrets_check_passes_a_good_secret_and_shows_what_each_client_reaches(tmp_path: Path) -> None:
    secret = {
        "clients": {
            "agencyA": {
                "apiKeys": [GOOD_KEY],
                "webhookSecrets": [GOOD_WHSEC],
                "vitecCustomers": ["M10001"],
                "operations": ["person-leads", "contacts"],
            },
            "portal": {"typeformSecrets": ["tf-secret"], "omnicasaCustomers": ["*"]},
        }
    }
    code, text = _check(tmp_path, json.dumps(secret))
    assert code == 0, text
    assert "client agencyA" in text and "M10001" in text and "contacts, person-leads" in text
    assert "apiKeys x1, webhookSecrets x1" in text
    assert "client portal" in text and "every operation" in text
    for value in (GOOD_KEY, GOOD_WHSEC, "tf-secret"):
        assert value not in text
    assert text.strip().endswith("2 usable client(s); OK")


def test_secrets_check_fails_the_deploy_guides_placeholders(tmp_path: Path) -> None:
    """docs/deploy.md's inbound example, as printed there: must fail loudly, naming each field."""
    guide = (Path(__file__).resolve().parents[2] / "docs" / "deploy.md").read_text(encoding="utf-8")
    start = guide.index("cat > /tmp/inbound.json <<'JSON'\n") + len("cat > /tmp/inbound.json <<'JSON'\n")
    example = guide[start : guide.index("\nJSON", start)]
    code, text = _check(tmp_path, example)
    assert code == 1
    assert "apiKeys[0]: is a placeholder" in text
    assert "typeformSecrets[0]: is a placeholder" in text
    assert "webhookSecrets[0]: is a placeholder" in text
    assert "REPLACE" not in text.replace("REPLACE_WITH", "")  # never the values themselves


@pytest.mark.parametrize(
    ("secret", "expected"),
    [
        ({"clients": {"a": {"apiKeys": ["short"]}}}, "client a: apiKeys[0]: is shorter than 16 characters"),
        (
            {"clients": {"a": {"apiKeys": [GOOD_KEY], "vitecCustomer": ["M1"]}}},
            "client a: vitecCustomer: unknown key",
        ),
        ({"apiKeys": [GOOD_KEY]}, "legacy flat format"),
        ({"clients": {"a": {"webhookSecrets": ["whsec_AAAA"]}}}, "decodes to under 24 bytes"),
    ],
)
def test_secrets_check_names_each_problem_by_client_and_field(
    tmp_path: Path, secret: dict[str, object], expected: str
) -> None:
    code, text = _check(tmp_path, json.dumps(secret))
    assert code == 1 and expected in text


def test_secrets_check_reports_duplicate_client_names_and_bad_json_without_content(tmp_path: Path) -> None:
    entry = json.dumps({"apiKeys": [GOOD_KEY]})
    twice = f'{{"clients": {{"a": {entry}, "a": {entry}}}}}'
    code, text = _check(tmp_path, twice)
    assert code == 1 and "appears twice" in text
    path = tmp_path / "bad.json"
    path.write_text('{"clients": {"a": {"apiKeys": ["secret-value-here"]}', encoding="utf-8")
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        assert cli.main(["secrets", "check", str(path)], out=io.StringIO()) == 1
    assert "not valid JSON" in err.getvalue() and "secret-value-here" not in err.getvalue()


# ---- poison messages: every command survives them and names them ---------------------------------


def poison(sqs: FakeSQS) -> dict[str, str]:
    """One of every kind of message that is not a usable envelope, by kind -> message id."""
    unknown = parked_envelope("d-unknown-op")
    unknown.operation = "vitec_teleport"
    return {
        "not JSON": sqs.put(PARKED, "<html>502 Bad Gateway</html>"),
        "nested too deeply": sqs.put(PARKED, "[" * 100_000 + "]" * 100_000),
        "deep object": sqs.put(PARKED, '{"a":' * 5000 + "1" + "}" * 5000),
        "huge": sqs.put(PARKED, json.dumps({"x": "y" * 250_000})),
        "a JSON list": sqs.put(PARKED, "[]"),
        "a JSON string": sqs.put(PARKED, '"just text"'),
        "null": sqs.put(PARKED, "null"),
        "wrong shape": sqs.put(PARKED, json.dumps({"deliveryId": 7, "operation": None})),
        "empty": sqs.put(PARKED, ""),
        "unknown operation": sqs.put(PARKED, unknown.to_message()),
    }


UNREADABLE = {"not JSON", "nested too deeply", "deep object", "huge", "a JSON list", "a JSON string"}


def test_list_survives_every_poison_message_and_names_each(sqs: FakeSQS) -> None:
    ids = poison(sqs)
    park(sqs, parked_envelope("d-good"))
    code, out = run(sqs, "parked", "list", "--wide")
    assert code == 0, out
    assert "d-good" in out and "d-unknown-op" in out  # an unknown operation is still an envelope
    assert "2 parked deliveries" in out
    report = next(line for line in out.splitlines() if "could not be read" in line)
    assert report.startswith("9 message(s) on the parked queue could not be read")
    for kind, mid in ids.items():
        if kind != "unknown operation":
            assert mid in report, kind
    assert "nested too deeply" in report and "not JSON" in report and "wrong shape" in report
    assert sqs.visible(PARKED) == 11, "nothing consumed"


@pytest.mark.parametrize(
    "argv",
    [
        ["parked", "list"],
        ["parked", "list", "--source", "queue"],
        ["parked", "replay", "--all"],
        ["parked", "show", "d-missing"],
        ["parked", "archive"],
        ["queue", "stats"],
    ],
)
def test_every_command_survives_poison(
    sqs: FakeSQS, argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    poison(sqs)
    code, _ = run(sqs, *argv)
    assert code in (0, 1)
    assert "Traceback" not in capsys.readouterr().err


def test_a_poison_message_is_shown_withheld_and_discarded_by_its_message_id(
    sqs: FakeSQS, capsys: pytest.CaptureFixture[str]
) -> None:
    ids = poison(sqs)
    for kind in ("nested too deeply", "huge", "not JSON"):
        code, out = run(sqs, "parked", "show", ids[kind])
        assert code == 0, kind
        assert "--reveal shows them" in json.loads(out)["unparsableBody"]
    code, out = run(sqs, "parked", "discard", ids["nested too deeply"], "--yes")
    assert code == 0 and f"discarded (message {ids['nested too deeply']})" in out
    assert len(sqs.queues[PARKED]) == 9
    assert "Traceback" not in capsys.readouterr().err


def test_replay_refuses_an_unknown_operation_and_keeps_it(
    sqs: FakeSQS, capsys: pytest.CaptureFixture[str]
) -> None:
    poison(sqs)
    code, out = run(sqs, "parked", "replay", "d-unknown-op")
    assert code == 1 and "not replayable 1" in out
    assert "unknown operation 'vitec_teleport'" in capsys.readouterr().err
    assert sqs.queues[FAILURES] == [] and len(sqs.queues[PARKED]) == 10


def test_an_envelope_with_a_deep_request_is_shown_without_crashing(sqs: FakeSQS) -> None:
    deep: Any = "leaf"
    for _ in range(400):
        deep = {"k": deep}
    data = json.loads(parked_envelope("d-deep").to_message())
    data["request"] = {"customerId": "M10001", "nested": deep}
    sqs.put(PARKED, json.dumps(data), {})
    code, out = run(sqs, "parked", "show", "d-deep")
    assert code == 0
    assert "--reveal shows them" in json.loads(out)["unparsableBody"]
    code, out = run(sqs, "parked", "list")
    assert code == 0 and "could not be read" in out and "nested too deeply; deliveryId d-deep" in out


# ---- the parked archive -----------------------------------------------------------------------------


def test_list_merges_the_queue_and_the_archive(sqs: FakeSQS) -> None:
    s3 = FakeS3()
    both = parked_envelope("d-both")
    park(sqs, both)
    archive(s3, both)
    archive(s3, parked_envelope("d-expired", minutes_ago=60 * 24 * 20))  # gone from SQS after 14 days
    park(sqs, parked_envelope("d-redriven"))
    s3.put_object(Bucket=BUCKET, Key="parked/d-bad/vitec_person_lead.json", Body=b"{not json")
    code, out = run(sqs, "parked", "list", s3=s3)
    assert code == 0
    rows = {line.split()[0]: line.split() for line in out.splitlines()[1:4]}
    assert rows["d-expired"][3:6] == ["20d00h", "vendor_rejected", "archive"]
    assert rows["d-both"][5] == "queue+archive" and rows["d-redriven"][5] == "queue"
    assert "3 parked deliveries" in out
    assert "1 of them only on the parked queue" in out
    assert "1 archive object(s) could not be read: parked/d-bad/vitec_person_lead.json (not JSON)" in out
    _, only_archive = run(sqs, "parked", "list", "--source", "archive", s3=s3)
    assert "d-expired" in only_archive and "d-redriven" not in only_archive


def test_replay_from_the_archive_after_the_queue_dropped_it(sqs: FakeSQS) -> None:
    s3 = FakeS3()
    key = archive(s3, parked_envelope("d-old"))
    code, out = run(sqs, "parked", "replay", "d-old", s3=s3)
    assert code == 0 and out.startswith("re-queued 1")
    [queued] = sqs.queues[FAILURES]
    assert FailureEnvelope.model_validate_json(queued.body).attempt == 1
    assert (BUCKET, key) in s3.deleted and s3.stored_keys() == []


def test_replay_of_a_pointer_message_reads_the_archive_and_clears_both(sqs: FakeSQS) -> None:
    s3 = FakeS3()
    env = parked_envelope("d-big")
    key = archive(s3, env)
    pointer = env.pointer(StoredObject(bucket=BUCKET, key=key))
    park(sqs, pointer)
    _, shown = run(sqs, "parked", "show", "d-big", s3=s3)
    assert json.loads(shown)["request"]["person"]["firstName"] == "*****"  # the full envelope, masked
    code, _ = run(sqs, "parked", "replay", "d-big", s3=s3)
    assert code == 0
    [queued] = sqs.queues[FAILURES]
    replayed = FailureEnvelope.model_validate_json(queued.body)
    assert replayed.request is not None and replayed.envelope_ref is None
    assert sqs.queues[PARKED] == [] and s3.stored_keys() == []


def test_a_replayed_envelope_too_large_for_sqs_is_queued_as_a_pointer(sqs: FakeSQS) -> None:
    s3 = FakeS3()
    env = parked_envelope("d-huge")
    assert env.request is not None
    env.request["message"] = "x" * 300_000
    archive(s3, env)
    code, _ = run(sqs, "parked", "replay", "d-huge", s3=s3)
    assert code == 0
    [queued] = sqs.queues[FAILURES]
    pointer = json.loads(queued.body)
    assert "request" not in pointer and pointer["envelopeRef"]["key"].startswith("queued/d-huge/")
    assert any(k.startswith("queued/d-huge/") for k in s3.stored_keys())


def test_an_oversized_body_is_not_replayable_and_says_where_it_is(
    sqs: FakeSQS, capsys: pytest.CaptureFixture[str]
) -> None:
    env = FailureEnvelope(
        delivery_id="d-413",
        operation="vitec_person_lead",
        body_ref=StoredObject(bucket=BUCKET, key="bodies/d-413/vitec_person_lead.bin", bytes=300_000),
        reason="too_large",
        parked_at=datetime.now(UTC),
    )
    park(sqs, env)
    code, out = run(sqs, "parked", "replay", "d-413")
    assert code == 1 and "not replayable 1" in out
    assert "s3://archive-test/bodies/d-413/vitec_person_lead.bin" in capsys.readouterr().err
    _, listed = run(sqs, "parked", "list", "--reason", "too_large")
    assert "d-413" in listed


def test_discard_removes_the_queue_message_and_the_archived_copy(sqs: FakeSQS) -> None:
    s3 = FakeS3()
    env = parked_envelope("d-gone")
    park(sqs, env)
    archive(s3, env)
    code, _ = run(sqs, "parked", "discard", "d-gone", "--yes", s3=s3)
    assert code == 0 and sqs.queues[PARKED] == [] and s3.stored_keys() == []


def test_archive_copies_what_is_only_on_the_queue(sqs: FakeSQS) -> None:
    s3 = FakeS3()
    park(sqs, parked_envelope("d-redriven"))
    both = parked_envelope("d-both")
    park(sqs, both)
    archive(s3, both)
    junk = sqs.put(PARKED, "garbage")
    code, out = run(sqs, "parked", "archive", s3=s3)
    assert code == 0 and "archived 2 parked deliveries" in out
    assert s3.stored_keys() == sorted(
        [
            "parked/d-both/vitec_person_lead.json",
            "parked/d-redriven/vitec_person_lead.json",
            f"parked/sqs-{junk}/unknown.json",
        ]
    )
    assert sqs.visible(PARKED) == 3, "the queue keeps its messages"


def test_queue_stats_counts_the_archive(sqs: FakeSQS) -> None:
    s3 = FakeS3()
    archive(s3, parked_envelope("d-1"))
    _, out = run(sqs, "queue", "stats", s3=s3)
    assert out.splitlines()[-1] == f"archive: 1 parked in s3://{BUCKET}"


class FakePacingTable:
    """`scan` over pacing items (leadhooks.pacing), two pages."""

    def __init__(self, items: list[dict[str, Any]]) -> None:
        self.items = items

    def scan(self, **kwargs: Any) -> dict[str, Any]:
        start = int(kwargs.get("ExclusiveStartKey", {}).get("n", 0))
        page = self.items[start : start + 1]
        more = start + 1 < len(self.items)
        return {"Items": page, **({"LastEvaluatedKey": {"n": start + 1}} if more else {})}


def test_queue_stats_shows_the_paced_backlog_per_customer(
    sqs: FakeSQS, monkeypatch: pytest.MonkeyPatch
) -> None:
    """docs/pacing.md: per customer booked ahead, about how many wait; idle customers are not listed."""
    now = time.time()
    table = FakePacingTable(
        [
            {"id": {"S": "vitec#M1"}, "tat": {"N": str(now + 100.08)}},  # 100 s ahead at the default 5/s
            {"id": {"S": "vitec#M2"}, "tat": {"N": str(now - 5)}},  # idle
        ]
    )
    monkeypatch.setenv("PACING_TABLE", "leadhooks-pacing")
    monkeypatch.delenv("VITEC_SECRET_ID", raising=False)  # no secret to read: the default limit
    out = io.StringIO()
    urls = ["--failure-queue-url", FAILURES, "--parked-queue-url", PARKED, "--archive-bucket", BUCKET]
    code = cli.main([*urls, "queue", "stats"], sqs=sqs, s3=FakeS3(), dynamodb=table, out=out)
    lines = out.getvalue().splitlines()
    assert code == 0
    header = lines.index(next(line for line in lines if line.startswith("VENDOR")))
    assert lines[header].split() == ["VENDOR", "CUSTOMER", "~WAITING", "BOOKED", "AHEAD", "RATE"]
    assert lines[header + 1].split()[:3] == ["vitec", "M1", "500"]
    assert "M2" not in out.getvalue()


# ---- which deployment --------------------------------------------------------------------------------


class FakeCloudFormation:
    def __init__(self) -> None:
        self.asked: list[str] = []

    def describe_stacks(self, *, StackName: str) -> dict[str, Any]:
        self.asked.append(StackName)
        if StackName != "leadhooks-dev":
            raise RuntimeError(f"Stack with id {StackName} does not exist")
        outputs = {"FailureQueueUrl": FAILURES, "ParkedQueueUrl": PARKED, "ArchiveBucketName": BUCKET}
        return {"Stacks": [{"Outputs": [{"OutputKey": k, "OutputValue": v} for k, v in outputs.items()]}]}


def test_stack_outputs_name_the_queues_and_the_archive(sqs: FakeSQS, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("FAILURE_QUEUE_URL", "PARKED_QUEUE_URL", "ARCHIVE_BUCKET"):
        monkeypatch.delenv(name, raising=False)
    s3 = FakeS3()
    archive(s3, parked_envelope("d-stack"))
    cfn = FakeCloudFormation()
    out = io.StringIO()
    assert (
        cli.main(["parked", "list", "--stack", "leadhooks-dev"], sqs=sqs, s3=s3, cloudformation=cfn, out=out)
        == 0
    )
    assert "d-stack" in out.getvalue() and cfn.asked == ["leadhooks-dev"]


def test_config_env_reads_the_stack_and_region_from_samconfig(tmp_path: Any) -> None:
    assert target.samconfig_env(target.Path("samconfig.toml"), "prod") == ("leadhooks-prod", "eu-north-1")
    cfn = FakeCloudFormation()
    where = target.resolve(
        failure_url=None,
        parked_url="http://explicit/parked",
        archive_bucket=None,
        region=None,
        stack=None,
        config_env="dev",
        samconfig=target.Path("samconfig.toml"),
        environ={"ARCHIVE_BUCKET": "from-env"},
        cloudformation=lambda region: cfn,
    )
    assert where.parked_url == "http://explicit/parked", "an explicit option wins"
    assert (where.failure_url, where.archive_bucket) == (FAILURES, BUCKET), "the stack beats the environment"
    assert (where.stack, where.region) == ("leadhooks-dev", "eu-north-1")
    with pytest.raises(target.TargetError, match="no environment 'staging'"):
        target.samconfig_env(target.Path("samconfig.toml"), "staging")


def test_an_unknown_stack_is_a_usage_error(sqs: FakeSQS, capsys: pytest.CaptureFixture[str]) -> None:
    code = cli.main(
        ["parked", "list", "--stack", "nope"], sqs=sqs, s3=FakeS3(), cloudformation=FakeCloudFormation()
    )
    assert code == 2 and "cannot read stack 'nope'" in capsys.readouterr().err


def test_the_tool_is_not_in_the_lambda_layer() -> None:
    """Nothing in the layer package imports the operator tool, and the layer build drops the alias."""
    root = target.Path(__file__).resolve().parents[2]
    for path in (root / "shared" / "leadhooks").rglob("*.py"):
        if "ops" in path.relative_to(root / "shared" / "leadhooks").parts[:1]:
            continue
        text = path.read_text(encoding="utf-8")
        assert "leadhooks_ops" not in text and "leadhooks.ops" not in text, path
    makefile = (root / "layers" / "leadhooks" / "Makefile").read_text(encoding="utf-8")
    assert 'cp -R "$(PACKAGE)" "$(SITE)/leadhooks"' in makefile
    assert 'rm -rf "$(SITE)/leadhooks/ops"' in makefile
    pyproject = (root / "pyproject.toml").read_text(encoding="utf-8")
    assert 'leadhooks-ops = "leadhooks_ops.cli:run"' in pyproject
