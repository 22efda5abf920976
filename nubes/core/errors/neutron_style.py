"""Networking's error body: {"NeutronError": {"type", "message", "detail"}}.

Neutron names its own errors by exception class (``NetworkNotFound``); an error that
has no such name (an unknown path, a bad method, a generic bad request) gets the name
of the webob exception Neutron would have raised for that status.
"""

from __future__ import annotations

import json

from nubes.core.errors import Rendered, keystone_style
from nubes.core.exceptions import CloudError, PolicyNotAuthorized

WEBOB_NAMES = {
    400: "HTTPBadRequest", 401: "HTTPUnauthorized", 403: "HTTPForbidden", 404: "HTTPNotFound",
    405: "HTTPMethodNotAllowed", 406: "HTTPNotAcceptable", 409: "HTTPConflict",
    412: "HTTPPreconditionFailed", 413: "HTTPRequestEntityTooLarge", 415: "HTTPUnsupportedMediaType",
    501: "HTTPNotImplemented", 503: "HTTPServiceUnavailable",
}


def render(exc: CloudError, request_id: str, *, www_authenticate: str = "") -> Rendered:
    if exc.status == 401:  # answered by the token middleware before Neutron runs, as Keystone does
        return keystone_style.render(exc, request_id, www_authenticate=www_authenticate)
    err_type = getattr(exc, "neutron_type", None)
    message = exc.message
    if not err_type and isinstance(exc, PolicyNotAuthorized):
        err_type = "PolicyNotAuthorized"
        message = f"rule:{exc.rule} is disallowed by policy" if exc.rule else message
    if not err_type:
        err_type = WEBOB_NAMES.get(exc.status, "HTTPInternalServerError")
    body = {"NeutronError": {"type": err_type, "message": message, "detail": ""}}
    return exc.status, {"content-type": "application/json"}, json.dumps(body).encode()
