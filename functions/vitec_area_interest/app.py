"""Send interest in one or more areas, with the contact's details, to Vitec."""

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.request import Request
from leadhooks.logic.area_interest import send_area_interest
from leadhooks.web import handle, lambda_entrypoint, register_error_handlers

ROUTE = "/vitec/area-interests"
router = Router()
register_error_handlers(router)


@router.post(ROUTE)
def send_area_interest_route(request: Request) -> Response[str]:
    return handle(request, ROUTE, send_area_interest)


app, lambda_handler = lambda_entrypoint(router)
