"""The parked archive (S3) as the operator tool sees it: list, read, delete, re-queue large envelopes.

The product writes it (`leadhooks.archive`, same key layout); this side uses the operator's own S3
client. Every read is defensive: an object that is not an envelope is reported, never a crash.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import unquote

from leadhooks import archive as layout
from leadhooks.archive import StoredObject
from leadhooks.failures import FailureEnvelope
from pydantic import ValidationError

# Concurrent GETs while listing (one per archived envelope).
READERS = 8


def decode(text: str) -> tuple[FailureEnvelope | None, str | None]:
    """(the envelope, None) or (None, why it is not one). Never raises, whatever the text."""
    try:
        data = json.loads(text)
    except RecursionError:
        return None, "nested too deeply"
    except ValueError:
        return None, "not JSON"
    except Exception as exc:  # MemoryError and the like on a hostile body
        return None, f"unreadable ({type(exc).__name__})"
    if not isinstance(data, dict):
        return None, f"not an envelope (a JSON {type(data).__name__})"
    try:
        envelope = FailureEnvelope.model_validate(data)
    except ValidationError:
        return None, "not an envelope (wrong shape)"
    except RecursionError:
        return None, "nested too deeply"
    except Exception as exc:
        return None, f"unreadable ({type(exc).__name__})"
    try:  # what cannot be written back (re-queued, archived, shown) is no envelope to act on
        envelope.to_message()
    except (ValueError, RecursionError):  # pydantic: "Maximum serialization depth exceeded"
        return None, "nested too deeply"
    return envelope, None


@dataclass
class ArchivedEnvelope:
    """One object under `parked/` (the current version)."""

    bucket: str
    key: str
    version_id: str | None
    modified: datetime | None
    envelope: FailureEnvelope | None
    problem: str | None = None

    @property
    def ref(self) -> StoredObject:
        return StoredObject(bucket=self.bucket, key=self.key, version_id=self.version_id)

    @property
    def delivery_id(self) -> str:
        if self.envelope is not None:
            return self.envelope.delivery_id
        parts = self.key.removeprefix(layout.PARKED_PREFIX).split("/")
        return unquote(parts[0]) if parts and parts[0] else self.key

    @property
    def operation(self) -> str:
        if self.envelope is not None:
            return self.envelope.operation
        parts = self.key.removeprefix(layout.PARKED_PREFIX).split("/")
        return unquote(parts[1].removesuffix(".json")) if len(parts) > 1 else "?"


class Archive:
    """The archive bucket through the operator's S3 client. `bucket` None: no archive configured (a
    pointer's own bucket can still be read)."""

    def __init__(self, s3: Any, bucket: str | None) -> None:
        self.s3 = s3
        self.bucket = bucket

    @property
    def configured(self) -> bool:
        return bool(self.bucket)

    def _keys(self, prefix: str, limit: int | None) -> tuple[list[dict[str, Any]], bool]:
        """Objects under `prefix` (at most `limit`), and whether there are more."""
        found: list[dict[str, Any]] = []
        token: str | None = None
        while True:
            kwargs: dict[str, Any] = {"Bucket": self.bucket, "Prefix": prefix, "MaxKeys": 1000}
            if token:
                kwargs["ContinuationToken"] = token
            page = self.s3.list_objects_v2(**kwargs)
            for item in page.get("Contents", []) or []:
                if limit is not None and len(found) >= limit:
                    return found, True
                found.append(item)
            token = page.get("NextContinuationToken")
            if not page.get("IsTruncated") or not token:
                return found, False

    def _load(self, item: dict[str, Any]) -> ArchivedEnvelope:
        key = str(item.get("Key", ""))
        modified = item.get("LastModified")
        entry = ArchivedEnvelope(
            bucket=str(self.bucket),
            key=key,
            version_id=None,
            modified=modified if isinstance(modified, datetime) else None,
            envelope=None,
        )
        try:
            answer = self.s3.get_object(Bucket=self.bucket, Key=key)
            entry.version_id = answer.get("VersionId")
            text = bytes(answer["Body"].read()).decode("utf-8", errors="replace")
        except Exception as exc:  # gone meanwhile, no access
            entry.problem = f"unreadable ({type(exc).__name__})"
            return entry
        entry.envelope, entry.problem = decode(text)
        return entry

    def list_parked(self, limit: int | None) -> tuple[list[ArchivedEnvelope], bool]:
        """Every archived parked envelope (up to `limit`), read concurrently; and whether there are more."""
        if not self.bucket:
            return [], False
        items, more = self._keys(layout.PARKED_PREFIX, limit)
        with ThreadPoolExecutor(max_workers=READERS) as pool:
            return list(pool.map(self._load, items)), more

    def find(self, delivery_id: str) -> list[ArchivedEnvelope]:
        if not self.bucket:
            return []
        items, _ = self._keys(layout.parked_prefix(delivery_id), 100)
        return [self._load(item) for item in items]

    def count_parked(self) -> tuple[int, bool]:
        items, more = self._keys(layout.PARKED_PREFIX, 10_000)
        return len(items), more

    def read(self, ref: StoredObject) -> FailureEnvelope:
        """The full envelope a pointer names (its own bucket: works without a configured archive)."""
        kwargs: dict[str, Any] = {"Bucket": ref.bucket, "Key": ref.key}
        if ref.version_id:
            kwargs["VersionId"] = ref.version_id
        text = bytes(self.s3.get_object(**kwargs)["Body"].read()).decode("utf-8", errors="replace")
        envelope, problem = decode(text)
        if envelope is None:
            raise ValueError(f"s3://{ref.bucket}/{ref.key} is {problem}")
        return envelope

    def delete(self, entry: ArchivedEnvelope) -> None:
        """A delete marker on a versioned bucket: the old version stays for the bucket's retention."""
        self.s3.delete_object(Bucket=entry.bucket, Key=entry.key)

    def put(self, key: str, text: str) -> StoredObject:
        if not self.bucket:
            raise ValueError("no archive bucket configured (--archive-bucket, ARCHIVE_BUCKET or --stack)")
        answer = self.s3.put_object(
            Bucket=self.bucket,
            Key=key,
            Body=text.encode("utf-8"),
            ContentType=layout.JSON_TYPE,
            ServerSideEncryption="AES256",
        )
        return StoredObject(bucket=self.bucket, key=key, version_id=answer.get("VersionId"))
