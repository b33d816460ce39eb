"""Unit tests run without AWS: settings point nowhere reachable, and each test gets fresh caches."""

from __future__ import annotations

import os

os.environ.setdefault("FAILURE_QUEUE_URL", "http://127.0.0.1:9/000000000000/failures")
os.environ.setdefault("PARKED_QUEUE_URL", "http://127.0.0.1:9/000000000000/parked")
os.environ.setdefault("IDEMPOTENCY_TABLE", "unit-idempotency")
os.environ.setdefault("ARCHIVE_BUCKET", "unit-archive")
os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
os.environ.setdefault("AWS_DEFAULT_REGION", "eu-north-1")
