"""Binds the compute service to Nova's fault bodies."""

from __future__ import annotations

from nubes.core.errors import Rendered, keystone_style, nova_style
from nubes.core.exceptions import CloudError

_AUTH_URI: list[str] = [""]


def render(exc: CloudError, request_id: str) -> Rendered:
    if exc.status == 401:   # answered by the token middleware before Nova runs, as Keystone does
        return keystone_style.render(exc, request_id, www_authenticate=(
            f'Keystone uri="{_AUTH_URI[0]}"' if _AUTH_URI[0] else ""))
    return nova_style.render(exc, request_id)


def set_identity_uri(uri: str) -> None:
    _AUTH_URI[0] = uri
