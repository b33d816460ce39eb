"""The one operation catalog: every operation leadhooks serves, once.

Everything that lists operations iterates this: the handlers, the replay worker, warm-up, the local
API and OpenAPI, the sample events, the benchmarks, the reliability suite and the tests. The entries
are plain data; an operation's vendor package is imported only when that operation runs, so a
function's import graph holds its own vendor package and no other (DESIGN §11).

Adding an operation: an entry here, its `VendorOperation` in the vendor package's `operations.py`,
its model, `functions/<name>/app.py`, its resource in `template.yaml` and a sample event in `events/`
(`tests/unit/test_catalog.py` fails on any one forgotten).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from collections.abc import Callable

    from leadhooks.core import InboundRequest, Outcome, Vendor, VendorOperation

Kind = Literal["write", "read"]


@dataclass(frozen=True)
class Entry:
    """One operation: where it is served and where its code lives."""

    name: str  # the function folder (functions/<name>/) and the operation's name in envelopes
    route: str  # API Gateway path; `{param}` for path parameters
    method: Literal["GET", "POST"]
    vendor: Vendor | None  # None: a leadhooks-only read (deliveries)
    kind: Kind
    # "module:attribute": the VendorOperation (writes) or the logic function (reads)
    ref: str
    # DESIGN §4: a client's `operations` lists these (the route's last literal segment)
    scope: str
    # DESIGN §4: where the request names its vendor customer (a dotted native path, or the query parameter
    # of a read), which `leadhooks.inbound.scope.authorize` checks against the client's customers
    customer_field: str | None = None

    @property
    def resource_route(self) -> str:
        """The route as Powertools' resolvers spell path parameters (`<param>`)."""
        return self.route.replace("{", "<").replace("}", ">")

    def _target(self) -> Any:
        module, _, attribute = self.ref.partition(":")
        return getattr(importlib.import_module(module), attribute)

    def operation(self) -> VendorOperation:
        """The vendor write this entry runs (imports its vendor package)."""
        if self.kind != "write":
            raise TypeError(f"{self.name} is not a write operation")
        return _load(self)  # type: ignore[no-any-return]

    def logic(self) -> Callable[[InboundRequest], Outcome]:
        """The function a route calls with the inbound request."""
        if self.kind == "read":
            return _load(self)  # type: ignore[no-any-return]
        operation = self.operation()
        from leadhooks.logic.delivery import deliver

        return lambda inbound: deliver(operation, inbound)


@cache
def _load(entry: Entry) -> Any:
    return entry._target()


CATALOG: tuple[Entry, ...] = (
    Entry(
        name="omnicasa_contact_on_me",
        route="/omnicasa/contact-on-me",
        method="POST",
        vendor="omnicasa",
        kind="write",
        ref="leadhooks.vendors.omnicasa.operations:CONTACT_ON_ME",
        scope="contact-on-me",
        customer_field="CustomerId",
    ),
    Entry(
        name="vitec_viewing_participant",
        route="/vitec/viewing-participants",
        method="POST",
        vendor="vitec",
        kind="write",
        ref="leadhooks.vendors.vitec.operations:VIEWING_PARTICIPANT",
        scope="viewing-participants",
        customer_field="customerId",
    ),
    Entry(
        name="vitec_area_interest",
        route="/vitec/area-interests",
        method="POST",
        vendor="vitec",
        kind="write",
        ref="leadhooks.vendors.vitec.operations:AREA_INTEREST",
        scope="area-interests",
        customer_field="updatePerson.customerId",
    ),
    Entry(
        name="vitec_person_lead",
        route="/vitec/person-leads",
        method="POST",
        vendor="vitec",
        kind="write",
        ref="leadhooks.vendors.vitec.operations:PERSON_LEAD",
        scope="person-leads",
        customer_field="customerId",
    ),
    Entry(
        name="vitec_get_contacts",
        route="/vitec/contacts",
        method="GET",
        vendor="vitec",
        kind="read",
        ref="leadhooks.logic.contacts:get_contacts",
        scope="contacts",
        customer_field="customerId",
    ),
    Entry(
        name="deliveries",
        route="/deliveries/{deliveryId}",
        method="GET",
        vendor=None,
        kind="read",
        ref="leadhooks.logic.deliveries:get_delivery",
        scope="deliveries",
    ),
)

BY_NAME: dict[str, Entry] = {entry.name: entry for entry in CATALOG}
WRITES: tuple[Entry, ...] = tuple(e for e in CATALOG if e.kind == "write")


def entry(name: str) -> Entry:
    return BY_NAME[name]


def write_operation(name: str) -> VendorOperation | None:
    """The write named in a queued envelope, or None for a name the catalog does not know."""
    found = BY_NAME.get(name)
    return found.operation() if found is not None and found.kind == "write" else None
