"""`leadhooks-ops` (also `python -m leadhooks.ops`): list, inspect, replay and discard parked
deliveries, from the parked queue and from the parked archive (S3); queue statistics.

Works against AWS and against the local emulator alike (boto3 honours AWS_ENDPOINT_URL). Which
deployment: `--stack NAME` (its CloudFormation outputs), `--config-env dev|prod` (samconfig.toml), the
URL options, or FAILURE_QUEUE_URL / PARKED_QUEUE_URL / ARCHIVE_BUCKET (leadhooks_ops/target.py).

Every command survives any message on the parked queue and any object in the archive: what it cannot
read is reported (count and message ids / keys), never a crash.

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
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO, get_args

from leadhooks import archive as layout
from leadhooks.failures import DEFAULT_CLIENT, FailureEnvelope, ParkReason
from leadhooks.masking import MASK, mask, mask_text
from leadhooks.queues import attributes as message_attributes
from leadhooks.queues import fits_in_a_message

from leadhooks_ops import target as targets
from leadhooks_ops.archive import Archive, ArchivedEnvelope, decode
from leadhooks_ops.journal_commands import add_journal_commands
from leadhooks_ops.mapping_commands import add_mapping_commands, add_typeform_commands
from leadhooks_ops.parked import Lazy, Parked, Unreadable, merge, replayable, top_level_ids

if TYPE_CHECKING:
    from leadhooks.deliveries import DeliveryKey
    from leadhooks.inbound.clients import Client

PROG = "leadhooks-ops"
DEFAULT_VISIBILITY_S = 30
DEFAULT_LIMIT = 1000
SOURCES = ("all", "queue", "archive")


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
    """One message of the parked queue as received (ids from its attributes, the envelope if it parses;
    `problem` says why it does not)."""

    message_id: str
    receipt_handle: str
    body: str
    attributes: dict[str, str]
    sent_at: datetime | None
    envelope: FailureEnvelope | None
    problem: str | None = None

    @classmethod
    def from_sqs(cls, message: dict[str, Any]) -> ParkedMessage:
        """Never raises: a poison message (not JSON, nested too deeply, huge, wrong shape) is kept with
        its `problem`, for the operator to see and discard."""
        body = str(message.get("Body", ""))
        envelope, problem = decode(body)
        attributes: dict[str, str] = {}
        raw_attributes = message.get("MessageAttributes")
        if isinstance(raw_attributes, dict):
            for name, value in raw_attributes.items():
                if isinstance(value, dict) and isinstance(value.get("StringValue"), str):
                    attributes[str(name)] = value["StringValue"][:200]
        if envelope is None:
            for name, value in top_level_ids(body).items():
                attributes.setdefault(name, value)
        sent = (message.get("Attributes") or {}).get("SentTimestamp")
        sent_at = datetime.fromtimestamp(int(sent) / 1000, UTC) if sent and str(sent).isdigit() else None
        return cls(
            message_id=str(message.get("MessageId", "?")),
            receipt_handle=str(message.get("ReceiptHandle", "")),
            body=body,
            attributes=attributes,
            sent_at=sent_at,
            envelope=envelope,
            problem=problem,
        )

    @property
    def readable(self) -> bool:
        return self.envelope is not None

    @property
    def is_pointer(self) -> bool:
        """The envelope is in the archive; the message holds its ids and where it is."""
        return self.envelope is not None and self.envelope.envelope_ref is not None

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
    """The SQS client, the two queue URLs (checked when first needed), the parked archive and the
    delivery records.

    Clients are built on first use, so a command that needs neither (e.g. a file check) runs without
    AWS configuration."""

    def __init__(
        self,
        sqs: Any,
        failure_url: str | None,
        parked_url: str | None,
        archive: Archive | None = None,
        store: Any = None,
        region: str | None = None,
        pacing: tuple[str | None, Any] = (None, None),
        journal: tuple[str | None, str | None] = (None, None),
    ) -> None:
        self._sqs = sqs
        # The pacing table (docs/pacing.md) and a DynamoDB client for it, or a factory of one.
        self.pacing_table, self._pacing_client = pacing
        self._failure_url = failure_url
        self._parked_url = parked_url
        self.archive = archive or Archive(None, None)
        self._store = store
        self._region = region
        # The delivery records' table and the journal secret (stack outputs, else the environment).
        self.records_table, self.journal_secret = journal

    @property
    def store(self) -> Any:
        """The delivery records (IDEMPOTENCY_TABLE): a replay goes through them, never around them."""
        if self._store is None:
            from leadhooks.deliveries import DeliveryStore

            table = self.records_table or os.environ.get("IDEMPOTENCY_TABLE")
            if not table:
                raise CliError("set IDEMPOTENCY_TABLE (the delivery records) to replay", code=2)
            self._store = DeliveryStore(table, _boto3_client("dynamodb", self._region))
        return self._store

    @property
    def sqs(self) -> Any:
        if callable(self._sqs) and not hasattr(self._sqs, "receive_message"):
            self._sqs = self._sqs()
        return self._sqs

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
        new, found = _keep_batch(seen, messages, until)
        if found or not new:
            break
    return list(seen.values())


def _keep_batch(
    seen: dict[str, ParkedMessage],
    messages: list[dict[str, Any]],
    until: Callable[[ParkedMessage], bool] | None,
) -> tuple[int, bool]:
    """Add one received batch to `seen`: how many were new, and whether `until` matched one."""
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
    return new, found


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


def _is(message: ParkedMessage, wanted: str) -> bool:
    """A deliveryId, or an SQS message id (the only handle on a message that cannot be read)."""
    return message.delivery_id == wanted or message.message_id == wanted


def find_message(queues: Queues, delivery_id: str, visibility_s: int) -> tuple[ParkedMessage | None, int]:
    """The first parked message of `delivery_id` (received, hidden; every other one handed back), and
    how many messages were scanned."""
    messages = scan(queues, visibility_s=visibility_s, until=lambda m: _is(m, delivery_id))
    match = next((m for m in messages if _is(m, delivery_id)), None)
    release(queues, [m for m in messages if m is not match])
    return match, len(messages)


def find(queues: Queues, delivery_id: str, visibility_s: int) -> Parked:
    """One parked delivery by deliveryId (or message id), from the queue, the archive or both."""
    message, scanned = find_message(queues, delivery_id, visibility_s)
    if message is not None and not message.readable:
        return Parked(message.delivery_id, message.operation, message=message)
    archived = [a for a in queues.archive.find(delivery_id) if a.delivery_id == delivery_id]
    if message is not None:
        same = next((a for a in archived if a.operation == message.operation), None)
        return Parked(message.delivery_id, message.operation, message=message, archived=same)
    if archived:
        return Parked(archived[0].delivery_id, archived[0].operation, archived=archived[0])
    where = " or the archive" if queues.archive.configured else ""
    raise CliError(f"no parked delivery {delivery_id} (scanned {scanned} queue message(s){where})")


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


def _last_error(message: Parked | ParkedMessage) -> str:
    error = message.envelope.last_error if message.envelope else None
    if error is None:
        return "-"
    status = f" {error.status}" if error.status is not None else ""
    return mask_text(f"{error.kind}{status}: {error.message}")[:80]


def parked_rows(
    messages: Sequence[Parked | ParkedMessage],
    *,
    wide: bool,
    now: datetime | None = None,
    where: bool = False,
) -> list[list[str]]:
    """Ids, operation, customer (a vendor office id) and reason are not personal data; the error text
    is masked. Oldest first."""
    ordered = sorted(messages, key=lambda m: m.parked_at or datetime.max.replace(tzinfo=UTC))
    rows = []
    for m in ordered:
        row = [m.delivery_id, m.operation, m.customer, format_age(m.parked_at, now), m.reason]
        if where:
            row.append(m.where if isinstance(m, Parked) else "queue")
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


@dataclass
class Shown:
    """What `parked show` prints: the (full) envelope, or the message body as received."""

    envelope: FailureEnvelope | None
    body: str


def masked_envelope(message: Shown | ParkedMessage) -> Any:
    """The envelope with personal data masked; ids and the (already masked) error message stay readable."""
    if message.envelope is None:
        return {"unparsableBody": _withheld(message.body)}
    data, shown = _masked(message.envelope.model_dump(mode="json", by_alias=True, exclude_none=True))
    request = data.get("request")
    if isinstance(request, dict):
        _withhold_raw_text(request, shown["request"])
    # Ids, counts and timestamps are not personal data (and free-text masking would mangle them).
    keep = ("deliveryId", "operation", "customerId", "attempt", "firstSeenAt", "reason", "parkedAt")
    for key in (*keep, "bodyRef", "envelopeRef"):  # the last two: where in the archive (bucket, key)
        if key in data:
            shown[key] = data[key]
    if "lastError" in data:
        error = data["lastError"]
        shown["lastError"] = {**mask(error), "message": mask_text(str(error["message"]))}
    return shown


def _masked(data: dict[str, Any]) -> tuple[dict[str, Any], Any]:
    """(what was masked, the masked copy): a request nested deeper than masking goes is withheld whole."""
    try:
        return data, mask(data)
    except RecursionError:
        data = {k: v for k, v in data.items() if k != "request"}
        return data, {**mask(data), "request": f"{MASK} (nested too deeply to show; --reveal prints it)"}


def _withhold_raw_text(request: dict[str, Any], shown: dict[str, Any]) -> None:
    for key in _RAW_TEXT_FIELDS:
        if isinstance(request.get(key), str):
            shown[key] = _withheld(request[key])


def revealed_envelope(message: Shown | ParkedMessage) -> Any:
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


def _matches(args: argparse.Namespace, message: Parked | ParkedMessage) -> bool:
    reason = getattr(args, "reason", None)
    operation = getattr(args, "operation", None)
    return (not reason or message.reason == reason) and (not operation or message.operation == operation)


def _no_archive_note(queues: Queues) -> None:
    if not queues.archive.configured:
        _stderr(
            "note: no parked archive configured (--archive-bucket, ARCHIVE_BUCKET or --stack): "
            "showing the parked queue only; deliveries parked over 14 days ago are only in the archive"
        )


def collect(
    args: argparse.Namespace, queues: Queues, source: str
) -> tuple[list[Parked], list[ParkedMessage], Unreadable, bool]:
    """Parked deliveries from the queue and/or the archive (each up to --limit), merged.

    Returns the deliveries, the queue messages received (hidden: the caller releases or acts on them),
    what could not be read, and whether a limit was reached."""
    messages: list[ParkedMessage] = []
    archived: list[ArchivedEnvelope] = []
    more = False
    if source in ("all", "queue"):
        messages = scan(queues, visibility_s=args.visibility_timeout, limit=args.limit)
        more = len(messages) >= args.limit
    if source in ("all", "archive"):
        archived, more_archived = _list_archived(args, queues, source, messages)
        more = more or more_archived
    unreadable = Unreadable(
        messages=[m for m in messages if not m.readable],
        objects=[a for a in archived if a.envelope is None],
    )
    return merge(messages, archived), messages, unreadable, more


def _list_archived(
    args: argparse.Namespace, queues: Queues, source: str, received: list[ParkedMessage]
) -> tuple[list[ArchivedEnvelope], bool]:
    """The archive's parked envelopes (up to --limit); on a failure the received messages are handed back."""
    if source == "archive" and not queues.archive.configured:
        raise CliError("--source archive needs --archive-bucket, ARCHIVE_BUCKET or --stack", code=2)
    try:
        return queues.archive.list_parked(args.limit)
    except Exception:
        release(queues, received)
        raise


