"""Create or update an Omnicasa person with a task and a history entry."""

from leadhooks.web import operation_entrypoint

router, app, lambda_handler = operation_entrypoint("omnicasa_contact_on_me")
