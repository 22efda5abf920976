"""Identity's error body: {"error": {"code", "title", "message"}} plus WWW-Authenticate on 401."""

from __future__ import annotations

import json

from nubes.core.errors import Rendered
from nubes.core.exceptions import CloudError


def render(exc: CloudError, request_id: str, *, www_authenticate: str = "") -> Rendered:
    body = {"error": {"code": exc.status, "title": exc.title, "message": exc.message}}
    headers = {"content-type": "application/json"}
    if exc.status == 401:
        headers["www-authenticate"] = www_authenticate or 'Keystone uri="/v3"'
    return exc.status, headers, json.dumps(body).encode()
