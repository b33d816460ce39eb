"""`python -m leadhooks.ops`: list, inspect, replay and discard parked deliveries; queue statistics.

Works against AWS and against the local emulator alike (boto3 honours AWS_ENDPOINT_URL). Queue URLs
come from FAILURE_QUEUE_URL / PARKED_QUEUE_URL or --failure-queue-url / --parked-queue-url.

SQS has no "get message by id": finding or listing parked deliveries means receiving them. Every
message received is hidden from other readers for --visibility-timeout seconds and then handed back
(its visibility is set to 0 again), so a listing does not consume anything; each receive still adds
one to the message's receive count and costs one SQS request per 10 messages, plus one request per 10
to hand them back (docs/operations.md).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TextIO, get_args

from pydantic import ValidationError

from leadhooks.failures import FailureEnvelope, ParkReason, _attributes, parse_envelope
from leadhooks.masking import MASK, mask, mask_text

PROG = "python -m leadhooks.ops"
DEFAULT_VISIBILITY_S = 30
DEFAULT_LIMIT = 1000
_SQS_REGION = re.compile(r"^https://sqs[.-]([a-z0-9-]+)\.amazonaws\.com", re.IGNORECASE)


class CliError(Exception):
    """An error for the operator: printed without a traceback, exit status `code`."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


def _stderr(text: str) -> None:
    sys.stderr.write(f"{text}\n")
    sys.stderr.flush()


# ---- parked messages ---------------------------------------------------------------------------


@dataclass
class ParkedMessage:
    """One message of the parked queue as received (ids from its attributes, the envelope if it parses)."""

    message_id: str
    receipt_handle: str
    body: str
    attributes: dict[str, str]
    sent_at: datetime | None
    envelope: FailureEnvelope | None

    @classmethod
    def from_sqs(cls, message: dict[str, Any]) -> ParkedMessage:
        try:
            envelope: FailureEnvelope | None = parse_envelope(str(message.get("Body", "")))
        except (ValueError, ValidationError):
            envelope = None
        attributes = {
            str(name): str(value.get("StringValue", ""))
            for name, value in (message.get("MessageAttributes") or {}).items()
        }
        sent = (message.get("Attributes") or {}).get("SentTimestamp")
        sent_at = datetime.fromtimestamp(int(sent) / 1000, UTC) if sent and str(sent).isdigit() else None
        return cls(
            message_id=str(message["MessageId"]),
            receipt_handle=str(message["ReceiptHandle"]),
            body=str(message.get("Body", "")),
            attributes=attributes,
            sent_at=sent_at,
            envelope=envelope,
        )

    @property
    def delivery_id(self) -> str:
        if self.envelope is not None:
            return self.envelope.delivery_id
        return self.attributes.get("deliveryId") or f"(message {self.message_id})"

    @property
    def operation(self) -> str:
        return self.envelope.operation if self.envelope else self.attributes.get("operation", "?")

    @property
    def reason(self) -> str:
        if self.envelope is not None and self.envelope.reason:
            return self.envelope.reason
        # A message SQS moved here by its redrive policy carries no reason of ours.
        return self.attributes.get("reason", "redriven")

    @property
    def customer(self) -> str:
        return (self.envelope.customer_id if self.envelope else None) or "-"

    @property
    def parked_at(self) -> datetime | None:
        if self.envelope is not None and self.envelope.parked_at is not None:
            return self.envelope.parked_at
        return self.sent_at


class Queues:
    """The SQS client and the two queue URLs, checked when first needed."""

    def __init__(self, sqs: Any, failure_url: str | None, parked_url: str | None) -> None:
        self.sqs = sqs
        self._failure_url = failure_url
        self._parked_url = parked_url

    @property
    def failure_url(self) -> str:
        if not self._failure_url:
            raise CliError("set FAILURE_QUEUE_URL or pass --failure-queue-url", code=2)
        return self._failure_url

    @property
    def parked_url(self) -> str:
        if not self._parked_url:
            raise CliError("set PARKED_QUEUE_URL or pass --parked-queue-url", code=2)
        return self._parked_url

    def configured(self) -> list[tuple[str, str]]:
        pairs = (("failure", self._failure_url), ("parked", self._parked_url))
        return [(name, url) for name, url in pairs if url]


