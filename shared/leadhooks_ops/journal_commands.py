"""`find` and `edit` for `leadhooks-ops` (issue 15), registered through `cli.COMMAND_GROUPS`.

`find` answers "where is the lead Anna Svensson sent at 10:32?" from the delivery journal (the delivery
records, `leadhooks.deliveries`): the typed e-mail / phone / personnummer is hashed with the journal's
pepper(s) (`JOURNAL_SECRET_ID`, `leadhooks.journal`) and looked up on the table's hash indexes; it
prints no personal data. `edit` fixes a parked delivery's request, re-validates it against the
operation's model and re-queues it through the delivery record, exactly as `parked replay` does.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, TextIO

from leadhooks.journal import INDEXES, Kind, keyed_hash, peppers_from

if TYPE_CHECKING:
    from leadhooks.deliveries import DeliveryKey, DeliveryStore, Record
    from leadhooks.failures import FailureEnvelope

    from leadhooks_ops.cli import Queues

MAX_PAGES = 20  # per index query: a bounded loop (an address with more deliveries than that is a bot)
SETTLED = ("delivered", "parked")


# ---- find ----------------------------------------------------------------------------------------


def query_kwargs(table: str, kind: Kind, digest: str, start: dict[str, Any] | None = None) -> dict[str, Any]:
    """The Query of one hash on its index (keys only: the records are read afterwards)."""
    kwargs: dict[str, Any] = {
        "TableName": table,
        "IndexName": INDEXES[kind],
        "KeyConditionExpression": "#h = :h",
        "ExpressionAttributeNames": {"#h": INDEXES[kind]},
        "ExpressionAttributeValues": {":h": {"S": digest}},
    }
    if start:
        kwargs["ExclusiveStartKey"] = start
    return kwargs


def wanted_hashes(args: argparse.Namespace, peppers: Sequence[str]) -> dict[Kind, list[str]]:
    """Per kind typed, its hash under every pepper (newest first): a rotation keeps old ones findable."""
    typed: dict[Kind, str | None] = {"email": args.email, "phone": args.phone, "ssn": args.personnummer}
    wanted: dict[Kind, list[str]] = {}
    for kind, value in typed.items():
        if value:
            digests = [keyed_hash(kind, value, p, args.phone_region) for p in peppers]
            wanted[kind] = [d for d in digests if d]
    return wanted


def record_ids(client: Any, table: str, wanted: dict[Kind, list[str]]) -> set[str]:
    """Record ids that match every kind typed (any of its peppers)."""
    found: set[str] | None = None
    for kind, digests in wanted.items():
        ids: set[str] = set()
        for digest in digests:
            start: dict[str, Any] | None = None
            for _ in range(MAX_PAGES):
                page = client.query(**query_kwargs(table, kind, digest, start))
                ids.update(item["id"]["S"] for item in page.get("Items", []))
                start = page.get("LastEvaluatedKey")
                if not start:
                    break
        found = ids if found is None else found & ids
    return found or set()


def key_of(record_id: str) -> DeliveryKey | None:
    """`<client>#<operation>#<deliveryId>` (operation and deliveryId never hold a `#`)."""
    from leadhooks.deliveries import DeliveryKey

    parts = record_id.rsplit("#", 2)
    return DeliveryKey(*parts) if len(parts) == 3 else None


def parse_since(text: str, now: datetime | None = None) -> datetime:
    """`2026-12-01`, `2026-12-01T10:00`, or relative: `30m`, `12h`, `7d`."""
    now = now or datetime.now(UTC)
    units = {"m": 60, "h": 3600, "d": 86400}
    if text[-1:] in units and text[:-1].isdigit():
        return now - timedelta(seconds=int(text[:-1]) * units[text[-1]])
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError("a date, a date and time, or 30m / 12h / 7d") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _matches(args: argparse.Namespace, record: Record) -> bool:
    if args.since and (record.received_at or "") < args.since.isoformat(timespec="seconds"):
        return False
    checks = (
        (args.customer, record.customer_id),
        (args.status, record.status),
        (args.client, record.key.client),
        (args.operation, record.key.operation),
    )
    return all(wanted is None or wanted == actual for wanted, actual in checks)


def journal_peppers(region: str | None, *secret_ids: str | None) -> list[str]:
    """The peppers from the journal secret, the first id given or JOURNAL_SECRET_ID (the ops user needs
    secretsmanager:GetSecretValue on it)."""
    from leadhooks_ops.cli import CliError, _boto3_client

    secret_id = next((s for s in secret_ids if s), None) or os.environ.get("JOURNAL_SECRET_ID")
    if not secret_id:
        raise CliError("set JOURNAL_SECRET_ID (the journal's peppers) or pass --journal-secret", code=2)
    answer = _boto3_client("secretsmanager", region).get_secret_value(SecretId=secret_id)
    try:
        peppers = peppers_from(json.loads(answer["SecretString"]))
    except (ValueError, KeyError, TypeError, AttributeError):
        peppers = []
    if not peppers:
        raise CliError("the journal secret holds no journalPeppers")
    return peppers


def read_records(store: DeliveryStore, ids: Iterable[str]) -> list[Record]:
    """The records of the ids found, 100 to a BatchGetItem (expired ones left out)."""
    keys = [k for k in (key_of(i) for i in sorted(ids)) if k is not None]
    records: list[Record] = []
    for at in range(0, len(keys), 100):
        records += store.batch_get(keys[at : at + 100])
    return records


def _row(r: Record) -> list[str]:
    """One line of `find`: no personal data (the record holds none in clear)."""
    received = r.received_at or "-"
    return [
        received,
        r.key.client,
        r.key.operation,
        r.customer_id or "-",
        r.status,
        r.reason or "-",
        r.key.delivery_id,
    ]


def cmd_find(args: argparse.Namespace, queues: Queues, out: TextIO) -> int:
    from leadhooks_ops.cli import CliError, render_table

    if not (args.email or args.phone or args.personnummer):
        raise CliError("give at least one of --email, --phone, --personnummer", code=2)
    store = queues.store
    wanted = wanted_hashes(args, journal_peppers(queues._region, args.journal_secret, queues.journal_secret))
    records = read_records(store, record_ids(store.client, store.table, wanted))
    rows = [_row(r) for r in sorted(records, key=lambda r: r.received_at or "") if _matches(args, r)]
    headers = ["RECEIVED", "CLIENT", "OPERATION", "CUSTOMER", "STATUS", "REASON", "DELIVERY ID"]
    print(render_table(headers, rows) if rows else "no delivery found", file=out)
    return 0 if rows else 1


# ---- edit ----------------------------------------------------------------------------------------


def _path(text: str) -> list[str]:
    parts = text.split(".")
    if not all(parts):
        raise ValueError(f"bad field path {text!r}")
    return parts


def _step(node: Any, part: str, create: bool) -> Any:
    if isinstance(node, list):
        return node[int(part)]
    if not isinstance(node, dict):
        raise ValueError(f"{part!r} is inside a value, not an object")
    if part not in node:
        if not create:
            raise KeyError(part)
        node[part] = {}
    return node[part]


def apply_edits(request: dict[str, Any], sets: Iterable[str], unsets: Iterable[str]) -> dict[str, Any]:
    """A copy of `request` with the paths of `unsets` removed, then `path=value` set (strings, objects
    created on the way): `--unset person.email --set person.email.emailAddress=…` reshapes a field.
    ValueError names what could not be applied."""
    edited: dict[str, Any] = json.loads(json.dumps(request))
    for path in unsets:
        _unset(edited, path)
    for assignment in sets:
        _set(edited, assignment)
    return edited


def _unset(edited: dict[str, Any], path: str) -> None:
    *parents, last = _path(path.strip())
    node: Any = edited
    try:
        for part in parents:
            node = _step(node, part, create=False)
        del node[int(last) if isinstance(node, list) else last]
    except (KeyError, IndexError, TypeError, ValueError):
        raise ValueError(f"cannot unset {path!r}: no such field") from None


def _set(edited: dict[str, Any], assignment: str) -> None:
    path, sep, value = assignment.partition("=")
    if not sep:
        raise ValueError(f"--set takes path=value, got {path!r}")
    *parents, last = _path(path.strip())
    node: Any = edited
    try:
        for part in parents:
            node = _step(node, part, create=True)
        if isinstance(node, list):
            node[int(last)] = value
        elif isinstance(node, dict):
            node[last] = value
        else:
            raise ValueError(f"{path!r} is inside a value, not an object")
    except (IndexError, TypeError) as exc:
        raise ValueError(f"cannot set {path!r} ({type(exc).__name__})") from None


def revalidate(envelope: FailureEnvelope, request: dict[str, Any]) -> list[dict[str, str]]:
    """Validate the edited request against the operation's model; on success the envelope carries it
    (as the pipeline keeps a validated one) and its fingerprint. The field errors otherwise."""
    from leadhooks.catalog import write_operation
    from leadhooks.logic.delivery import fingerprint_of, model_data
    from leadhooks.models.api import field_errors_from_validation
    from pydantic import ValidationError

    spec = write_operation(envelope.operation)
    if spec is None:
        return [{"field": "operation", "reason": f"unknown operation {envelope.operation[:60]!r}"}]
    try:
        model = spec.model.model_validate(request)
    except ValidationError as exc:
        return [e.model_dump() for e in field_errors_from_validation(exc)]
    envelope.request = model_data(model)
    envelope.fingerprint = fingerprint_of(envelope.request)
    envelope.customer_id = model.customer_id
    envelope.errors = []
    return []


def cmd_edit(args: argparse.Namespace, queues: Queues, out: TextIO) -> int:
    from leadhooks_ops.cli import _full_envelope, _requeue, find, release

    _ = queues.failure_url  # fail before touching the parked queue
    item = find(queues, args.delivery_id, args.visibility_timeout)
    try:
        envelope = _check_target(args, _full_envelope(queues, item).model_copy(deep=True))
        _edit_envelope(args, envelope, out)
        key = _requeue_edited(queues, item, envelope, _requeue)
    except BaseException:
        if item.message is not None:
            release(queues, [item.message])
        raise
    print(f"edited and re-queued {envelope.delivery_id} (the replay worker sends it)", file=out)
    if args.wait:
        wait_for(queues.store, [key], args.wait, out)
    return 0


def _edit_envelope(args: argparse.Namespace, envelope: FailureEnvelope, out: TextIO) -> None:
    """Apply --unset/--set to the envelope's request and re-validate it; CliError (field errors printed)
    when it still does not pass."""
    from leadhooks_ops.cli import CliError

    request = envelope.request or {}
    if set(request) <= {"raw", "rawBody", "truncatedFrom"}:
        raise CliError("the parked delivery holds no parsed request to edit (kept as received)")
    try:
        edited = apply_edits(request, args.set or [], args.unset or [])
    except ValueError as exc:
        raise CliError(str(exc), code=2) from None
    errors = revalidate(envelope, edited)
    for error in errors:
        print(f"{error.get('field')}: {error.get('reason')}", file=out)
    if errors:
        raise CliError("the edited request does not pass validation; nothing was queued")


def _check_target(args: argparse.Namespace, envelope: FailureEnvelope) -> FailureEnvelope:
    from leadhooks.failures import DEFAULT_CLIENT

    from leadhooks_ops.cli import CliError

    if args.operation and envelope.operation != args.operation:
        raise CliError(f"the parked delivery is for {envelope.operation}, not {args.operation}")
    if args.client and (envelope.client or DEFAULT_CLIENT) != args.client:
        raise CliError(f"the parked delivery is from another client than {args.client}")
    return envelope


def _requeue_edited(queues: Queues, item: Any, envelope: FailureEnvelope, requeue: Any) -> DeliveryKey:
    """The record takes the edited payload's fingerprint, then the same re-queue as `parked replay`."""
    from leadhooks.deliveries import DeliveryKey
    from leadhooks.failures import DEFAULT_CLIENT

    from leadhooks_ops.cli import CliError

    key = DeliveryKey(envelope.client or DEFAULT_CLIENT, envelope.operation, envelope.delivery_id)
    assert envelope.fingerprint is not None
    if queues.store.get(key) is not None:
        try:
            queues.store.refingerprint(key, envelope.fingerprint)
        except LookupError as exc:
            raise CliError(f"{envelope.delivery_id} was not edited: {exc}") from None
    result: DeliveryKey = requeue(queues, item, envelope)
    return result


