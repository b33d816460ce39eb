"""Neutral types the pipeline and the vendor packages both import (DESIGN §11): nothing here imports
either side, so the arrows keep pointing one way (functions → pipeline → vendors → foundations)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict

if TYPE_CHECKING:
    from leadhooks.vendors.model_base import OperationRequest

Vendor = Literal["vitec", "omnicasa"]


@dataclass(frozen=True)
class InboundRequest:
    """An HTTP request as the logic layer sees it, whichever front door (Lambda or ASGI) it came in by."""

    route: str
    method: str
    headers: Mapping[str, str]  # lower-case names
    query: Mapping[str, str]
    raw_body: bytes
    path_params: Mapping[str, str] = field(default_factory=dict)

    @property
    def dry_run(self) -> bool:
        return self.query.get("dryRun", "").lower() in ("true", "1", "yes")


@dataclass
class Outcome:
    """What the route turns into an HTTP response."""

    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, status: int, model: BaseModel) -> Outcome:
        return cls(status, model.model_dump(mode="json", by_alias=True, exclude_none=True))


class VendorRequest(BaseModel):
    """A vendor call without credentials: what a dry run shows, a failure envelope keeps and the client
    sends. Described once per delivery (DESIGN §11)."""

    model_config = ConfigDict(frozen=True)

    vendor: Vendor
    method: Literal["GET", "POST"]
    path: str
    body: Any = None
    customer_id: str


@dataclass(frozen=True)
class VendorOperation:
    """One vendor write, declared by its vendor package: model, request description, call, semantics."""

    name: str
    vendor: Vendor
    model: type[OperationRequest]
    describe: Callable[[Any], VendorRequest]
    # Sends a described request; returns the result fields of the answer (`lead_id`, `person_id`, ...).
    execute: Callable[[VendorRequest], dict[str, Any]]
    # What one call creates at the vendor (DESIGN §6: no write is idempotent at the vendor).
    creates: str
    # After an ambiguous outcome (answer lost, 502/504, a function that died mid-call), may the write be
    # sent once more? A viewing registration never is (DESIGN §6).
    resend_after_ambiguous: bool
    # Where a national phone number without a country code is assumed to be (Vitec: SE, Omnicasa: BE),
    # unless the customer's entry in the vendor secret sets `phoneRegion` (leadhooks.vendors.normalise).
    phone_region: str = "SE"

    def call(self, model: Any) -> dict[str, Any]:
        return self.execute(self.describe(model))
