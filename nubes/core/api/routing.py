"""One route table per service: Route rows compiled into a dispatcher with honest 404 and 405."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from nubes.core.exceptions import MethodNotAllowed, NotFound

Handler = Callable[..., Awaitable[Any]]

_PARAM = re.compile(r"\{(\w+)(?::(\w+))?\}")


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    handler: Handler
    # A public route answers without a token (version discovery, authentication itself).
    public: bool = False
    name: str = ""
    options: dict[str, Any] = field(default_factory=dict)


def _compile(path: str) -> re.Pattern[str]:
    out, pos = [], 0
    for m in _PARAM.finditer(path):
        out.append(re.escape(path[pos:m.start()]))
        out.append(f"(?P<{m.group(1)}>.+)" if m.group(2) == "path" else f"(?P<{m.group(1)}>[^/]+)")
        pos = m.end()
    out.append(re.escape(path[pos:]))
    return re.compile("".join(out) + "/?$")


class Router:
    def __init__(self, routes: list[Route]) -> None:
        self._table: list[tuple[re.Pattern[str], str, dict[str, Route]]] = []
        index: dict[str, dict[str, Route]] = {}
        for r in routes:
            by_method = index.get(r.path)
            if by_method is None:
                by_method = index[r.path] = {}
                self._table.append((_compile(r.path), r.path, by_method))
            by_method[r.method] = r
            if r.method == "GET" and "HEAD" not in by_method:
                by_method["HEAD"] = r

    def match(self, method: str, path: str) -> tuple[Route, dict[str, str]]:
        allowed: set[str] = set()
        for pattern, _template, by_method in self._table:
            m = pattern.match(path)
            if m is None:
                continue
            route = by_method.get(method)
            if route is not None:
                return route, m.groupdict()
            allowed.update(by_method)
        if allowed:
            raise MethodNotAllowed(
                f"The method {method} is not allowed for {path}; allowed: {', '.join(sorted(allowed))}.")
        raise NotFound(f"The resource could not be found: {path}.")
