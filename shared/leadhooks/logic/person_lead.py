"""Vitec person lead: POST PublicAdvertising/{customerId}/Contact/Person/Lead."""

from __future__ import annotations

from typing import Any

from leadhooks.clients.vitec import get_vitec_client, person_lead_request
from leadhooks.logic.delivery import InboundRequest, OperationSpec, Outcome, deliver
from leadhooks.models.vitec import PersonLeadRequest


def _call(req: PersonLeadRequest) -> dict[str, Any]:
    return {"lead_id": get_vitec_client().create_person_lead(req)}


PERSON_LEAD = OperationSpec(
    name="vitec_person_lead",
    vendor="vitec",
    model=PersonLeadRequest,
    describe=person_lead_request,
    call=_call,
    dedupe_safe=True,
)


def create_person_lead(inbound: InboundRequest) -> Outcome:
    return deliver(PERSON_LEAD, inbound)