def cmd_parked_list(args: argparse.Namespace, queues: Queues, out: TextIO) -> int:
    _no_archive_note(queues)
    items, messages, unreadable, more = collect(args, queues, args.source)
    release(queues, messages)
    shown = [item for item in items if _matches(args, item)]
    headers = ["deliveryId", "operation", "customer", "age", "reason", "kept in"]
    if args.wide:
        headers += ["attempt", "last error"]
    print(render_table(headers, parked_rows(shown, wide=args.wide, where=True)), file=out)
    more_text = " (limit reached; more may be parked)" if more else ""
    print(f"{len(shown)} parked deliver{'y' if len(shown) == 1 else 'ies'}{more_text}", file=out)
    if queues.archive.configured and args.source == "all":
        _queue_only_note(shown, out)
    unreadable.report(out)
    return 0


def _queue_only_note(shown: list[Parked], out: TextIO) -> None:
    """Say how many listed deliveries the archive does not hold yet (SQS will drop them)."""
    queue_only = sum(1 for item in shown if item.archived is None)
    if queue_only:
        print(
            f"{queue_only} of them only on the parked queue (not archived; SQS drops them 14 days after "
            "they were first queued): `parked archive` copies them",
            file=out,
        )


def _full_envelope(queues: Queues, item: Parked) -> FailureEnvelope:
    """The whole envelope: the archived copy, the message itself, or what a pointer message names."""
    envelope = item.envelope
    if envelope is None:
        problem = item.message.problem if item.message else "unreadable"
        raise CliError(f"the parked message is not a failure envelope ({problem})")
    if envelope.envelope_ref is not None and envelope.request is None:
        envelope = queues.archive.read(envelope.envelope_ref)
    return envelope


