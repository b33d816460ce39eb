"""SQLite state of the sandbox: seed contacts and viewings, what callers created, and the records.

One connection guarded by one lock: every vendor write runs as a single transaction, so a
duplicate check and the contact it creates can never interleave with another request's.
"""

from __future__ import annotations

import json
import re
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

JsonObj = dict[str, Any]

FIXTURES_PATH = Path(__file__).with_name("fixtures.json")

_SCHEMA = """
CREATE TABLE contacts (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    customer_id TEXT NOT NULL,
    id TEXT NOT NULL,
    type TEXT NOT NULL,
    data TEXT NOT NULL,
    UNIQUE (customer_id, id)
);
CREATE TABLE contact_keys (
    customer_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    value TEXT NOT NULL,
    contact_seq INTEGER NOT NULL REFERENCES contacts (seq)
);
CREATE INDEX contact_keys_lookup ON contact_keys (customer_id, kind, value);
CREATE TABLE time_slots (
    customer_id TEXT NOT NULL,
    viewing_id TEXT NOT NULL,
    time_slot_id TEXT NOT NULL,
    PRIMARY KEY (customer_id, viewing_id, time_slot_id)
);
CREATE TABLE leads (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    customer_id TEXT NOT NULL,
    id TEXT NOT NULL UNIQUE,
    contact_id TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE participants (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    customer_id TEXT NOT NULL,
    viewing_id TEXT NOT NULL,
    time_slot_id TEXT NOT NULL,
    contact_id TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE omnicasa_persons (
    id INTEGER PRIMARY KEY,
    customer_id INTEGER NOT NULL,
    email_key TEXT,
    data TEXT NOT NULL
);
CREATE INDEX omnicasa_persons_email ON omnicasa_persons (customer_id, email_key);
CREATE TABLE records (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    vendor TEXT NOT NULL,
    operation TEXT NOT NULL,
    customer_id TEXT NOT NULL,
    body TEXT NOT NULL,
    path TEXT NOT NULL,
    received_at TEXT NOT NULL,
    result TEXT NOT NULL,
    contact_id TEXT
);
"""

# Omnicasa person ids look like the vendor's: plain integers, far from 0 and 1.
_FIRST_OMNICASA_PERSON_ID = 50001
# Duplicate check order: the strongest identifier wins.
_KEY_KINDS = ("ssn", "email", "cell")


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def load_fixtures(path: Path = FIXTURES_PATH) -> JsonObj:
    with path.open(encoding="utf-8") as handle:
        data: JsonObj = json.load(handle)
    return data


def email_key(value: Any) -> str | None:
    if isinstance(value, str) and value.strip():
        return value.strip().lower()
    return None


def phone_key(value: Any) -> str | None:
    """'070-174 06 05', '+46 70 174 06 05' and '0046701740605' are one number."""
    if not isinstance(value, str):
        return None
    digits = re.sub(r"[^\d+]", "", value)
    if digits.startswith("+46"):
        digits = "0" + digits[3:]
    elif digits.startswith("0046"):
        digits = "0" + digits[4:]
    elif digits.startswith("+"):
        digits = "00" + digits[1:]
    digits = digits.replace("+", "")
    return digits if len(digits) >= 5 else None


def ssn_key(value: Any) -> str | None:
    """'19830327-6029', '198303276029' and '830327-6029' are one personnummer."""
    if not isinstance(value, str) or not value.strip():
        return None
    digits = re.sub(r"\D", "", value)
    if len(digits) == 12:
        return digits[2:]
    if len(digits) == 10:
        return digits
    return value.strip().upper()


def dedup_keys(emails: list[Any], cell: Any, ssn: Any) -> dict[str, list[str]]:
    keys: dict[str, list[str]] = {"ssn": [], "email": [], "cell": []}
    for kind, raw_values in (("ssn", [ssn]), ("email", emails), ("cell", [cell])):
        normalise = {"ssn": ssn_key, "email": email_key, "cell": phone_key}[kind]
        for raw in raw_values:
            key = normalise(raw)
            if key and key not in keys[kind]:
                keys[kind].append(key)
    return keys


def _contact_keys(contact: JsonObj) -> dict[str, list[str]]:
    """Only persons take part in the duplicate check: a lead is never filed on a company."""
    if contact.get("type") != "Person":
        return {}
    email = contact.get("email") or {}
    telephone = contact.get("telephone") or {}
    return dedup_keys(
        [email.get("emailAddress"), email.get("emailAddress2")],
        telephone.get("cell"),
        contact.get("socialSecurityNumber"),
    )


