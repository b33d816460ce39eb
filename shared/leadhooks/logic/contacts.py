"""Vitec CRM contacts: any number of ids, fetched in chunks of 20 concurrently, merged in request order."""

from __future__ import annotations

import hashlib
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from pydantic import ValidationError

from leadhooks.catalog import entry as catalog_entry
from leadhooks.core import InboundRequest, Outcome
from leadhooks.errors import AuthenticationError, BadRequestError, InputValidationError
from leadhooks.inbound.scope import authorize, customer_text
from leadhooks.logic.delivery import authenticate_request, valid_delivery_id
from leadhooks.models.api import ContactsResponse, DeliveryResponse, field_errors_from_validation
from leadhooks.observability import logger
from leadhooks.vendors.vitec.models import MAX_CONTACT_IDS_PER_REQUEST, ContactsQuery
from leadhooks.vendors.vitec.operations import MAX_CONTACT_IDS, contacts_request
from leadhooks.vendors.vitec.operations import get_contacts as fetch_chunk

MAX_PARALLEL_CALLS = 5


def _query(inbound: InboundRequest) -> ContactsQuery:
    # DESIGN §2: at most 200 ids per request, counted as sent (before duplicates are dropped), so a huge
    # list costs neither validation nor a single vendor call.
    given = sum(1 for part in (inbound.query.get("ids") or "").split(",") if part.strip())
    if given > MAX_CONTACT_IDS_PER_REQUEST:
        raise BadRequestError(
            f"at most {MAX_CONTACT_IDS_PER_REQUEST} contact ids per request; split the list",
            details=[
                {
                    "field": "ids",
                    "reason": f"{given} ids given, at most {MAX_CONTACT_IDS_PER_REQUEST} allowed",
                }
            ],
        )
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
    entry = catalog_entry("vitec_get_contacts")
    authorize(auth, entry)
    authorize(auth, entry, customer_text("vitec", inbound.query.get("customerId")))
    given_id = inbound.headers.get("idempotency-key")
    if given_id is not None and not valid_delivery_id(given_id):
        raise BadRequestError(  # never echoed: it may be anything the caller sent
            "the Idempotency-Key must be 1-128 characters of letters, digits and ._:@-",
            details=[{"field": "Idempotency-Key", "reason": "invalid format"}],
        )
    query = _query(inbound)
    ids = list(query.ids)
    digest = hashlib.sha256(f"{query.customer_id}:{','.join(ids)}".encode()).hexdigest()
    delivery_id = given_id or f"lh-{digest[:40]}"
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
