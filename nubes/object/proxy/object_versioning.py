"""Object versioning (Swift's ``object_versioning``, "versioned containers").

``X-Versions-Enabled: true`` on a container PUT or POST turns it on: the proxy makes a hidden
versions container, ``\\x00versions\\x00<container>`` in the same account, and keeps every
version there as ``\\x00<object>\\x00<inverted timestamp>`` (newest first in name order). The
null byte makes both names unreachable for clients: a request whose container, object or
listing parameters hold one is refused (412, as Swift), and an account listing starts past
every name that begins with it. ``false`` stops versioning; the versions stay.

In an enabled container each write (PUT, COPY, a manifest, a link) stores its data as a new
version, whose id (``X-Object-Version-Id``) is its timestamp, then copies that version over the
object as its current copy, marked with the version id in system metadata. An object that was
there without such a mark (written before versioning was enabled, or while it was off: the
``null`` version) is first kept as a version under its own timestamp. A DELETE writes a delete
marker version (``application/x-deleted;swift_versions_deleted=1``) and removes the current
copy. ``?version-id=<id>`` reads (GET, HEAD) or deletes that version; deleting the current one
removes the current copy too, and no older version takes its place (Swift). ``?version-id=null``
is the object when it is not a version's copy. ``GET <container>?versions`` lists every version.
The settings are the container's system metadata; HEAD and GET show ``X-Versions-Enabled``."""

from __future__ import annotations

import calendar
import json
import time
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote, unquote

from starlette.responses import Response

from nubes.object.proxy import dlo, slo, versioning
from nubes.object.proxy.base import Cluster, listing_params, timestamp
from nubes.object.proxy.errors import SwiftError
from nubes.object.server import listing as listings
from nubes.object.timestamps import InvalidTimestamp, Timestamp

ENABLED = "x-container-sysmeta-versions-enabled"
CONTAINER = "x-container-sysmeta-versions-container"
VERSION_ID = "x-object-sysmeta-versions-id"
DELETE_MARKER = versioning.DELETE_MARKER
RESERVED = "\x00"
# Above every hidden name (they begin with the null byte), below every name a client can give.
ACCOUNT_FLOOR = "\x00\U0010ffff"
TRUE = ("true", "1", "yes", "on", "t", "y")
_MAX_TICKS = 9999999999_99999
# What a version keeps of the object it was: everything a PUT stores (as legacy versioning).
KEPT = ("content-type", "content-encoding", "content-disposition", "x-delete-at",
        slo.HEADER, dlo.MANIFEST)
NO_VERSIONS_CONTAINER = ("The versions container does not exist. You may want to re-enable "
                         "object versioning.")


def versions_container(container: str) -> str:
    return f"{RESERVED}versions{RESERVED}{container}"


def _inverted(version_id: str) -> str:
    ticks = Timestamp.parse(version_id).ticks
    return Timestamp(_MAX_TICKS - ticks).normal


def version_name(obj: str, version_id: str) -> str:
    return f"{RESERVED}{obj}{RESERVED}{_inverted(version_id)}"


def split_version(name: str) -> tuple[str, str] | None:
    """(object, version id) of a name in a versions container; None for any other name."""
    if not name.startswith(RESERVED) or name.count(RESERVED) != 2:
        return None
    obj, _, inverted = name[1:].partition(RESERVED)
    try:
        return obj, _inverted(inverted)
    except InvalidTimestamp:
        return None


def check_reserved(req: Any, container: str | None, obj: str | None) -> None:
    """No client names a hidden container or object (Swift: 412 for a null byte)."""
    if any(RESERVED in (v or "") for v in (container, obj, *req.query_params.values())):
        raise SwiftError(412, "Invalid UTF8 or contains NULL")


def hidden_of(raw: dict[str, str]) -> str | None:
    """The versions container of a container's headers (versioning on or off); None if never."""
    value = raw.get(CONTAINER)
    return unquote(value) if value else None


