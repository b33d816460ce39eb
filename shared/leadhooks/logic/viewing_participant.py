"""Vitec viewing participant: POST Viewing/{customerId}/{viewingId}/{timeSlotId}/Participant/{contactId}."""

from __future__ import annotations

from typing import Any

from leadhooks.clients.vitec import get_vitec_client, viewing_participant_request
from leadhooks.logic.delivery import InboundRequest, OperationSpec, Outcome, deliver
from leadhooks.models.vitec import ViewingParticipantRequest


def _call(req: ViewingParticipantRequest) -> dict[str, Any]:
    get_vitec_client().add_viewing_participant(req)
    return {}


VIEWING_PARTICIPANT = OperationSpec(
    name="vitec_viewing_participant",
    vendor="vitec",
    model=ViewingParticipantRequest,
    describe=viewing_participant_request,
    call=_call,
    dedupe_safe=False,  # Vitec does not de-duplicate registrations: a lost answer is parked
)


def add_viewing_participant(inbound: InboundRequest) -> Outcome:
    return deliver(VIEWING_PARTICIPANT, inbound)
