"""The operator CLI against an in-memory SQS stand-in: argparse, table rendering, masking, queue moves."""

# ruff: noqa: N803 - the stand-in takes boto3's parameter names

from __future__ import annotations

import io
import itertools
import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from leadhooks.failures import FailureEnvelope, LastError
from leadhooks.ops import cli

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

FAILURES = "http://sqs.test/000000000000/failures"
PARKED = "http://sqs.test/000000000000/parked"


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


def run(sqs: FakeSQS, *argv: str, store: FakeStore | None = None) -> tuple[int, str]:
    out = io.StringIO()
    code = cli.main(
        ["--failure-queue-url", FAILURES, "--parked-queue-url", PARKED, *argv],
        sqs=sqs,
        store=store or FakeStore(),
        out=out,
    )
    return code, out.getvalue()


@pytest.fixture
def sqs() -> FakeSQS:
    return FakeSQS()


# ---- argparse -----------------------------------------------------------------------------------


def test_every_command_has_help(capsys: pytest.CaptureFixture[str]) -> None:
    commands = list(cli.iter_commands())
    assert sorted(commands) == [
        ["parked", "discard"],
        ["parked", "list"],
        ["parked", "replay"],
        ["parked", "show"],
        ["queue", "stats"],
    ]
    for path in [[], ["parked"], ["queue"], *commands]:
        with pytest.raises(SystemExit) as exit_info:
            cli.build_parser().parse_args([*path, "--help"])
        assert exit_info.value.code == 0
        assert "usage: python -m leadhooks.ops" in capsys.readouterr().out


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
    assert cli.main(["parked", "list"], sqs=sqs, out=io.StringIO()) == 2
    assert "PARKED_QUEUE_URL" in capsys.readouterr().err


def test_queue_urls_come_from_the_environment(sqs: FakeSQS, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PARKED_QUEUE_URL", PARKED)
    park(sqs, parked_envelope("d-env"))
    out = io.StringIO()
    assert cli.main(["parked", "list"], sqs=sqs, out=out) == 0
    assert "d-env" in out.getvalue()


def test_region_is_taken_from_an_aws_queue_url() -> None:
    url = "https://sqs.eu-north-1.amazonaws.com/123456789012/leadhooks-parked"
    assert cli._region(None, None, url) == "eu-north-1"
    assert cli._region("eu-west-1", url) == "eu-west-1"
    assert cli._region(None, "http://127.0.0.1:5000/123456789012/q") is None


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
        "ATTEMPT",
        "LAST",
        "ERROR",
    ]
    assert lines[1].split()[:5] == ["d-old", "vitec_person_lead", "M10001", "1h30m", "attempts_exhausted"]
    assert lines[2].split()[:5] == ["d-new", "vitec_person_lead", "M10001", "1m00s", "vendor_rejected"]
    assert "PermanentVendorError 400" in lines[1]
    assert lines[-1] == "2 parked deliveries"
    for secret in ("Anna", "Svensson", "anna@example.com", "19800101-1234", "070-123"):
        assert secret not in out


def test_list_does_not_consume_and_hands_messages_back(sqs: FakeSQS) -> None:
    for i in range(23):
        park(sqs, parked_envelope(f"d-{i:02d}"))
    code, out = run(sqs, "parked", "list")
    assert code == 0
    assert out.splitlines()[-1] == "23 parked deliveries"
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
    sqs.put(PARKED, "garbage", {"deliveryId": {"DataType": "String", "StringValue": "d-junk"}})
    _, out = run(sqs, "parked", "list")
    assert "d-junk" in out and "redriven" in out


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
    assert out.strip() == "replayed 1, failed 0"
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
    assert (code, out.strip()) == (0, "replayed 1, failed 0")
    assert store.requeued == ["default#vitec_person_lead#d-1"]
    assert len(sqs.queues[FAILURES]) == 1


def test_replay_of_a_delivery_the_record_says_is_delivered_is_refused(sqs: FakeSQS) -> None:
    park(sqs, parked_envelope("d-1"))
    store = FakeStore()
    store.status["d-1"] = "delivered"
    code, out = run(sqs, "parked", "replay", "d-1", store=store)
    assert (code, out.strip()) == (1, "replayed 0, failed 1")
    assert sqs.queues[FAILURES] == []
    assert sqs.visible(PARKED) == 1


def test_replay_all_with_a_reason_filter(sqs: FakeSQS) -> None:
    for i in range(12):
        park(sqs, parked_envelope(f"d-x{i}", reason="attempts_exhausted"))
    park(sqs, parked_envelope("d-keep", reason="vendor_rejected"))
    code, out = run(sqs, "parked", "replay", "--all", "--reason", "attempts_exhausted")
    assert code == 0 and out.strip() == "replayed 12, failed 0"
    assert len(sqs.queues[FAILURES]) == 12
    assert [json.loads(m.body)["deliveryId"] for m in sqs.queues[PARKED]] == ["d-keep"]
    assert sqs.visible(PARKED) == 1


def test_replay_all_counts_failures(sqs: FakeSQS) -> None:
    park(sqs, parked_envelope("d-ok"))
    sqs.put(PARKED, "garbage")
    code, out = run(sqs, "parked", "replay", "--all")
    assert code == 1
    assert out.strip() == "replayed 1, failed 1"
    assert [m.body for m in sqs.queues[PARKED]] == ["garbage"]
    assert sqs.visible(PARKED) == 1


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