def enabled(raw: dict[str, str]) -> bool:
    return bool(raw.get(CONTAINER)) and raw.get(ENABLED, "").lower() in TRUE


def shown(raw: dict[str, str]) -> dict[str, str]:
    return {"X-Versions-Enabled": raw[ENABLED]} if raw.get(ENABLED) else {}


def version_id_of(req: Any) -> str | None:
    """The request's ``version-id`` (an empty one is none, as Swift)."""
    return req.query_params.get("version-id") or None


def refuse_version_id(req: Any) -> None:
    """PUT and POST of one version are not served (400)."""
    if version_id_of(req) is not None:
        raise SwiftError(400, f"{req.method} to a specific version is not allowed")


def _check_version_id(version_id: str, hidden: str | None) -> str:
    """The version id in its normal form ('null' kept); 400 as Swift for a bad one."""
    if not hidden and version_id != "null":
        raise SwiftError(400, "version-aware operations require that the container is versioned")
    if version_id == "null":
        return version_id
    try:
        return Timestamp.parse(version_id).normal
    except InvalidTimestamp:
        raise SwiftError(400, "Invalid version parameter") from None


# -- containers --------------------------------------------------------------------------------

async def container_headers(cluster: Cluster, account: str, container: str,
                            req_headers: Any) -> dict[str, str]:
    """The sysmeta a container PUT or POST with ``X-Versions-Enabled`` stores; enabling makes
    the versions container. 400 on a container that uses legacy versioning."""
    from nubes.object.proxy import container as containers

    value = req_headers.get("x-versions-enabled")
    if value is None:
        return {}
    try:
        raw = await containers.raw_info(cluster, account, container)
    except SwiftError as e:
        if e.status != 404:
            raise
        raw = {}
    if raw.get(versioning.LOCATION) or req_headers.get("x-versions-location") or \
            req_headers.get("x-history-location"):
        raise SwiftError(400, "Cannot enable object versioning on a container that is already "
                              "using the legacy versioned writes feature.")
    on = value.strip().lower() in TRUE
    out = {ENABLED: str(on)}
    if on:
        hidden = versions_container(container)
        try:
            await containers.create(cluster, account, hidden, {})
        except SwiftError:
            raise SwiftError(500, "Error enabling object versioning") from None
        out[CONTAINER] = quote(hidden)
    return out


async def check_removable(cluster: Cluster, account: str, container: str) -> str | None:
    """Before a container DELETE: 409 while its versions container holds versions; the name of
    that container (to delete after the container), None when it never had one."""
    from nubes.object.proxy import container as containers

    try:
        hidden = hidden_of(await containers.raw_info(cluster, account, container))
    except SwiftError as e:
        if e.status == 404:
            return None
        raise
    if hidden is None:
        return None
    try:
        held = await containers.raw_info(cluster, account, hidden)
    except SwiftError as e:
        if e.status == 404:
            return None
        raise
    if int(held.get("x-container-object-count", "0") or 0) > 0:
        raise SwiftError(409, "Delete all versions before deleting container.")
    return hidden


async def drop_versions_container(cluster: Cluster, account: str, hidden: str) -> None:
    from nubes.object.proxy import container as containers

    try:
        await containers.remove(cluster, account, hidden)
    except SwiftError as e:
        if e.status != 404:
            raise


def hide_in_account_listing(params: dict[str, str]) -> None:
    """An account listing starts past the hidden containers (they sort first of all names)."""
    if params.get("prefix"):
        return          # a client's prefix has no null byte: it matches no hidden name
    reverse = params.get("reverse", "").lower() in TRUE
    key = "end_marker" if reverse else "marker"
    if params.get(key, "") < ACCOUNT_FLOOR:
        params[key] = ACCOUNT_FLOOR


# -- objects -----------------------------------------------------------------------------------

async def _once(data: bytes) -> AsyncIterator[bytes]:
    yield data


def _kept_headers(headers: Any) -> dict[str, str]:
    return {k.lower(): v for k, v in headers.items()
            if k.lower() in KEPT or k.lower().startswith(("x-object-meta-", "x-object-sysmeta-"))}


