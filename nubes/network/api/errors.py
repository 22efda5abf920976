"""Binds the network service to Neutron's error body."""

from __future__ import annotations

from nubes.core.errors import Rendered, neutron_style
from nubes.core.exceptions import CloudError

_AUTH_URI: list[str] = [""]


def render(exc: CloudError, request_id: str) -> Rendered:
    return neutron_style.render(exc, request_id,
                                www_authenticate=f'Keystone uri="{_AUTH_URI[0]}"' if _AUTH_URI[0] else "")


def set_identity_uri(uri: str) -> None:
    _AUTH_URI[0] = uri
