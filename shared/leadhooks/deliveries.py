"""One delivery record per delivery, shared by every path that may send it (DESIGN §5, §6).

The API pipeline, the replay worker and the ops CLI all claim, gate and settle the same record on the
idempotency table (`IDEMPOTENCY_TABLE`, hash key `id`, TTL attribute `expiration`), with conditional
writes on the shared boto3 session. Its id is the idempotency namespace, the client and the operation:
`<client>#<operation>#<deliveryId>`.

Why not Powertools' idempotency utility (used before): its record is per function and per key, so the
API path and the replay worker kept two records and could each send; it counts nothing, so it cannot
hold the bound of DESIGN §6 (at most 2 sends that may have written, 1 for a viewing registration)
across paths; and it deletes its in-progress record when the function fails, so a crash after the
vendor wrote let the retry write again. Here the record keeps `maybeWritten`, the number of sends that
may have written: a fresh claim sets it to 1 in the same PutItem (happy path: one put, one update), a
later send first adds 1 under the condition `maybeWritten < bound`, and an answer that proves nothing
was written gives the slot back in the update that records it. A record whose lease ran out while
`maybeWritten > 0` is an ambiguous outcome, never a free retry.

Fields: status (`in_flight` | `delivered` | `queued` | `parked`), fingerprint (SHA-256 of the canonical
validated payload), client, operation, customerId, deliveryId, attempts (sends made), maybeWritten,
leaseUntil + owner (who holds an in-flight record, until when), answer (the first answer, replayed to
repeats), result (`leadId` / `personId`), reason (parked), nextAttemptAt (queued), receivedAt,
lastAttemptAt, history (the last `HISTORY_MAX` events), expiration (TTL).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any, Literal

from leadhooks.aws import get_client
from leadhooks.errors import IdempotencyStoreError
from leadhooks.observability import logger
from leadhooks.settings import get_settings

Status = Literal["in_flight", "delivered", "queued", "parked"]
By = Literal["api", "replay", "ops"]

HISTORY_MAX = 10
# A parked record outlives the parked queue's 14 days, so an operator's replay always finds its count.
PARKED_KEEP_S = 15 * 24 * 3600
# Saving an outcome is retried this many times (a fault there must not turn a delivery into a re-send).
SETTLE_TRIES = 3


def now_s() -> int:
    return int(time.time())


def iso(epoch_s: float | None = None) -> str:
    return datetime.fromtimestamp(time.time() if epoch_s is None else epoch_s, UTC).isoformat(
        timespec="seconds"
    )


@dataclass(frozen=True)
class DeliveryKey:
    client: str
    operation: str
    delivery_id: str

    @property
    def id(self) -> str:
        return f"{self.client}#{self.operation}#{self.delivery_id}"


@dataclass(frozen=True)
class StoredAnswer:
    """The first answer a caller got, replayed verbatim to repeats."""

    status: int
    body: dict[str, Any]


@dataclass
class Record:
    key: DeliveryKey
    status: Status
    fingerprint: str
    attempts: int = 0
    maybe_written: int = 0
    lease_until: int = 0
    owner: str | None = None
    answer: StoredAnswer | None = None
    result: dict[str, Any] | None = None
    reason: str | None = None
    next_attempt_at: str | None = None
    received_at: str | None = None
    last_attempt_at: str | None = None
    customer_id: str | None = None
    history: list[dict[str, Any]] = field(default_factory=list)
    expiration: int = 0

    def lease_live(self, at: int | None = None) -> bool:
        return self.status == "in_flight" and self.lease_until > (now_s() if at is None else at)


@dataclass
class Lease:
    """This invocation holds the record (its `owner` token) until it settles or releases it."""

    key: DeliveryKey
    owner: str
    maybe_written: int
    attempts: int
    history: list[dict[str, Any]]
    sending: bool = False  # a send that may write is counted in maybe_written for this lease


class _ConditionFailedError(Exception):
    def __init__(self, item: dict[str, Any] | None) -> None:
        super().__init__("condition failed")
        self.item = item


def _plain(value: Any) -> Any:
    """DynamoDB numbers come back as Decimal: ints stay ints."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _serialize(values: dict[str, Any]) -> dict[str, Any]:
    from boto3.dynamodb.types import TypeSerializer

    serializer = TypeSerializer()
    return {k: serializer.serialize(v) for k, v in values.items()}