async def _current(cluster: Cluster, account: str, container: str, obj: str
                   ) -> dict[str, str] | None:
    """The object's stored headers (system metadata too), None when there is none."""
    part, nodes = cluster.read_nodes(cluster.object_ring, account, container, obj)
    answer, others = await cluster.backend.first_good(nodes, part, "HEAD",
                                                      (account, container, obj), {})
    if answer is None:
        if any(a.status == 404 for a in others) or not others:
            return None
        raise SwiftError(503)
    return {k.lower(): v for k, v in answer.headers.items()}


async def _copy(cluster: Cluster, account: str, src: tuple[str, str], dest: tuple[str, str],
                extra: dict[str, str], ts: str) -> Response | None:
    """Copy an object as stored (a manifest or a link itself) with timestamp ``ts``; None when
    the source is gone."""
    from nubes.object.proxy import obj as objects

    try:
        resp = await objects._open_newest(cluster, account, src[0], src[1], {})
    except SwiftError as e:
        if e.status == 404:
            return None
        raise
    try:
        headers = {**_kept_headers(resp.headers), **extra}
        return await objects.store(cluster, account, dest[0], dest[1], headers,
                                   int(resp.headers.get("content-length", "0")),
                                   resp.aiter_raw(), versioned=False, ts=ts)
    finally:
        await resp.aclose()


async def _store_version(cluster: Cluster, account: str, hidden: str, name: str,
                         headers: dict[str, str], length: int | None,
                         source: AsyncIterator[bytes], ts: str) -> Response:
    from nubes.object.proxy import obj as objects

    try:
        return await objects.store(cluster, account, hidden, name, headers, length, source,
                                   versioned=False, ts=ts)
    except SwiftError as e:
        if e.status == 404:
            raise SwiftError(500, NO_VERSIONS_CONTAINER) from None
        raise


async def _keep_null(cluster: Cluster, account: str, container: str, obj: str, hidden: str
                     ) -> None:
    """An object that is no version's copy (the null version) becomes a version first."""
    current = await _current(cluster, account, container, obj)
    if current is None or current.get(VERSION_ID):
        return
    ts = Timestamp.parse(current.get("x-timestamp") or timestamp()).normal
    try:
        await _copy(cluster, account, (container, obj), (hidden, version_name(obj, ts)), {}, ts)
    except SwiftError as e:
        if e.status == 404:
            raise SwiftError(500, NO_VERSIONS_CONTAINER) from None
        raise


async def store(cluster: Cluster, account: str, container: str, obj: str,
                headers: dict[str, str], length: int | None, source: AsyncIterator[bytes],
                raw: dict[str, str]) -> Response:
    """A write into an enabled container: the data as a new version, then its current copy."""
    hidden = hidden_of(raw) or versions_container(container)
    await _keep_null(cluster, account, container, obj, hidden)
    ts = timestamp()
    # the version does not expire; its current copy does (Swift: the link, not the data)
    expiry = {k: v for k, v in headers.items() if k == "x-delete-at"}
    kept = {k: v for k, v in headers.items() if k != "x-delete-at"}
    answer = await _store_version(cluster, account, hidden, version_name(obj, ts), kept,
                                  length, source, ts)
    await _copy(cluster, account, (hidden, version_name(obj, ts)), (container, obj),
                {VERSION_ID: ts, **expiry}, ts)
    answer.headers["X-Object-Version-Id"] = ts
    return answer


async def remove(cluster: Cluster, account: str, container: str, obj: str,
                 raw: dict[str, str]) -> Response:
    """A DELETE in an enabled container: a delete marker version, then the current copy goes
    (404 when there was none, the marker written all the same, as Swift)."""
    from nubes.object.proxy import obj as objects

    hidden = hidden_of(raw) or versions_container(container)
    await _keep_null(cluster, account, container, obj, hidden)
    ts = timestamp()
    await _store_version(cluster, account, hidden, version_name(obj, ts),
                         {"content-type": DELETE_MARKER}, 0, _once(b""), ts)
    try:
        answer = await objects._remove(cluster, account, container, obj)
    except SwiftError as e:
        if e.status == 404:
            e.headers["X-Object-Version-Id"] = ts
        raise
    answer.headers["X-Object-Version-Id"] = ts
    return answer