# ---- shared --------------------------------------------------------------------------------------


def _poll(store: DeliveryStore, keys: Sequence[DeliveryKey], status: dict[str, str]) -> bool:
    """Refresh the status of those not settled yet; True once all are delivered or parked."""
    for key in (k for k in keys if status[k.id] not in SETTLED):
        record = store.get(key)
        status[key.id] = record.status if record is not None else "queued"
    return all(s in SETTLED for s in status.values())


def wait_for(store: DeliveryStore, keys: Sequence[DeliveryKey], wait_s: int, out: TextIO) -> None:
    """Poll the records until each is delivered or parked, or `wait_s` passed; print where each stands."""
    deadline = time.monotonic() + wait_s
    status: dict[str, str] = {k.id: "queued" for k in keys}
    while not _poll(store, keys, status) and time.monotonic() < deadline:
        time.sleep(1.0)
    for key in keys:
        shown = "queued" if status[key.id] == "in_flight" else status[key.id]
        print(f"{key.delivery_id}: {shown}", file=out)


def operator() -> str:
    """Who runs the tool, as the environment says (no network call)."""
    user = os.environ.get("USER") or os.environ.get("LOGNAME") or "unknown"
    profile = os.environ.get("AWS_PROFILE")
    return f"{user} (AWS profile {profile})" if profile else user


