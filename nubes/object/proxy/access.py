"""What stands between a request and its controller, in the order of Swift's proxy pipeline:
CORS preflight, the gatekeeper (no client sets or sees system metadata), FormPost, TempURL,
static web (staticweb.py: what it reads comes back through the rest, with the caller's rights),
keystoneauth with ACLs, quotas; then on the answer the owner-only headers and CORS.

Every route of the API reaches here with or without a token (they are public routes of the
core): a request is then allowed by its token (owners, readers, ACLs), its URL's signature
(TempURL), its form's (FormPost) or a container's referrer ACL (``.r:*``). Anything else
without a token is 401, with a token 403, as keystoneauth answers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import unquote

from starlette.responses import Response

from nubes.object.proxy import (acl, constraints, cors, dlo, formpost, info, object_versioning,
                                quotas, slo, staticweb, symlink, tempurl, versioning)
from nubes.object.proxy.acl import Grant
from nubes.object.proxy.base import GRANT, Cluster
from nubes.object.proxy.errors import SwiftError

READS = ("GET", "HEAD")
SYSMETA = ("x-account-sysmeta-", "x-container-sysmeta-", "x-object-sysmeta-")
Handler = Callable[..., Awaitable[Response]]


async def serve(cluster: Cluster, req: Any, fn: Handler, account: str,
                container: str | None = None, obj: str | None = None) -> Response:
    if req.method == "OPTIONS":
        return await cors.preflight(cluster, req, account, container)
    origin = req.headers.get("origin") if container else None
    try:
        response = await _serve(cluster, req, fn, account, container, obj)
    except SwiftError as exc:
        if origin:
            exc.headers.update(await cors.actual_headers(cluster, req, account, container, {}))
        raise
    if origin:
        response.headers.update(await cors.actual_headers(cluster, req, account, container,
                                                          response.headers))
    return response


async def _serve(cluster: Cluster, req: Any, fn: Handler, account: str, container: str | None,
                 obj: str | None) -> Response:
    rewrite(req, drop=lambda name: name.startswith(SYSMETA))
    object_versioning.check_reserved(req, container, obj)     # no client reaches a hidden name
    if container and formpost.is_form(req):
        return await formpost.serve(cluster, req, account, container, obj)
    if obj is not None and tempurl.wanted(req):
        scope = await tempurl.authorize(cluster, req, account, container, obj)
        if scope == "container" and any(c != container for c, _o, _k in _needs(req, container, obj)):
            raise tempurl.invalid(req)          # a container's key reaches only that container
        grant = Grant(owner=False, via="tempurl", account=account,
                      container=container if scope == "container" else None)
        rewrite(req, drop=lambda name: name in tempurl.INCOMING_REMOVE)
    else:
        if staticweb.wanted(req, container):
            served = await staticweb.serve(cluster, req, account, container, obj, _serve)
            if served is not None:
                return served
        grant = await decide(cluster, req, account, container, obj)
    req.scope[GRANT] = grant
    await _prepare(cluster, req, grant, account, container, obj)
    if obj is not None and not grant.account_wide:
        await _sources_allowed(cluster, req, grant, account, container, obj)
    params = {k: v for k, v in (("container", container), ("obj", obj)) if v is not None}
    response = await fn(cluster, req, account=account, **params)
    if obj is not None and not grant.account_wide:
        await _reached_allowed(cluster, req, grant, account, container, obj, response)
    await _finish(cluster, req, grant, response, account, container, obj)
    return response


async def _may_use(cluster: Cluster, req: Any, grant: Grant, account: str, container: str,
                   kind: str = "read") -> None:
    """Refuse reading (or writing) ``container`` through a grant that reaches only some
    containers: Swift authorizes each subrequest (a link's target, a large object's segments)
    with the caller's rights."""
    if grant.account_wide or container == grant.container:
        return
    if grant.via == "tempurl":
        raise tempurl.invalid(req)
    project = _project(req, account)
    await _container_grant(cluster, req, account, container, "", kind, project,
                           {"project_id": project})