def scan(
    queues: Queues,
    *,
    visibility_s: int,
    limit: int | None = None,
    until: Callable[[ParkedMessage], bool] | None = None,
) -> list[ParkedMessage]:
    """Receive parked messages (each hidden for `visibility_s`) until the queue yields nothing new,
    `limit` messages were seen, or `until` matches one. The caller must `release` what it keeps."""
    seen: dict[str, ParkedMessage] = {}
    while limit is None or len(seen) < limit:
        want = 10 if limit is None else max(1, min(10, limit - len(seen)))
        answer = queues.sqs.receive_message(
            QueueUrl=queues.parked_url,
            MaxNumberOfMessages=want,
            VisibilityTimeout=visibility_s,
            WaitTimeSeconds=1,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        messages = answer.get("Messages", [])
        if not messages:
            break
        new = 0
        found = False
        for raw in messages:  # every message of the batch is kept: all of them are hidden now
            message = ParkedMessage.from_sqs(raw)
            if message.message_id in seen:
                # Seen before (its visibility ran out during a long scan): keep the newest receipt handle.
                seen[message.message_id].receipt_handle = message.receipt_handle
                continue
            new += 1
            seen[message.message_id] = message
            found = found or (until is not None and until(message))
        if found or not new:
            break
    return list(seen.values())


def release(queues: Queues, messages: Sequence[ParkedMessage]) -> None:
    """Make received messages visible again at once (what a scan did not act on)."""
    for start in range(0, len(messages), 10):
        chunk = messages[start : start + 10]
        try:
            queues.sqs.change_message_visibility_batch(
                QueueUrl=queues.parked_url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": m.receipt_handle, "VisibilityTimeout": 0}
                    for i, m in enumerate(chunk)
                ],
            )
        except Exception as exc:  # they reappear on their own when the visibility timeout ends
            _stderr(f"warning: could not hand back {len(chunk)} message(s): {type(exc).__name__}")


def find(queues: Queues, delivery_id: str, visibility_s: int) -> ParkedMessage:
    """The first parked message of `delivery_id` (received, hidden); every other one is handed back."""
    messages = scan(queues, visibility_s=visibility_s, until=lambda m: m.delivery_id == delivery_id)
    match = next((m for m in messages if m.delivery_id == delivery_id), None)
    release(queues, [m for m in messages if m is not match])
    if match is None:
        raise CliError(f"no parked delivery {delivery_id} (scanned {len(messages)} message(s))")
    return match


# ---- rendering ---------------------------------------------------------------------------------


def format_age(since: datetime | None, now: datetime | None = None) -> str:
    if since is None:
        return "?"
    seconds = max(0, int(((now or datetime.now(UTC)) - since).total_seconds()))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    if days:
        return f"{days}d{hours:02d}h"
    if hours:
        return f"{hours}h{minutes:02d}m"
    if minutes:
        return f"{minutes}m{seconds:02d}s"
    return f"{seconds}s"


