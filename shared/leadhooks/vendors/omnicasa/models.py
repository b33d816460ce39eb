"""Omnicasa API v3 `POST techworks/contactonme/{secretKey}`: request body and `ReturnResultOfInt32`.

JSON names are the vendor's PascalCase; where the generated alias would be wrong (`GSM`,
`IsWriteLogSQL`) it is set explicitly. The secret key is not part of the model: it comes from
Secrets Manager and only ever appears in the URL built by the client.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

from pydantic import AfterValidator, BeforeValidator, Field
from pydantic_core import PydanticCustomError

from leadhooks.vendors.model_base import (
    OmnicasaModel,
    OmnicasaResponseModel,
    OperationRequest,
    OptBool,
    OptInt,
    OptStr,
)

LANGUAGES = {1: "NL", 2: "FR", 3: "EN"}
DEFAULT_LANGUAGE_ID = 1


def _default_language(value: Any) -> Any:
    return DEFAULT_LANGUAGE_ID if value is None or (isinstance(value, str) and not value.strip()) else value


def _known_language(value: int) -> int:
    if value not in LANGUAGES:
        raise PydanticCustomError("language_id", "must be 1 (NL), 2 (FR) or 3 (EN)")
    return value


def _id_list(value: Any) -> Any:
    """CategorieIds is a comma-separated string ('1,2,3'); a list of ids is joined into one."""
    if isinstance(value, list | tuple):
        parts = [str(v).strip() for v in value if v is not None and str(v).strip()]
        return ",".join(parts) or None
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


LanguageId = Annotated[int, BeforeValidator(_default_language), AfterValidator(_known_language)]


class MediaLinkContactOnMeParameters(OmnicasaModel, defer_build=True):
    """Person info, property id and history fields; Omnicasa creates/updates the person, a task and history.

    `CustomerId` is the Python attribute `customer_number` (so that `customer_id` can be the text form
    every operation model shares).
    """

    customer_number: int = Field(alias="CustomerId")
    name: OptStr = None
    first_name: OptStr = None
    address_title: OptStr = None
    letter_title: OptStr = None
    address: OptStr = None
    city: OptStr = None
    zip: OptStr = None
    email: OptStr = None
    password: OptStr = None
    phone_number: OptStr = None
    gsm: OptStr = Field(default=None, alias="GSM")
    office_id: OptInt = None
    is_received_email: OptBool = None
    source_id: OptInt = None
    country_id: OptInt = None
    subject: OptStr = None
    content: OptStr = None
    property_id: OptInt = None
    profession: OptStr = None
    fax: OptStr = None
    categorie_ids: Annotated[OptStr, BeforeValidator(_id_list)] = None
    company_name: OptStr = None
    language_id_from_parameter: OptInt = None
    language_id: LanguageId = DEFAULT_LANGUAGE_ID
    is_write_log_sql: OptBool = Field(default=None, alias="IsWriteLogSQL")


class ContactOnMeRequest(OperationRequest, MediaLinkContactOnMeParameters):
    """Inbound contact-on-me: exactly the vendor body (the secret key is not the caller's to give)."""

    PATH_PARAMS: ClassVar[tuple[str, ...]] = ()
    FREE_TEXT_FIELD: ClassVar[str | None] = "Content"

    @property
    def customer_id(self) -> str:
        return str(self.customer_number)


class ReturnResultOfInt32(OmnicasaResponseModel, defer_build=True):
    """Omnicasa's answer: errors arrive as HTTP 200 with `Success: false`, `Code` and `Message`.

    `Value` is the person id on success.
    """

    success: bool
    code: int | None = None
    message: str | None = None
    value: int | None = None
