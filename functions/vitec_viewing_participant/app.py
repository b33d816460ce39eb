"""Register an existing Vitec contact for a viewing time slot."""

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.request import Request
from leadhooks.logic.viewing_participant import add_viewing_participant
from leadhooks.web import handle, lambda_entrypoint, register_error_handlers

ROUTE = "/vitec/viewing-participants"
router = Router()
register_error_handlers(router)


@router.post(ROUTE)
def add_viewing_participant_route(request: Request) -> Response[str]:
    return handle(request, ROUTE, add_viewing_participant)


app, lambda_handler = lambda_entrypoint(router)
