"""A parked delivery as the operator sees it (the queue message, the archived copy, or both), what
could not be read, and what can be replayed. Used by `leadhooks_ops.cli`."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, TextIO

from leadhooks.catalog import WRITES
from leadhooks.failures import FailureEnvelope

from leadhooks_ops.archive import ArchivedEnvelope

if TYPE_CHECKING:
    from leadhooks_ops.cli import ParkedMessage


def top_level_ids(body: str) -> dict[str, str]:
    """`deliveryId` / `operation` of a JSON object that is not a usable envelope, if it names them."""
    try:
        data = json.loads(body)
    except Exception:  # not JSON, nested too deeply: nothing to name it by but its message id
        return {}
    if not isinstance(data, dict):
        return {}
    return {
        name: data[name][:128]
        for name in ("deliveryId", "operation")
        if isinstance(data.get(name), str) and data[name]
    }


@dataclass
class Parked:
    """A parked delivery as the operator sees it, wherever it is kept."""

    delivery_id: str
    operation: str
    message: ParkedMessage | None = None
    archived: ArchivedEnvelope | None = None

    @property
    def envelope(self) -> FailureEnvelope | None:
        """The most complete envelope at hand (the archive's copy beats a pointer message)."""
        if self.archived is not None and self.archived.envelope is not None:
            return self.archived.envelope
        return self.message.envelope if self.message is not None else None

    @property
    def where(self) -> str:
        places = [p for p, present in (("queue", self.message), ("archive", self.archived)) if present]
        return "+".join(places) or "-"

    @property
    def reason(self) -> str:
        if self.envelope is not None and self.envelope.reason:
            return self.envelope.reason
        return self.message.reason if self.message is not None else "?"

    @property
    def customer(self) -> str:
        return (self.envelope.customer_id if self.envelope else None) or "-"

    @property
    def parked_at(self) -> datetime | None:
        if self.envelope is not None and self.envelope.parked_at is not None:
            return self.envelope.parked_at
        if self.message is not None:
            return self.message.sent_at
        return self.archived.modified if self.archived is not None else None


def merge(messages: Sequence[ParkedMessage], archived: Sequence[ArchivedEnvelope]) -> list[Parked]:
    """One `Parked` per (deliveryId, operation) over the readable queue messages and archive objects."""
    items: dict[tuple[str, str], Parked] = {}
    for message in messages:
        if message.readable:
            key = (message.delivery_id, message.operation)
            item = items.setdefault(key, Parked(*key))
            item.message = item.message or message
    for entry in archived:
        if entry.envelope is not None:
            key = (entry.delivery_id, entry.operation)
            items.setdefault(key, Parked(*key)).archived = entry
    return list(items.values())


def _problem(message: ParkedMessage) -> str:
    said = message.attributes.get("deliveryId")
    return f"{message.problem}; deliveryId {said}" if said else str(message.problem)


@dataclass
class Unreadable:
    """What a command could not read: queue messages (by id) and archive objects (by key)."""

    messages: list[ParkedMessage] = field(default_factory=list)
    objects: list[ArchivedEnvelope] = field(default_factory=list)

    def report(self, out: TextIO) -> None:
        if self.messages:
            ids = ", ".join(f"{m.message_id} ({_problem(m)})" for m in self.messages[:20])
            more = f" and {len(self.messages) - 20} more" if len(self.messages) > 20 else ""
            print(
                f"{len(self.messages)} message(s) on the parked queue could not be read: {ids}{more}. "
                "`parked show <message id>` prints one as received, `parked discard <message id>` removes "
                "it, `parked archive` keeps a copy.",
                file=out,
            )
        if self.objects:
            keys = ", ".join(f"{o.key} ({o.problem})" for o in self.objects[:20])
            print(f"{len(self.objects)} archive object(s) could not be read: {keys}", file=out)


_WRITE_OPERATIONS = frozenset(entry.name for entry in WRITES)


def replayable(envelope: FailureEnvelope) -> str | None:
    """Why the replay worker could not send this envelope, or None when it can."""
    if envelope.operation not in _WRITE_OPERATIONS:
        return f"unknown operation {envelope.operation[:60]!r}"
    if envelope.body_ref is not None:
        ref = envelope.body_ref
        return (
            f"the body was over the size limit ({ref.bytes} bytes, kept at s3://{ref.bucket}/{ref.key}): "
            "trim it and send it again, then discard this one"
        )
    if envelope.request is None or set(envelope.request) <= {"raw", "rawBody", "truncatedFrom"}:
        return "it holds no request the vendor model can take (kept as received): fix and resend it"
    return None


class Lazy:
    """A client built on first attribute access (or the one given)."""

    def __init__(self, given: Any, build: Callable[[], Any]) -> None:
        self._client = given
        self._build = build

    def __getattr__(self, name: str) -> Any:
        if self._client is None:
            self._client = self._build()
        return getattr(self._client, name)
