"""The local stack's fixed names, ports and documented credentials (docs/local-fixtures.md)."""

from __future__ import annotations

import os
from pathlib import Path

REGION = "eu-north-1"
ACCOUNT_ID = "123456789012"
FAILURE_QUEUE = "leadhooks-failures"
PARKED_QUEUE = "leadhooks-parked"
IDEMPOTENCY_TABLE = "leadhooks-idempotency"
PACING_TABLE = "leadhooks-pacing"
ARCHIVE_BUCKET = "leadhooks-archive"
VITEC_SECRET_ID = "leadhooks/local/vitec"
OMNICASA_SECRET_ID = "leadhooks/local/omnicasa"
INBOUND_SECRET_ID = "leadhooks/local/inbound"
JOURNAL_SECRET_ID = "leadhooks/local/journal"
# The delivery journal's pepper (leadhooks.journal): `leadhooks-ops find` hashes what it is given with it.
JOURNAL_PEPPER = "local-journal-pepper"
# Failure queue redrive to the parked DLQ, as in template.yaml.
MAX_RECEIVE_COUNT = 6

LOCAL_CLIENT = "local"
API_KEY = "local-api-key"  # 13 characters: the local stack lowers the 16-character minimum to 8
LOCAL_MIN_API_KEY_CHARS = "8"
TYPEFORM_SECRET = "local-typeform-secret"
WEBHOOK_SECRET = "whsec_bG9jYWwtd2ViaG9vay1zZWNyZXQtMDEyMzQ1Njc4OWFi"
OMNICASA_SECRET_KEY = "local-omnicasa-secret-key"

SECRETS: dict[str, dict[str, object]] = {
    VITEC_SECRET_ID: {
        "customers": {
            "M10001": {"username": "api-m10001", "password": "local-pass-m10001"},
            "M10002": {"username": "api-m10002", "password": "local-pass-m10002"},
        }
    },
    OMNICASA_SECRET_ID: {"secretKey": OMNICASA_SECRET_KEY},
    JOURNAL_SECRET_ID: {"journalPeppers": [JOURNAL_PEPPER]},
    # DESIGN §4: one client, `local`, with every local credential, every customer and every operation.
    # "*" rather than the fixture list, so a lead for an unknown customer still shows what a deployed
    # stack does with it (parked `no_credentials`); tests seed scoped clients beside it.
    INBOUND_SECRET_ID: {
        "clients": {
            LOCAL_CLIENT: {
                "apiKeys": [API_KEY],
                "typeformSecrets": [TYPEFORM_SECRET],
                "webhookSecrets": [WEBHOOK_SECRET],
                "vitecCustomers": ["*"],
                "omnicasaCustomers": ["*"],
            }
        }
    },
}


def ports() -> tuple[int, int, int]:
    """API, AWS emulator and sandbox ports (DESIGN §9), overridable by environment."""
    return (
        int(os.environ.get("LEADHOOKS_API_PORT", "3000")),
        int(os.environ.get("LEADHOOKS_AWS_PORT", "5000")),
        int(os.environ.get("LEADHOOKS_SANDBOX_PORT", "4010")),
    )


def verbose() -> bool:
    """`make run VERBOSE=1` (LEADHOOKS_VERBOSE): every process logs what it does, not one line per request."""
    return os.environ.get("LEADHOOKS_VERBOSE", "").strip().lower() not in ("", "0", "false", "no")


def data_dir(root: Path) -> Path:
    """Where `make run` keeps the sandbox's SQLite file (LEADHOOKS_DATA_DIR, default .local-data):
    a second stack from the same checkout needs its own (each start wipes the file)."""
    configured = os.environ.get("LEADHOOKS_DATA_DIR", "").strip()
    return Path(configured) if configured else root / ".local-data"


def queue_url(aws_port: int, name: str) -> str:
    return f"http://127.0.0.1:{aws_port}/{ACCOUNT_ID}/{name}"


def aws_env(aws_port: int) -> dict[str, str]:
    """What boto3 needs to talk to moto instead of AWS."""
    return {
        "AWS_ENDPOINT_URL": f"http://127.0.0.1:{aws_port}",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }


def product_env(aws_port: int, sandbox_port: int) -> dict[str, str]:
    """The environment the functions get in Lambda, pointed at the local emulator and sandbox."""
    return {
        **aws_env(aws_port),
        "FAILURE_QUEUE_URL": queue_url(aws_port, FAILURE_QUEUE),
        "PARKED_QUEUE_URL": queue_url(aws_port, PARKED_QUEUE),
        "IDEMPOTENCY_TABLE": IDEMPOTENCY_TABLE,
        "PACING_TABLE": PACING_TABLE,
        "ARCHIVE_BUCKET": ARCHIVE_BUCKET,
        "VITEC_BASE_URL": f"http://127.0.0.1:{sandbox_port}",
        "OMNICASA_BASE_URL": f"http://127.0.0.1:{sandbox_port}/omnicasa",
        "VITEC_SECRET_ID": VITEC_SECRET_ID,
        "OMNICASA_SECRET_ID": OMNICASA_SECRET_ID,
        "INBOUND_SECRET_ID": INBOUND_SECRET_ID,
        "JOURNAL_SECRET_ID": JOURNAL_SECRET_ID,
        "INBOUND_MIN_API_KEY_CHARS": LOCAL_MIN_API_KEY_CHARS,
        "POWERTOOLS_SERVICE_NAME": "leadhooks",
        "POWERTOOLS_METRICS_NAMESPACE": "Leadhooks",
        "POWERTOOLS_METRICS_DISABLED": "true",
        "AWS_LAMBDA_FUNCTION_NAME": "leadhooks-local",
        # A short replay schedule, so a lead queued while the sandbox fails arrives within seconds.
        "REPLAY_BACKOFF_S": os.environ.get("REPLAY_BACKOFF_S", "5,10,20,40,80"),
    }


def shell_exports() -> str:
    """`eval "$(python -m local.config)"`: the running local stack's addresses for a second terminal
    (API, SANDBOX, the AWS emulator, and the queue URLs and archive bucket the ops CLI reads), from the
    same port variables `make run` reads."""
    api, aws, sandbox = ports()
    values = {
        "API": f"http://127.0.0.1:{api}",
        "SANDBOX": f"http://127.0.0.1:{sandbox}",
        **aws_env(aws),
        "FAILURE_QUEUE_URL": queue_url(aws, FAILURE_QUEUE),
        "PARKED_QUEUE_URL": queue_url(aws, PARKED_QUEUE),
        "ARCHIVE_BUCKET": ARCHIVE_BUCKET,
        "IDEMPOTENCY_TABLE": IDEMPOTENCY_TABLE,
        "JOURNAL_SECRET_ID": JOURNAL_SECRET_ID,
    }
    return "\n".join(f"export {name}={value}" for name, value in values.items())


if __name__ == "__main__":
    print(shell_exports())