def render_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A plain left-aligned text table; an empty row list still prints the header."""
    widths = [len(h) for h in headers]
    for row in rows:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], len(cell))
    lines = ["  ".join(h.upper().ljust(widths[i]) for i, h in enumerate(headers)).rstrip()]
    lines += ["  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() for row in rows]
    return "\n".join(lines)


def _last_error(message: ParkedMessage) -> str:
    error = message.envelope.last_error if message.envelope else None
    if error is None:
        return "-"
    status = f" {error.status}" if error.status is not None else ""
    return mask_text(f"{error.kind}{status}: {error.message}")[:80]


def parked_rows(
    messages: Sequence[ParkedMessage], *, wide: bool, now: datetime | None = None
) -> list[list[str]]:
    """Ids, operation, customer (a vendor office id) and reason are not personal data; the error text
    is masked. Oldest first."""
    ordered = sorted(messages, key=lambda m: m.parked_at or datetime.max.replace(tzinfo=UTC))
    rows = []
    for m in ordered:
        row = [m.delivery_id, m.operation, m.customer, format_age(m.parked_at, now), m.reason]
        if wide:
            row += [str(m.envelope.attempt) if m.envelope else "-", _last_error(m)]
        rows.append(row)
    return rows


# Request fields that hold a body as received, as one string (delivery: `raw`, an input that could not be
# adapted; replay: `rawBody`, a queue message that is not an envelope). Their structure is unknown (a
# Typeform answer keeps a surname under `text`), so no key says what is personal: all of it is withheld.
_RAW_TEXT_FIELDS = ("raw", "rawBody")


def _withheld(text: str) -> str:
    return f"{MASK} ({len(text)} characters as received; --reveal shows them)"


def masked_envelope(message: ParkedMessage) -> Any:
    """The envelope with personal data masked; ids and the (already masked) error message stay readable."""
    if message.envelope is None:
        return {"unparsableBody": _withheld(message.body)}
    data = message.envelope.model_dump(mode="json", by_alias=True, exclude_none=True)
    shown = mask(data)
    request = data.get("request")
    if isinstance(request, dict):
        for key in _RAW_TEXT_FIELDS:
            if isinstance(request.get(key), str):
                shown["request"][key] = _withheld(request[key])
    # Ids, counts and timestamps are not personal data (and free-text masking would mangle them).
    for key in ("deliveryId", "operation", "customerId", "attempt", "firstSeenAt", "reason", "parkedAt"):
        if key in data:
            shown[key] = data[key]
    if "lastError" in data:
        error = data["lastError"]
        shown["lastError"] = {**mask(error), "message": mask_text(str(error["message"]))}
    return shown


def revealed_envelope(message: ParkedMessage) -> Any:
    if message.envelope is None:
        return {"unparsableBody": message.body}
    return message.envelope.model_dump(mode="json", by_alias=True, exclude_none=True)


class Progress:
    """`[#####-----] 5/10` on stderr, redrawn in place."""

    def __init__(self, total: int, stream: TextIO, width: int = 30) -> None:
        self.total = total
        self.stream = stream
        self.width = width
        self.done = 0

    def step(self) -> None:
        self.done += 1
        filled = self.width * self.done // self.total if self.total else self.width
        bar = "#" * filled + "-" * (self.width - filled)
        end = "\n" if self.done >= self.total else ""
        self.stream.write(f"\r[{bar}] {self.done}/{self.total}{end}")
        self.stream.flush()


# ---- commands ----------------------------------------------------------------------------------


def _matches(args: argparse.Namespace, message: ParkedMessage) -> bool:
    reason = getattr(args, "reason", None)
    operation = getattr(args, "operation", None)
    return (not reason or message.reason == reason) and (not operation or message.operation == operation)


def cmd_parked_list(args: argparse.Namespace, queues: Queues, out: TextIO) -> int:
    messages = scan(queues, visibility_s=args.visibility_timeout, limit=args.limit)
    release(queues, messages)
    shown = [m for m in messages if _matches(args, m)]
    headers = ["deliveryId", "operation", "customer", "age", "reason"]
    if args.wide:
        headers += ["attempt", "last error"]
    print(render_table(headers, parked_rows(shown, wide=args.wide)), file=out)
    more = " (limit reached; more may be parked)" if args.limit and len(messages) >= args.limit else ""
    print(f"{len(shown)} parked deliver{'y' if len(shown) == 1 else 'ies'}{more}", file=out)
    return 0


def cmd_parked_show(args: argparse.Namespace, queues: Queues, out: TextIO) -> int:
    message = find(queues, args.delivery_id, args.visibility_timeout)
    release(queues, [message])
    shown = revealed_envelope(message) if args.reveal else masked_envelope(message)
    print(json.dumps(shown, indent=2, ensure_ascii=False), file=out)
    return 0


def _requeue(queues: Queues, message: ParkedMessage) -> None:
    """Back on the failure queue as a fresh first attempt, then off the parked queue."""
    if message.envelope is None:
        raise CliError("the parked message is not a failure envelope; it cannot be replayed")
    envelope = message.envelope.model_copy(deep=True)
    envelope.attempt = 1
    envelope.reason = None
    envelope.parked_at = None
    queues.sqs.send_message(
        QueueUrl=queues.failure_url,
        MessageBody=envelope.to_message(),
        MessageAttributes=_attributes(envelope),
    )
    queues.sqs.delete_message(QueueUrl=queues.parked_url, ReceiptHandle=message.receipt_handle)


def cmd_parked_replay(args: argparse.Namespace, queues: Queues, out: TextIO) -> int:
    _ = queues.failure_url  # fail before touching the parked queue
    if args.all:
        received = scan(queues, visibility_s=args.visibility_timeout, limit=args.limit)
        chosen = [m for m in received if _matches(args, m)]
        release(queues, [m for m in received if not _matches(args, m)])
    else:
        chosen = [find(queues, args.delivery_id, args.visibility_timeout)]
    progress = Progress(len(chosen), sys.stderr) if chosen else None
    replayed, failed = 0, []
    for message in chosen:
        try:
            _requeue(queues, message)
            replayed += 1
        except Exception as exc:
            failed.append(message)
            detail = exc.message if isinstance(exc, CliError) else type(exc).__name__
            _stderr(f"\nfailed to replay {message.delivery_id}: {detail}")
        if progress:
            progress.step()
    release(queues, failed)
    print(f"replayed {replayed}, failed {len(failed)}", file=out)
    return 1 if failed else 0


def _confirm(prompt: str) -> bool:
    try:
        answer = input(prompt)
    except EOFError:
        return False
    return answer.strip().lower() in ("y", "yes")


def cmd_parked_discard(args: argparse.Namespace, queues: Queues, out: TextIO) -> int:
    message = find(queues, args.delivery_id, args.visibility_timeout)
    prompt = (
        f"Discard parked delivery {message.delivery_id} ({message.operation}, {message.reason})? "
        "It cannot be recovered. [y/N] "
    )
    if not args.yes and not _confirm(prompt):
        release(queues, [message])
        print(f"kept {message.delivery_id}", file=out)
        return 1
    queues.sqs.delete_message(QueueUrl=queues.parked_url, ReceiptHandle=message.receipt_handle)
    print(f"discarded {message.delivery_id}", file=out)
    return 0


def cmd_queue_stats(args: argparse.Namespace, queues: Queues, out: TextIO) -> int:
    configured = queues.configured()
    if not configured:
        raise CliError("set FAILURE_QUEUE_URL / PARKED_QUEUE_URL or pass the --…-queue-url options", code=2)
    rows = []
    for name, url in configured:
        attrs = queues.sqs.get_queue_attributes(
            QueueUrl=url,
            AttributeNames=[
                "ApproximateNumberOfMessages",
                "ApproximateNumberOfMessagesNotVisible",
                "ApproximateNumberOfMessagesDelayed",
            ],
        )["Attributes"]
        rows.append(
            [
                name,
                attrs.get("ApproximateNumberOfMessages", "0"),
                attrs.get("ApproximateNumberOfMessagesNotVisible", "0"),
                attrs.get("ApproximateNumberOfMessagesDelayed", "0"),
                url,
            ]
        )
    print(render_table(["queue", "visible", "in-flight", "delayed", "url"], rows), file=out)
    from leadhooks import pacing  # the paced backlog per customer (docs/pacing.md)

    paced = [
        [r["vendor"], r["customer"], f"{r['waiting']:.0f}", f"{r['bookedAheadS']:.0f} s", f"{r['rps']:.2g}/s"]
        for r in pacing.backlog()
    ]
    if paced:
        print(render_table(["vendor", "customer", "~waiting", "booked ahead", "rate"], paced), file=out)
    return 0


# ---- argument parsing --------------------------------------------------------------------------


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value


def _visibility(text: str) -> int:
    value = int(text)
    if not 1 <= value <= 43200:
        raise argparse.ArgumentTypeError("must be between 1 and 43200 seconds")
    return value


def _connection_options(parser: argparse.ArgumentParser, *, suppress: bool) -> None:
    """The same options on the top level and on every command (`… --parked-queue-url X parked list`
    and `… parked list --parked-queue-url X` both work)."""
    default: Any = argparse.SUPPRESS if suppress else None
    group = parser.add_argument_group("queues and AWS")
    group.add_argument(
        "--failure-queue-url",
        default=default,
        metavar="URL",
        help="failure queue URL (default: $FAILURE_QUEUE_URL)",
    )
    group.add_argument(
        "--parked-queue-url",
        default=default,
        metavar="URL",
        help="parked dead-letter queue URL (default: $PARKED_QUEUE_URL)",
    )
    group.add_argument(
        "--region", default=default, help="AWS region (default: from the queue URL or the AWS configuration)"
    )
    group.add_argument(
        "--visibility-timeout",
        type=_visibility,
        metavar="S",
        default=argparse.SUPPRESS if suppress else DEFAULT_VISIBILITY_S,
        help=f"seconds a scanned message stays hidden from others while this command runs "
        f"(default {DEFAULT_VISIBILITY_S})",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Operate leadhooks' failure path: parked deliveries and the two queues.",
        epilog="AWS_ENDPOINT_URL points boto3 at the local emulator (see docs/operations.md).",
    )
    _connection_options(parser, suppress=False)
    groups = parser.add_subparsers(dest="group", metavar="{parked,queue}", required=True)

    parked = groups.add_parser(
        "parked",
        help="parked deliveries (the dead-letter queue)",
        description="List, inspect, replay and discard parked deliveries.",
    )
    parked_cmds = parked.add_subparsers(dest="command", metavar="{list,show,replay,discard}", required=True)

    def leaf(sub: Any, name: str, help_text: str, func: Callable[..., int]) -> argparse.ArgumentParser:
        p: argparse.ArgumentParser = sub.add_parser(name, help=help_text, description=help_text)
        _connection_options(p, suppress=True)
        p.set_defaults(func=func)
        return p

    reasons = [*get_args(ParkReason), "redriven"]
    p = leaf(
        parked_cmds, "list", "list parked deliveries (oldest first) without consuming them", cmd_parked_list
    )
    p.add_argument(
        "--limit", type=_positive, default=DEFAULT_LIMIT, help=f"scan at most N (default {DEFAULT_LIMIT})"
    )
    p.add_argument(
        "--reason", choices=reasons, metavar="REASON", help=f"only this park reason ({', '.join(reasons)})"
    )
    p.add_argument("--operation", help="only this operation (e.g. vitec_person_lead)")
    p.add_argument("--wide", action="store_true", help="add the attempt count and the (masked) last error")

    p = leaf(
        parked_cmds,
        "show",
        "print one parked delivery's envelope as JSON (personal data masked)",
        cmd_parked_show,
    )
    p.add_argument("delivery_id", metavar="ID", help="the deliveryId")
    p.add_argument("--reveal", action="store_true", help="print personal data unmasked")

    p = leaf(
        parked_cmds,
        "replay",
        "move parked deliveries back to the failure queue (attempt 1)",
        cmd_parked_replay,
    )
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("delivery_id", metavar="ID", nargs="?", help="the deliveryId")
    which.add_argument(
        "--all", action="store_true", help="every parked delivery (filtered by --reason/--operation)"
    )
    p.add_argument(
        "--reason",
        choices=reasons,
        metavar="REASON",
        help=f"with --all: only this park reason ({', '.join(reasons)})",
    )
    p.add_argument("--operation", help="with --all: only this operation")
    p.add_argument(
        "--limit",
        type=_positive,
        default=DEFAULT_LIMIT,
        help=f"with --all: at most N (default {DEFAULT_LIMIT})",
    )

    p = leaf(parked_cmds, "discard", "delete one parked delivery for good (asks first)", cmd_parked_discard)
    p.add_argument("delivery_id", metavar="ID", help="the deliveryId")
    p.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")

    queue = groups.add_parser("queue", help="queue statistics", description="Queue statistics.")
    queue_cmds = queue.add_subparsers(dest="command", metavar="{stats}", required=True)
    leaf(
        queue_cmds,
        "stats",
        "approximate visible / in-flight / delayed messages on both queues",
        cmd_queue_stats,
    )
    return parser


def _sqs_client(region: str | None, *urls: str | None) -> Any:
    import boto3  # the Lambda runtime and the dev environment provide it; imported only when needed

    if not region:
        for url in urls:
            match = _SQS_REGION.match(url or "")
            if match:
                region = match.group(1)
                break
    return boto3.client("sqs", region_name=region) if region else boto3.client("sqs")


def _env_or(value: str | None, name: str) -> str | None:
    return value or os.environ.get(name) or None


def main(argv: Sequence[str] | None = None, *, sqs: Any = None, out: TextIO | None = None) -> int:
    """Run one command; returns the exit status (0 ok, 1 failed or declined, 2 usage)."""
    args = build_parser().parse_args(argv)
    out = out or sys.stdout
    failure_url = _env_or(args.failure_queue_url, "FAILURE_QUEUE_URL")
    parked_url = _env_or(args.parked_queue_url, "PARKED_QUEUE_URL")
    try:
        client = sqs if sqs is not None else _sqs_client(args.region, failure_url, parked_url)
        func: Callable[[argparse.Namespace, Queues, TextIO], int] = args.func
        return func(args, Queues(client, failure_url, parked_url), out)
    except CliError as exc:
        _stderr(f"error: {exc.message}")
        return exc.code
    except BrokenPipeError:  # `… | head`: the reader went away; say nothing more
        if out is sys.stdout:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except Exception as exc:  # botocore errors, no credentials, unreachable endpoint
        _stderr(f"error: {type(exc).__name__}: {mask_text(str(exc))[:300]}")
        return 1


def iter_commands(parser: argparse.ArgumentParser | None = None) -> Iterator[list[str]]:
    """Every command path (`["parked", "list"]`, …), for tests and docs."""
    parser = parser or build_parser()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                children = list(iter_commands(sub))
                yield from ([[name, *c] for c in children] if children else [[name]])
