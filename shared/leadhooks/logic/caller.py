"""Who is calling: the first step of every route, write or read (DESIGN §4).

Its own small module so the reads (contacts, deliveries) authenticate without importing the write
pipeline (`logic.delivery`) and, with it, the queues, the failure envelope and the archive.
"""

from __future__ import annotations

import re

from leadhooks.core import InboundRequest
from leadhooks.inbound.auth import AuthResult, authenticate
from leadhooks.secrets import inbound_clients

DELIVERY_ID = re.compile(r"^[A-Za-z0-9._:@-]{1,128}$")


def authenticate_request(inbound: InboundRequest) -> AuthResult:
    """DESIGN §4: before anything else, including parsing. The result names the client (`auth.client`)."""
    return authenticate(inbound.headers, inbound.raw_body, inbound_clients())


def valid_delivery_id(value: str) -> bool:
    """A caller-chosen delivery id (event_id, webhook-id, Idempotency-Key) fit to store and echo."""
    return bool(DELIVERY_ID.match(value))
