"""Binds block storage to Cinder's fault bodies (Nova's shape; 413 carries ``retryAfter`` as Cinder's)."""

from __future__ import annotations

import json

from nubes.core.errors import Rendered, keystone_style, nova_style
from nubes.core.exceptions import CloudError

_AUTH_URI: list[str] = [""]


def render(exc: CloudError, request_id: str) -> Rendered:
    if exc.status == 401:   # answered by the token middleware before Cinder runs, as Keystone does
        return keystone_style.render(exc, request_id, www_authenticate=(
            f'Keystone uri="{_AUTH_URI[0]}"' if _AUTH_URI[0] else ""))
    status, headers, body = nova_style.render(exc, request_id)
    if status >= 500 and status != 501:
        data = json.loads(body)
        body = json.dumps({"computeFault": data.popitem()[1]}).encode()
    if status == 413:
        data = json.loads(body)
        data["overLimit"]["retryAfter"] = "0"
        headers = {**headers, "retry-after": "0"}
        body = json.dumps(data).encode()
    return status, headers, body


def set_identity_uri(uri: str) -> None:
    _AUTH_URI[0] = uri