async def read(cluster: Cluster, req: Any, account: str, container: str, obj: str,
               answer: Any) -> Response | None:
    """GET or HEAD (``answer``: obj._get or obj._head) in a versioned container or with
    ``?version-id``; None when plain (neither)."""
    from nubes.object.proxy import container as containers

    wanted = version_id_of(req)
    try:
        raw = await containers.cached_raw_info(cluster, account, container)
    except SwiftError:
        if wanted is None:
            return None         # a plain read needs no container record (Swift's reads neither)
        raise
    hidden = hidden_of(raw)
    if wanted is None:
        if hidden is None:
            return None
        response = await answer(cluster, req, account, container, obj, 0)
        current = await _current(cluster, account, container, obj)
        response.headers["X-Object-Version-Id"] = (current or {}).get(VERSION_ID) or "null"
        return response
    wanted = _check_version_id(wanted, hidden)
    if wanted == "null":
        current = await _current(cluster, account, container, obj)
        if current is None or current.get(VERSION_ID):
            raise SwiftError(404)
        response = await answer(cluster, req, account, container, obj, 0)
        response.headers["X-Object-Version-Id"] = "null"
        return response
    assert hidden is not None
    response = await answer(cluster, req, account, hidden, version_name(obj, wanted), 0)
    if response.headers.get("content-type", "").startswith("application/x-deleted"):
        if response.background is not None:
            await response.background()
        raise SwiftError(404, headers={"X-Object-Version-Id": wanted,
                                       "Content-Type": DELETE_MARKER})
    response.headers["X-Object-Version-Id"] = wanted
    return response


async def copy_source(cluster: Cluster, req: Any, account: str, container: str, obj: str
                      ) -> tuple[str, str] | None:
    """Where a ``COPY ?version-id=<id>`` reads the version it copies (None: the object itself,
    also for ``null`` when the object is the null version); 404 for none or a delete marker."""
    from nubes.object.proxy import container as containers

    wanted = version_id_of(req)
    if wanted is None:
        return None
    raw = await containers.cached_raw_info(cluster, account, container)
    hidden = hidden_of(raw)
    wanted = _check_version_id(wanted, hidden)
    if wanted == "null":
        current = await _current(cluster, account, container, obj)
        if current is None or current.get(VERSION_ID):
            raise SwiftError(404)
        return None
    assert hidden is not None
    stored = await _current(cluster, account, hidden, version_name(obj, wanted))
    if stored is None or stored.get("content-type", "").startswith("application/x-deleted"):
        raise SwiftError(404)
    return hidden, version_name(obj, wanted)


async def delete_version(cluster: Cluster, req: Any, account: str, container: str, obj: str
                         ) -> Response:
    """``DELETE ?version-id``: that version only (no marker); the current copy too when it is
    that version's. ``null`` deletes the object in the container, as Swift."""
    from nubes.object.proxy import container as containers
    from nubes.object.proxy import obj as objects

    raw = await containers.cached_raw_info(cluster, account, container)
    hidden = hidden_of(raw)
    wanted = _check_version_id(version_id_of(req) or "", hidden)
    if wanted == "null":
        answer = await objects._remove(cluster, account, container, obj)
        answer.headers["X-Object-Version-Id"] = "null"
        return answer
    assert hidden is not None
    current = await _current(cluster, account, container, obj)
    current_id = (current or {}).get(VERSION_ID) or "null"
    if current is not None and current_id == wanted:
        try:
            await objects._remove(cluster, account, container, obj)
        except SwiftError as e:
            if e.status != 404:
                raise
        current_id = "null"
    headers = {"X-Object-Version-Id": wanted, "X-Object-Current-Version-Id": current_id}
    try:
        answer = await objects._remove(cluster, account, hidden, version_name(obj, wanted))
    except SwiftError as e:
        e.headers.update(headers)
        raise
    answer.headers.update(headers)
    return answer


