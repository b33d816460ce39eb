"""Create or update an Omnicasa person with a history entry."""

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.request import Request
from leadhooks.logic.contact_on_me import contact_on_me
from leadhooks.web import handle, lambda_entrypoint, register_error_handlers

ROUTE = "/omnicasa/contact-on-me"
router = Router()
register_error_handlers(router)


@router.post(ROUTE)
def contact_on_me_route(request: Request) -> Response[str]:
    return handle(request, ROUTE, contact_on_me)


app, lambda_handler = lambda_entrypoint(router)
