"""The cold-start baseline: a naive Powertools handler doing leadhooks' work the obvious way.

Never deployed; `benchmarks.run` measures it beside the real functions in the same run. Everything
is imported and built eagerly at module level, as most Powertools examples do it: boto3 and a
Secrets Manager client, requests, Logger, Tracer (which imports the X-Ray SDK) and
`APIGatewayRestResolver(enable_validation=True)`. Each request reads the inbound and vendor
secrets with the boto3 client and calls the vendor with `requests.post` / `requests.get`.

One module serves every route (the same sample events the functions get), plus `replay_handler`
for the failure queue's SQS event, so each function has a like-for-like baseline.
"""

import json
import os
from typing import Annotated, Any

import boto3
import requests
from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from aws_lambda_powertools.event_handler.exceptions import UnauthorizedError
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.utilities.typing import LambdaContext

tracer = Tracer()
logger = Logger()
app = APIGatewayRestResolver(enable_validation=True)
secrets_client = boto3.client("secretsmanager")

VITEC_BASE_URL = os.environ.get("VITEC_BASE_URL", "https://connect.maklare.vitec.net").rstrip("/")
OMNICASA_BASE_URL = os.environ.get("OMNICASA_BASE_URL", "").rstrip("/")
TIMEOUT_S = 10.0
VITEC_PATH_FIELDS = ("customerId", "viewingId", "timeSlotId", "contactId")


def read_secret(env_name: str) -> dict[str, Any]:
    value = secrets_client.get_secret_value(SecretId=os.environ[env_name])["SecretString"]
    data: dict[str, Any] = json.loads(value)
    return data


def check_api_key() -> None:
    key = app.current_event.headers.get("x-api-key")
    secret = read_secret("INBOUND_SECRET_ID")
    clients = (secret.get("clients") or {}).values()
    if key not in [k for client in clients for k in client.get("apiKeys", [])]:
        raise UnauthorizedError("invalid API key")


def vitec_auth(customer_id: str) -> tuple[str, str]:
    data = read_secret("VITEC_SECRET_ID")
    entry = data.get("customers", {}).get(customer_id) or data.get("default") or {}
    return str(entry.get("username", "")), str(entry.get("password", ""))


def vendor_body(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k not in VITEC_PATH_FIELDS}


def answer(response: requests.Response, **extra: Any) -> dict[str, Any]:
    result: dict[str, Any] = {"vendorStatus": response.status_code, **extra}
    if response.content:
        result["vendor"] = response.json()
    return result


@app.post("/vitec/person-leads")
@tracer.capture_method
def person_lead(body: dict[str, Any]) -> dict[str, Any]:
    check_api_key()
    customer_id = str(body.get("customerId") or app.current_event.get_query_string_value("customerId", ""))
    response = requests.post(
        f"{VITEC_BASE_URL}/PublicAdvertising/{customer_id}/Contact/Person/Lead",
        json=vendor_body(body),
        auth=vitec_auth(customer_id),
        timeout=TIMEOUT_S,
    )
    return answer(response)


@app.post("/vitec/area-interests")
@tracer.capture_method
def area_interest(body: dict[str, Any]) -> dict[str, Any]:
    check_api_key()
    customer_id = str(body.get("updatePerson", {}).get("customerId", ""))
    response = requests.post(
        f"{VITEC_BASE_URL}/Interest/SendInterestAndContactOnArea",
        json=body,
        auth=vitec_auth(customer_id),
        timeout=TIMEOUT_S,
    )
    return answer(response)


@app.post("/vitec/viewing-participants")
@tracer.capture_method
def viewing_participant(body: dict[str, Any]) -> dict[str, Any]:
    check_api_key()
    customer_id, viewing_id, time_slot_id, contact_id = (str(body.get(k, "")) for k in VITEC_PATH_FIELDS)
    response = requests.post(
        f"{VITEC_BASE_URL}/Viewing/{customer_id}/{viewing_id}/{time_slot_id}/Participant/{contact_id}",
        json=vendor_body(body),
        auth=vitec_auth(customer_id),
        timeout=TIMEOUT_S,
    )
    return answer(response)


@app.get("/vitec/contacts")
@tracer.capture_method
def contacts(customerId: Annotated[str, Query()], ids: Annotated[str, Query()]) -> dict[str, Any]:  # noqa: N803
    check_api_key()
    wanted = [i.strip() for i in ids.split(",") if i.strip()]
    found: list[Any] = []
    for start in range(0, len(wanted), 20):
        response = requests.get(
            f"{VITEC_BASE_URL}/CRM/Contact/{customerId}/{','.join(wanted[start : start + 20])}",
            auth=vitec_auth(customerId),
            timeout=TIMEOUT_S,
        )
        found.extend(response.json())
    return {"contacts": found}


@app.post("/omnicasa/contact-on-me")
@tracer.capture_method
def contact_on_me(body: dict[str, Any]) -> dict[str, Any]:
    check_api_key()
    secret_key = read_secret("OMNICASA_SECRET_ID")["secretKey"]
    response = requests.post(
        f"{OMNICASA_BASE_URL}/techworks/contactonme/{secret_key}", json=body, timeout=TIMEOUT_S
    )
    return answer(response)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def replay_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Failure-queue baseline: re-send each queued Vitec person lead, report failed message ids."""
    failures: list[dict[str, str]] = []
    for record in event.get("Records", []):
        envelope = json.loads(record["body"])
        request = envelope.get("request") or {}
        customer_id = str(request.get("customerId", ""))
        response = requests.post(
            f"{VITEC_BASE_URL}/PublicAdvertising/{customer_id}/Contact/Person/Lead",
            json=vendor_body(request),
            auth=vitec_auth(customer_id),
            timeout=TIMEOUT_S,
        )
        if response.status_code >= 300:
            failures.append({"itemIdentifier": record["messageId"]})
    return {"batchItemFailures": failures}
