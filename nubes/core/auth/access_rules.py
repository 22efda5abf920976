"""Application credential access rules, enforced on every request of every service.

A token made from an application credential with access rules carries them in its validation
response (``token.application_credential.access_rules``, a list of ``{service, method, path}``).
As keystonemiddleware does, a request is let through only when one rule names this service's
type, the request's method and a path pattern that matches the request's path; anything else is
a 401 (the token is not valid for that request).  Identity always lets such a token validate
itself (``GET /v3/auth/tokens``).

Path patterns: ``*`` (or a ``{name}`` placeholder) matches one path segment, ``**`` any number of
them (slashes included); everything else matches itself.
"""

from __future__ import annotations

import functools
import re
import sys
from typing import Any

_TOKEN = re.compile(r"(?P<tag>\{[^}]*\})|(?P<wild>\*(?=$|[^*]))|(?P<rec_wild>\*\*)|(?P<literal>[^{}*]+)")


@functools.lru_cache(maxsize=1024)
def _pattern(path_pattern: str) -> re.Pattern[str]:
    parts = []
    for m in _TOKEN.finditer(path_pattern):
        if m.group("tag") or m.group("wild"):
            parts.append(r"[^/]+")
        elif m.group("rec_wild"):
            parts.append(r".*")
        else:
            parts.append(re.escape(m.group("literal")))
    return re.compile("".join(parts))


def path_matches(path: str, path_pattern: str) -> bool:
    """Whether the request path ``path`` matches an access rule's ``path_pattern``."""
    return _pattern(path_pattern).fullmatch(path) is not None


def allows(rules: list[dict[str, Any]], service_type: str, method: str, path: str) -> bool:
    """Whether one of ``rules`` lets a request of ``method`` on ``path`` to ``service_type`` pass."""
    if service_type == "identity" and method == "GET" and path.endswith("/v3/auth/tokens"):
        return True     # a token can always be validated, whatever its rules (keystonemiddleware)
    for rule in rules:
        if not isinstance(rule, dict):
            continue
        pattern = rule.get("path")
        if (rule.get("method") == method and rule.get("service") == service_type
                and isinstance(pattern, str) and path_matches(path, pattern)):
            return True
    return False


def service_type_of(service_name: str) -> str:
    """The service type a service's spec declares first in its catalog entries (the type its
    access rules name), or the service's name when it declares none."""
    spec = getattr(sys.modules.get(f"nubes.{service_name}"), "SPEC", None)
    for entry in getattr(spec, "catalog", ()) or ():
        return entry.service_type
    return service_name