def cmd_parked_show(args: argparse.Namespace, queues: Queues, out: TextIO) -> int:
    item = find(queues, args.delivery_id, args.visibility_timeout)
    if item.message is not None:
        release(queues, [item.message])
    full = item.envelope
    if full is not None:
        try:
            full = _full_envelope(queues, item)
        except Exception as exc:  # the archive cannot be read: show what the message holds
            _stderr(f"warning: the archived envelope could not be read ({type(exc).__name__})")
    view = Shown(full, item.message.body if item.message is not None else "")
    try:
        shown = revealed_envelope(view) if args.reveal else masked_envelope(view)
        text = json.dumps(shown, indent=2, ensure_ascii=False)
    except RecursionError:
        text = json.dumps({"unparsableBody": f"{MASK} (nested too deeply to print)"})
    print(text, file=out)
    if args.reveal:
        from leadhooks_ops.journal_commands import note_reveal

        note_reveal(item.delivery_id)
    _stderr(f"(kept in: {item.where}{_where_detail(item)})")
    return 0


def _where_detail(item: Parked) -> str:
    parts = []
    if item.message is not None:
        parts.append(f"message {item.message.message_id}")
    if item.archived is not None:
        parts.append(f"s3://{item.archived.bucket}/{item.archived.key}")
    return f"; {', '.join(parts)}" if parts else ""


