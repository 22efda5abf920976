"""Compute and block storage's error body: {"<faultName>": {"code", "message"}}."""

from __future__ import annotations

import json

from nubes.core.errors import Rendered
from nubes.core.exceptions import CloudError, PolicyNotAuthorized

# Nova's own table; a status it does not name (406 for an unsupported microversion, 500) is a
# computeFault.
FAULT_NAMES = {
    400: "badRequest", 401: "unauthorized", 403: "forbidden", 404: "itemNotFound",
    405: "badMethod", 409: "conflictingRequest", 413: "overLimit",
    415: "badMediaType", 429: "overLimit", 501: "notImplemented", 503: "serviceUnavailable",
}


def render(exc: CloudError, request_id: str) -> Rendered:
    name = FAULT_NAMES.get(exc.status, "computeFault")
    message = exc.message
    if isinstance(exc, PolicyNotAuthorized) and getattr(exc, "default_message", False) and exc.rule:
        message = f"Policy doesn't allow {exc.rule} to be performed."
    body = {name: {"code": exc.status, "message": message}}
    return exc.status, {"content-type": "application/json"}, json.dumps(body).encode()
