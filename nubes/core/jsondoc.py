"""The one JSON reader of every API (request bodies, and JSON a client nests in a field).

``parse_json`` returns the document or raises ``InvalidJSON``, a 400 each service renders in its
own error body. Python's ``json`` alone accepts what no handler can use: NaN and Infinity,
integers of any size (SQLite and the other databases stop at 64 bits), ``1e999`` (infinity),
unpaired surrogates from ``\\ud800`` escapes (no database, log or response can encode them), and
nesting deep enough to exhaust the stack (a RecursionError there, or later in a validator).
"""

from __future__ import annotations

import json
from typing import Any

from nubes.core.exceptions import BadRequest

# Deeper documents are refused before any handler recurses into them (validators, views and
# encoders recurse once or more per level; Python's stack allows about a thousand frames).
MAX_JSON_DEPTH = 64
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


class InvalidJSON(BadRequest):
    code = "cloud.invalid_json"

    def __init__(self, why: str, *, syntax: bool = False, message: str | None = None) -> None:
        super().__init__(message or f"Malformed JSON in the request body: {why}.")
        self.why = why
        self.syntax = syntax        # the text is not JSON at all (rather than past a limit)


NUL_MESSAGE = ("Invalid input: a string in the request body holds a NUL character (\\u0000); no "
               "field accepts one.")


def _refuse_constant(name: str) -> Any:
    raise InvalidJSON(f"{name} is not a number JSON allows")


def _int64(text: str) -> int:
    # Python's int() refuses past 4,300 digits with a ValueError; long before, no field stores it.
    if len(text) > 20:
        raise InvalidJSON(f"the integer {text[:24]}... is out of range")
    n = int(text)
    if not INT64_MIN <= n <= INT64_MAX:
        raise InvalidJSON(f"the integer {text} is out of range (64 bits)")
    return n


def _finite(text: str) -> float:
    x = float(text)
    if x in (float("inf"), float("-inf")):
        raise InvalidJSON(f"the number {text[:24]} is out of range")
    return x


def _check_tree(doc: Any) -> None:
    """Depth at most MAX_JSON_DEPTH, and every string (keys too) storable: a JSON escape can
    produce an unpaired surrogate (no database, log or response can encode one) or a NUL
    (PostgreSQL cannot store one, C libraries such as bcrypt stop at it)."""
    stack = [(doc, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            items, strings = list(node.values()), list(node)
        elif isinstance(node, list):
            items, strings = node, []
        else:
            continue
        if depth > MAX_JSON_DEPTH:
            raise InvalidJSON(f"it is nested more than {MAX_JSON_DEPTH} levels deep")
        for item in items:
            if isinstance(item, (dict, list)):
                stack.append((item, depth + 1))
            elif isinstance(item, str):
                strings.append(item)
        for s in strings:
            _check_string(s)


def _check_string(s: str) -> None:
    if "\0" in s:
        raise InvalidJSON("a string holds a NUL character", message=NUL_MESSAGE)
    if not s.isascii():
        try:
            s.encode("utf-8")
        except UnicodeEncodeError:
            raise InvalidJSON("a string holds an unpaired UTF-16 surrogate (\\ud800-\\udfff)") from None


def parse_json(raw: bytes | str) -> Any:
    """The one JSON reader of every API: a document, or InvalidJSON (a 400 in the service's own
    error body) for malformed text, bad UTF-8, NaN and Infinity, numbers beyond 64 bits or a
    double, NUL characters and unpaired surrogates in strings, nesting deeper than MAX_JSON_DEPTH."""
    try:
        doc = json.loads(raw, parse_constant=_refuse_constant, parse_int=_int64, parse_float=_finite)
    except RecursionError:
        raise InvalidJSON(f"it is nested more than {MAX_JSON_DEPTH} levels deep") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidJSON(str(exc), syntax=True) from None
    if isinstance(doc, (dict, list)):
        _check_tree(doc)
    elif isinstance(doc, str):
        _check_string(doc)
    return doc
