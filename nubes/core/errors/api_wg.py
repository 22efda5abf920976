"""The API-WG error body placement uses: {"errors": [{"status", "title", "detail", "code", "request_id"}]}."""

from __future__ import annotations

import json

from nubes.core.errors import Rendered
from nubes.core.exceptions import CloudError


def render(exc: CloudError, request_id: str) -> Rendered:
    code = getattr(exc, "api_code", None) or "placement.undefined_code"
    body = {"errors": [{"status": exc.status, "title": exc.title, "detail": exc.message,
                        "code": code, "request_id": request_id}]}
    return exc.status, {"content-type": "application/json"}, json.dumps(body).encode()