def _requeue(queues: Queues, message: Parked, edited: FailureEnvelope | None = None) -> DeliveryKey:
    """Back on the failure queue as a fresh first attempt, then off the parked queue and the archive.
    `edited`: the envelope to queue instead of the parked one (`leadhooks-ops edit`).

    The delivery record is set to `queued` first and keeps its count of sends, so the replay worker's
    gate holds the write bound (DESIGN §6) across API, replay and operator: this never sends anything
    to the vendor itself."""
    from leadhooks.deliveries import DeliveryKey

    envelope = edited or _full_envelope(queues, message).model_copy(deep=True)
    why_not = replayable(envelope)
    if why_not:
        raise CliError(f"not replayable: {why_not}")
    key = DeliveryKey(envelope.client or DEFAULT_CLIENT, envelope.operation, envelope.delivery_id)
    try:
        queues.store.requeue(key)
    except LookupError as exc:
        if str(exc) != "no delivery record":  # no record at all: the replay worker creates one
            raise CliError(f"{envelope.delivery_id} was not replayed: {exc}") from None
    envelope.attempt = 1
    envelope.reason = None
    envelope.parked_at = None
    envelope.envelope_ref = None
    attributes = message_attributes(envelope)
    body = envelope.to_message()
    if not fits_in_a_message(body, attributes):  # larger than an SQS message: queue a pointer to it
        stored = queues.archive.put(layout.queued_key(envelope.delivery_id, envelope.operation), body)
        body = envelope.pointer(stored).to_message()
    queues.sqs.send_message(QueueUrl=queues.failure_url, MessageBody=body, MessageAttributes=attributes)
    if message.message is not None:
        queues.sqs.delete_message(QueueUrl=queues.parked_url, ReceiptHandle=message.message.receipt_handle)
    if message.archived is not None:
        queues.archive.delete(message.archived)
    return key


def cmd_parked_replay(args: argparse.Namespace, queues: Queues, out: TextIO) -> int:
    _ = queues.failure_url  # fail before touching the parked queue
    chosen, unreadable = _to_replay(args, queues)
    replayed, skipped, failed, keys = _requeue_each(queues, chosen)
    release(queues, [item.message for item in failed if item.message is not None])
    # What this did, and no more: the replay worker sends them later, on its own schedule.
    print(
        f"re-queued {replayed} on the failure queue (the replay worker sends them; "
        f"`{PROG} queue stats` shows what waits), not replayable {skipped}, "
        f"failed {len(failed) - skipped}",
        file=out,
    )
    unreadable.report(out)
    if args.wait:
        from leadhooks_ops.journal_commands import wait_for

        wait_for(queues.store, keys, args.wait, out)
    return 1 if failed else 0


def _to_replay(args: argparse.Namespace, queues: Queues) -> tuple[list[Parked], Unreadable]:
    """--all: every parked delivery that matches (the other received messages are handed back at once);
    otherwise the one named."""
    if not args.all:
        return [find(queues, args.delivery_id, args.visibility_timeout)], Unreadable()
    items, received, unreadable, _ = collect(args, queues, args.source)
    chosen = [item for item in items if _matches(args, item)]
    picked = {id(item.message) for item in chosen if item.message is not None}
    release(queues, [m for m in received if id(m) not in picked])
    return chosen, unreadable


def _requeue_each(queues: Queues, chosen: list[Parked]) -> tuple[int, int, list[Parked], list[DeliveryKey]]:
    """Re-queue each, with a progress bar: (re-queued, not replayable, failed including not replayable,
    the records of those re-queued)."""
    progress = Progress(len(chosen), sys.stderr)
    replayed, skipped, failed, keys = 0, 0, [], []
    for item in chosen:
        try:
            keys.append(_requeue(queues, item))
            replayed += 1
        except Exception as exc:
            if isinstance(exc, CliError) and exc.message.startswith("not replayable"):
                skipped += 1
            failed.append(item)
            detail = exc.message if isinstance(exc, CliError) else type(exc).__name__
            _stderr(f"\nfailed to replay {item.delivery_id}: {detail}")
        progress.step()
    return replayed, skipped, failed, keys


