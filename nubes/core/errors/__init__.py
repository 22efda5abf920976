"""Wire renderers for errors, one per OpenStack family.

A renderer turns a CloudError into (status, headers, body bytes).  Each
service's ``api/errors.py`` picks one; nothing else decides error shapes.
"""

from __future__ import annotations

from collections.abc import Callable

from nubes.core.exceptions import CloudError

Rendered = tuple[int, dict[str, str], bytes]
Renderer = Callable[[CloudError, str], Rendered]
