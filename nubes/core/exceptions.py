"""The one error tree: domain errors carry a status, a stable code and a message.

Service code raises these and never builds responses; each service's
``api/errors.py`` chooses how they are rendered on the wire.  Errors cross the
bus as data (``to_dict``/``from_dict``) and are rebuilt from ``REGISTRY``.
"""

from __future__ import annotations

from typing import Any, ClassVar

REGISTRY: dict[str, type[CloudError]] = {}


class CloudError(Exception):
    status: ClassVar[int] = 500
    code: ClassVar[str] = "cloud.error"
    title: ClassVar[str] = "Internal Server Error"
    message: str = "An unexpected error prevented the request from being fulfilled."

    def __init__(self, message: str | None = None, **details: Any) -> None:
        if message is not None:
            self.message = message
        self.details = details
        super().__init__(self.message)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # The first class to claim a code owns it; subclasses may reuse a parent's.
        REGISTRY.setdefault(cls.code, cls)

    def to_dict(self) -> dict[str, Any]:
        return {"class": self.code, "status": self.status, "message": self.message,
                "details": self.details}

    @staticmethod
    def from_dict(data: dict[str, Any]) -> CloudError:
        cls = REGISTRY.get(data.get("class", ""), CloudError)
        err = cls.__new__(cls)
        CloudError.__init__(err, data.get("message"), **(data.get("details") or {}))
        if cls is CloudError and data.get("status"):
            err.status = int(data["status"])  # type: ignore[misc]
        return err


REGISTRY["cloud.error"] = CloudError


class BadRequest(CloudError):
    status = 400
    code = "cloud.bad_request"
    title = "Bad Request"
    message = "The request you have made is invalid."


class ValueOutOfRange(BadRequest):
    """A value the database cannot store or compare (an integer past 64 bits, a string past its
    column): raised by the session layer when a query fails on one, whatever the route."""

    code = "cloud.value_out_of_range"
    message = ("Invalid input: a value in the request is out of the range the service can store "
               "or compare.")


class Unauthorized(CloudError):
    status = 401
    code = "cloud.unauthorized"
    title = "Unauthorized"
    message = "The request you have made requires authentication."


class Forbidden(CloudError):
    status = 403
    code = "cloud.forbidden"
    title = "Forbidden"
    message = "You are not authorized to perform the requested action."


class PolicyNotAuthorized(Forbidden):
    code = "cloud.policy_not_authorized"

    def __init__(self, rule: str | None = None, message: str | None = None) -> None:
        super().__init__(message or f"You are not authorized to perform the requested action: {rule}.")
        self.rule = rule
        self.default_message = message is None   # each service may word the refusal its own way


class InvalidScope(PolicyNotAuthorized):
    """The token's scope is not one the rule accepts (oslo.policy's InvalidScope with enforce_scope).

    Services answer it as any other policy refusal (403, their own body), as upstream does.
    """

    code = "cloud.invalid_scope"

    def __init__(self, rule: str | None = None, scope_types: tuple[str, ...] = (), token_scope: str = "",
                 message: str | None = None) -> None:
        super().__init__(rule, message)
        self.scope_types, self.token_scope = scope_types, token_scope


class NotFound(CloudError):
    status = 404
    code = "cloud.not_found"
    title = "Not Found"
    message = "Could not find the requested resource."


class MethodNotAllowed(CloudError):
    status = 405
    code = "cloud.method_not_allowed"
    title = "Method Not Allowed"
    message = "The method is not allowed for the requested URL."


class NotAcceptable(CloudError):
    status = 406
    code = "cloud.not_acceptable"
    title = "Not Acceptable"


class Conflict(CloudError):
    status = 409
    code = "cloud.conflict"
    title = "Conflict"
    message = "The request conflicts with the current state of the resource."


class Gone(CloudError):
    status = 410
    code = "cloud.gone"
    title = "Gone"


class PreconditionFailed(CloudError):
    status = 412
    code = "cloud.precondition_failed"
    title = "Precondition Failed"


class RequestTooLarge(CloudError):
    status = 413
    code = "cloud.request_too_large"
    title = "Request Entity Too Large"
    message = "The request is larger than the server is willing or able to process."


class OverLimit(CloudError):
    status = 413
    code = "cloud.over_limit"
    title = "Over Limit"
    message = "Quota exceeded."


class UnsupportedMediaType(CloudError):
    status = 415
    code = "cloud.unsupported_media_type"
    title = "Unsupported Media Type"


class RangeNotSatisfiable(CloudError):
    status = 416
    code = "cloud.range_not_satisfiable"
    title = "Requested Range Not Satisfiable"


class TooManyRequests(CloudError):
    status = 429
    code = "cloud.too_many_requests"
    title = "Too Many Requests"


class NotImplementedYet(CloudError):
    """An upstream route nubes does not implement: an honest 501."""

    status = 501
    code = "cloud.not_implemented"
    title = "Not Implemented"
    message = "This API is not implemented by nubes."


class ServiceUnavailable(CloudError):
    status = 503
    code = "cloud.service_unavailable"
    title = "Service Unavailable"
    message = "The service is temporarily unavailable."


class Timeout(ServiceUnavailable):
    code = "cloud.timeout"
    message = "Timed out waiting for a reply."
