"""Networking's error body: {"NeutronError": {"type", "message", "detail"}}."""

from __future__ import annotations

import json

from nubes.core.errors import Rendered
from nubes.core.exceptions import CloudError


def render(exc: CloudError, request_id: str) -> Rendered:
    err_type = getattr(exc, "neutron_type", None) or type(exc).__name__
    body = {"NeutronError": {"type": err_type, "message": exc.message, "detail": ""}}
    return exc.status, {"content-type": "application/json"}, json.dumps(body).encode()
