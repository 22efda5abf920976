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

# Atoms of a compiled pattern: one literal character, one non-slash character, any number of
# non-slash characters, any number of characters.
_SEG, _SEG_STAR, _ANY = 1, 2, 3


@functools.lru_cache(maxsize=1024)
def _atoms(path_pattern: str) -> tuple[Any, ...]:
    atoms: list[Any] = []
    for m in _TOKEN.finditer(path_pattern):
        if m.group("tag") or m.group("wild"):
            atoms += [_SEG, _SEG_STAR]          # one or more characters but /
        elif m.group("rec_wild"):
            if not atoms or atoms[-1] != _ANY:
                atoms.append(_ANY)              # anything, slashes included
        else:
            atoms.extend(m.group("literal"))
    return tuple(atoms)


def _closure(atoms: tuple[Any, ...], states: set[int]) -> set[int]:
    todo = list(states)
    while todo:
        i = todo.pop()
        if i < len(atoms) and atoms[i] in (_SEG_STAR, _ANY) and i + 1 not in states:
            states.add(i + 1)
            todo.append(i + 1)
    return states


@functools.lru_cache(maxsize=4096)
def path_matches(path: str, path_pattern: str) -> bool:
    """Whether the request path ``path`` matches an access rule's ``path_pattern``.

    The pattern runs as a set of states over the path, one character at a time, so that its
    cost grows with len(path) x len(pattern) whatever the pattern (a regular expression of
    several wildcards backtracks exponentially on a path it does not match).
    """
    atoms = _atoms(path_pattern)
    states = _closure(atoms, {0})
    for ch in path:
        nxt: set[int] = set()
        for i in states:
            if i == len(atoms):
                continue
            atom = atoms[i]
            if atom == _ANY:
                nxt.add(i)
            elif atom == _SEG_STAR:
                if ch != "/":
                    nxt.add(i)
            elif atom == _SEG:
                if ch != "/":
                    nxt.add(i + 1)
            elif atom == ch:
                nxt.add(i + 1)
        if not nxt:
            return False
        states = _closure(atoms, nxt)
    return len(atoms) in states


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
