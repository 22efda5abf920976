"""Object versioning (Swift's legacy versioned_writes): a container whose ``X-Versions-Location``
(stack mode) or ``X-History-Location`` (history mode) names an archive container in the same
account keeps the versions its objects are overwritten with.

Every write into such a container (PUT, COPY, a manifest, a link) first copies the object it
replaces, as it is stored (a manifest or link itself, not its content), to
``<archive>/<length of the name as three hex digits><name>/<its timestamp>``. A DELETE in stack
mode puts the newest archived version back in place and removes it from the archive (the object
is gone only when no version is left); in history mode the current object is archived, then a
delete marker (``application/x-deleted;swift_versions_deleted=1``) is written to the archive and
the object deleted. The setting is the container's system metadata; its HEAD and GET show it as
the header it was set with. The archive container must exist when a version is written (412
otherwise, nothing changed)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, unquote

from nubes.object.proxy import constraints
from nubes.object.proxy.errors import SwiftError

LOCATION = "x-container-sysmeta-versions-location"
MODE = "x-container-sysmeta-versions-mode"
DELETE_MARKER = "application/x-deleted;swift_versions_deleted=1"


def container_headers(req_headers: Any) -> dict[str, str]:
    """The sysmeta a container PUT or POST stores for its versioning headers ({} for none)."""
    stack, history = req_headers.get("x-versions-location"), req_headers.get("x-history-location")
    if stack is not None and history is not None and stack and history:
        raise SwiftError(400, "Only one of X-Versions-Location or X-History-Location may be specified")
    if stack is None and history is None:
        if "x-remove-versions-location" in req_headers or "x-remove-history-location" in req_headers:
            return {LOCATION: "", MODE: ""}
        return {}
    name = unquote(stack if stack is not None else history or "").strip()
    if not name:
        return {LOCATION: "", MODE: ""}
    if "/" in name:
        raise SwiftError(412, "Container name cannot contain slashes")
    constraints.check_container(name)
    return {LOCATION: quote(name), MODE: "stack" if stack is not None else "history"}


def shown(raw: dict[str, str]) -> dict[str, str]:
    """What a container HEAD or GET shows of its versioning (the header it was set with)."""
    location, mode = raw.get(LOCATION), raw.get(MODE)
    if not location:
        return {}
    return {"X-History-Location" if mode == "history" else "X-Versions-Location": location}


def archive_of(raw: dict[str, str]) -> tuple[str, str] | None:
    """(archive container, mode) of a versioned container's headers; None when not versioned."""
    location = raw.get(LOCATION)
    if not location:
        return None
    return unquote(location), raw.get(MODE) or "stack"


def prefix(obj: str) -> str:
    return f"{len(obj.encode()):03x}{obj}/"


def version_name(obj: str, timestamp: str) -> str:
    return prefix(obj) + timestamp
