"""Create a Vitec lead for a contact person (Vitec de-duplicates the person, not the lead)."""

from leadhooks.web import operation_entrypoint

router, app, lambda_handler = operation_entrypoint("vitec_person_lead")