def _confirm(prompt: str) -> bool:
    try:
        answer = input(prompt)
    except EOFError:
        return False
    return answer.strip().lower() in ("y", "yes")


def cmd_parked_discard(args: argparse.Namespace, queues: Queues, out: TextIO) -> int:
    item = find(queues, args.delivery_id, args.visibility_timeout)
    kept = " The archive keeps its last version for its retention period." if item.archived else ""
    prompt = (
        f"Discard parked delivery {item.delivery_id} ({item.operation}, {item.reason}, kept in {item.where})?"
        f"{kept} [y/N] "
    )
    if not args.yes and not _confirm(prompt):
        if item.message is not None:
            release(queues, [item.message])
        print(f"kept {item.delivery_id}", file=out)
        return 1
    if item.message is not None:
        queues.sqs.delete_message(QueueUrl=queues.parked_url, ReceiptHandle=item.message.receipt_handle)
    if item.archived is not None:
        queues.archive.delete(item.archived)
    print(f"discarded {item.delivery_id}", file=out)
    return 0


def cmd_parked_archive(args: argparse.Namespace, queues: Queues, out: TextIO) -> int:
    """Copy what is only on the parked queue into the archive (SQS's own redrive parks without it)."""
    if not queues.archive.configured:
        raise CliError("needs the archive: --archive-bucket, ARCHIVE_BUCKET or --stack", code=2)
    items, messages, unreadable, more = collect(args, queues, "all")
    copied = 0
    try:
        for item in items:
            if item.archived is not None or item.message is None or item.envelope is None:
                continue
            envelope = item.envelope
            if envelope.envelope_ref is not None:
                continue  # a pointer: its envelope is in the archive already
            queues.archive.put(
                layout.parked_key(envelope.delivery_id, envelope.operation), envelope.to_message()
            )
            copied += 1
        for message in unreadable.messages:  # kept as received, under its message id
            raw = FailureEnvelope(
                delivery_id=f"sqs-{message.message_id}",
                operation=message.attributes.get("operation", "unknown"),
                request={"rawBody": message.body},
                reason="malformed_message",
                parked_at=message.sent_at,
            )
            queues.archive.put(layout.parked_key(raw.delivery_id, raw.operation), raw.to_message())
            copied += 1
    finally:
        release(queues, messages)
    print(
        f"archived {copied} parked deliver{'y' if copied == 1 else 'ies'} that were only on the queue",
        file=out,
    )
    if more:
        print("(limit reached: run it again for the rest)", file=out)
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
    if queues.archive.configured:
        try:
            count, more = queues.archive.count_parked()
            print(f"archive: {count}{'+' if more else ''} parked in s3://{queues.archive.bucket}", file=out)
        except Exception as exc:  # the queues are the point of this command: report, carry on
            print(f"archive: not readable ({type(exc).__name__})", file=out)
    _print_paced_backlog(queues, out)
    return 0


def _print_paced_backlog(queues: Queues, out: TextIO) -> None:
    """Deliveries waiting for their customer's pacing budget, per vendor customer (docs/pacing.md)."""
    if not queues.pacing_table:
        return
    from leadhooks import pacing

    client = queues._pacing_client
    try:
        found = pacing.backlog(queues.pacing_table, client() if callable(client) else client)
    except Exception as exc:  # the queues are the point of this command: report, carry on
        print(f"pacing: not readable ({type(exc).__name__})", file=out)
        return
    rows = [
        [r["vendor"], r["customer"], f"{r['waiting']:.0f}", f"{r['bookedAheadS']:.0f} s", f"{r['rps']:.2g}/s"]
        for r in found
    ]
    if not rows:
        print("pacing: no customer is waiting for its budget", file=out)
        return
    print(render_table(["vendor", "customer", "~waiting", "booked ahead", "rate"], rows), file=out)


# ---- secrets check --------------------------------------------------------------------------------


def _json_without_duplicate_keys(text: str, problems: list[str]) -> Any:
    """`json.loads` keeps the last of two equal keys silently (two clients of one name): report it."""

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        seen: dict[str, Any] = {}
        for key, value in items:
            if key in seen:
                problems.append(f"key {key!r} appears twice in one object; only the last one would count")
            seen[key] = value
        return seen

    return json.loads(text, object_pairs_hook=pairs)


def _reach_text(values: frozenset[str] | None, everything: str) -> str:
    if values is None:
        return everything
    return ", ".join(sorted(values)) if values else "none"


