"""Binds placement to the API-WG error body; a 406 on the microversion also names the range."""

from __future__ import annotations

import json

from nubes.core.errors import Rendered, api_wg
from nubes.core.exceptions import CloudError


def render(exc: CloudError, request_id: str) -> Rendered:
    status, headers, body = api_wg.render(exc, request_id)
    extra = getattr(exc, "extra_fields", None)
    if extra:
        data = json.loads(body)
        data["errors"][0].update(extra)
        body = json.dumps(data).encode()
    return status, headers, body
