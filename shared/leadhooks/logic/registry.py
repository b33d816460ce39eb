"""Every write operation by name: what the replay worker and the ops CLI dispatch on."""

from __future__ import annotations

from leadhooks.logic.area_interest import AREA_INTEREST
from leadhooks.logic.contact_on_me import CONTACT_ON_ME
from leadhooks.logic.delivery import OperationSpec
from leadhooks.logic.person_lead import PERSON_LEAD
from leadhooks.logic.viewing_participant import VIEWING_PARTICIPANT

OPERATIONS: dict[str, OperationSpec] = {
    spec.name: spec for spec in (PERSON_LEAD, AREA_INTEREST, VIEWING_PARTICIPANT, CONTACT_ON_ME)
}
