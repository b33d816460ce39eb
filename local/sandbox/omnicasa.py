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
from local.sandbox.validate import JsonObj, field, text_or_none
from local.sandbox.wire import BodyError, RejectedError, Reply, Request, Route, json_reply, route

VENDOR = "omnicasa"
PREFIX = "/omnicasa"
MASK = "*****"

_SECRET_IN_PATH = re.compile(r"(/techworks/contactonme/)[^/?#\s]+", re.IGNORECASE)

# The documented MediaLinkContactOnMeParameters fields and their JSON types.
_TEXT_FIELDS = (
    "Name", "FirstName", "AddressTitle", "LetterTitle", "Address", "City", "Zip", "Email", "Password",
    "PhoneNumber", "GSM", "Subject", "Content", "Profession", "Fax", "CategorieIds", "CompanyName",
)  # fmt: skip
_INT_FIELDS = ("OfficeId", "SourceId", "CountryId", "PropertyId", "LanguageIdFromParameter", "LanguageId")
_BOOL_FIELDS = ("IsReceivedEmail", "IsWriteLogSQL")
# What the sandbox keeps of a person (never the password).
_PERSON_FIELDS = (
    "Name", "FirstName", "AddressTitle", "LetterTitle", "Address", "City", "Zip", "Email", "PhoneNumber",
    "GSM", "OfficeId", "IsReceivedEmail", "SourceId", "CountryId", "Profession", "Fax", "CategorieIds",
    "CompanyName", "LanguageId",
)  # fmt: skip


def mask_path(path: str) -> str:
    """The secret key must never reach a log line or a record."""
    return _SECRET_IN_PATH.sub(lambda match: match.group(1) + MASK, path)


def result(success: bool, code: int = 0, message: str = "", value: int = 0) -> Reply:
    return json_reply(200, {"Success": success, "Code": code, "Message": message, "Value": value})


def failure(code: int, message: str) -> RejectedError:
    return RejectedError(result(False, code, message))


def _customer_id(value: Any) -> int:
    """Newtonsoft reads "101" as 101 for an int, and a missing int as 0 (no such customer)."""
    if value is None:
        return 0
    if isinstance(value, bool):
        raise failure(400, "Invalid value for field(s): CustomerId.")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    raise failure(400, "Invalid value for field(s): CustomerId.")


def _type_errors(body: JsonObj) -> list[str]:
    wrong = []
    for name in _TEXT_FIELDS:
        value = field(body, name)
        if value is not None and not isinstance(value, str):
            wrong.append(name)
    for name in _INT_FIELDS:
        value = field(body, name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            wrong.append(name)
    for name in _BOOL_FIELDS:
        value = field(body, name)
        if value is not None and not isinstance(value, bool):
            wrong.append(name)
    return wrong


class OmnicasaApi:
    def __init__(self, store: Store, secret_key: str, customer_ids: list[int]) -> None:
        self._store = store
        self._secret = secret_key.encode()
        self._customer_ids = set(customer_ids)

    def routes(self) -> list[Route]:
        return [route("POST", rf"^{PREFIX}/techworks/contactonme/([^/]+)/?$", self.contact_on_me)]

    def contact_on_me(self, request: Request, params: tuple[str, ...]) -> Reply:
        if not hmac.compare_digest(params[0].encode(), self._secret):
            return result(False, 401, "Secret key is not valid.")
        try:
            body = request.json_body()
        except BodyError as exc:
            if exc.unsupported_media:
                raise RejectedError(json_reply(415, {"Message": str(exc)})) from None
            return result(False, 400, f"Request body is not valid: {exc}")
        if not isinstance(body, dict):
            return result(False, 400, "Request body must be a MediaLinkContactOnMeParameters object.")
        customer_id = _customer_id(field(body, "CustomerId"))
        if customer_id not in self._customer_ids:
            return result(False, 404, f"Customer {customer_id} not found.")
        wrong = _type_errors(body)
        if wrong:
            return result(False, 400, f"Invalid value for field(s): {', '.join(wrong)}.")
        missing = []
        if text_or_none(field(body, "Name")) is None:
            missing.append("Name")
        if not any(text_or_none(field(body, name)) for name in ("Email", "PhoneNumber", "GSM")):
            missing.append("Email or PhoneNumber/GSM")
        if missing:
            return result(False, 400, f"Missing required field(s): {'; '.join(missing)}.")
        person = {name: field(body, name) for name in _PERSON_FIELDS}
        with self._store.tx() as tx:
            person_id = tx.upsert_omnicasa_person(customer_id, field(body, "Email"), person)
            tx.add_record(VENDOR, "contact_on_me", str(customer_id), body, mask_path(request.path), person_id)
        return result(True, value=person_id)
