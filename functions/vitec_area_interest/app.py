"""Send interest in one or more areas, with the contact's details, to Vitec."""

from leadhooks.web import operation_entrypoint

router, app, lambda_handler = operation_entrypoint("vitec_area_interest")
