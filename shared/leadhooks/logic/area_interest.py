"""Vitec interest and contact on area: POST Interest/SendInterestAndContactOnArea."""

from __future__ import annotations

from typing import Any

from leadhooks.clients.vitec import area_interest_request, get_vitec_client
from leadhooks.logic.delivery import InboundRequest, OperationSpec, Outcome, deliver
from leadhooks.models.vitec import AreaInterestRequest


def _call(req: AreaInterestRequest) -> dict[str, Any]:
    get_vitec_client().send_interest_and_contact_on_area(req)
    return {}


AREA_INTEREST = OperationSpec(
    name="vitec_area_interest",
    vendor="vitec",
    model=AreaInterestRequest,
    describe=area_interest_request,
    call=_call,
    dedupe_safe=True,
)


def send_area_interest(inbound: InboundRequest) -> Outcome:
    return deliver(AREA_INTEREST, inbound)
