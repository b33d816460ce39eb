"""Omnicasa API v3 `POST techworks/contactonme/{secretKey}`: request body and `ReturnResultOfInt32`.

JSON names are the vendor's PascalCase (matched in any case); where the generated alias would be wrong
(`GSM`, `IsWriteLogSQL`) it is set explicitly. The secret key is not part of the model: it comes from
Secrets Manager and only ever appears in the URL built by the client.

The docs mark every body field "None." (no rule): none is required, none has a length, and
`LanguageId` lists 1-3 with a default of 1 (omnicasa-contactonme.txt:218) while the same page's sample
sends 21 (omnicasa-contactonme.txt:262), so any integer is passed on and Omnicasa applies its own default.
The types are the "Type" column. `IsWriteLogSQL` (omnicasa-contactonme.txt:224, "Write sql query for
debug") and `Password` (omnicasa-contactonme.txt:96) are Omnicasa's plumbing: never taken from a caller
(DESIGN §6), dropped and reported in the answer's `warnings`.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

from pydantic import BeforeValidator, ConfigDict, Field

from leadhooks.vendors.model_base import (
    Bool,
    Int,
    OmnicasaModel,
    OmnicasaResponseModel,
    OperationRequest,
    Phone,
    Text,
)


def _id_list(value: Any) -> Any:
    """CategorieIds is a comma-separated string (omnicasa-contactonme.txt:194 "example:'1,2,3'"): a list
    of ids is joined into one, in that documented form."""
    if isinstance(value, list | tuple):
        parts = [str(v).strip() for v in value if v is not None and str(v).strip()]
        return ",".join(parts) or None
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


class MediaLinkContactOnMeParameters(OmnicasaModel):
    """Person info, property id and history fields; Omnicasa creates/updates the person, a task and history.

    `CustomerId` is the Python attribute `customer_number` (so that `customer_id` can be the text form
    every operation model shares).
    """

    model_config = ConfigDict(defer_build=True)
    DROPPED: ClassVar[frozenset[str]] = frozenset({"iswritelogsql", "password"})

    customer_number: Int = Field(default=None, alias="CustomerId")  # omnicasa-contactonme.txt:24 integer
    name: Text = None
    first_name: Text = None
    address_title: Text = None
    letter_title: Text = None
    address: Text = None
    city: Text = None
    zip: Text = None
    email: Text = None
    phone_number: Phone = None
    gsm: Phone = Field(default=None, alias="GSM")
    office_id: Int = None  # omnicasa-contactonme.txt:120 integer
    is_received_email: Bool = None  # omnicasa-contactonme.txt:128 boolean
    source_id: Int = None  # omnicasa-contactonme.txt:136 integer
    country_id: Int = None  # omnicasa-contactonme.txt:144 integer
    subject: Text = None
    content: Text = None
    property_id: Int = None  # omnicasa-contactonme.txt:168 integer
    profession: Text = None
    fax: Phone = None
    categorie_ids: Annotated[Text, BeforeValidator(_id_list)] = None
    company_name: Text = None
    language_id_from_parameter: Int = None  # omnicasa-contactonme.txt:208 integer
    language_id: Int = None  # omnicasa-contactonme.txt:216 integer


class ContactOnMeRequest(OperationRequest, MediaLinkContactOnMeParameters):
    """Inbound contact-on-me: exactly the vendor body (the secret key is not the caller's to give)."""

    PATH_PARAMS: ClassVar[tuple[str, ...]] = ()
    FREE_TEXT_FIELD: ClassVar[str | None] = "Content"

    @property
    def customer_id(self) -> str:
        """The Omnicasa customer; "" when the body names none (the secret key's own account)."""
        return "" if self.customer_number is None else str(self.customer_number)


class ReturnResultOfInt32(OmnicasaResponseModel):
    """Omnicasa's answer: errors arrive as HTTP 200 with `Success: false`, `Code` and `Message`.

    `Value` is the person id on success.
    """

    model_config = ConfigDict(defer_build=True)

    success: bool
    code: int | None = None
    message: str | None = None
    value: int | None = None
