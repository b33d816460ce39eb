"""Omnicasa API v3: the secret key is part of the URL path, so URLs only ever leave here masked."""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Final
from urllib.parse import quote

from leadhooks.core import VendorRequest
from leadhooks.errors import AnswerLostError, PermanentVendorError, TransientVendorError
from leadhooks.http import send
from leadhooks.masking import MASK, mask_text
from leadhooks.secrets import omnicasa_secret_key
from leadhooks.settings import get_settings
from leadhooks.vendors.common import (
    json_or_lost,
    note_throttle,
    raise_for_vendor_status,
    retry_throttled_in_request,
)

VENDOR: Final = "omnicasa"
SECRET_PLACEHOLDER = "{secretKey}"  # noqa: S105 - a URL template, not a secret


class OmnicasaClient:
    def __init__(self, base_url: str, secret_key: Callable[[], str] = omnicasa_secret_key) -> None:
        self._base_url = base_url.rstrip("/")
        self._secret_key = secret_key

    def execute(self, vreq: VendorRequest) -> int:
        """Send one call; errors arrive as HTTP 200 with Success:false (DESIGN §6). Returns `Value`."""
        key = self._secret_key()
        url = f"{self._base_url}/{vreq.path.replace(SECRET_PLACEHOLDER, quote(key, safe=''))}"
        try:
            response = send(
                "POST", url, vendor=VENDOR, retry_throttled=retry_throttled_in_request("POST"), json=vreq.body
            )
        except TransientVendorError as exc:
            note_throttle(exc, VENDOR, vreq.customer_id)
            raise
        raise_for_vendor_status(response, VENDOR, vreq.customer_id)
        answer = json_or_lost(response, VENDOR)
        if not isinstance(answer, dict) or "Success" not in answer:
            raise AnswerLostError("omnicasa answered without a result", vendor=VENDOR)
        if answer.get("Success") is not True:
            message = mask_text(str(answer.get("Message") or "no message"), (key,)).replace(key, MASK)
            raise PermanentVendorError(
                f"omnicasa rejected the request (Code {answer.get('Code')}): {message[:300]}",
                vendor=VENDOR,
                vendor_status=response.status_code,
                vendor_code=answer.get("Code"),
            )
        value = answer.get("Value")
        if not isinstance(value, int):
            raise AnswerLostError("omnicasa answered without a person id", vendor=VENDOR)
        return value


@lru_cache(maxsize=1)
def get_omnicasa_client() -> OmnicasaClient:
    return OmnicasaClient(get_settings().omnicasa_base_url)