def _deserialize(item: dict[str, Any]) -> dict[str, Any]:
    from boto3.dynamodb.types import TypeDeserializer

    deserializer = TypeDeserializer()
    return {k: _plain(deserializer.deserialize(v)) for k, v in item.items()}


def _record(item: dict[str, Any]) -> Record:
    data = _deserialize(item)
    answer = data.get("answer")
    stored = None
    if isinstance(answer, str):
        try:
            parsed = json.loads(answer)
            stored = StoredAnswer(int(parsed["status"]), dict(parsed["body"]))
        except (ValueError, KeyError, TypeError):
            stored = None
    return Record(
        key=DeliveryKey(
            str(data.get("client", "")), str(data.get("operation", "")), str(data.get("deliveryId", ""))
        ),
        status=data.get("status", "in_flight"),
        fingerprint=str(data.get("fingerprint", "")),
        attempts=int(data.get("attempts", 0)),
        maybe_written=int(data.get("maybeWritten", 0)),
        lease_until=int(data.get("leaseUntil", 0)),
        owner=data.get("owner"),
        answer=stored,
        result=data.get("result"),
        reason=data.get("reason"),
        next_attempt_at=data.get("nextAttemptAt"),
        received_at=data.get("receivedAt"),
        last_attempt_at=data.get("lastAttemptAt"),
        customer_id=data.get("customerId"),
        history=list(data.get("history") or []),
        expiration=int(data.get("expiration", 0)),
    )


def _event(by: By, event: str, **extra: Any) -> dict[str, Any]:
    entry = {"at": iso(), "by": by, "event": event}
    entry.update({k: v for k, v in extra.items() if v is not None})
    return entry


