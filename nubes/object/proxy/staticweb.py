"""Swift's static web (``staticweb``): a container served as a web site, from its metadata.

``X-Container-Meta-Web-Index`` (the page a directory serves: ``index.html``), ``-Web-Error``
(``error.html``: a 404 serves ``404error.html``, a 401 ``401error.html``, with that status),
``-Web-Listings`` (true: an HTML listing where there is no index), ``-Web-Listings-CSS`` (a
style sheet the listing links, relative to the container unless it starts with ``/`` or is a
URL), ``-Web-Listings-Label`` (shown instead of ``/v1/<account>``) and ``-Web-Directory-Type``
(objects of that type, at most one byte long, are directory markers: ``application/directory``).

It serves GET and HEAD of containers and objects for requests without a token, and for those
with one that send ``X-Web-Mode: true``, as Swift's middleware does; every object and listing
it reads is a subrequest through the access checks with the caller's rights, so a site is
public only when its container's read ACL has ``.r:*`` (and ``.rlistings`` for listings)."""

from __future__ import annotations

import html
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

from starlette.responses import Response

from nubes.core.api.http import Request
from nubes.object.proxy import info
from nubes.object.proxy.base import Cluster
from nubes.object.proxy.errors import SwiftError

META = "x-container-meta-web-"
DIRECTORY_TYPE = "application/directory"
# Marks staticweb's own subrequests: they reach the controllers, never staticweb again.
SUBREQUEST = "nubes.object.staticweb"
TRUE = ("true", "1", "yes", "on", "t", "y")     # Swift's config_true_value
# Headers of the client's that do not belong to a listing's or an error page's subrequest.
NOT_PASSED = ("range", "if-match", "if-none-match", "if-modified-since", "if-unmodified-since")
DEFAULT_STYLE = """  <style type="text/css">
   h1 {font-size: 1em; font-weight: bold;}
   #listing {border-collapse: collapse;}
   th {text-align: left; padding: 0 1em;}
   td {padding: 0 1em; text-align: left;}
   td.colsize {text-align: right;}
   tr.item:hover {background: #eef;}
  </style>
"""
Serve = Callable[..., Awaitable[Response]]


@dataclass
class Web:
    """A container's static web settings."""

    index: str = ""
    error: str = ""
    listings: bool = False
    css: str = ""
    label: str = ""
    dir_type: str = DIRECTORY_TYPE

    @classmethod
    def of(cls, record: dict[str, str]) -> Web:
        def meta(name: str) -> str:
            return record.get(META + name, "").strip()

        return cls(index=meta("index"), error=meta("error"),
                   listings=meta("listings").lower() in TRUE, css=meta("listings-css"),
                   label=meta("listings-label"), dir_type=meta("directory-type") or DIRECTORY_TYPE)


def _true(value: str | None) -> bool:
    return (value or "").strip().lower() in TRUE


def wanted(req: Any, container: str | None) -> bool:
    """A GET or HEAD of a container or object, without a token or in web mode."""
    if req.method not in ("GET", "HEAD") or not container or req.scope.get(SUBREQUEST):
        return False
    return not req.ctx.authenticated or _true(req.headers.get("x-web-mode"))


async def serve(cluster: Cluster, req: Any, account: str, container: str, obj: str | None,
                through: Serve) -> Response | None:
    """The static web answer, or None when the container is no web site (the request goes on
    as any other). ``through`` is access's pipeline after staticweb, for the subrequests."""
    record = await info.container_info(cluster, req, account, container)
    if record is None:
        return None
    site = _Site(cluster, req, account, container, Web.of(record), through)
    if obj is None:
        return await site.container_page()
    return await site.object_page(obj)


