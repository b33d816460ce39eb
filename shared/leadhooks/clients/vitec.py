"""Vitec Express Connect: one method per endpoint; HTTP Basic per customer (DESIGN §6)."""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any
from urllib.parse import quote

from pydantic import ValidationError

from leadhooks.clients.common import VendorRequest, auth_cooldown, json_or_lost, raise_for_vendor_status
from leadhooks.errors import AnswerLostError, VendorError
from leadhooks.http import send
from leadhooks.models.vitec import (
    AreaInterestRequest,
    CrmContact,
    PersonLeadRequest,
    ViewingParticipantRequest,
    parse_crm_contacts,
)
from leadhooks.secrets import vitec_credentials
from leadhooks.settings import get_settings

VENDOR = "vitec"
MAX_CONTACT_IDS = 20  # "max 20 stycken åt gången"


def _seg(value: str) -> str:
    """Ids go into the URL path: never let one add a path segment or a query."""
    return quote(value, safe="")


def person_lead_request(req: PersonLeadRequest) -> VendorRequest:
    return VendorRequest(
        vendor=VENDOR,
        method="POST",
        customer_id=req.customer_id,
        path=f"PublicAdvertising/{_seg(req.customer_id)}/Contact/Person/Lead",
        body=req.vendor_body(),
    )


def area_interest_request(req: AreaInterestRequest) -> VendorRequest:
    return VendorRequest(
        vendor=VENDOR,
        method="POST",
        customer_id=req.customer_id,
        path="Interest/SendInterestAndContactOnArea",
        body=req.vendor_body(),
    )


def viewing_participant_request(req: ViewingParticipantRequest) -> VendorRequest:
    p = req.path_params()
    path = (
        f"Viewing/{_seg(p['customerId'])}/{_seg(p['viewingId'])}/{_seg(p['timeSlotId'])}"
        f"/Participant/{_seg(p['contactId'])}"
    )
    return VendorRequest(
        vendor=VENDOR, method="POST", customer_id=req.customer_id, path=path, body=req.vendor_body()
    )


def contacts_request(customer_id: str, contact_ids: list[str]) -> VendorRequest:
    ids = ",".join(_seg(i) for i in contact_ids)
    return VendorRequest(
        vendor=VENDOR, method="GET", customer_id=customer_id, path=f"CRM/Contact/{_seg(customer_id)}/{ids}"
    )


class VitecClient:
    """Clients hold no mapping: they send a VendorRequest and classify the answer."""

    def __init__(
        self, base_url: str, credentials: Callable[[str], tuple[str, str]] = vitec_credentials
    ) -> None:
        self._base_url = base_url.rstrip("/")
        self._credentials = credentials

    def execute(self, vreq: VendorRequest, *, retry_lost_answer: bool) -> Any:
        """Send one call; return the decoded JSON answer (None for 204)."""
        auth_cooldown.check(VENDOR, vreq.customer_id)
        response = send(
            vreq.method,
            f"{self._base_url}/{vreq.path}",
            vendor=VENDOR,
            retry_lost_answer=retry_lost_answer,
            auth=self._credentials(vreq.customer_id),
            json=vreq.body if vreq.method == "POST" else None,
        )
        auth_cooldown.record(VENDOR, vreq.customer_id, response.status_code)
        raise_for_vendor_status(response, VENDOR, vreq.customer_id)
        if response.status_code == 204 or not response.content:
            return None
        return json_or_lost(response, VENDOR)

    def create_person_lead(self, req: PersonLeadRequest) -> str:
        """Vitec de-duplicates the person (dubblettkontroll), so a lost answer may be retried."""
        lead_id = self.execute(person_lead_request(req), retry_lost_answer=True)
        if not isinstance(lead_id, str) or not lead_id:
            raise AnswerLostError("vitec answered without a lead id", vendor=VENDOR)
        return lead_id

    def send_interest_and_contact_on_area(self, req: AreaInterestRequest) -> None:
        self.execute(area_interest_request(req), retry_lost_answer=True)

    def add_viewing_participant(self, req: ViewingParticipantRequest) -> None:
        """Not de-duplicated by Vitec: a lost answer is parked for review, never repeated blindly."""
        self.execute(viewing_participant_request(req), retry_lost_answer=False)

    def get_contacts(self, customer_id: str, contact_ids: list[str]) -> list[CrmContact]:
        """Typed by the `type` discriminator: Person, Company or DeceasedEstate."""
        if not 0 < len(contact_ids) <= MAX_CONTACT_IDS:
            raise ValueError(f"between 1 and {MAX_CONTACT_IDS} ids per call")
        answer = self.execute(contacts_request(customer_id, contact_ids), retry_lost_answer=True)
        try:
            return parse_crm_contacts(answer)
        except ValidationError:
            raise VendorError(
                "vitec answered the contact list in an unexpected shape", vendor=VENDOR
            ) from None


@lru_cache(maxsize=1)
def get_vitec_client() -> VitecClient:
    return VitecClient(get_settings().vitec_base_url)
