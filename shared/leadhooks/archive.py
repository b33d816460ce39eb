"""The parked archive: an S3 bucket (ARCHIVE_BUCKET) that keeps what SQS cannot (DESIGN §8).

SQS keeps a parked message 14 days at most and 256 KB at most. The archive keeps, for the bucket's
retention (template.yaml `ArchiveRetentionDays`, 400 days by default, versioned):

- `parked/<deliveryId>/<operation>.json`: every parked envelope, written when it is parked. The ops
  CLI lists and replays from here as well as from the parked queue; replaying or discarding it
  deletes the current version (a delete marker: the old version stays until the lifecycle ends it).
- `queued/<deliveryId>/<operation>/<uuid>.json`: an envelope too large for one SQS message; the
  failure queue then carries a pointer (`envelopeRef`) and the replay worker reads it from here.
- `bodies/<deliveryId>/<operation>.bin`: a signed body over the size limit, as received, written
  once per deliveryId (a conditional write), parked with reason `too_large`.

The S3 client is built lazily from the one boto3 session (`leadhooks.aws`).
"""

from __future__ import annotations

import hashlib
import uuid
from typing import Any
from urllib.parse import quote

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

from leadhooks.settings import get_settings

PARKED_PREFIX = "parked/"
QUEUED_PREFIX = "queued/"
BODIES_PREFIX = "bodies/"
JSON_TYPE = "application/json"


class StoredObject(BaseModel):
    """Where something lives in the archive bucket (never a credential, never personal data)."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, serialize_by_alias=True)

    bucket: str
    key: str
    version_id: str | None = None
    bytes: int | None = None
    sha256: str | None = None
    content_type: str | None = None


def _s3() -> Any:
    from leadhooks.aws import get_client

    return get_client("s3")


def _segment(value: str) -> str:
    """One key segment: ids are `[A-Za-z0-9._:@-]`, anything else (a message attribute) is escaped."""
    text = quote(value[:128], safe="._:@-") or "_"
    return "_" if text in (".", "..") else text


def parked_key(delivery_id: str, operation: str) -> str:
    return f"{PARKED_PREFIX}{_segment(delivery_id)}/{_segment(operation)}.json"


def parked_prefix(delivery_id: str) -> str:
    return f"{PARKED_PREFIX}{_segment(delivery_id)}/"


def queued_key(delivery_id: str, operation: str) -> str:
    return f"{QUEUED_PREFIX}{_segment(delivery_id)}/{_segment(operation)}/{uuid.uuid4().hex}.json"


def body_key(delivery_id: str, operation: str) -> str:
    return f"{BODIES_PREFIX}{_segment(delivery_id)}/{_segment(operation)}.bin"


def put_text(key: str, text: str, *, bucket: str | None = None) -> StoredObject:
    """Write `text` (JSON) to `key`; the answer names the version written."""
    bucket = bucket or get_settings().archive_bucket
    data = text.encode("utf-8")
    answer = _s3().put_object(
        Bucket=bucket, Key=key, Body=data, ContentType=JSON_TYPE, ServerSideEncryption="AES256"
    )
    return StoredObject(
        bucket=bucket,
        key=key,
        version_id=answer.get("VersionId"),
        bytes=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        content_type=JSON_TYPE,
    )


def put_once(key: str, data: bytes, content_type: str) -> tuple[StoredObject, bool]:
    """Write `data` unless `key` exists (S3 conditional write): (where it is, whether this call wrote it).

    Two concurrent copies of one delivery: exactly one writes, the other learns it was kept already.
    """
    bucket = get_settings().archive_bucket
    stored = StoredObject(
        bucket=bucket,
        key=key,
        bytes=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        content_type=content_type,
    )
    try:
        answer = _s3().put_object(
            Bucket=bucket,
            Key=key,
            Body=data,
            ContentType=content_type,
            ServerSideEncryption="AES256",
            IfNoneMatch="*",
        )
    except Exception as exc:
        if _error_code(exc) in ("PreconditionFailed", "ConditionalRequestConflict", "412"):
            return stored, False
        raise
    stored.version_id = answer.get("VersionId")
    return stored, True


def get_text(ref: StoredObject) -> str:
    kwargs: dict[str, Any] = {"Bucket": ref.bucket, "Key": ref.key}
    if ref.version_id:
        kwargs["VersionId"] = ref.version_id
    body = _s3().get_object(**kwargs)["Body"]
    return bytes(body.read()).decode("utf-8")


def delete(ref: StoredObject) -> None:
    """Delete the current version (versioned bucket: a delete marker; the data stays until the lifecycle
    expires it, so a discard can still be undone by an administrator)."""
    _s3().delete_object(Bucket=ref.bucket, Key=ref.key)


def _error_code(exc: Exception) -> str:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        error = response.get("Error") or {}
        code = error.get("Code") if isinstance(error, dict) else None
        if code:
            return str(code)
        status = (response.get("ResponseMetadata") or {}).get("HTTPStatusCode")
        if status:
            return str(status)
    return ""
