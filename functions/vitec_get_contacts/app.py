"""Fetch any number of Vitec CRM contacts, in request order."""

from leadhooks.web import operation_entrypoint

router, app, lambda_handler = operation_entrypoint("vitec_get_contacts")