def _mappings_text(mappings: Any) -> str:
    """`person-leads (json), contact-on-me (typeform x2)`: what `mapping check` can show in full."""
    parts = []
    for scope, mapping in sorted(mappings.items()):
        items = mapping if isinstance(mapping, tuple) else (mapping,)
        kinds = sorted({item.format for item in items})
        count = f" x{len(items)}" if len(items) > 1 else ""
        parts.append(f"{scope} ({'/'.join(kinds)}{count})")
    return ", ".join(parts) or "none"


def cmd_secrets_check(args: argparse.Namespace, out: TextIO) -> int:
    """Validate an inbound secret file (DESIGN §4) before it is stored: problems by client and field, never
    values; then what each client may reach. Exit 1 on any problem."""
    from leadhooks.inbound.clients import MIN_API_KEY_CHARS, parse_clients

    problems: list[str] = []
    data = _read_secret_file(args.file, problems)
    parsed = parse_clients(data, min_api_key_chars=args.min_api_key_chars or MIN_API_KEY_CHARS)
    problems += [str(problem) for problem in parsed.problems]
    for problem in problems:
        out.write(f"PROBLEM  {problem}\n")
    problems += _unusable(parsed.clients, out)
    for client in parsed.clients:
        out.write(_client_summary(client))
    verdict = f"{len(problems)} problem(s)" if problems else "OK"
    out.write(f"{len(parsed.clients)} usable client(s); {verdict}\n")
    return 1 if problems else 0


def _read_secret_file(file: str, problems: list[str]) -> Any:
    """The file's JSON (`-`: standard input); a key given twice in one object is added to `problems`."""
    try:
        text = sys.stdin.read() if file == "-" else Path(file).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CliError(f"cannot read {file}: {type(exc).__name__}") from None
    try:
        return _json_without_duplicate_keys(text, problems)
    except json.JSONDecodeError as exc:  # position only: the message never quotes the content
        raise CliError(f"{file} is not valid JSON (line {exc.lineno}, column {exc.colno})") from None


def _unusable(clients: tuple[Client, ...], out: TextIO) -> list[str]:
    """No client at all, or a client without a credential: every request (of it) would be answered 401."""
    problems: list[str] = []
    if not clients:
        problems.append("no usable client")
        out.write("PROBLEM  no usable client: every request would be answered 401\n")
    for client in clients:
        if not client.credential_kinds():
            problems.append(f"client {client.name}: no usable credential")
            out.write(f"PROBLEM  client {client.name}: no usable credential: it cannot authenticate\n")
    return problems


def _client_summary(client: Client) -> str:
    """How many credentials of each kind (never their values) and what the client may reach."""
    from leadhooks.inbound.clients import ALL

    counts = {
        "apiKeys": len(client.api_keys),
        "typeformSecrets": len(client.typeform_secrets),
        "webhookSecrets": len(client.webhook_secrets),
    }
    credentials = ", ".join(f"{name} x{n}" for name, n in counts.items() if n) or "none (cannot authenticate)"
    reach = client.reach
    return (
        f"client {client.name}\n"
        f"  credentials:        {credentials}\n"
        f"  vitec customers:    {_reach_text(reach.vitec_customers, '')}\n".replace(ALL, "* (every customer)")
        + f"  omnicasa customers: {_reach_text(reach.omnicasa_customers, '')}\n".replace(
            ALL, "* (every customer)"
        )
        + f"  operations:         {_reach_text(reach.operations, 'every operation')}\n"
        + f"  mappings:           {_mappings_text(client.mappings)}\n"
    )


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
    """The same options on the top level and on every command (`… --stack X parked list` and
    `… parked list --stack X` both work)."""
    default: Any = argparse.SUPPRESS if suppress else None
    group = parser.add_argument_group("which deployment (leadhooks_ops/target.py)")
    group.add_argument(
        "--stack",
        default=default,
        metavar="NAME",
        help="CloudFormation stack: queues and archive bucket from its outputs (default: $LEADHOOKS_STACK)",
    )
    group.add_argument(
        "--config-env",
        default=default,
        metavar="ENV",
        help="take the stack name and region from samconfig.toml's environment ENV (dev, prod)",
    )
    group.add_argument(
        "--samconfig",
        type=Path,
        default=argparse.SUPPRESS if suppress else None,
        metavar="FILE",
        help="samconfig.toml to read with --config-env (default: ./samconfig.toml)",
    )
    group.add_argument(
        "--region",
        default=default,
        help="AWS region (default: samconfig, the queue URL or the AWS configuration)",
    )
    group.add_argument(
        "--failure-queue-url",
        default=default,
        metavar="URL",
        help="failure queue URL (default: the stack's output, else $FAILURE_QUEUE_URL)",
    )
    group.add_argument(
        "--parked-queue-url",
        default=default,
        metavar="URL",
        help="parked dead-letter queue URL (default: the stack's output, else $PARKED_QUEUE_URL)",
    )
    group.add_argument(
        "--archive-bucket",
        default=default,
        metavar="NAME",
        help="parked archive S3 bucket (default: the stack's output, else $ARCHIVE_BUCKET)",
    )
    group.add_argument(
        "--visibility-timeout",
        type=_visibility,
        metavar="S",
        default=argparse.SUPPRESS if suppress else DEFAULT_VISIBILITY_S,
        help=f"seconds a scanned message stays hidden from others while this command runs "
        f"(default {DEFAULT_VISIBILITY_S})",
    )