async def _sources_allowed(cluster: Cluster, req: Any, grant: Grant, account: str,
                           container: str, obj: str) -> None:
    """Before a write: the versions container it archives into, the segments a manifest
    delete removes, a static link's target, a copy's source and each link it follows."""
    if req.method in ("PUT", "DELETE", "COPY"):
        # a versioned container archives into its versions container: Swift's versioned_writes
        # asks the caller's write access there too
        dest = _needs(req, container, obj)[-1][0] if req.method == "COPY" else container
        record = await info.container_info(cluster, req, account, dest) or {}
        versions = record.get(versioning.LOCATION)
        if versions:
            await _may_use(cluster, req, grant, account, unquote(versions), "write")
    if req.method == "DELETE" and req.query_params.get("multipart-manifest") == "delete":
        await _slo_segments_allowed(cluster, req, grant, account, container, obj, 0, "write")
    if req.method == "PUT" and "x-symlink-target-etag" in req.headers:
        target = unquote(req.headers.get("x-symlink-target", "")).lstrip("/").partition("/")[0]
        await _may_use(cluster, req, grant, account, target)
    source = None
    if req.method == "COPY":
        source = (container, obj)
    elif req.method == "PUT" and "x-copy-from" in req.headers:
        src, _, src_obj = unquote(req.headers["x-copy-from"]).lstrip("/").partition("/")
        source = (src, src_obj)
    for _hop in range(symlink.SYMLOOP_MAX + 1):
        if source is None or not source[0] or not source[1]:
            return
        await _may_use(cluster, req, grant, account, source[0])
        headers = await _object_headers(cluster, account, *source)
        target = symlink.target_of(headers, account) if headers is not None else None
        if target is None:
            return
        if target[0] != account:
            return                  # another account: authorize() asks the policy
        source = (target[1], target[2])


async def _object_headers(cluster: Cluster, account: str, container: str, obj: str
                          ) -> dict[str, str] | None:
    part, nodes = cluster.read_nodes(cluster.object_ring, account, container, obj)
    answer, _ = await cluster.backend.first_good(nodes, part, "HEAD", (account, container, obj), {})
    return None if answer is None else {k.lower(): v for k, v in answer.headers.items()}


async def _reached_allowed(cluster: Cluster, req: Any, grant: Grant, account: str, container: str,
                           obj: str, response: Response) -> None:
    """After a GET or HEAD, before its body: the link it followed and the segments it joins were
    readable by the caller."""
    if req.method not in READS or req.query_params.get("multipart-manifest") == "get":
        return
    location = response.headers.get("content-location")
    if location:
        parts = unquote(location).split("/", 4)
        if len(parts) == 5 and parts[2] == account:
            container, obj = parts[3], parts[4]
            await _may_use(cluster, req, grant, account, container)
    manifest = response.headers.get(dlo.MANIFEST)
    if manifest is not None:
        await _may_use(cluster, req, grant, account, unquote(manifest).partition("/")[0])
    if slo.is_manifest(response.headers):
        await _slo_segments_allowed(cluster, req, grant, account, container, obj, 0)


async def _slo_segments_allowed(cluster: Cluster, req: Any, grant: Grant, account: str,
                                container: str, obj: str, depth: int, kind: str = "read") -> None:
    from nubes.object.proxy import obj as objects

    try:
        resp = await objects._open_newest(cluster, account, container, obj, {})
    except SwiftError:
        return                      # nothing there: the controller answers for it
    try:
        if not slo.is_manifest(resp.headers):
            return
        body = await resp.aread()
    finally:
        await resp.aclose()
    try:
        segments = slo.read_manifest(body)
    except (ValueError, KeyError, TypeError):
        return
    for seg in segments:
        if not seg.name:
            continue
        seg_container, _, seg_obj = seg.name.lstrip("/").partition("/")
        await _may_use(cluster, req, grant, account, seg_container, kind)
        if seg.slo and depth < slo.MAX_DEPTH:
            await _slo_segments_allowed(cluster, req, grant, account, seg_container, seg_obj,
                                        depth + 1, kind)


def rewrite(req: Any, drop: Callable[[str], bool] = lambda name: False,
            add: dict[str, str] | None = None) -> None:
    """Change the request's headers before the controller reads them."""
    kept = [(k, v) for k, v in req.scope["headers"]
            if not drop(k.decode("latin-1").lower())
            and (not add or k.decode("latin-1").lower() not in add)]
    if not add and len(kept) == len(req.scope["headers"]):
        return
    kept.extend((k.encode("latin-1"), v.encode("latin-1")) for k, v in (add or {}).items())
    req.scope["headers"] = kept
    if hasattr(req, "_headers"):
        del req._headers


def _project(req: Any, account: str) -> str:
    constraints.check_account(account)
    prefix = constraints.RESELLER_PREFIX
    if not account.startswith(prefix) or len(account) == len(prefix):
        raise denied(req)
    return account[len(prefix):]


def denied(req: Any) -> SwiftError:
    return SwiftError(403 if req.ctx.authenticated else 401)


def _needs(req: Any, container: str | None, obj: str | None) -> list[tuple[str, str | None, str]]:
    """The containers the request touches and the ACL each must grant (read or write)."""
    if container is None or obj is None:
        return [(container or "", obj, "read" if req.method in READS else "")]
    if req.method == "COPY":
        dest, _, dest_obj = unquote(req.headers.get("destination", "")).lstrip("/").partition("/")
        return [(container, obj, "read"), (dest or container, dest_obj or obj, "write")]
    needs = [(container, obj, "read" if req.method in READS else "write")]
    if req.method == "PUT" and "x-copy-from" in req.headers:
        src, _, src_obj = unquote(req.headers["x-copy-from"]).lstrip("/").partition("/")
        needs.append((src or container, src_obj or obj, "read"))
    return needs


