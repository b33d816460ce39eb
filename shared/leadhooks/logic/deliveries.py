"""`GET /deliveries/{deliveryId}` (DESIGN §5): where one of the caller's deliveries stands.

Read from the delivery record (`leadhooks.deliveries`). Only the client that sent a delivery sees it:
the lookup is by the caller's own `<client>#<operation>#<deliveryId>` keys, one per write operation of
the catalog in one BatchGetItem, so another client's delivery is simply not found (404).
"""

from __future__ import annotations

import re

from leadhooks.catalog import entry
from leadhooks.core import InboundRequest, Outcome
from leadhooks.deliveries import DeliveryKey, get_store
from leadhooks.errors import AuthenticationError, BadRequestError, NotFoundError
from leadhooks.inbound.scope import authorize
from leadhooks.logic.delivery import authenticate_request
from leadhooks.models.api import DeliveryState
from leadhooks.observability import logger

_DELIVERY_ID = re.compile(r"^[A-Za-z0-9._:@-]{1,128}$")
NAME = "deliveries"  # the catalog entry (its scope is "deliveries" too)


def get_delivery(inbound: InboundRequest) -> Outcome:
    from leadhooks.catalog import WRITES

    auth = authenticate_request(inbound)
    if auth.signed:  # a signature covers a body, and a GET has none (as GET /vitec/contacts)
        raise AuthenticationError(
            "GET /deliveries takes x-api-key only: a signature covers the request body and a GET has none",
            details=[{"field": "headers", "reason": "unsupported"}],
        )
    authorize(auth, entry(NAME))  # DESIGN §4: the client's `operations` must allow "deliveries"
    delivery_id = inbound.path_params.get("deliveryId", "")
    if not _DELIVERY_ID.match(delivery_id):
        raise BadRequestError(
            "a deliveryId is 1-128 characters of letters, digits and ._:@-",
            details=[{"field": "deliveryId", "reason": "invalid format"}],
        )
    logger.set_correlation_id(delivery_id)
    keys = [DeliveryKey(auth.client, entry.name, delivery_id) for entry in WRITES]
    records = get_store().batch_get(keys)
    if not records:
        error = NotFoundError(
            "no delivery with this id", details=[{"field": "deliveryId", "reason": "not found"}]
        )
        error.delivery_id = delivery_id
        raise error
    # Two operations may share an id (one sender, two forms): the latest one is the answer.
    record = max(records, key=lambda r: r.received_at or "")
    state = DeliveryState(
        delivery_id=delivery_id,
        operation=record.key.operation,
        status=record.status,
        attempts=record.attempts,
        next_attempt_at=record.next_attempt_at if record.status == "queued" else None,
        reason=record.reason if record.status == "parked" else None,
        result=record.result or None,
    )
    return Outcome.of(200, state)