def _leaf(sub: Any, name: str, help_text: str, func: Callable[..., int]) -> argparse.ArgumentParser:
    """One command: its parser (with the connection options) and the function that runs it."""
    p: argparse.ArgumentParser = sub.add_parser(name, help=help_text, description=help_text)
    _connection_options(p, suppress=True)
    p.set_defaults(func=func)
    return p


def _reasons() -> list[str]:
    return [*get_args(ParkReason), "redriven"]


def _selection_options(p: argparse.ArgumentParser, *, prefix: str = "") -> None:
    reasons = _reasons()
    p.add_argument(
        "--reason",
        choices=reasons,
        metavar="REASON",
        help=f"{prefix}only this park reason ({', '.join(reasons)})",
    )
    p.add_argument("--operation", help=f"{prefix}only this operation (e.g. vitec_person_lead)")
    p.add_argument(
        "--limit",
        type=_positive,
        default=DEFAULT_LIMIT,
        help=f"{prefix}at most N from the queue and N from the archive (default {DEFAULT_LIMIT})",
    )
    p.add_argument(
        "--source",
        choices=SOURCES,
        default="all",
        help=f"{prefix}where to look: the parked queue, the archive, or both (default all)",
    )


def add_parked_commands(groups: Any) -> None:
    parked = groups.add_parser(
        "parked",
        help="parked deliveries (the dead-letter queue and the parked archive)",
        description="List, inspect, replay, discard and archive parked deliveries.",
    )
    cmds = parked.add_subparsers(dest="command", metavar="{list,show,replay,discard,archive}", required=True)

    p = _leaf(cmds, "list", "list parked deliveries (oldest first) without consuming them", cmd_parked_list)
    _selection_options(p)
    p.add_argument("--wide", action="store_true", help="add the attempt count and the (masked) last error")

    p = _leaf(
        cmds, "show", "print one parked delivery's envelope as JSON (personal data masked)", cmd_parked_show
    )
    p.add_argument(
        "delivery_id", metavar="ID", help="the deliveryId (or the SQS message id of an unreadable one)"
    )
    p.add_argument("--reveal", action="store_true", help="print personal data unmasked")

    p = _leaf(
        cmds,
        "replay",
        "move parked deliveries back to the failure queue (attempt 1), off the parked queue and archive",
        cmd_parked_replay,
    )
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("delivery_id", metavar="ID", nargs="?", help="the deliveryId")
    which.add_argument(
        "--all", action="store_true", help="every parked delivery (filtered by --reason/--operation)"
    )
    _selection_options(p, prefix="with --all: ")
    _wait_option(p)

    p = _leaf(cmds, "discard", "delete one parked delivery for good (asks first)", cmd_parked_discard)
    p.add_argument(
        "delivery_id", metavar="ID", help="the deliveryId (or the SQS message id of an unreadable one)"
    )
    p.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")

    p = _leaf(
        cmds,
        "archive",
        "copy parked deliveries that are only on the queue (SQS redrive, unreadable ones) into the archive",
        cmd_parked_archive,
    )
    p.add_argument(
        "--limit", type=_positive, default=DEFAULT_LIMIT, help=f"scan at most N (default {DEFAULT_LIMIT})"
    )


def _wait_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--wait",
        type=_positive,
        metavar="S",
        default=None,
        help="then poll the delivery record up to S seconds and print delivered / queued / parked",
    )


def add_queue_commands(groups: Any) -> None:
    queue = groups.add_parser("queue", help="queue statistics", description="Queue statistics.")
    cmds = queue.add_subparsers(dest="command", metavar="{stats}", required=True)
    _leaf(cmds, "stats", "approximate visible / in-flight / delayed messages on both queues", cmd_queue_stats)


