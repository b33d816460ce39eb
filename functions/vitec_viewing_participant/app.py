"""Register an existing Vitec contact for a viewing time slot."""

from leadhooks.web import operation_entrypoint

router, app, lambda_handler = operation_entrypoint("vitec_viewing_participant")
