"""Secrets through the Parameters and Secrets Extension's HTTP API (its local stand-in), not boto3."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from leadhooks import secrets
from leadhooks.settings import get_settings

from local.secrets_extension import ExtensionHandle, start_secrets_extension
from tests.integration.conftest import API_KEY_HEADERS, Stack

BODY = json.loads(
    (Path(__file__).resolve().parent.parent / "fixtures" / "bodies" / "vitec_person_lead.json").read_text()
)


@pytest.fixture
def extension(clean: Stack, monkeypatch: pytest.MonkeyPatch) -> Iterator[ExtensionHandle]:
    handle = start_secrets_extension(clean.aws_port)
    monkeypatch.setenv("LEADHOOKS_SECRETS_VIA_EXTENSION", "true")
    monkeypatch.setenv("PARAMETERS_SECRETS_EXTENSION_HTTP_PORT", str(handle.port))
    monkeypatch.setenv("AWS_SESSION_TOKEN", handle.token)
    get_settings.cache_clear()
    secrets.clear_cache()
    yield handle
    handle.stop()
    monkeypatch.undo()
    get_settings.cache_clear()
    secrets.clear_cache()


def test_a_lead_is_delivered_with_secrets_from_the_extension(
    extension: ExtensionHandle, clean: Stack
) -> None:
    response = requests.post(
        f"{clean.api}/vitec/person-leads",
        json=BODY,
        headers={**API_KEY_HEADERS, "Idempotency-Key": str(uuid.uuid4())},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    assert sorted(set(extension.served)) == [
        "leadhooks/local/inbound",
        "leadhooks/local/journal",  # the journal's pepper (leadhooks.journal)
        "leadhooks/local/vitec",
    ]
    served = len(extension.served)
    again = requests.post(
        f"{clean.api}/vitec/person-leads",
        json=BODY,
        headers={**API_KEY_HEADERS, "Idempotency-Key": str(uuid.uuid4())},
        timeout=30,
    )
    assert again.status_code == 200
    assert len(extension.served) == served, "cached for SECRETS_MAX_AGE_S"


def test_a_wrong_token_fails_closed_without_leaking(
    extension: ExtensionHandle, clean: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_SESSION_TOKEN", "not-the-token")
    response = requests.post(
        f"{clean.api}/vitec/person-leads", json=BODY, headers=API_KEY_HEADERS, timeout=30
    )
    assert response.status_code == 500
    assert response.json()["error"] == "configuration_error"
    assert "not-the-token" not in response.text
    assert clean.records() == []
