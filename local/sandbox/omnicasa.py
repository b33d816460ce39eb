"""Omnicasa API v3 `techworks/contactonme/{secretKey}`.

Omnicasa answers its own errors as HTTP 200 with `Success: false`, a `Code` and a `Message`
(only the transport, e.g. an unsupported media type or an injected fault, uses HTTP codes).
The secret key sits in the URL, so every path the sandbox shows or logs goes through
`mask_path` first.
"""

from __future__ import annotations

import hmac
import re
from typing import Any

from local.sandbox.store import Store
from local.sandbox.validate import JsonObj, as_int, as_text, field, is_bool, is_int, text_or_none
from local.sandbox.wire import BodyError, RejectedError, Reply, Request, Route, json_reply, route

VENDOR = "omnicasa"
PREFIX = "/omnicasa"
MASK = "*****"

_SECRET_IN_PATH = re.compile(r"(/techworks/contactonme/)[^/?#\s]+", re.IGNORECASE)

# The documented MediaLinkContactOnMeParameters fields and their types, omnicasa-contactonme.txt:22-230.
# Every one is "None." under Additional information: none is required, so an empty body is taken.
_TEXT_FIELDS = (
    "Name", "FirstName", "AddressTitle", "LetterTitle", "Address", "City", "Zip", "Email", "Password",
    "PhoneNumber", "GSM", "Subject", "Content", "Profession", "Fax", "CategorieIds", "CompanyName",
)  # fmt: skip
_INT_FIELDS = (
    "CustomerId", "OfficeId", "SourceId", "CountryId", "PropertyId", "LanguageIdFromParameter", "LanguageId",
)  # fmt: skip
_BOOL_FIELDS = ("IsReceivedEmail", "IsWriteLogSQL")
# What the sandbox keeps of a person (never the password).
_PERSON_FIELDS = (
    "Name", "FirstName", "AddressTitle", "LetterTitle", "Address", "City", "Zip", "Email", "PhoneNumber",
    "GSM", "OfficeId", "IsReceivedEmail", "SourceId", "CountryId", "Profession", "Fax", "CategorieIds",
    "CompanyName", "LanguageId",
)  # fmt: skip
# Stats, rate limit and records name an Omnicasa call by its CustomerId, or this when it has none.
NO_CUSTOMER = "omnicasa"


def mask_path(path: str) -> str:
    """The secret key must never reach a log line or a record."""
    return _SECRET_IN_PATH.sub(lambda match: match.group(1) + MASK, path)


def result(success: bool, code: int = 0, message: str = "", value: int = 0) -> Reply:
    """ReturnResultOfInt32, omnicasa-contactonme.txt:300-348: errors are Success false, Code, Message."""
    return json_reply(200, {"Success": success, "Code": code, "Message": message, "Value": value})


def customer_key(body: Any) -> str:
    """The body's CustomerId as text ("101"), or NO_CUSTOMER when it has none."""
    value = as_int(field(body, "CustomerId")) if isinstance(body, dict) else None
    return NO_CUSTOMER if value is None else str(value)


def _type_errors(body: JsonObj) -> list[str]:
    """Only what Newtonsoft cannot bind to the documented type (validate.py) is refused."""
    wrong = []
    for name in _TEXT_FIELDS:
        value = field(body, name)
        if value is not None and as_text(value) is None:
            wrong.append(name)
    for name in _INT_FIELDS:
        value = field(body, name)
        if value is not None and not is_int(value):
            wrong.append(name)
    for name in _BOOL_FIELDS:
        value = field(body, name)
        if value is not None and not is_bool(value):
            wrong.append(name)
    return wrong


class OmnicasaApi:
    def __init__(self, store: Store, secret_key: str) -> None:
        # The seed's customers are only examples: any CustomerId (or none) is taken, no doc rule.
        self._store = store
        self._secret = secret_key.encode()
        self._path = re.compile(rf"^{PREFIX}/", re.IGNORECASE)

    def routes(self) -> list[Route]:
        return [route("POST", rf"^{PREFIX}/techworks/contactonme/([^/]+)/?$", self.contact_on_me)]

    def customer_of(self, request: Request) -> str | None:
        """For stats and the rate limit: the body's CustomerId, else NO_CUSTOMER."""
        if self._path.match(request.path) is None:
            return None
        try:
            body = request.json_body(any_media_type=True)
        except BodyError:
            body = None
        return customer_key(body)

    def contact_on_me(self, request: Request, params: tuple[str, ...]) -> Reply:
        # omnicasa-contactonme.txt:10-16: secretKey "is used to authenticate user", Required.
        if not hmac.compare_digest(params[0].encode(), self._secret):
            return result(False, 401, "Secret key is not valid.")
        try:
            body = request.json_body()
        except BodyError as exc:
            if exc.unsupported_media:
                raise RejectedError(json_reply(415, {"Message": str(exc)})) from None
            return result(False, 400, f"Request body is not valid: {exc}")
        if body is None:
            body = {}
        if not isinstance(body, dict):
            return result(False, 400, "Request body must be a MediaLinkContactOnMeParameters object.")
        wrong = _type_errors(body)
        if wrong:
            return result(False, 400, f"Invalid value for field(s): {', '.join(wrong)}.")
        customer = customer_key(body)
        person = {name: field(body, name) for name in _PERSON_FIELDS}
        with self._store.tx() as tx:
            # omnicasa-contactonme.txt:3 "create/update person, task, history"; :302 the person id
            # comes back in Value.
            person_id = tx.upsert_omnicasa_person(
                as_int(field(body, "CustomerId")) or 0, text_or_none(field(body, "Email")), person
            )
            tx.add_record(VENDOR, "contact_on_me", customer, body, mask_path(request.path), person_id)
        return result(True, value=person_id)
