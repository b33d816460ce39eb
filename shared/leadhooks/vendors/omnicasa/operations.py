"""Omnicasa's operation, declared once: path template (the secret key stays a placeholder until the
client sends it), method, answer parsing, what a write creates."""

from __future__ import annotations

from typing import Any

from leadhooks.core import VendorOperation, VendorRequest
from leadhooks.vendors.omnicasa.client import SECRET_PLACEHOLDER, VENDOR, get_omnicasa_client
from leadhooks.vendors.omnicasa.models import ContactOnMeRequest


def contact_on_me_request(req: ContactOnMeRequest) -> VendorRequest:
    return VendorRequest(
        vendor=VENDOR,
        method="POST",
        customer_id=req.customer_id,
        path=f"techworks/contactonme/{SECRET_PLACEHOLDER}",
        body=req.vendor_body(),
    )


def _person(vreq: VendorRequest) -> dict[str, Any]:
    """omnicasa-contactonme.txt: `Value` is the person's id."""
    return {"person_id": get_omnicasa_client().execute(vreq)}


CONTACT_ON_ME = VendorOperation(
    name="omnicasa_contact_on_me",
    vendor=VENDOR,
    model=ContactOnMeRequest,
    describe=contact_on_me_request,
    execute=_person,
    creates="a task and a history entry on every call (the person is created or updated)",
    resend_after_ambiguous=True,
    phone_region="BE",  # Omnicasa serves Belgian agencies
)
