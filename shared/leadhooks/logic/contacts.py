"""Vitec CRM contacts: any number of ids, fetched in chunks of 20 concurrently, merged in request order."""

from __future__ import annotations

import hashlib
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from pydantic import ValidationError

from leadhooks.core import InboundRequest, Outcome
from leadhooks.errors import AuthenticationError, InputValidationError
from leadhooks.logic.delivery import authenticate_request
from leadhooks.models.api import ContactsResponse, DeliveryResponse, field_errors_from_validation
from leadhooks.observability import logger
from leadhooks.vendors.vitec.models import ContactsQuery
from leadhooks.vendors.vitec.operations import MAX_CONTACT_IDS, contacts_request
from leadhooks.vendors.vitec.operations import get_contacts as fetch_chunk

MAX_PARALLEL_CALLS = 5


def _query(inbound: InboundRequest) -> ContactsQuery:
    try:
        return ContactsQuery.model_validate(
            {"customerId": inbound.query.get("customerId"), "ids": inbound.query.get("ids")}
        )
    except ValidationError as exc:
        errors = field_errors_from_validation(exc)
        raise InputValidationError(
            "the query does not pass validation", details=[e.model_dump() for e in errors]
        ) from None


# A signature covers the request body, and a GET has none: a captured signed GET could be replayed
# with any query string (another customer's contacts). This read route takes an API key only.
_SIGNED = {
    "typeform": ("Typeform-Signature", "Typeform-Signature"),
    "standard_webhooks": ("Standard Webhooks", "webhook-signature"),
}


def get_contacts(inbound: InboundRequest) -> Outcome:
    auth = authenticate_request(inbound)
    if auth.scheme in _SIGNED:
        label, header = _SIGNED[auth.scheme]
        raise AuthenticationError(
            f"{label} is not accepted on GET /vitec/contacts: a signature covers the request body and a GET "
            "has none, so it could be replayed with any query; send x-api-key",
            details=[{"field": header, "reason": "unsupported"}],
        )
    query = _query(inbound)
    ids = list(query.ids)
    digest = hashlib.sha256(f"{query.customer_id}:{','.join(ids)}".encode()).hexdigest()
    delivery_id = inbound.headers.get("idempotency-key") or f"lh-{digest[:40]}"
    logger.set_correlation_id(delivery_id)
    chunks = query.chunks(MAX_CONTACT_IDS)
    if inbound.dry_run:
        requests = [contacts_request(query.customer_id, chunk) for chunk in chunks]
        body = DeliveryResponse(
            delivery_id=delivery_id,
            status="dry_run",
            vendor_request={"calls": [{"method": r.method, "path": r.path} for r in requests]},
        )
        return Outcome.of(200, body)
    with ThreadPoolExecutor(max_workers=min(MAX_PARALLEL_CALLS, len(chunks))) as pool:
        results = list(pool.map(lambda chunk: fetch_chunk(query.customer_id, chunk), chunks))
    by_id: dict[str, dict[str, Any]] = {}
    for contact in (c for chunk in results for c in chunk):
        by_id.setdefault(contact.id, contact.model_dump(mode="json", by_alias=True, exclude_none=True))
    contacts = [by_id[i] for i in ids if i in by_id]
    missing = [i for i in ids if i not in by_id]
    return Outcome.of(200, ContactsResponse(delivery_id=delivery_id, contacts=contacts, missing=missing))
