"""Fetch any number of Vitec CRM contacts, in request order."""

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.request import Request
from leadhooks.logic.contacts import get_contacts
from leadhooks.web import handle, lambda_entrypoint, register_error_handlers

ROUTE = "/vitec/contacts"
router = Router()
register_error_handlers(router)


@router.get(ROUTE)
def get_contacts_route(request: Request) -> Response[str]:
    return handle(request, ROUTE, get_contacts)


app, lambda_handler = lambda_entrypoint(router)