class Tx:
    """Operations available inside one locked transaction."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    # --- Vitec contacts -------------------------------------------------------------------
    def get_contact(self, customer_id: str, contact_id: str) -> JsonObj | None:
        row = self._conn.execute(
            "SELECT data FROM contacts WHERE customer_id = ? AND id = ?", (customer_id, contact_id)
        ).fetchone()
        return None if row is None else _loads_obj(row[0])

    def get_contacts(self, customer_id: str, contact_ids: list[str]) -> list[JsonObj]:
        placeholders = ",".join("?" for _ in contact_ids)
        rows = self._conn.execute(
            f"SELECT id, data FROM contacts WHERE customer_id = ? AND id IN ({placeholders})",  # noqa: S608
            (customer_id, *contact_ids),
        ).fetchall()
        found = {row[0]: _loads_obj(row[1]) for row in rows}
        return [found[contact_id] for contact_id in contact_ids if contact_id in found]

    def find_person(self, customer_id: str, keys: dict[str, list[str]]) -> str | None:
        for kind in _KEY_KINDS:
            for value in keys.get(kind, []):
                row = self._conn.execute(
                    "SELECT c.id FROM contact_keys k JOIN contacts c ON c.seq = k.contact_seq"
                    " WHERE k.customer_id = ? AND k.kind = ? AND k.value = ? ORDER BY c.seq LIMIT 1",
                    (customer_id, kind, value),
                ).fetchone()
                if row is not None:
                    return str(row[0])
        return None

    def insert_contact(self, customer_id: str, contact: JsonObj) -> None:
        cursor = self._conn.execute(
            "INSERT INTO contacts (customer_id, id, type, data) VALUES (?, ?, ?, ?)",
            (customer_id, contact["id"], contact["type"], json.dumps(contact, ensure_ascii=False)),
        )
        self._index_keys(customer_id, int(cursor.lastrowid or 0), contact)

    def create_contact(self, customer_id: str, contact: JsonObj) -> str:
        """New contacts continue the seed numbering: c-m10001-061, -062, …"""
        count = self._conn.execute(
            "SELECT COUNT(*) FROM contacts WHERE customer_id = ?", (customer_id,)
        ).fetchone()[0]
        number = int(count) + 1
        while True:
            contact_id = f"c-{customer_id.lower()}-{number:03d}"
            if self.get_contact(customer_id, contact_id) is None:
                break
            number += 1
        stamp = now_iso()
        self.insert_contact(
            customer_id,
            {"id": contact_id, "customerId": customer_id, **contact, "createdAt": stamp, "changedAt": stamp},
        )
        return contact_id

    def update_contact(self, customer_id: str, contact: JsonObj) -> None:
        contact = {**contact, "changedAt": now_iso()}
        self._conn.execute(
            "UPDATE contacts SET data = ? WHERE customer_id = ? AND id = ?",
            (json.dumps(contact, ensure_ascii=False), customer_id, contact["id"]),
        )
        seq = self._conn.execute(
            "SELECT seq FROM contacts WHERE customer_id = ? AND id = ?", (customer_id, contact["id"])
        ).fetchone()[0]
        self._conn.execute("DELETE FROM contact_keys WHERE contact_seq = ?", (seq,))
        self._index_keys(customer_id, int(seq), contact)

    def _index_keys(self, customer_id: str, seq: int, contact: JsonObj) -> None:
        for kind, values in _contact_keys(contact).items():
            for value in values:
                self._conn.execute(
                    "INSERT INTO contact_keys (customer_id, kind, value, contact_seq) VALUES (?, ?, ?, ?)",
                    (customer_id, kind, value, seq),
                )

    # --- Vitec leads and viewings ---------------------------------------------------------
    def add_lead(self, customer_id: str, contact_id: str, body: Any) -> str:
        count = self._conn.execute(
            "SELECT COUNT(*) FROM leads WHERE customer_id = ?", (customer_id,)
        ).fetchone()[0]
        lead_id = f"lead-{customer_id.lower()}-{int(count) + 1:06d}"
        self._conn.execute(
            "INSERT INTO leads (customer_id, id, contact_id, body, created_at) VALUES (?, ?, ?, ?, ?)",
            (customer_id, lead_id, contact_id, json.dumps(body, ensure_ascii=False), now_iso()),
        )
        return lead_id

    def time_slot_ids(self, customer_id: str, viewing_id: str) -> list[str]:
        rows = self._conn.execute(
            "SELECT time_slot_id FROM time_slots WHERE customer_id = ? AND viewing_id = ?"
            " ORDER BY time_slot_id",
            (customer_id, viewing_id),
        ).fetchall()
        return [str(row[0]) for row in rows]

    def add_participant(
        self, customer_id: str, viewing_id: str, time_slot_id: str, contact_id: str, body: Any
    ) -> None:
        self._conn.execute(
            "INSERT INTO participants (customer_id, viewing_id, time_slot_id, contact_id, body, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (
                customer_id,
                viewing_id,
                time_slot_id,
                contact_id,
                json.dumps(body, ensure_ascii=False),
                now_iso(),
            ),
        )

    # --- Omnicasa -------------------------------------------------------------------------
    def upsert_omnicasa_person(self, customer_id: int, email: Any, data: JsonObj) -> int:
        """Same e-mail (any case) at the same customer is the same person, updated in place."""
        key = email_key(email)
        if key is not None:
            row = self._conn.execute(
                "SELECT id, data FROM omnicasa_persons WHERE customer_id = ? AND email_key = ?"
                " ORDER BY id LIMIT 1",
                (customer_id, key),
            ).fetchone()
            if row is not None:
                merged = {**_loads_obj(row[1]), **{k: v for k, v in data.items() if v is not None}}
                self._conn.execute(
                    "UPDATE omnicasa_persons SET data = ? WHERE id = ?",
                    (json.dumps(merged, ensure_ascii=False), row[0]),
                )
                return int(row[0])
        highest = self._conn.execute("SELECT MAX(id) FROM omnicasa_persons").fetchone()[0]
        person_id = _FIRST_OMNICASA_PERSON_ID if highest is None else int(highest) + 1
        self._conn.execute(
            "INSERT INTO omnicasa_persons (id, customer_id, email_key, data) VALUES (?, ?, ?, ?)",
            (person_id, customer_id, key, json.dumps(data, ensure_ascii=False)),
        )
        return person_id

    # --- Records --------------------------------------------------------------------------
    def add_record(
        self,
        vendor: str,
        operation: str,
        customer_id: str,
        body: Any,
        path: str,
        result: Any,
        contact_id: str | None = None,
    ) -> None:
        self._conn.execute(
            "INSERT INTO records"
            " (vendor, operation, customer_id, body, path, received_at, result, contact_id)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                vendor,
                operation,
                customer_id,
                json.dumps(body, ensure_ascii=False),
                path,
                now_iso(),
                json.dumps(result),
                contact_id,
            ),
        )


class Store:
    """Owns the connection; everything goes through `tx()` so one lock orders all access."""

    def __init__(self, db_path: str, fixtures: JsonObj) -> None:
        if db_path != ":memory:":
            _wipe(Path(db_path))
        self._conn = sqlite3.connect(db_path, check_same_thread=False, isolation_level=None)
        self._lock = threading.Lock()
        self._conn.execute("PRAGMA synchronous = OFF")
        self._conn.executescript(_SCHEMA)
        self._seed(fixtures)

    @contextmanager
    def tx(self) -> Iterator[Tx]:
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield Tx(self._conn)
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def records(self, filters: dict[str, str]) -> list[JsonObj]:
        columns = {"operation": "operation", "customerId": "customer_id", "vendor": "vendor"}
        where = [f"{columns[name]} = ?" for name in filters if name in columns]
        params = [value for name, value in filters.items() if name in columns]
        sql = (
            "SELECT vendor, operation, customer_id, body, path, received_at, result, contact_id FROM records"
        )
        if where:
            sql += " WHERE " + " AND ".join(where)
        with self._lock:
            rows = self._conn.execute(sql + " ORDER BY seq", params).fetchall()
        return [
            {
                "vendor": row[0],
                "operation": row[1],
                "customerId": row[2],
                "body": json.loads(row[3]),
                "path": row[4],
                "receivedAt": row[5],
                "result": json.loads(row[6]),
                "contactId": row[7],
            }
            for row in rows
        ]

    def clear_records(self) -> int:
        with self._lock:
            return self._conn.execute("DELETE FROM records").rowcount

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def _seed(self, fixtures: JsonObj) -> None:
        with self.tx() as tx:
            for customer_id, customer in fixtures["vitec"]["customers"].items():
                for contact in customer["contacts"]:
                    tx.insert_contact(customer_id, contact)
                for viewing in customer["viewings"]:
                    for slot in viewing["timeSlots"]:
                        self._conn.execute(
                            "INSERT INTO time_slots (customer_id, viewing_id, time_slot_id) VALUES (?, ?, ?)",
                            (customer_id, viewing["viewingId"], slot["timeSlotId"]),
                        )


def _loads_obj(text: str) -> JsonObj:
    data: JsonObj = json.loads(text)
    return data


def _wipe(db_file: Path) -> None:
    """Every start is a fresh sandbox: old contacts and records would make runs order-dependent."""
    db_file.parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-journal", "-wal", "-shm"):
        db_file.with_name(db_file.name + suffix).unlink(missing_ok=True)