class _Site:
    def __init__(self, cluster: Cluster, req: Any, account: str, container: str, web: Web,
                 through: Serve) -> None:
        self.cluster, self.req, self.account, self.container = cluster, req, account, container
        self.web, self.through = web, through

    # -- subrequests ---------------------------------------------------------------------

    async def _sub(self, method: str, obj: str | None, query: str | None = None,
                   plain: bool = False) -> Response:
        """``method`` of the container (its listing) or one of its objects, with the caller's
        rights; raises SwiftError as the request itself would. ``query`` replaces the client's;
        ``plain`` drops its range and conditions."""
        from nubes.object.proxy import container as containers
        from nubes.object.proxy import obj as objects

        req = self.req
        path = f"/v1/{self.account}/{self.container}" + (f"/{obj}" if obj is not None else "")
        headers = req.scope["headers"]
        if plain:
            headers = [(k, v) for k, v in headers if k.decode("latin-1").lower() not in NOT_PASSED]
        params = {"account": self.account, "container": self.container}
        if obj is not None:
            params["obj"] = obj
        scope = {**req.scope, "method": method, "path": path, "raw_path": quote(path).encode(),
                 "headers": list(headers), "path_params": params, SUBREQUEST: True,
                 "query_string": req.scope.get("query_string", b"") if query is None
                 else query.encode()}
        sub = Request(scope, req.receive)
        sub.ctx = req.ctx
        sub.rt = getattr(req, "rt", None)
        sub.route_name = getattr(req, "route_name", "")
        if obj is None:
            fn = containers.get
        else:
            fn = objects.head if method == "HEAD" else objects.get
        return await self.through(self.cluster, sub, fn, self.account, self.container, obj)

    async def _error(self, exc: SwiftError, pages: bool = True) -> Response:
        """The container's error page for ``exc``'s status (``<status><Web-Error>``) with that
        status; ``exc`` itself when there is none or it cannot be read."""
        if not pages or not self.web.error:
            raise exc
        try:
            page = await self._sub(self.req.method, f"{exc.status}{self.web.error}", query="",
                                   plain=True)
        except SwiftError:
            raise exc from None
        if not 200 <= page.status_code < 300:
            await _close(page)
            raise exc
        page.status_code = exc.status
        return page

    def _redirect(self) -> Response:
        raw = self.req.scope.get("raw_path") or quote(self.req.scope["path"]).encode()
        base = str(self.req.base_url).rstrip("/")
        return Response(b"", 301, headers={"location": f"{base}{raw.decode('latin-1')}/"})

    # -- the two kinds of request --------------------------------------------------------

    async def container_page(self) -> Response | None:
        web = self.web
        if not web.index and not web.listings:
            if _true(self.req.headers.get("x-web-mode")):
                raise SwiftError(404)
            return None
        if not self.req.scope["path"].endswith("/"):
            return self._redirect()
        if web.index:
            try:
                return await self._sub(self.req.method, web.index)
            except SwiftError as exc:
                if exc.status != 404:
                    return await self._error(exc)
        return await self._listing("")

    async def object_page(self, obj: str) -> Response:
        web = self.web
        served: Response | None = None
        try:
            served = await self._sub(self.req.method, obj)
        except SwiftError as exc:
            if exc.status != 404:
                raise                       # as Swift: error pages for a missing object only
            missing = exc
        else:
            if not self._is_marker(served):
                return served
            missing = SwiftError(404)
        if not web.index and not web.listings:
            if served is not None:
                return served
            raise missing
        if served is not None:
            await _close(served)
        slash = obj.endswith("/")
        if web.index:
            try:
                page = await self._sub(self.req.method, f"{obj.rstrip('/')}/{web.index}")
            except SwiftError as exc:
                if exc.status != 404:
                    return await self._error(exc)
            else:
                if slash:
                    return page
                await _close(page)
                return self._redirect()
        if not slash:
            if await self._has_children(obj):
                return self._redirect()
            return await self._error(missing)
        return await self._listing(obj)

    def _is_marker(self, resp: Response) -> bool:
        """A directory marker: of Web-Directory-Type and at most one byte long."""
        length = resp.headers.get("content-length", "")
        kind = resp.headers.get("content-type", "").split(";")[0].strip()
        return kind == self.web.dir_type and (int(length) if length.isdigit() else 0) <= 1

    async def _has_children(self, obj: str) -> bool:
        query = urlencode({"format": "json", "limit": "1", "delimiter": "/", "prefix": obj + "/"})
        try:
            answer = await self._sub("GET", None, query=query, plain=True)
        except SwiftError:
            return False
        return bool(json.loads(answer.body or b"[]"))

    # -- the listing ---------------------------------------------------------------------

    async def _listing(self, prefix: str) -> Response:
        if not self.web.listings:
            return await self._error(SwiftError(404))
        query = {"format": "json", "delimiter": "/"}
        if prefix:
            query["prefix"] = prefix
        try:
            answer = await self._sub("GET", None, query=urlencode(query), plain=True)
        except SwiftError as exc:
            return await self._error(exc)
        entries = json.loads(answer.body or b"[]")
        if prefix and not entries:
            return await self._error(SwiftError(404))
        body = self._page(prefix, entries).encode()
        headers = {"content-type": "text/html; charset=UTF-8"}
        if self.req.method == "HEAD":
            return Response(b"", 200, headers={**headers, "content-length": str(len(body))})
        return Response(body, 200, headers=headers)

    def _page(self, prefix: str, entries: list[dict[str, Any]]) -> str:
        web = self.web
        label = self.req.scope["path"]
        if web.label:
            label = f"{web.label}/{'/'.join(label.split('/')[4:])}"
        title = html.escape(label)
        out = ['<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01 Transitional//EN" '
               '"http://www.w3.org/TR/html4/loose.dtd">', "<html>", " <head>",
               f"  <title>Listing of {title}</title>"]
        if web.css:
            out.append(f'  <link rel="stylesheet" type="text/css" '
                       f'href="{html.escape(self._css_path(prefix))}" />')
        else:
            out.append(DEFAULT_STYLE.rstrip("\n"))
        out += [" </head>", " <body>", f'  <h1 id="title">Listing of {title}</h1>',
                '  <table id="listing">', '   <tr id="heading">',
                '    <th class="colname">Name</th>', '    <th class="colsize">Size</th>',
                '    <th class="coldate">Date</th>', "   </tr>"]
        if prefix:
            out.append('   <tr id="parent" class="item"><td class="colname"><a href="../">../</a>'
                       '</td><td class="colsize">&nbsp;</td><td class="coldate">&nbsp;</td></tr>')
        for entry in entries:
            if "subdir" in entry:
                name = entry["subdir"][len(prefix):]
                out.append(f'   <tr class="item subdir"><td class="colname">'
                           f'<a href="{html.escape(quote(name))}">{html.escape(name)}</a></td>'
                           f'<td class="colsize">&nbsp;</td><td class="coldate">&nbsp;</td></tr>')
        for entry in entries:
            if "name" not in entry:
                continue
            name = entry["name"][len(prefix):]
            kinds = " ".join("type-" + html.escape(part.lower(), quote=True)
                             for part in entry.get("content_type", "").split(";")[0].split("/"))
            date = html.escape(entry.get("last_modified", "")).split(".")[0].replace("T", " ")
            out.append(f'   <tr class="item {kinds}"><td class="colname">'
                       f'<a href="{html.escape(quote(name))}">{html.escape(name)}</a></td>'
                       f'<td class="colsize">{human_size(entry.get("bytes", 0))}</td>'
                       f'<td class="coldate">{date}</td></tr>')
        out += ["  </table>", " </body>", "</html>", ""]
        return "\n".join(out)

    def _css_path(self, prefix: str) -> str:
        css = self.web.css
        if css.startswith(("/", "http://", "https://")):
            return quote(css, safe=":/")
        return "../" * prefix.count("/") + quote(css)


def human_size(value: int | float) -> str:
    """Bytes as Swift's listing shows them: ``512``, ``2Ki``, ``3Mi``..."""
    size = float(value)
    suffix = ""
    for unit in "KMGTPEZY":
        if size < 1024:
            break
        size, suffix = round(size / 1024), unit + "i"
    return f"{round(size)}{suffix}"


async def _close(resp: Response) -> None:
    """Release a streamed answer not sent on (its backend connection)."""
    if resp.background is not None:
        await resp.background()