async def decide(cluster: Cluster, req: Any, account: str, container: str | None,
                 obj: str | None) -> Grant:
    """keystoneauth's decision: owners (policy ``object:account_operator``), the account's ACL,
    then for each container the request touches its ACL's identities, referrers, project
    readers (policy ``object:account_reader``) and roles named in the ACL."""
    ctx = req.ctx
    project = _project(req, account)
    target = {"project_id": project}
    if ctx.authenticated and ctx.allowed("object:account_operator", target):
        return Grant(owner=True, via="owner", account=account)
    if ctx.authenticated:
        granted = await _account_acl_grant(cluster, req, account, container)
        if granted is not None:
            return granted
    for name, item, kind in _needs(req, container, obj):
        await _container_grant(cluster, req, account, name, item, kind, project, target)
    return Grant(owner=False, via="acl", account=account, container=container or "")


async def _account_acl_grant(cluster: Cluster, req: Any, account: str, container: str | None
                             ) -> Grant | None:
    record = await info.account_info(cluster, req, account)
    level = acl.account_level(req.ctx, acl.parse_account_acl(record.get(acl.ACCOUNT_ACL_SYSMETA)))
    if level == "admin":
        return Grant(owner=True, via="account-acl", account=account)
    if level == "read-write" and (container or req.method in READS):
        return Grant(owner=False, via="account-acl", account=account)
    if level == "read-only" and req.method in READS:
        return Grant(owner=False, via="account-acl", account=account)
    return None


async def _container_grant(cluster: Cluster, req: Any, account: str, container: str,
                           obj: str | None, kind: str, project: str, target: dict) -> None:
    """Allow (return) or refuse (raise) one container's part of the request, for a caller who
    does not own the account."""
    ctx = req.ctx
    header = {"read": acl.READ, "write": acl.WRITE}.get(kind)
    record = None
    if container and header:
        record = await info.container_info(cluster, req, account, container)
    referrers, groups = acl.parse((record or {}).get(header or "", ""))
    if acl.identity_matches(ctx, groups):
        return
    referred = None
    if acl.referrer_allowed(req.headers.get("referer"), referrers):
        if obj is not None or acl.LISTINGS in groups:
            return
        referred = False
    if not ctx.authenticated or ctx.project_id != project:
        raise denied(req)
    if req.method in READS and kind != "write" and ctx.allowed("object:account_reader", target):
        return
    if referred is False or not acl.role_matches(ctx, groups):
        raise denied(req)


async def _prepare(cluster: Cluster, req: Any, grant: Grant, account: str, container: str | None,
                   obj: str | None) -> None:
    """The request's headers as the controller may take them, and the quotas of a write."""
    if not grant.owner:
        rewrite(req, drop=lambda name: name in acl.OWNER_HEADERS)
    if container is None:
        if req.method == "POST":
            quotas.check_account_headers(req)
            value = req.headers.get(acl.ACCOUNT_ACL)
            if value is not None:
                rewrite(req, drop=lambda name: name == acl.ACCOUNT_ACL,
                        add={acl.ACCOUNT_ACL_SYSMETA: acl.check_account_acl(value)})
        return
    if obj is None:
        if req.method in ("PUT", "POST"):
            quotas.check_container_headers(req.headers)
            cleaned = {h: acl.clean(h, req.headers[h]) for h in (acl.READ, acl.WRITE)
                       if h in req.headers}
            if cleaned:
                rewrite(req, add=cleaned)
        return
    if req.method == "PUT":
        length = req.headers.get("content-length", "")
        await quotas.check_upload(cluster, req, account, container,
                                  int(length) if length.isdigit() else None)
    elif req.method == "COPY":
        dest = unquote(req.headers.get("destination", "")).lstrip("/").partition("/")[0]
        if dest:
            await quotas.check_upload(cluster, req, account, dest, None)


async def _finish(cluster: Cluster, req: Any, grant: Grant, response: Response, account: str,
                  container: str | None, obj: str | None) -> None:
    """No system metadata leaves the proxy; the account ACL and the other owner headers only
    for owners; TempURL's outgoing rules."""
    headers = response.headers
    for name in list(headers.keys()):
        low = name.lower()
        if low.startswith(SYSMETA) or (not grant.owner and low in acl.OWNER_HEADERS):
            del headers[name]
    if container is None and grant.owner and req.method in READS and response.status_code < 300:
        stored = (await info.account_info(cluster, req, account)).get(acl.ACCOUNT_ACL_SYSMETA)
        if acl.parse_account_acl(stored):
            headers["X-Account-Access-Control"] = acl.check_account_acl(stored or "")
    if grant.via == "tempurl" and obj is not None:
        tempurl.outgoing(req, response, obj)
