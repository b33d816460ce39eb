"""Where one of the caller's deliveries stands (GET /deliveries/{deliveryId})."""

from leadhooks.web import operation_entrypoint

router, app, lambda_handler = operation_entrypoint("deliveries")
