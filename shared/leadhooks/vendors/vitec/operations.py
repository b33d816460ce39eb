"""Vitec's operations, declared once: path template, method, answer parsing, what a write creates.

The catalog (`leadhooks.catalog`) points here; the pipeline describes a request with `describe` and
uses that one description for the dry run, the failure envelope and the call.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from pydantic import ValidationError

from leadhooks.core import VendorOperation, VendorRequest
from leadhooks.errors import AnswerLostError, VendorError
from leadhooks.vendors.vitec.client import VENDOR, get_vitec_client
from leadhooks.vendors.vitec.models import (
    AreaInterestRequest,
    CrmContact,
    PersonLeadRequest,
    ViewingParticipantRequest,
    parse_crm_contacts,
)

MAX_CONTACT_IDS = 20  # vitec-crm-contacts.txt: "max 20 stycken åt gången"


def _seg(value: str) -> str:
    """Ids go into the URL path: never let one add a path segment or a query."""
    return quote(value, safe="")


def _post(customer_id: str, path: str, body: dict[str, Any]) -> VendorRequest:
    return VendorRequest(vendor=VENDOR, method="POST", customer_id=customer_id, path=path, body=body)


# ---- request descriptions ----------------------------------------------------------------------


def person_lead_request(req: PersonLeadRequest) -> VendorRequest:
    path = f"PublicAdvertising/{_seg(req.customer_id)}/Contact/Person/Lead"
    return _post(req.customer_id, path, req.vendor_body())


def area_interest_request(req: AreaInterestRequest) -> VendorRequest:
    return _post(req.customer_id, "Interest/SendInterestAndContactOnArea", req.vendor_body())


def viewing_participant_request(req: ViewingParticipantRequest) -> VendorRequest:
    p = req.path_params()
    path = (
        f"Viewing/{_seg(p['customerId'])}/{_seg(p['viewingId'])}/{_seg(p['timeSlotId'])}"
        f"/Participant/{_seg(p['contactId'])}"
    )
    return _post(req.customer_id, path, req.vendor_body())


def contacts_request(customer_id: str, contact_ids: list[str]) -> VendorRequest:
    ids = ",".join(_seg(i) for i in contact_ids)
    return VendorRequest(
        vendor=VENDOR, method="GET", customer_id=customer_id, path=f"CRM/Contact/{_seg(customer_id)}/{ids}"
    )


# ---- answers -----------------------------------------------------------------------------------


def _lead_created(vreq: VendorRequest) -> dict[str, Any]:
    """vitec-person-lead.txt: the answer is the new lead's id (a string)."""
    lead_id = get_vitec_client().execute(vreq)
    if not isinstance(lead_id, str) or not lead_id:
        raise AnswerLostError("vitec answered without a lead id", vendor=VENDOR)
    return {"lead_id": lead_id}


def _no_result(vreq: VendorRequest) -> dict[str, Any]:
    get_vitec_client().execute(vreq)
    return {}


def get_contacts(customer_id: str, contact_ids: list[str]) -> list[CrmContact]:
    """One chunk of at most 20 ids, typed by the `type` discriminator."""
    if not 0 < len(contact_ids) <= MAX_CONTACT_IDS:
        raise ValueError(f"between 1 and {MAX_CONTACT_IDS} ids per call")
    answer = get_vitec_client().execute(contacts_request(customer_id, contact_ids))
    try:
        return parse_crm_contacts(answer)
    except ValidationError:
        raise VendorError("vitec answered the contact list in an unexpected shape", vendor=VENDOR) from None


# ---- the operations ----------------------------------------------------------------------------

PERSON_LEAD = VendorOperation(
    name="vitec_person_lead",
    vendor=VENDOR,
    model=PersonLeadRequest,
    describe=person_lead_request,
    execute=_lead_created,
    creates="a lead on every call (the person is de-duplicated, the lead is not)",
    resend_after_ambiguous=True,
)

AREA_INTEREST = VendorOperation(
    name="vitec_area_interest",
    vendor=VENDOR,
    model=AreaInterestRequest,
    describe=area_interest_request,
    execute=_no_result,
    creates="an interest on every call",
    resend_after_ambiguous=True,
)

VIEWING_PARTICIPANT = VendorOperation(
    name="vitec_viewing_participant",
    vendor=VENDOR,
    model=ViewingParticipantRequest,
    describe=viewing_participant_request,
    execute=_no_result,
    creates="a participation in the viewing time slot",
    resend_after_ambiguous=False,
)
