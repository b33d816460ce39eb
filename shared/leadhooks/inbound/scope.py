"""Scope (DESIGN §4): may the authenticated client reach this operation and this customer?

One function, `authorize`, for every route: the write pipeline (`logic/delivery.py`), the contacts read
(`logic/contacts.py`) and `GET /deliveries/{id}`. Call it right after authentication with the catalog
entry alone (the operation), and again as soon as the customer is known (after parsing and adapting,
before validation errors are answered or anything is sent), with that customer.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum
from typing import TYPE_CHECKING, Any, Literal

from leadhooks.errors import ForbiddenError
from leadhooks.inbound.clients import normalise_customer

if TYPE_CHECKING:
    from pydantic import BaseModel

    from leadhooks.catalog import Entry
    from leadhooks.inbound.auth import AuthResult


class _Unknown(Enum):
    NOT_YET = "not yet known"


NOT_YET_KNOWN = _Unknown.NOT_YET


def authorize(
    auth: AuthResult,
    entry: Entry,
    customer_id: str | Literal[_Unknown.NOT_YET] | None = NOT_YET_KNOWN,
) -> None:
    """Raise `ForbiddenError` (403, nothing sent) unless `auth`'s client may use `entry`'s operation and,
    once known, reach `customer_id` of `entry`'s vendor.

    `customer_id=None` means the request names no customer: only a client with `"*"` for that vendor may
    send it (an Omnicasa request without `CustomerId`; a Vitec request without one fails validation next).
    The customer id is never echoed: a caller can put anything there.
    """
    if not auth.reach.may_use(entry.scope):
        raise ForbiddenError(
            f"this client may not use the operation '{entry.scope}'",
            details=[
                {"field": "operation", "reason": f"'{entry.scope}' is not among this client's operations"}
            ],
        )
    if customer_id is NOT_YET_KNOWN or entry.vendor is None:
        return
    if not auth.reach.may_reach(entry.vendor, customer_id):
        field = entry.customer_field or "customerId"
        reason = (
            "missing: this client may reach only named customers"
            if customer_id is None
            else "this client may not reach this customer"
        )
        raise ForbiddenError(
            f"this client may not reach this {entry.vendor} customer ({field})",
            details=[{"field": field, "reason": reason}],
        )


def customer_in(entry: Entry, model_cls: type[BaseModel], data: Mapping[str, Any]) -> str | None:
    """The customer an adapted (not yet validated) native body names, or None.

    Keys are matched as the adapters and the model match them (alias, field name, any case), so the
    customer checked here is the one the model will read; the pipeline checks the validated model's
    customer again before anything is sent.
    """
    if entry.customer_field is None or entry.vendor is None:
        return None
    from leadhooks.inbound.flat import resolve_path, step_into

    resolved = resolve_path(model_cls, entry.customer_field)
    if resolved is None:
        return None
    node: Any = data
    annotation: Any = model_cls
    for segment in resolved.segments:
        if not isinstance(node, Mapping):
            return None
        found = None
        for key in node:
            step = step_into(annotation, str(key))
            if step is not None and step[0] == segment:
                found, annotation = key, step[1]
                break
        if found is None:
            return None
        node = node[found]
    return customer_text(entry.vendor, node)


def customer_text(vendor: str, value: Any) -> str | None:
    """A customer value as text (ids arrive as numbers from forms); None when absent or blank."""
    if isinstance(value, bool) or value is None:
        return None if value is None else str(value)
    if isinstance(value, int):
        value = str(value)
    if not isinstance(value, str):
        return "(not an id)"  # a list or object: reaches no named customer, only "*"
    text = normalise_customer(vendor, value)
    return text or None
