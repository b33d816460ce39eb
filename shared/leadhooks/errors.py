"""One error hierarchy for the whole product; each class knows the HTTP status it maps to.

Messages are written for the caller: they never contain credentials, personal data or raw
vendor/exception text that has not been through `leadhooks.masking`.
"""

from __future__ import annotations

from typing import Any


class LeadhooksError(Exception):
    """Base of every error the product raises on purpose."""

    status: int = 500
    code: str = "internal_error"

    def __init__(self, message: str, *, details: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or []
        # Set by the pipeline once known, so even an error answer names the delivery.
        self.delivery_id: str | None = None


class BadRequestError(LeadhooksError):
    """The request cannot be parsed (malformed JSON, wrong encoding, empty body)."""

    status = 400
    code = "bad_request"


class PayloadTooLargeError(LeadhooksError):
    status = 413
    code = "payload_too_large"


class AuthenticationError(LeadhooksError):
    """No valid signature or API key (DESIGN §4)."""

    status = 401
    code = "unauthorized"


class ForbiddenError(LeadhooksError):
    """A valid credential whose client may not reach this customer or operation (DESIGN §4); nothing is sent.
    `details` names the field (`customerId`, `updatePerson.customerId`, `CustomerId`) or `operation`."""

    status = 403
    code = "forbidden"


class NotFoundError(LeadhooksError):
    """Nothing of the caller's by that id (another client's delivery is not found either)."""

    status = 404
    code = "not_found"


class InputValidationError(LeadhooksError):
    """The request parses but fails the vendor's documented rules; `details` names every field."""

    status = 422
    code = "validation_error"


class NoCredentialsError(InputValidationError):
    """No vendor credentials are configured for the request's customer (DESIGN §7). Not an input error
    of the sender's: a signed delivery is parked (`no_credentials`), an API-key caller gets 422."""

    code = "no_credentials"


class IdempotencyKeyReusedError(LeadhooksError):
    """This deliveryId was already used with a different payload (DESIGN §5): nothing is sent."""

    status = 422
    code = "idempotency_key_reused"


class ConflictError(LeadhooksError):
    """The same deliveryId is being processed right now."""

    status = 409
    code = "in_progress"


class VendorError(LeadhooksError):
    """Anything the vendor answered or failed to answer."""

    status = 502
    code = "vendor_error"

    def __init__(
        self,
        message: str,
        *,
        vendor: str,
        vendor_status: int | None = None,
        vendor_code: int | str | None = None,
        retry_after_s: float | None = None,
        details: list[dict[str, Any]] | None = None,
    ) -> None:
        super().__init__(message, details=details)
        self.vendor = vendor
        self.vendor_status = vendor_status
        self.vendor_code = vendor_code
        self.retry_after_s = retry_after_s


class TransientVendorError(VendorError):
    """The vendor answered "not done" (429, 500, 503) or the request never reached it (connection
    refused, connect timeout): nothing was written, so it is worth retrying."""

    status = 503
    code = "vendor_unavailable"


class AnswerLostError(TransientVendorError):
    """An ambiguous outcome: the request was sent but no usable answer came back (read timeout, reset,
    502, 504, a 2xx without the promised body). The vendor may have acted on it (DESIGN §6)."""

    code = "vendor_answer_lost"


class PermanentVendorError(VendorError):
    """Vitec 400/401/403/404/409/422 or Omnicasa `Success:false`: retrying cannot help."""

    status = 422
    code = "vendor_rejected"


class VendorAuthError(PermanentVendorError):
    """The vendor refused our credentials for this customer (401/403)."""

    code = "vendor_auth_failed"


class IdempotencyStoreError(LeadhooksError):
    """The delivery record store (the idempotency table) could not be read or written."""

    status = 503
    code = "idempotency_unavailable"


class QueueUnavailableError(LeadhooksError):
    """Neither the vendor nor the failure queue could take the delivery: the caller must retry."""

    status = 503
    code = "not_kept"


class ConfigurationError(LeadhooksError):
    """A setting or secret is missing or malformed; operators must fix the deployment."""

    status = 500
    code = "configuration_error"
