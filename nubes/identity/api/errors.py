"""Binds identity to Keystone's error body."""

from __future__ import annotations

from nubes.core.errors import Rendered, keystone_style
from nubes.core.exceptions import CloudError


def render(exc: CloudError, request_id: str) -> Rendered:
    return keystone_style.render(exc, request_id)