class DeliveryStore:
    """Conditional reads and writes of delivery records. Every method raises IdempotencyStoreError
    when the table cannot be reached; a lost race is a return value, never an exception."""

    def __init__(self, table: str, client: Any = None) -> None:
        self.table = table
        self._client = client

    @property
    def client(self) -> Any:
        return self._client if self._client is not None else get_client("dynamodb")

    # ---- plumbing -----------------------------------------------------------------------------

    def _call(self, operation: str, **kwargs: Any) -> dict[str, Any]:
        from botocore.exceptions import ClientError

        try:
            answer: dict[str, Any] = getattr(self.client, operation)(TableName=self.table, **kwargs)
        except ClientError as exc:
            error = exc.response.get("Error", {})
            if error.get("Code") == "ConditionalCheckFailedException":
                raise _ConditionFailedError(exc.response.get("Item")) from None
            logger.warning("delivery store error", extra={"operation": operation, "error": error.get("Code")})
            raise IdempotencyStoreError("the delivery record store is unavailable") from None
        except Exception as exc:  # connection errors, timeouts, no credentials
            logger.warning(
                "delivery store unreachable", extra={"operation": operation, "error": type(exc).__name__}
            )
            raise IdempotencyStoreError("the delivery record store is unavailable") from None
        return answer

    def _key(self, key: DeliveryKey) -> dict[str, Any]:
        return {"id": {"S": key.id}}

    def _ttl(self, status: Status) -> int:
        """The record is the delivery journal too: kept JOURNAL_RETENTION_DAYS, never less than the
        idempotency window (and a parked one never less than PARKED_KEEP_S)."""
        settings = get_settings()
        keep = max(settings.idempotency_ttl_s, settings.journal_retention_days * 24 * 3600)
        return now_s() + (max(keep, PARKED_KEEP_S) if status == "parked" else keep)

    # ---- reads --------------------------------------------------------------------------------

    def get(self, key: DeliveryKey) -> Record | None:
        answer = self._call("get_item", Key=self._key(key), ConsistentRead=True)
        item = answer.get("Item")
        if not item:
            return None
        record = _record(item)
        return None if record.expiration and record.expiration < now_s() else record

    def batch_get(self, keys: Iterable[DeliveryKey]) -> list[Record]:
        """Up to 100 records in one call (the catalog has a handful of write operations)."""
        wanted = [self._key(k) for k in keys][:100]
        if not wanted:
            return []
        from botocore.exceptions import ClientError

        try:
            answer = self.client.batch_get_item(
                RequestItems={self.table: {"Keys": wanted, "ConsistentRead": True}}
            )
        except ClientError as exc:
            logger.warning("delivery store error", extra={"error": exc.response.get("Error", {}).get("Code")})
            raise IdempotencyStoreError("the delivery record store is unavailable") from None
        except Exception as exc:
            logger.warning("delivery store unreachable", extra={"error": type(exc).__name__})
            raise IdempotencyStoreError("the delivery record store is unavailable") from None
        items = answer.get("Responses", {}).get(self.table, [])
        records = [_record(item) for item in items]
        return [r for r in records if not r.expiration or r.expiration >= now_s()]

    # ---- claiming -----------------------------------------------------------------------------

    def _claim_item(
        self, key: DeliveryKey, fingerprint: str, customer_id: str | None, owner: str, at: int, send: bool
    ) -> dict[str, Any]:
        """The new record of `create` (its history aside)."""
        values: dict[str, Any] = {
            "id": key.id,
            "client": key.client,
            "operation": key.operation,
            "deliveryId": key.delivery_id,
            "status": "in_flight",
            "fingerprint": fingerprint,
            "attempts": 1 if send else 0,
            "maybeWritten": 1 if send else 0,
            "owner": owner,
            "leaseUntil": at + get_settings().delivery_lease_s,
            "receivedAt": iso(at),
            "expiration": self._ttl("in_flight"),
        }
        if send:
            values["lastAttemptAt"] = iso(at)
        if customer_id:
            values["customerId"] = customer_id
        return values

    def create(
        self,
        key: DeliveryKey,
        *,
        fingerprint: str,
        customer_id: str | None,
        by: By,
        send: bool,
        journal: dict[str, str] | None = None,
    ) -> Lease | Record:
        """A new in-flight record held by us (`send`: counted as one send that may write), or the
        record that already exists (an expired one counts as absent). `journal`: the sender's format and
        ids and the contact hashes (`leadhooks.journal`), written once with the claim."""
        owner = uuid.uuid4().hex
        at = now_s()
        history = [_event(by, "claimed")]
        values = {**(journal or {}), **self._claim_item(key, fingerprint, customer_id, owner, at, send)}
        values["history"] = history
        try:
            self._call(
                "put_item",
                Item=_serialize(values),
                ConditionExpression="attribute_not_exists(id) OR expiration < :now",
                ExpressionAttributeValues={":now": {"N": str(at)}},
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except _ConditionFailedError as lost:
            existing = _record(lost.item) if lost.item else self.get(key)
            if existing is None:  # deleted (released) between the two calls: one more try
                return self.create(
                    key, fingerprint=fingerprint, customer_id=customer_id, by=by, send=send, journal=journal
                )
            return existing
        return Lease(key, owner, 1 if send else 0, 1 if send else 0, history, sending=send)

    def take_over(self, record: Record, *, by: By) -> Lease | None:
        """Hold a queued record, or an in-flight one whose lease ran out (its holder died). Counts no
        send: call `gate` before sending. None when someone else got it first."""
        at = now_s()
        if record.status == "queued":
            condition = "#s = :queued"
        elif record.status == "in_flight":
            condition = "#s = :in_flight AND (attribute_not_exists(leaseUntil) OR leaseUntil < :now)"
        else:
            return None
        owner = uuid.uuid4().hex
        history = [*record.history, _event(by, "taken_over", previous=record.status)][-HISTORY_MAX:]
        values: dict[str, Any] = {
            ":in_flight": "in_flight",
            ":owner": owner,
            ":lease": at + get_settings().delivery_lease_s,
            ":history": history,
        }
        if record.status == "queued":
            values[":queued"] = "queued"
        else:
            values[":now"] = at
        try:
            answer = self._call(
                "update_item",
                Key=self._key(record.key),
                UpdateExpression="SET #s = :in_flight, #o = :owner, leaseUntil = :lease, history = :history "
                "REMOVE nextAttemptAt",
                ConditionExpression=condition,
                ExpressionAttributeNames={"#s": "status", "#o": "owner"},
                ExpressionAttributeValues=_serialize(values),
                ReturnValues="ALL_NEW",
            )
        except _ConditionFailedError:
            return None
        fresh = _record(answer["Attributes"])
        return Lease(record.key, owner, fresh.maybe_written, fresh.attempts, fresh.history)

    def gate(self, lease: Lease, bound: int) -> bool:
        """Count one more send that may write, if the bound has room. False: it has none."""
        at = now_s()
        try:
            self._call(
                "update_item",
                Key=self._key(lease.key),
                UpdateExpression="SET lastAttemptAt = :at ADD maybeWritten :one, attempts :one",
                ConditionExpression="#o = :owner AND "
                "(attribute_not_exists(maybeWritten) OR maybeWritten < :bound)",
                ExpressionAttributeNames={"#o": "owner"},
                ExpressionAttributeValues=_serialize(
                    {":at": iso(at), ":one": 1, ":owner": lease.owner, ":bound": bound}
                ),
            )
        except _ConditionFailedError:
            return False
        lease.maybe_written += 1
        lease.attempts += 1
        lease.sending = True
        return True

    # ---- settling -----------------------------------------------------------------------------

    def settle(
        self,
        lease: Lease,
        status: Literal["delivered", "queued", "parked"],
        *,
        by: By,
        event: str,
        give_back: bool = False,
        answer: StoredAnswer | None = None,
        result: dict[str, Any] | None = None,
        reason: str | None = None,
        next_attempt_at: str | None = None,
        detail: dict[str, Any] | None = None,
        sent: bool = True,
    ) -> bool:
        """Record where the delivery now stands and let go of it. `give_back`: the send proved to have
        written nothing, so its slot of the bound is returned; `sent=False` (with `give_back`): the send
        was never made (pacing held it), so it is not counted in `attempts` either. The first answer is
        kept, never overwritten. A delivery is recorded even by a holder whose lease ran out (it did happen);
        anything else only by the holder. Retried briefly on a store fault; False if it never landed."""
        entry = _event(by, event, **(detail or {}))
        history = [*lease.history, entry][-HISTORY_MAX:]
        expression, names, values = self._settle_update(
            lease, status, history, answer, result, reason, next_attempt_at, give_back=give_back, sent=sent
        )
        return self._settle_write(lease, status, expression, names, values, give_back=give_back, sent=sent)

    def _settle_update(
        self,
        lease: Lease,
        status: Literal["delivered", "queued", "parked"],
        history: list[dict[str, Any]],
        answer: StoredAnswer | None,
        result: dict[str, Any] | None,
        reason: str | None,
        next_attempt_at: str | None,
        *,
        give_back: bool,
        sent: bool,
    ) -> tuple[str, dict[str, str], dict[str, Any]]:
        """The UpdateItem of `settle`: its expression, names and values (the condition's included)."""
        sets = ["#s = :status", "history = :history", "expiration = :exp"]
        removes = ["leaseUntil", "#o"]
        values: dict[str, Any] = {":status": status, ":history": history, ":exp": self._ttl(status)}
        if answer is not None:
            sets.append("answer = if_not_exists(answer, :answer)")
            values[":answer"] = json.dumps(
                {"status": answer.status, "body": answer.body}, separators=(",", ":")
            )
        names = {"#s": "status", "#o": "owner"}
        if result:
            sets.append("#r = :result")
            values[":result"] = result
            names["#r"] = "result"
        for attribute, value in (("reason", reason), ("nextAttemptAt", next_attempt_at)):
            if value:
                sets.append(f"{attribute} = :{attribute}")
                values[f":{attribute}"] = value
            else:
                removes.append(attribute)
        expression = f"SET {', '.join(sets)} REMOVE {', '.join(removes)}"
        if give_back and lease.sending and lease.maybe_written > 0:
            expression += " ADD maybeWritten :minus" + ("" if sent else ", attempts :minus")
            values[":minus"] = -1
        if status != "delivered":
            values[":owner"] = lease.owner
        return expression, names, values

    def _settle_write(
        self,
        lease: Lease,
        status: Literal["delivered", "queued", "parked"],
        expression: str,
        names: dict[str, str],
        values: dict[str, Any],
        *,
        give_back: bool,
        sent: bool,
    ) -> bool:
        """Write the settle, retried briefly on a store fault. A delivery is recorded even by a holder
        whose lease ran out (it did happen); anything else only by the holder."""
        condition = "attribute_exists(id)" if status == "delivered" else "#o = :owner"
        for attempt in range(SETTLE_TRIES):
            try:
                self._call(
                    "update_item",
                    Key=self._key(lease.key),
                    UpdateExpression=expression,
                    ConditionExpression=condition,
                    ExpressionAttributeNames=names,
                    ExpressionAttributeValues=_serialize(values),
                )
            except _ConditionFailedError:
                logger.warning(
                    "delivery record taken over before it was settled",
                    extra={"deliveryId": lease.key.delivery_id, "status": status},
                )
                return False
            except IdempotencyStoreError:
                if attempt + 1 < SETTLE_TRIES:
                    time.sleep(0.05 * 4**attempt)
                    continue
                logger.error(
                    "delivery outcome not recorded",
                    extra={"deliveryId": lease.key.delivery_id, "status": status},
                )
                return False
            if give_back and lease.sending:
                lease.maybe_written -= 1
                lease.attempts -= 0 if sent else 1
            lease.sending = False
            return True
        return False  # pragma: no cover - the loop always returns

    def release(self, lease: Lease, *, give_back: bool, delete: bool = False, sent: bool = True) -> None:
        """Let go without an outcome (nothing was kept, the caller will retry): delete the record, or
        leave it in flight with an expired lease so the next attempt takes it over at once. A store
        fault here only delays that attempt until the lease runs out."""
        values: dict[str, Any] = {":owner": lease.owner}
        try:
            if delete and not (lease.maybe_written - (1 if give_back and lease.sending else 0)):
                self._call(
                    "delete_item",
                    Key=self._key(lease.key),
                    ConditionExpression="#o = :owner",
                    ExpressionAttributeNames={"#o": "owner"},
                    ExpressionAttributeValues=_serialize(values),
                )
                return
            expression = "SET leaseUntil = :zero"
            values[":zero"] = 0
            if give_back and lease.sending and lease.maybe_written > 0:
                expression += " ADD maybeWritten :minus" + ("" if sent else ", attempts :minus")
                values[":minus"] = -1
            self._call(
                "update_item",
                Key=self._key(lease.key),
                UpdateExpression=expression,
                ConditionExpression="#o = :owner",
                ExpressionAttributeNames={"#o": "owner"},
                ExpressionAttributeValues=_serialize(values),
            )
        except (_ConditionFailedError, IdempotencyStoreError):
            logger.warning("delivery record not released", extra={"deliveryId": lease.key.delivery_id})

    def refingerprint(self, key: DeliveryKey, fingerprint: str, *, by: By = "ops") -> None:
        """An operator edited a parked delivery (`leadhooks-ops edit`): the record takes the edited
        payload's fingerprint, so the replay worker's claim accepts it. Only while parked or queued."""
        record = self.get(key)
        history = [*(record.history if record else []), _event(by, "edited")][-HISTORY_MAX:]
        try:
            self._call(
                "update_item",
                Key=self._key(key),
                UpdateExpression="SET fingerprint = :fp, history = :history",
                ConditionExpression="#s IN (:parked, :queued)",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues=_serialize(
                    {":fp": fingerprint, ":history": history, ":parked": "parked", ":queued": "queued"}
                ),
            )
        except _ConditionFailedError:
            raise LookupError("the delivery is not parked (or has no record)") from None

    def requeue(self, key: DeliveryKey, *, by: By = "ops") -> Record:
        """An operator's replay of a parked delivery: `parked` → `queued`, its count kept, so the replay
        worker's gate still holds the bound. LookupError when there is no parked record to requeue."""
        record = self.get(key)
        if record is None:
            raise LookupError("no delivery record")
        if record.status not in ("parked", "queued"):  # queued: an earlier requeue that did not finish
            raise LookupError(f"the delivery is {record.status}, not parked")
        history = [*record.history, _event(by, "requeued")][-HISTORY_MAX:]
        try:
            self._call(
                "update_item",
                Key=self._key(key),
                UpdateExpression="SET #s = :queued, nextAttemptAt = :next, history = :history, "
                "expiration = :exp REMOVE reason",
                ConditionExpression="#s IN (:parked, :queued)",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues=_serialize(
                    {
                        ":queued": "queued",
                        ":parked": "parked",
                        ":next": iso(),
                        ":history": history,
                        # The operator's tool has no Lambda settings: keep the record's own expiry,
                        # at least the parked window, long enough for the replay worker to settle it
                        # (which sets the configured retention).
                        ":exp": max(record.expiration or 0, now_s() + PARKED_KEEP_S),
                    }
                ),
            )
        except _ConditionFailedError:
            raise LookupError("the delivery changed while it was being requeued") from None
        record.status = "queued"
        return record


@lru_cache(maxsize=1)
def get_store() -> DeliveryStore:
    return DeliveryStore(get_settings().idempotency_table)


def prime() -> None:
    """Build the DynamoDB client now (SnapStart init), not on the first request."""
    _ = get_store().client