def note_reveal(delivery_id: str) -> None:
    """`parked show --reveal` leaves a trace of who read personal data (stderr and the log)."""
    import logging

    from leadhooks_ops.cli import _stderr

    line = f"personal data of parked delivery {delivery_id} revealed by {operator()}"
    logging.getLogger("leadhooks_ops").warning(line)
    _stderr(f"note: {line}")


def add_journal_commands(groups: Any) -> None:
    """`find` (the delivery journal by e-mail / phone / personnummer) and `edit` (a parked delivery)."""
    from leadhooks_ops.cli import _leaf, _wait_option

    p = _leaf(
        groups,
        "find",
        "find deliveries by e-mail, phone or personnummer (no personal data printed)",
        cmd_find,
    )
    p.add_argument("--email", help="the sender's e-mail address")
    p.add_argument("--phone", help="the sender's phone number (national numbers read with --phone-region)")
    p.add_argument("--personnummer", help="the sender's personnummer (any separators)")
    p.add_argument(
        "--phone-region", default="SE", help="country of a phone number without +prefix (default SE)"
    )
    p.add_argument(
        "--since", type=parse_since, help="received at or after: 2026-12-01[T10:00], or 30m / 12h / 7d"
    )
    p.add_argument("--customer", help="only this vendor customer id")
    p.add_argument(
        "--status", choices=["in_flight", "delivered", "queued", "parked"], help="only this status"
    )
    p.add_argument("--client", help="only this inbound client")
    p.add_argument("--operation", help="only this operation")
    p.add_argument(
        "--journal-secret",
        metavar="ID",
        help="the journal secret (default: the stack output, else $JOURNAL_SECRET_ID)",
    )

    p = _leaf(groups, "edit", "fix a parked delivery's request, re-validate it and re-queue it", cmd_edit)
    p.add_argument("delivery_id", metavar="ID", help="the parked deliveryId")
    p.add_argument(
        "--set", action="append", metavar="PATH=VALUE", help="e.g. person.lastName=Svensson (repeatable)"
    )
    p.add_argument("--unset", action="append", metavar="PATH", help="remove a field (repeatable)")
    p.add_argument("--operation", help="the operation the parked delivery must be for")
    p.add_argument("--client", help="the client the parked delivery must be from")
    _wait_option(p)
