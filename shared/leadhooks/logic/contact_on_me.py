"""Omnicasa contact-on-me: POST techworks/contactonme/{secretKey}."""

from __future__ import annotations

from typing import Any

from leadhooks.clients.omnicasa import contact_on_me_request, get_omnicasa_client
from leadhooks.logic.delivery import InboundRequest, OperationSpec, Outcome, deliver
from leadhooks.models.omnicasa import ContactOnMeRequest


def _call(req: ContactOnMeRequest) -> dict[str, Any]:
    return {"person_id": get_omnicasa_client().contact_on_me(req)}


CONTACT_ON_ME = OperationSpec(
    name="omnicasa_contact_on_me",
    vendor="omnicasa",
    model=ContactOnMeRequest,
    describe=contact_on_me_request,
    call=_call,
    dedupe_safe=True,
    phone_region="BE",  # Omnicasa serves Belgian agencies
)


def contact_on_me(inbound: InboundRequest) -> Outcome:
    return deliver(CONTACT_ON_ME, inbound)