def add_secrets_commands(groups: Any) -> None:
    """`secrets check FILE`: offline, no queue and no AWS (DESIGN §4)."""
    secrets = groups.add_parser(
        "secrets", help="check secret files before storing them", description="Check secret files."
    )
    secrets_cmds = secrets.add_subparsers(dest="command", metavar="{check}", required=True)
    p = secrets_cmds.add_parser(
        "check",
        help="validate an inbound secret file (INBOUND_SECRET_ID): problems by client and field, and what "
        "each client may reach; exit 1 on any problem (values are never printed)",
        description="Validate an inbound secret file (INBOUND_SECRET_ID) before it is stored.",
    )
    p.add_argument("file", metavar="FILE", help="the secret's JSON file ('-' for standard input)")
    p.add_argument(
        "--min-api-key-chars",
        type=_positive,
        default=None,
        metavar="N",
        help="shortest API key accepted (default 16, as deployed stacks)",
    )
    p.set_defaults(func=cmd_secrets_check, offline=True)


# Command groups, each registered by its own function (a new group adds one line here).
COMMAND_GROUPS: tuple[Callable[[Any], None], ...] = (
    add_parked_commands,
    add_queue_commands,
    add_secrets_commands,
    add_mapping_commands,
    add_typeform_commands,
    add_journal_commands,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Operate leadhooks' failure path: parked deliveries, the two queues, the parked archive.",
        epilog="AWS_ENDPOINT_URL points boto3 at the local emulator (see docs/operations.md).",
    )
    _connection_options(parser, suppress=False)
    groups = parser.add_subparsers(
        dest="group", metavar="{parked,queue,secrets,mapping,typeform,find,edit}", required=True
    )
    for register in COMMAND_GROUPS:
        register(groups)
    return parser


def _boto3_client(service: str, region: str | None) -> Any:
    try:
        import boto3  # the [ops] extra (pipx install '.[ops]'), the dev environment, or Lambda
    except ModuleNotFoundError:
        raise CliError(
            "boto3 is not installed: install the tool with `pipx install '.[ops]'`", code=2
        ) from None
    return boto3.client(service, region_name=region) if region else boto3.client(service)


def main(
    argv: Sequence[str] | None = None,
    *,
    sqs: Any = None,
    s3: Any = None,
    cloudformation: Any = None,
    store: Any = None,
    dynamodb: Any = None,
    out: TextIO | None = None,
) -> int:
    """Run one command; returns the exit status (0 ok, 1 failed or declined, 2 usage).

    `sqs`, `s3`, `cloudformation`, `store`, `dynamodb`: clients to use instead of boto3's (tests)."""
    args = build_parser().parse_args(argv)
    out = out or sys.stdout
    if getattr(args, "offline", False):  # no queue, no AWS: a local file check
        return _run_offline(args, out)
    try:
        queues = _queues(args, sqs=sqs, s3=s3, cloudformation=cloudformation, store=store, dynamodb=dynamodb)
        func: Callable[[argparse.Namespace, Queues, TextIO], int] = args.func
        return func(args, queues, out)
    except targets.TargetError as exc:
        _stderr(f"error: {exc}")
        return 2
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


def _run_offline(args: argparse.Namespace, out: TextIO) -> int:
    try:
        return int(args.func(args, out))
    except CliError as exc:
        _stderr(f"error: {exc.message}")
        return exc.code


def _queues(
    args: argparse.Namespace, *, sqs: Any, s3: Any, cloudformation: Any, store: Any, dynamodb: Any
) -> Queues:
    """The deployment the options name (`target.resolve`), with clients built on first use."""
    where = targets.resolve(
        failure_url=args.failure_queue_url,
        parked_url=args.parked_queue_url,
        archive_bucket=args.archive_bucket,
        region=args.region,
        stack=args.stack,
        config_env=args.config_env,
        samconfig=args.samconfig or targets.default_samconfig(),
        environ=os.environ,
        cloudformation=lambda region: cloudformation or _boto3_client("cloudformation", region),
    )
    region = where.region
    archive = Archive(Lazy(s3, lambda: _boto3_client("s3", region)), where.archive_bucket)
    sqs_client = sqs if sqs is not None else (lambda: _boto3_client("sqs", region))
    pacing_client = dynamodb if dynamodb is not None else (lambda: _boto3_client("dynamodb", region))
    return Queues(
        sqs_client,
        where.failure_url,
        where.parked_url,
        archive,
        store,
        region,
        pacing=(where.pacing_table, pacing_client),
        journal=(where.records_table, where.journal_secret),
    )


def run() -> None:
    """The `leadhooks-ops` console script."""
    sys.exit(main())


def iter_commands(parser: argparse.ArgumentParser | None = None) -> Iterator[list[str]]:
    """Every command path (`["parked", "list"]`, …), for tests and docs."""
    parser = parser or build_parser()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                children = list(iter_commands(sub))
                yield from ([[name, *c] for c in children] if children else [[name]])