# -- the versions listing ----------------------------------------------------------------------

async def _list(cluster: Cluster, account: str, container: str, params: dict[str, str]
                ) -> list[dict] | None:
    part, nodes = cluster.read_nodes(cluster.container_ring, account, container)
    answer, others = await cluster.backend.first_good(nodes, part, "GET", (account, container),
                                                      {}, {**params, "format": "json"})
    if answer is None:
        if any(a.status == 404 for a in others):
            return None
        raise SwiftError(503)
    return json.loads(answer.body or b"[]")


def _row_timestamp(last_modified: str) -> str:
    """The timestamp a listing row's ``last_modified`` was made from (five decimals)."""
    whole, _, frac = last_modified.partition(".")
    seconds = calendar.timegm(time.strptime(whole, "%Y-%m-%dT%H:%M:%S"))
    return f"{seconds:010d}.{(frac + '00000')[:5]}"


async def listing(cluster: Cluster, req: Any, account: str, container: str) -> Response:
    """``GET <container>?versions``: every version, by name, newest first for each, with
    ``version_id`` and ``is_latest``; the objects that are no version's copy as ``null``."""
    from nubes.object.proxy import container as containers

    query = req.query_params
    for unsupported in ("delimiter", "end_marker", "reverse", "path"):
        if unsupported in query:
            raise SwiftError(400, f"{unsupported} is not served with versions listings")
    params = listing_params(req, cluster.listing_limit)
    limit = int(query.get("limit") or cluster.listing_limit)
    prefix, marker = query.get("prefix", ""), query.get("marker", "")
    version_marker = query.get("version_marker")
    raw = await containers.raw_info(cluster, account, container)     # 404 for none
    hidden = hidden_of(raw) or versions_container(container)
    v_params = {"limit": str(limit), "prefix": RESERVED + prefix}
    if marker:
        if version_marker is None:
            v_params["marker"] = f"{RESERVED}{marker}{RESERVED}:"      # past all its versions
        elif version_marker == "null":
            v_params["marker"] = f"{RESERVED}{marker}{RESERVED}"       # before all of them
        else:
            try:
                v_params["marker"] = version_name(marker, version_marker)
            except InvalidTimestamp:
                raise SwiftError(400, "invalid version_marker param") from None
    elif version_marker is not None:
        raise SwiftError(400, "version_marker param requires marker")
    p_params = {"limit": str(limit), **({"prefix": prefix} if prefix else {}),
                **({"marker": marker} if marker else {})}
    primary = await _list(cluster, account, container, p_params)
    if primary is None:
        raise SwiftError(404)
    versions = await _list(cluster, account, hidden, v_params) or []
    current = {row["name"]: _row_timestamp(row["last_modified"]) for row in primary}
    listed, latest = [], set()
    for row in versions:
        split = split_version(row["name"])
        if split is None:
            continue
        name, vid = split
        is_latest = current.get(name) == vid or (
            row["content_type"] == DELETE_MARKER and name not in current and name not in latest)
        if is_latest:
            latest.add(name)
        listed.append({**row, "name": name, "is_latest": is_latest, "version_id": vid})
    nulls = []
    for row in primary:
        name = row["name"]
        if name in latest:
            continue
        # a current copy whose version is past this page is no null version
        if await _current(cluster, account, hidden, version_name(name, current[name])) is not None:
            continue
        nulls.append({**row, "is_latest": True, "version_id": "null"})
    entries: list[dict | str] = list(sorted([*nulls, *listed], key=lambda e: e["name"])[:limit])
    response = listings.render("container", container, entries, params.get("format", "plain"), {})
    response.headers.update(shown(raw))
    return response
