"""The OpenAPI document of the local API (`/openapi.json`, Swagger UI at `/docs`); never built in Lambda.

The routes take a raw `Request` (the body is signed, so it is read as bytes and parsed by the
pipeline), so Powertools sees no typed body, query or response. `LocalResolver` adds them from the
operation models after Powertools has built the document: every POST route's request body (JSON: the
operation model by vendor name; form-encoded: flat target paths), the query parameters, the
`x-api-key` security scheme and the documented answers (DESIGN §5).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import HttpResolver
from aws_lambda_powertools.event_handler.openapi.models import OpenAPI
from leadhooks.catalog import WRITES
from leadhooks.models.api import ContactsResponse, DeliveryResponse, DeliveryState, ErrorBody
from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

TITLE = "leadhooks (local)"
VERSION = "1"
DESCRIPTION = (
    "Leads from webhooks and forms into Vitec Express and Omnicasa. Authenticate with `x-api-key`, "
    "`Typeform-Signature` (HMAC-SHA256 of the raw body) or Standard Webhooks headers (`webhook-id`, "
    "`webhook-timestamp`, `webhook-signature`). Write routes take the vendor's own JSON, a Typeform "
    "`form_response`, or flat target paths (JSON or form-encoded); see docs/inbound.md."
)
API_KEY_SCHEME = "apiKey"
SECURITY_SCHEMES: dict[str, Any] = {API_KEY_SCHEME: {"type": "apiKey", "in": "header", "name": "x-api-key"}}
CONTACTS_ROUTE = "/vitec/contacts"
DELIVERIES_ROUTE = "/deliveries/{deliveryId}"
REF = "#/components/schemas/{model}"

# Query parameters that may carry vendor path parameters (DESIGN §2), per write operation.
_PATH_QUERY: dict[str, tuple[str, ...]] = {
    "vitec_person_lead": ("customerId",),
    "vitec_area_interest": ("updatePerson.customerId",),
    "vitec_viewing_participant": ("customerId", "viewingId", "timeSlotId", "contactId"),
    "omnicasa_contact_on_me": (),
}
_ERRORS = {
    "400": "the body or a header cannot be read (empty, not UTF-8, malformed or duplicate-key JSON, "
    "unsupported content type); `errors[].field` names the part",
    "401": "no valid x-api-key, Typeform-Signature or Standard Webhooks signature",
    "409": "the same deliveryId is being processed right now; retry after `Retry-After` seconds",
    "413": "the body is larger than the limit (256 KB); from a signed sender it is also kept and parked "
    "(`parked: true`, `reason: too_large`)",
    "422": "fails validation (`errors[]` names every field path), or the vendor rejected it "
    "permanently (`vendorStatus`, `vendorMessage`; parked for an operator)",
    "503": "neither delivered nor queued; retry after `Retry-After` seconds",
}
_RETRY_AFTER = {"Retry-After": {"schema": {"type": "integer"}, "description": "seconds"}}


def write_routes() -> dict[str, type[BaseModel]]:
    """Route → operation model, for every write operation the local API serves."""
    return {entry.route: entry.operation().model for entry in WRITES}


def _schemas() -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
    """`$ref`s of the request and response models, and every schema they need."""
    models: list[tuple[type[BaseModel], JsonSchemaMode]] = [
        *((model, "validation") for model in write_routes().values()),
        *(
            (model, "serialization")
            for model in (DeliveryResponse, ContactsResponse, DeliveryState, ErrorBody)
        ),
    ]
    refs, definitions = models_json_schema(models, ref_template=REF)
    by_name = {model.__name__: dict(ref) for (model, _), ref in refs.items()}
    return by_name, dict(definitions.get("$defs", {}))


def _query(name: str, description: str, *, required: bool = False) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": required,
        "schema": {"type": "string"},
        "description": description,
    }


def _json(ref: dict[str, Any]) -> dict[str, Any]:
    return {"application/json": {"schema": ref}}


def _responses(ok: dict[str, Any], error: dict[str, Any], *, write: bool) -> dict[str, Any]:
    answers: dict[str, Any] = {
        "200": {"description": "delivered (or `dryRun`: the vendor request)", "content": _json(ok)}
    }
    if write:
        answers["202"] = {
            "description": "queued for retry (`status: queued`) or parked (`status: parked`)",
            "content": _json(ok),
        }
    for status, text in _ERRORS.items():
        if status == "409" and not write:
            continue
        answers[status] = {"description": text, "content": _json(error)}
        if status in ("409", "503"):
            answers[status]["headers"] = _RETRY_AFTER
    return answers


def _form_schema(model: type[BaseModel], required: tuple[str, ...]) -> dict[str, Any]:
    return {
        "type": "object",
        "description": f"flat target paths of {model.__name__} (`person.firstName`, `person__firstName`); "
        "unknown keys are appended to the free-text field",
        "additionalProperties": {"type": "string"},
        "properties": {name: {"type": "string"} for name in required},
    }


def enrich(document: dict[str, Any]) -> dict[str, Any]:
    """Add request bodies, query parameters, security and answers to Powertools' document (in place)."""
    refs, definitions = _schemas()
    paths: dict[str, Any] = document.setdefault("paths", {})
    error = refs["ErrorBody"]
    dry_run = _query("dryRun", "`true`: validate and map, answer the vendor request, do not send it")
    for entry in WRITES:
        name, route, spec = entry.name, entry.route, entry.operation()
        operation = paths.setdefault(route, {}).setdefault("post", {})
        path_query = _PATH_QUERY.get(name, ())
        operation["parameters"] = [
            *(_query(p, "vendor path parameter, when the body does not carry it") for p in path_query),
            dry_run,
            {
                "name": "Idempotency-Key",
                "in": "header",
                "required": False,
                "schema": {"type": "string", "pattern": "^[A-Za-z0-9._:@-]{1,128}$"},
                "description": "the deliveryId: a repeat is answered from the first delivery",
            },
        ]
        operation["requestBody"] = {
            "required": True,
            "content": {
                "application/json": {"schema": refs[spec.model.__name__]},
                "application/x-www-form-urlencoded": {"schema": _form_schema(spec.model, path_query)},
            },
        }
        operation["responses"] = _responses(refs["DeliveryResponse"], error, write=True)
        operation["security"] = [{API_KEY_SCHEME: []}]
    contacts = paths.setdefault(CONTACTS_ROUTE, {}).setdefault("get", {})
    contacts["parameters"] = [
        _query("customerId", "the Vitec customer", required=True),
        _query("ids", "contact ids, comma-separated (any number; fetched 20 per vendor call)", required=True),
        dry_run,
    ]
    # With `dryRun=true` the contacts route answers the vendor calls it would make (a DeliveryResponse).
    either = {"anyOf": [refs["ContactsResponse"], refs["DeliveryResponse"]]}
    contacts["responses"] = _responses(either, error, write=False)
    contacts["security"] = [{API_KEY_SCHEME: []}]
    status = paths.setdefault(DELIVERIES_ROUTE, {}).setdefault("get", {})
    status["parameters"] = [
        {
            "name": "deliveryId",
            "in": "path",
            "required": True,
            "schema": {"type": "string", "pattern": "^[A-Za-z0-9._:@-]{1,128}$"},
            "description": "a deliveryId this client sent (another client's is not found: 404)",
        }
    ]
    answers = _responses(refs["DeliveryState"], error, write=False)
    answers["200"]["description"] = "where the delivery stands: in_flight, delivered, queued or parked"
    answers["404"] = {"description": "no delivery of this client by that id", "content": _json(error)}
    status["responses"] = answers
    status["security"] = [{API_KEY_SCHEME: []}]

    components = document.setdefault("components", {})
    schemas: dict[str, Any] = {**components.get("schemas", {}), **definitions}
    # Powertools' own validation-error schemas are never answered here: keep only what is referenced.
    components["schemas"] = {name: schemas[name] for name in sorted(_referenced(paths, schemas))}
    components["securitySchemes"] = SECURITY_SCHEMES
    document["security"] = [{API_KEY_SCHEME: []}]
    return document


def _referenced(node: Any, schemas: dict[str, Any]) -> set[str]:
    """Names of the component schemas `node` refers to, directly or through other schemas."""
    found: set[str] = set()
    pending = [node]
    while pending:
        item = pending.pop()
        if isinstance(item, dict):
            ref = item.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
                name = ref.rsplit("/", 1)[1]
                if name not in found and name in schemas:
                    found.add(name)
                    pending.append(schemas[name])
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return found


class LocalResolver(HttpResolver):
    """`HttpResolver` whose OpenAPI document (Swagger UI and `/openapi.json` alike) is `enrich`ed."""

    def get_openapi_schema(self, *args: Any, **kwargs: Any) -> OpenAPI:
        document = super().get_openapi_schema(*args, **kwargs)
        raw = document.model_dump(mode="json", by_alias=True, exclude_none=True)
        return OpenAPI.model_validate(enrich(raw))
