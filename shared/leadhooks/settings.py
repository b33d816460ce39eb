"""Environment settings, checked once per cold start so a missing queue URL fails loudly, not later."""

from __future__ import annotations

import os
from functools import lru_cache

from pydantic import BaseModel, Field, ValidationError, field_validator

from leadhooks.errors import ConfigurationError


class Settings(BaseModel):
    """Every knob the functions read from the environment (DESIGN §7)."""

    failure_queue_url: str = Field(alias="FAILURE_QUEUE_URL", min_length=1)
    parked_queue_url: str = Field(alias="PARKED_QUEUE_URL", min_length=1)
    idempotency_table: str = Field(alias="IDEMPOTENCY_TABLE", min_length=1)
    # The parked archive (leadhooks.archive): parked envelopes beyond SQS's 14 days, envelopes over
    # SQS's 256 KB, and signed bodies over MAX_BODY_BYTES.
    archive_bucket: str = Field(alias="ARCHIVE_BUCKET", min_length=1)
    vitec_base_url: str = Field("https://connect.maklare.vitec.net", alias="VITEC_BASE_URL")
    # No default: Omnicasa publishes no single API v3 address (docs/deploy.md, "Vendor accounts");
    # template.yaml always sets it from the required OmnicasaBaseUrl parameter.
    omnicasa_base_url: str = Field(alias="OMNICASA_BASE_URL", min_length=1)
    vitec_secret_id: str | None = Field(None, alias="VITEC_SECRET_ID")
    omnicasa_secret_id: str | None = Field(None, alias="OMNICASA_SECRET_ID")
    inbound_secret_id: str | None = Field(None, alias="INBOUND_SECRET_ID")
    # The delivery journal's peppers (leadhooks.journal); unset: records carry no contact hashes.
    journal_secret_id: str | None = Field(None, alias="JOURNAL_SECRET_ID")
    # DESIGN §4: an inbound API key under this many characters is skipped. Deployed stacks keep 16; the
    # local stack lowers it for its documented key `local-api-key` (local/config.py).
    inbound_min_api_key_chars: int = Field(16, alias="INBOUND_MIN_API_KEY_CHARS", ge=8, le=256)
    secrets_max_age_s: int = Field(300, alias="SECRETS_MAX_AGE_S", ge=0)
    # Read secrets through the AWS Parameters and Secrets Lambda Extension (localhost HTTP, no boto3)
    # when its layer is attached; otherwise through Powertools' SecretsProvider (boto3).
    secrets_via_extension: bool = Field(False, alias="LEADHOOKS_SECRETS_VIA_EXTENSION")
    secrets_extension_port: int = Field(2773, alias="PARAMETERS_SECRETS_EXTENSION_HTTP_PORT", gt=0, lt=65536)
    # Outbound HTTP: connect/read timeouts and the whole in-request retry budget, kept well under
    # API Gateway's 29 s integration limit (DESIGN §6 caps a single call at 30 s).
    http_connect_timeout_s: float = Field(3.05, alias="HTTP_CONNECT_TIMEOUT_S", gt=0, le=30)
    http_read_timeout_s: float = Field(8.0, alias="HTTP_READ_TIMEOUT_S", gt=0, le=30)
    http_attempts: int = Field(3, alias="HTTP_ATTEMPTS", ge=1, le=10)
    http_budget_s: float = Field(20.0, alias="HTTP_BUDGET_S", gt=0, le=28)
    http_backoff_base_s: float = Field(0.2, alias="HTTP_BACKOFF_BASE_S", ge=0)
    retry_after_cap_s: float = Field(5.0, alias="RETRY_AFTER_CAP_S", ge=0)
    max_body_bytes: int = Field(256 * 1024, alias="MAX_BODY_BYTES", gt=0)
    idempotency_ttl_s: int = Field(7 * 24 * 3600, alias="IDEMPOTENCY_TTL_S", gt=0)
    # How long the delivery record (the journal) is kept; never less than IDEMPOTENCY_TTL_S.
    journal_retention_days: int = Field(90, alias="JOURNAL_RETENTION_DAYS", gt=0, le=3650)
    # How long a path holds a delivery record while it sends (longer than one send's HTTP budget and
    # the API functions' 28 s timeout). A holder that dies lets it go after this long.
    delivery_lease_s: int = Field(60, alias="DELIVERY_LEASE_S", gt=0, le=900)
    tracing: bool = Field(False, alias="LEADHOOKS_TRACING")
    # SnapStart: build AWS clients, models and phone metadata at init so the snapshot holds them.
    prime_at_init: bool = Field(False, alias="LEADHOOKS_PRIME_AT_INIT")
    # Waits between replays of a queued delivery, in seconds (comma-separated in the environment).
    # A delivery is parked once it has been tried as many times as there are steps (docs/operations.md).
    replay_backoff_s: tuple[int, ...] = Field((60, 300, 1800, 7200, 21600), alias="REPLAY_BACKOFF_S")
    # Per-customer pacing (leadhooks.pacing, docs/pacing.md): the DynamoDB table of the shared budgets
    # (unset: no pacing), the rate of a customer whose secret names none, the longest wait slept in a
    # request instead of queueing, and the cap on a vendor 429's Retry-After hold.
    pacing_table: str | None = Field(None, alias="PACING_TABLE")
    pacing_default_rps: float = Field(5.0, alias="PACING_DEFAULT_RPS", gt=0, le=1000)
    pacing_max_wait_s: float = Field(1.0, alias="PACING_MAX_WAIT_S", ge=0, le=10)
    pacing_retry_after_cap_s: float = Field(300.0, alias="PACING_RETRY_AFTER_CAP_S", gt=0, le=43200)

    @field_validator("replay_backoff_s", mode="before")
    @classmethod
    def _split_steps(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @field_validator("replay_backoff_s")
    @classmethod
    def _check_steps(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        # SQS caps a visibility timeout at 12 hours.
        if not value or any(step < 0 or step > 43200 for step in value):
            raise ValueError("give 1 or more comma-separated seconds between 0 and 43200")
        return value

    @field_validator("vitec_base_url", "omnicasa_base_url")
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        return value.rstrip("/")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Read and validate the environment once; name every missing variable in the error."""
    try:
        return Settings.model_validate(dict(os.environ))
    except ValidationError as exc:
        names = ", ".join(sorted({str(err["loc"][0]) for err in exc.errors()}))
        raise ConfigurationError(f"invalid or missing environment settings: {names}") from None
