"""Swift's answers to errors: a status and a short text/html body, no JSON.

Constraint failures carry Swift's own sentence as the whole body (``Object name length of 1025
longer than 1024``); other errors Swift's fixed page for the status. A 401 names identity in
``Www-Authenticate`` as keystoneauth does."""

from __future__ import annotations

from nubes.core.errors import Rendered
from nubes.core.exceptions import CloudError

PAGES = {
    400: ("Bad Request", "The server could not comply with the request since it is either "
          "malformed or otherwise incorrect."),
    401: ("Unauthorized", "This server could not verify that you are authorized to access the "
          "document you requested."),
    403: ("Forbidden", "Access was denied to this resource."),
    404: ("Not Found", "The resource could not be found."),
    405: ("Method Not Allowed", "The method is not allowed for this resource."),
    409: ("Conflict", "There was a conflict when trying to complete your request."),
    411: ("Length Required", "Length Required"),
    412: ("Precondition Failed", "A precondition for this request was not met."),
    413: ("Request Entity Too Large", "The body of your request was too large for this server."),
    422: ("Unprocessable Entity", "Unable to process the contained instructions"),
    499: ("Client Disconnect", "The client was disconnected during request."),
    501: ("Not Implemented", "The server does not implement the requested feature."),
    503: ("Service Unavailable", "The server is currently unavailable. Please try again at a "
          "later time."),
}
_AUTH_URI: list[str] = [""]


class SwiftError(CloudError):
    """An answer whose body is Swift's sentence for it (``plain``) or its status page."""

    code = "object.swift_error"

    def __init__(self, status: int, message: str | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message or PAGES.get(status, ("", "Error"))[1])
        self.status = status  # type: ignore[misc]
        self.plain = message is not None
        self.headers = headers or {}


def page(status: int) -> bytes:
    title, text = PAGES.get(status, ("Error", "An error occurred."))
    return f"<html><h1>{title}</h1><p>{text}</p></html>".encode()


def render(exc: CloudError, request_id: str) -> Rendered:
    status = exc.status
    headers = {"content-type": "text/html; charset=UTF-8", "x-openstack-request-id": request_id}
    if isinstance(exc, SwiftError):
        headers.update(exc.headers)
        body = exc.message.encode() if exc.plain else page(status)
    elif status in (401, 403, 404):
        body = page(status)
    elif status >= 500 and status != 501:
        body = b"<html><h1>Internal Error</h1><p>An error occurred.</p></html>"
    else:
        body = exc.message.encode()         # the router's or the core's own sentence (405, 400)
    if status == 401 and _AUTH_URI[0]:
        headers["www-authenticate"] = f"Keystone uri='{_AUTH_URI[0]}'"
    return status, headers, body


def set_identity_uri(uri: str) -> None:
    _AUTH_URI[0] = uri
