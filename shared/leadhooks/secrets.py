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
from leadhooks.errors import ConfigurationError, NoCredentialsError
from leadhooks.inbound.clients import InboundSecrets, fingerprint, parse_clients
from leadhooks.settings import get_settings


@lru_cache(maxsize=1)
def provider() -> Any:
    """Powertools' cached Secrets Manager provider, on the process's one boto3 session."""
    from aws_lambda_powertools.utilities.parameters import SecretsProvider

    return SecretsProvider(boto3_session=get_boto3_session())


def clear_cache() -> None:
    """Forget cached secret values (after a rotation, or in tests)."""
    _extension_cache.clear()
    _parsed_inbound.clear()
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
        raise NoCredentialsError(
            "no Vitec credentials are configured for this customer",
            details=[
                {"field": "customerId", "reason": "no Vitec credentials are configured for this customer"}
            ],
        )
    return str(entry["username"]), str(entry["password"])


def omnicasa_secret_key() -> str:
    """The Omnicasa key. None configured is a customer without credentials (parked or 422), not a 500."""
    secret_id = get_settings().omnicasa_secret_id
    data = _read_json_secret(secret_id, "OMNICASA_SECRET_ID") if secret_id else {}
    key = data.get("secretKey")
    if not isinstance(key, str) or not key:
        raise NoCredentialsError(
            "no Omnicasa credentials (secret key) are configured",
            details=[{"field": "CustomerId", "reason": "no Omnicasa credentials are configured"}],
        )
    return key


def vendor_secret(vendor: str) -> dict[str, Any]:
    """The whole secret of a vendor (`vitec` / `omnicasa`): pacing reads `customers.<id>.rateLimitRps`."""
    settings = get_settings()
    if vendor == "vitec":
        return _read_json_secret(settings.vitec_secret_id, "VITEC_SECRET_ID")
    return _read_json_secret(settings.omnicasa_secret_id, "OMNICASA_SECRET_ID")


def inbound_secret() -> dict[str, Any]:
    """Raw inbound-auth secret; `inbound_clients()` gives it shape."""
    return _read_json_secret(get_settings().inbound_secret_id, "INBOUND_SECRET_ID")


_parsed_inbound: dict[str, InboundSecrets] = {}
_PARSED_VERSIONS_KEPT = 4


def inbound_clients() -> InboundSecrets:
    """The inbound secret's clients (DESIGN §4), parsed once per secret version (its content fingerprint).

    A malformed entry never fails the request: it is skipped, and each problem is logged once per version,
    by client name and field, never by value (`leadhooks.inbound.clients`).
    """
    data = inbound_secret()
    version = fingerprint(data)
    parsed = _parsed_inbound.get(version)
    if parsed is None:
        parsed = parse_clients(data, min_api_key_chars=get_settings().inbound_min_api_key_chars)
        if len(_parsed_inbound) >= _PARSED_VERSIONS_KEPT:
            _parsed_inbound.clear()
        _parsed_inbound[version] = parsed
        _log_problems(parsed, version)
    return parsed


def _log_problems(parsed: InboundSecrets, version: str) -> None:
    from leadhooks.observability import logger

    for problem in parsed.problems:
        logger.warning(
            "inbound secret: entry skipped",
            extra={
                "client": problem.client,
                "field": problem.field,
                "reason": problem.reason,
                "secretVersion": version[:12],
            },
        )
    if not parsed.clients:
        logger.error("inbound secret: no usable client; every request is answered 401")


_VENDOR_SECRETS = {
    "vitec": ("vitec_secret_id", "VITEC_SECRET_ID"),
    "omnicasa": ("omnicasa_secret_id", "OMNICASA_SECRET_ID"),
}


def customer_phone_region(vendor: str, customer_id: str) -> str | None:
    """The country a customer's national phone numbers are in (`phoneRegion`, e.g. "SE", "BE"), if set.

    Read from the vendor secret: the customer's entry (`customers.<id>.phoneRegion`), else the secret's
    own `phoneRegion`; None when neither is set (the operation's default applies).
    """
    attribute, env_name = _VENDOR_SECRETS[vendor]
    data = _read_json_secret(getattr(get_settings(), attribute), env_name)
    customers = data.get("customers")
    entry = customers.get(customer_id) if isinstance(customers, dict) else None
    for source in (entry, data):
        region = source.get("phoneRegion") if isinstance(source, dict) else None
        if isinstance(region, str) and region.strip():
            return region.strip().upper()
    return None


def journal_secret() -> dict[str, Any]:
    """The delivery journal's peppers (`leadhooks.journal`): `{"journalPeppers": [newest, ...]}`."""
    return _read_json_secret(get_settings().journal_secret_id, "JOURNAL_SECRET_ID")
