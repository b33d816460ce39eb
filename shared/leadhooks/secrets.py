"""Credentials from Secrets Manager, read through a cache (DESIGN §7).

Two ways, one cache policy (`SECRETS_MAX_AGE_S`): the AWS Parameters and Secrets Lambda Extension
over localhost HTTP when its layer is attached (`LEADHOOKS_SECRETS_VIA_EXTENSION=true`: no boto3 on
the request path), else Powertools' SecretsProvider, which imports boto3 on first use.
"""

from __future__ import annotations

import json
import os
import time
from functools import lru_cache
from typing import Any

import requests

from leadhooks.aws import get_boto3_session
from leadhooks.errors import ConfigurationError, InputValidationError
from leadhooks.settings import get_settings


@lru_cache(maxsize=1)
def provider() -> Any:
    """Powertools' cached Secrets Manager provider, on the process's one boto3 session."""
    from aws_lambda_powertools.utilities.parameters import SecretsProvider

    return SecretsProvider(boto3_session=get_boto3_session())


def clear_cache() -> None:
    """Forget cached secret values (after a rotation, or in tests)."""
    _extension_cache.clear()
    if provider.cache_info().currsize:
        provider().clear_cache()


_extension_cache: dict[str, tuple[float, Any]] = {}


def _read_via_extension(secret_id: str, env_name: str) -> Any:
    """GET /secretsmanager/get on the extension; the session token proves we run in this sandbox."""
    settings = get_settings()
    cached = _extension_cache.get(secret_id)
    if cached and cached[0] > time.monotonic():
        return cached[1]
    from leadhooks.http import get_session

    try:
        response = get_session().get(
            f"http://localhost:{settings.secrets_extension_port}/secretsmanager/get",
            params={"secretId": secret_id},
            headers={"X-Aws-Parameters-Secrets-Token": os.environ.get("AWS_SESSION_TOKEN", "")},
            timeout=(1.0, 5.0),
        )
        response.raise_for_status()
        value = json.loads(response.json()["SecretString"])
    except (requests.RequestException, ValueError, KeyError, TypeError):
        raise ConfigurationError(f"secret {env_name} could not be read through the extension") from None
    _extension_cache[secret_id] = (time.monotonic() + settings.secrets_max_age_s, value)
    return value


def _read_json_secret(secret_id: str | None, env_name: str) -> dict[str, Any]:
    if not secret_id:
        raise ConfigurationError(f"{env_name} is not set")
    if get_settings().secrets_via_extension:
        value = _read_via_extension(secret_id, env_name)
        if not isinstance(value, dict):
            raise ConfigurationError(f"secret {env_name} must be a JSON object")
        return value
    from aws_lambda_powertools.utilities import parameters

    try:
        value = provider().get(secret_id, transform="json", max_age=get_settings().secrets_max_age_s)
    except parameters.exceptions.TransformParameterError:
        raise ConfigurationError(f"secret {env_name} is not valid JSON") from None
    except parameters.exceptions.GetParameterError:
        raise ConfigurationError(f"secret {env_name} could not be read") from None
    if not isinstance(value, dict):
        raise ConfigurationError(f"secret {env_name} must be a JSON object")
    return value


def vitec_credentials(customer_id: str) -> tuple[str, str]:
    """Basic-auth pair for one Vitec customer, falling back to the `default` entry."""
    data = _read_json_secret(get_settings().vitec_secret_id, "VITEC_SECRET_ID")
    customers = data.get("customers") or {}
    entry = customers.get(customer_id) or data.get("default")
    if not isinstance(entry, dict) or not entry.get("username") or not entry.get("password"):
        raise InputValidationError(
            "no Vitec credentials are configured for this customer",
            details=[
                {"field": "customerId", "reason": "no Vitec credentials are configured for this customer"}
            ],
        )
    return str(entry["username"]), str(entry["password"])


def omnicasa_secret_key() -> str:
    data = _read_json_secret(get_settings().omnicasa_secret_id, "OMNICASA_SECRET_ID")
    key = data.get("secretKey")
    if not isinstance(key, str) or not key:
        raise ConfigurationError("secret OMNICASA_SECRET_ID has no secretKey")
    return key


def vendor_secret(vendor: str) -> dict[str, Any]:
    """The whole secret of a vendor (`vitec` / `omnicasa`): pacing reads `customers.<id>.rateLimitRps`."""
    settings = get_settings()
    if vendor == "vitec":
        return _read_json_secret(settings.vitec_secret_id, "VITEC_SECRET_ID")
    return _read_json_secret(settings.omnicasa_secret_id, "OMNICASA_SECRET_ID")


def inbound_secret() -> dict[str, Any]:
    """Raw inbound-auth secret; `leadhooks.inbound.auth.InboundSecrets.from_json` gives it shape."""
    return _read_json_secret(get_settings().inbound_secret_id, "INBOUND_SECRET_ID")
