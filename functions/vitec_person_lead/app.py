"""Create a Vitec lead for a contact person (Vitec de-duplicates the person)."""

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.request import Request
from leadhooks.logic.person_lead import create_person_lead
from leadhooks.web import handle, lambda_entrypoint, register_error_handlers

ROUTE = "/vitec/person-leads"
router = Router()
register_error_handlers(router)


@router.post(ROUTE)
def create_person_lead_route(request: Request) -> Response[str]:
    return handle(request, ROUTE, create_person_lead)


app, lambda_handler = lambda_entrypoint(router)
