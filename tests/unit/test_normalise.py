"""Phone numbers after validation (DESIGN §6): the customer's country, the extension kept, anything that
is not clearly a phone number sent as given. The personnummer is not touched (the docs ask for no check)."""

from __future__ import annotations

from typing import Any

import phonenumbers
import pytest
from leadhooks import secrets
from leadhooks.catalog import BY_NAME
from leadhooks.vendors.normalise import customer_region, normalise_phone, normalise_phones, prepare
from leadhooks.vendors.omnicasa.models import ContactOnMeRequest
from leadhooks.vendors.vitec.models import AreaInterestRequest, PersonLeadRequest


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        ("070-123 45 67", "SE", "+46701234567"),
        ("+46 70 123 45 67", "SE", "+46701234567"),
        ("0046701234567", "SE", "+46701234567"),
        ("08-123 456 78", "SE", "+46812345678"),
        ("0475 12 34 56", "BE", "+32475123456"),
        ("09 223 45 67", "BE", "+3292234567"),
        ("+32 475 12 34 56", "SE", "+32475123456"),  # an international number keeps its own country
        ("031-712 34 56 ext. 12", "SE", "+46317123456 ext. 12"),
        ("031-712 34 56 x12", "SE", "+46317123456 ext. 12"),
        ("02 555 12 34 #7", "BE", "+3225551234 ext. 7"),
        ("not a phone", "SE", "not a phone"),
        ("070-123 45 67 (mobil)", "SE", "070-123 45 67 (mobil)"),  # words around it: sent as given
        ("12", "SE", "12"),  # not a valid number: sent as given
        ("", "SE", ""),
    ],
)
def test_normalise_phone(raw: str, region: str, expected: str) -> None:
    assert normalise_phone(raw, region) == expected


def test_an_extension_survives_a_second_pass() -> None:
    # Replay re-validates what was queued: normalising again must not change it.
    once = normalise_phone("031-712 34 56 ext. 12", "SE")
    assert normalise_phone(once, "BE") == once
    parsed = phonenumbers.parse(once, None)
    assert (parsed.country_code, parsed.national_number, parsed.extension) == (46, 317123456, "12")


def test_the_country_decides_what_a_national_number_means() -> None:
    # The issue: a Belgian national number sent to Vitec became +46… With the customer's country it is BE.
    assert normalise_phone("0470 12 34 56", "SE") == "+46470123456"
    assert normalise_phone("0470 12 34 56", "BE") == "+32470123456"


def test_only_phone_fields_are_touched() -> None:
    lead = PersonLeadRequest.model_validate(
        {
            "customerId": "M1",
            "person": {"firstName": "0701234567", "telephone": {"cell": "0701234567"}},
            "leadSource": {"name": "0701234567"},
            "message": "0701234567",
        }
    )
    normalise_phones(lead, lambda: "SE")
    assert lead.vendor_body() == {
        "person": {"firstName": "0701234567", "telephone": {"cell": "+46701234567"}},
        "leadSource": {"name": "0701234567"},
        "message": "0701234567",
    }


def test_every_phone_field_of_every_model() -> None:
    area = AreaInterestRequest.model_validate(
        {
            "updatePerson": {
                "customerId": "M1",
                "telePhone": "031-712 34 56",
                "workPhone": "031-712 34 56",
                "cellPhone": "070-123 45 67",
                "otherPhone": "070-123 45 67",
            },
            "lookingForAccommodations": [{}],
        }
    )
    normalise_phones(area, lambda: "SE")
    person = area.vendor_body()["updatePerson"]
    assert {person[k] for k in ("telePhone", "workPhone", "cellPhone", "otherPhone")} == {
        "+46317123456",
        "+46701234567",
    }
    omni = ContactOnMeRequest.model_validate(
        {"GSM": "0475 12 34 56", "PhoneNumber": "09 223 45 67", "Fax": "09 223 45 68"}
    )
    normalise_phones(omni, lambda: "BE")
    assert omni.vendor_body() == {"GSM": "+32475123456", "PhoneNumber": "+3292234567", "Fax": "+3292234568"}


def test_the_secret_is_read_only_when_there_is_a_phone(monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[tuple[str, str]] = []

    def region(vendor: str, customer_id: str) -> str | None:
        asked.append((vendor, customer_id))
        return "BE"

    monkeypatch.setattr(secrets, "customer_phone_region", region)
    spec = BY_NAME["vitec_person_lead"].operation()
    without = PersonLeadRequest.model_validate({"customerId": "M7", "person": {}, "leadSource": {}})
    prepare(spec, without)
    assert asked == []
    lead = PersonLeadRequest.model_validate(
        {"customerId": "M7", "person": {"telephone": {"cell": "0475 12 34 56"}}, "leadSource": {}}
    )
    prepare(spec, lead)
    assert asked == [("vitec", "M7")]
    assert lead.vendor_body()["person"]["telephone"]["cell"] == "+32475123456"


@pytest.mark.parametrize(("configured", "expected"), [(None, "SE"), ("BE", "BE"), ("XX", "SE")])
def test_customer_region(monkeypatch: pytest.MonkeyPatch, configured: str | None, expected: str) -> None:
    monkeypatch.setattr(secrets, "customer_phone_region", lambda vendor, customer: configured)
    assert customer_region("vitec", "M1", "SE") == expected


def test_customer_region_without_a_customer_uses_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_read(*_: Any) -> str:
        raise AssertionError("no customer: nothing to look up")

    monkeypatch.setattr(secrets, "customer_phone_region", no_read)
    assert customer_region("omnicasa", "", "BE") == "BE"


@pytest.mark.parametrize(
    ("secret", "customer", "expected"),
    [
        ({"customers": {"M1": {"username": "u", "password": "p", "phoneRegion": "be"}}}, "M1", "BE"),
        ({"customers": {"M1": {"username": "u"}}, "phoneRegion": "NO"}, "M1", "NO"),
        ({"customers": {"M1": {"username": "u"}}}, "M1", None),
        ({"secretKey": "k", "customers": {"101": {"phoneRegion": "NL"}}}, "101", "NL"),
        ({"secretKey": "k"}, "101", None),
    ],
)
def test_phone_region_in_the_vendor_secret(
    monkeypatch: pytest.MonkeyPatch, secret: dict[str, Any], customer: str, expected: str | None
) -> None:
    monkeypatch.setattr(secrets, "_read_json_secret", lambda secret_id, env_name: secret)
    assert secrets.customer_phone_region("vitec", customer) == expected
