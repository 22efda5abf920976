"""Symlinks (Swift's symlink middleware): an empty object that points at another.

``PUT`` with ``X-Symlink-Target: <container>/<object>`` (and ``X-Symlink-Target-Account`` for
another account) and a zero-byte body makes a link, kept as system metadata; with
``X-Symlink-Target-Etag`` (and ``-Bytes``) it is a *static* link: the target must exist with
that ETag now and whenever the link is read. GET and HEAD of a link answer its target's (a link
may point at a link: at most ``SYMLOOP_MAX`` hops, else 409), with ``Content-Location`` naming
the target; a dynamic link whose target is missing is a 404. ``?symlink=get`` answers the link
itself, with its ``X-Symlink-Target`` headers. A COPY copies the target's content (the link with
``?symlink=get``); a POST changes the link's own metadata and answers 307 to the target.

A link's row in its container's listing carries the target in its content type's parameters
(``application/symlink;symlink_target=c/o``, the object server's container update told so by
``UPDATE_CONTENT_TYPE``); JSON and XML listings show it as Swift's do, as ``symlink_path``
(and ``symlink_etag``, ``symlink_bytes`` for a static link), with the plain content type."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, unquote

from nubes.object.proxy import constraints
from nubes.object.proxy.errors import SwiftError

TARGET = "x-object-sysmeta-symlink-target"
TARGET_ACCOUNT = "x-object-sysmeta-symlink-target-account"
TARGET_ETAG = "x-object-sysmeta-symlink-target-etag"
TARGET_BYTES = "x-object-sysmeta-symlink-target-bytes"
SYMLOOP_MAX = constraints.SYMLINK_INFO["symloop_max"]
CONTENT_TYPE = "application/symlink"
# What the object server reports to the container as the row's content type, when present.
UPDATE_CONTENT_TYPE = "x-object-sysmeta-container-update-override-content-type"
LISTING_PARAMS = {"symlink_target": TARGET, "symlink_target_account": TARGET_ACCOUNT,
                  "symlink_target_etag": TARGET_ETAG, "symlink_target_bytes": TARGET_BYTES}


def wants_link(req: Any) -> bool:
    return req.query_params.get("symlink") == "get"


def target_of(headers: Any, account: str) -> tuple[str, str, str] | None:
    """(account, container, object) a stored link points at; None for a plain object."""
    value = headers.get(TARGET)
    if not value:
        return None
    container, _, obj = unquote(value).partition("/")
    return unquote(headers.get(TARGET_ACCOUNT) or "") or account, container, obj


def put_headers(req_headers: Any, account: str) -> dict[str, str] | None:
    """The sysmeta a link PUT stores (None: not a link); 400 for a malformed one."""
    target = req_headers.get("x-symlink-target")
    if target is None:
        if "x-symlink-target-account" in req_headers or "x-symlink-target-etag" in req_headers:
            raise SwiftError(400, "X-Symlink-Target-Account and X-Symlink-Target-Etag need an "
                                  "X-Symlink-Target header")
        return None
    if req_headers.get("content-length", "") != "0":
        raise SwiftError(400, "Symlink requests require a zero byte body")
    container, sep, obj = unquote(target).lstrip("/").partition("/")
    if not sep or not container or not obj or target.startswith("/"):
        raise SwiftError(412, "X-Symlink-Target header must be of the form <container name>/<object name>")
    constraints.check_container(container)
    constraints.check_object_name(obj)
    out = {TARGET: quote(f"{container}/{obj}")}
    other = req_headers.get("x-symlink-target-account")
    if other is not None:
        constraints.check_account(unquote(other))
        if unquote(other) != account:
            out[TARGET_ACCOUNT] = quote(unquote(other))
    return out


def link_headers(headers: Any) -> dict[str, str]:
    """What ``?symlink=get`` shows of a link's sysmeta."""
    out = {"X-Symlink-Target": headers.get(TARGET, "")}
    if headers.get(TARGET_ACCOUNT):
        out["X-Symlink-Target-Account"] = headers[TARGET_ACCOUNT]
    if headers.get(TARGET_ETAG):
        out["X-Symlink-Target-Etag"] = headers[TARGET_ETAG]
        out["X-Symlink-Target-Bytes"] = headers.get(TARGET_BYTES, "")
    return out


def location(account: str, container: str, obj: str) -> str:
    return quote(f"/v1/{account}/{container}/{obj}")


def check_static(headers: Any, target_headers: Any) -> None:
    """A static link's target must still have the ETag it had (409 otherwise)."""
    want = headers.get(TARGET_ETAG)
    if not want:
        return
    have = str(target_headers.get("etag", "")).strip('"')
    if have != want:
        raise SwiftError(409, f'Object Etag "{have}" does not match X-Symlink-Target-Etag header "{want}"')


def static_headers(req_headers: Any, target_headers: dict[str, str]) -> dict[str, str]:
    """``X-Symlink-Target-Etag`` (and -Bytes) checked against the target's, as sysmeta."""
    want = req_headers.get("x-symlink-target-etag")
    if want is None:
        return {}
    want = want.strip('"')
    have = str(target_headers.get("etag", "")).strip('"')
    if have != want:
        raise SwiftError(409, f'Object Etag "{have}" does not match X-Symlink-Target-Etag header "{want}"')
    size = target_headers.get("content-length", "0")
    given = req_headers.get("x-symlink-target-bytes")
    if given is not None and given != size:
        raise SwiftError(409, f'Object content-length "{size}" does not match X-Symlink-Target-Bytes '
                              f'header "{given}"')
    return {TARGET_ETAG: want, TARGET_BYTES: size}


def listing_content_type(content_type: str, link: dict[str, str]) -> str:
    """The content type a link's container row keeps: its own, with the target as parameters."""
    params = [f"{param}={link[key]}" for param, key in LISTING_PARAMS.items() if link.get(key)]
    return ";".join([content_type, *params])


def listing_entry(entry: dict[str, Any], account: str) -> dict[str, Any]:
    """A listing row as clients see it: a link's target out of its content type, as
    ``symlink_path`` (and a static link's ``symlink_etag`` and ``symlink_bytes``)."""
    content_type = entry.get("content_type")
    if not isinstance(content_type, str) or "symlink_target=" not in content_type:
        return entry
    kept, found = [], {}
    for i, part in enumerate(content_type.split(";")):
        name, sep, value = part.strip().partition("=")
        if i and sep and name in LISTING_PARAMS:
            found[name] = value
        else:
            kept.append(part)
    if "symlink_target" not in found:
        return entry
    out = {**entry, "content_type": ";".join(kept)}
    target_account = found.get("symlink_target_account") or quote(account)
    out["symlink_path"] = f"/v1/{target_account}/{found['symlink_target']}"
    if "symlink_target_etag" in found:
        out["symlink_etag"] = found["symlink_target_etag"]
        out["symlink_bytes"] = int(found.get("symlink_target_bytes") or 0)
    return out
