"""The local API publishes its OpenAPI document (`/openapi.json`) and Swagger UI (`/docs`); Lambda doesn't."""

from __future__ import annotations

from typing import Any

import requests

from tests.integration.conftest import Stack

WRITES = {
    "/vitec/person-leads": "PersonLeadRequest",
    "/vitec/area-interests": "AreaInterestRequest",
    "/vitec/viewing-participants": "ViewingParticipantRequest",
    "/omnicasa/contact-on-me": "ContactOnMeRequest",
}
DOCUMENTED = {"200", "400", "401", "413", "422", "503"}


def document(stack: Stack) -> dict[str, Any]:
    response = requests.get(f"{stack.api}/openapi.json", timeout=30)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    return dict(response.json())


def test_openapi_lists_every_route_with_request_schemas(stack: Stack) -> None:
    doc = document(stack)
    assert doc["openapi"].startswith("3.1")
    assert set(doc["paths"]) == {*WRITES, "/vitec/contacts", "/deliveries/{deliveryId}"}
    status = doc["paths"]["/deliveries/{deliveryId}"]["get"]
    assert [p["name"] for p in status["parameters"] if p["in"] == "path"] == ["deliveryId"]
    assert {"200", "404"} <= set(status["responses"])
    schemas = doc["components"]["schemas"]
    for route, model in WRITES.items():
        operation = doc["paths"][route]["post"]
        content = operation["requestBody"]["content"]
        assert content["application/json"]["schema"] == {"$ref": f"#/components/schemas/{model}"}
        assert "application/x-www-form-urlencoded" in content
        assert schemas[model]["type"] == "object" and schemas[model]["properties"]
        assert DOCUMENTED | {"202", "409"} <= set(operation["responses"])
        assert "dryRun" in {p["name"] for p in operation["parameters"]}
        assert operation["security"] == [{"apiKey": []}]
    # Vendor names, as the vendor documents them (aliases), and the path parameters.
    assert {"person", "leadSource", "customerId"} <= set(schemas["PersonLeadRequest"]["required"])
    assert {"customerId", "viewingId", "timeSlotId", "contactId"} <= set(
        schemas["ViewingParticipantRequest"]["properties"]
    )
    assert "CustomerId" in schemas["ContactOnMeRequest"]["properties"]
    contacts = doc["paths"]["/vitec/contacts"]["get"]
    required = {p["name"] for p in contacts["parameters"] if p["in"] == "query" and p.get("required")}
    assert required == {"customerId", "ids"}
    assert set(contacts["responses"]) >= DOCUMENTED
    assert doc["components"]["securitySchemes"]["apiKey"] == {
        "type": "apiKey",
        "in": "header",
        "name": "x-api-key",
    }


def test_every_reference_resolves(stack: Stack) -> None:
    doc = document(stack)
    schemas = doc["components"]["schemas"]
    pending: list[Any] = [doc["paths"]]
    while pending:
        node = pending.pop()
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str):
                assert ref.removeprefix("#/components/schemas/") in schemas, ref
            pending.extend(node.values())
        elif isinstance(node, list):
            pending.extend(node)


def test_docs_serves_swagger_ui(stack: Stack) -> None:
    response = requests.get(f"{stack.api}/docs", timeout=30)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "swagger" in response.text.lower()
    assert "/vitec/person-leads" in response.text  # the same, enriched document
    as_json = requests.get(f"{stack.api}/docs", params={"format": "json"}, timeout=30).json()
    assert as_json["paths"] == document(stack)["paths"]


def test_lambda_handlers_do_not_build_openapi() -> None:
    """Swagger/OpenAPI lives in local/ only: a cold start never pays for it."""
    from functions.vitec_person_lead import app as function

    routes = {route.path for route in function.app._static_routes + function.app._dynamic_routes}
    assert routes == {"/vitec/person-leads"}
