"""Vitec Express Connect: one `execute` for every operation; HTTP Basic per customer (DESIGN §6)."""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any, Final

from leadhooks.core import VendorRequest
from leadhooks.errors import TransientVendorError
from leadhooks.http import send
from leadhooks.secrets import vitec_credentials
from leadhooks.settings import get_settings
from leadhooks.vendors.common import (
    auth_cooldown,
    json_or_lost,
    note_throttle,
    raise_for_vendor_status,
    retry_throttled_in_request,
)

VENDOR: Final = "vitec"


class VitecClient:
    """Clients hold no mapping: they send a VendorRequest and classify the answer."""

    def __init__(
        self, base_url: str, credentials: Callable[[str], tuple[str, str]] = vitec_credentials
    ) -> None:
        self._base_url = base_url.rstrip("/")
        self._credentials = credentials

    def execute(self, vreq: VendorRequest) -> Any:
        """Send one call; return the decoded JSON answer (None for 204). A GET creates nothing, so only
        it may be repeated inside the request after an ambiguous outcome."""
        auth_cooldown.check(VENDOR, vreq.customer_id)
        try:
            response = send(
                vreq.method,
                f"{self._base_url}/{vreq.path}",
                vendor=VENDOR,
                idempotent=vreq.method == "GET",
                retry_throttled=retry_throttled_in_request(vreq.method),
                auth=self._credentials(vreq.customer_id),
                json=vreq.body if vreq.method == "POST" else None,
            )
        except TransientVendorError as exc:
            note_throttle(exc, VENDOR, vreq.customer_id)
            raise
        auth_cooldown.record(VENDOR, vreq.customer_id, response.status_code)
        raise_for_vendor_status(response, VENDOR, vreq.customer_id)
        if response.status_code == 204 or not response.content:
            return None
        return json_or_lost(response, VENDOR)


@lru_cache(maxsize=1)
def get_vitec_client() -> VitecClient:
    return VitecClient(get_settings().vitec_base_url)
