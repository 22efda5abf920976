"""Listing requests and answers, shared by the container and account servers: the query
parameters (prefix, delimiter, marker, end_marker, limit, reverse, path, format) and the
json/xml/plain bodies."""

from __future__ import annotations

import functools
import json
import time
from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

from starlette.requests import Request
from starlette.responses import Response

from nubes.object.server.backend import HTTPError
from nubes.object.timestamps import Timestamp

MAX_LIMIT = 10000


@dataclass
class ListingQuery:
    prefix: str = ""
    delimiter: str = ""
    marker: str = ""
    end_marker: str = ""
    limit: int = MAX_LIMIT
    reverse: bool = False
    path: str | None = None
    format: str = "plain"


def parse_query(request: Request, max_limit: int = MAX_LIMIT) -> ListingQuery:
    params = request.query_params
    query = ListingQuery(limit=max_limit)
    for key in ("prefix", "delimiter", "marker", "end_marker"):
        setattr(query, key, params.get(key, ""))
    if len(query.delimiter) > 1:
        raise HTTPError(412, "Bad delimiter")
    if "limit" in params:
        value = params["limit"]
        if not value.isdigit():
            raise HTTPError(412, "Value of limit must be a positive integer")
        if int(value) > max_limit:
            raise HTTPError(412, f"Maximum limit is {max_limit}")
        query.limit = int(value)
    query.reverse = params.get("reverse", "").lower() in ("1", "true", "yes", "on", "t", "y")
    if "path" in params:
        # Swift's older form: the objects directly under path/, no subdirs.
        query.path = params["path"].rstrip("/")
        query.prefix = query.path + "/" if query.path else ""
        query.delimiter = "/"
    query.format = _format(request)
    return query


def _format(request: Request) -> str:
    fmt = request.query_params.get("format", "").lower()
    if fmt in ("json", "xml", "plain"):
        return fmt
    if fmt:
        return "plain"
    accept = request.headers.get("accept", "")
    if "application/json" in accept:
        return "json"
    if "application/xml" in accept or "text/xml" in accept:
        return "xml"
    return "plain"


@functools.lru_cache(maxsize=4096)
def _utc_second(seconds: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))


def last_modified(timestamp: str) -> str:
    """Swift's listing date: ISO 8601 with microseconds, no zone (UTC). Made from the ticks (a
    timestamp has five decimals), the date part remembered per second: a listing makes 10,000."""
    if len(timestamp) == 16 and timestamp[10] == "." and timestamp[:10].isdigit() \
            and timestamp[11:].isdigit():       # the normal form, as rows store it
        return f"{_utc_second(int(timestamp[:10]))}.{timestamp[11:]}0"
    ticks = Timestamp.parse(timestamp).ticks
    return f"{_utc_second(ticks // 100000)}.{ticks % 100000 * 10:06d}"


def render(kind: str, name: str, entries: list[dict | str], fmt: str,
           headers: dict[str, str]) -> Response:
    """``entries`` are dicts (objects or containers, with their fields in order) or subdir names."""
    if fmt == "json":
        body = json.dumps([e if isinstance(e, dict) else {"subdir": e} for e in entries])
        return Response(body, headers=headers, media_type="application/json; charset=utf-8")
    if fmt == "xml":
        item = "object" if kind == "container" else "container"
        parts = ['<?xml version="1.0" encoding="UTF-8"?>', f"<{kind} name={quoteattr(name)}>"]
        for e in entries:
            if isinstance(e, str):
                parts.append(f"<subdir name={quoteattr(e)}><name>{escape(e)}</name></subdir>")
            else:
                fields = "".join(f"<{k}>{escape(str(v))}</{k}>" for k, v in e.items())
                parts.append(f"<{item}>{fields}</{item}>")
        parts.append(f"</{kind}>")
        return Response("\n".join(parts), headers=headers,
                        media_type="application/xml; charset=utf-8")
    if not entries:
        return Response(b"", status_code=204, headers=headers)
    names = [e if isinstance(e, str) else e["name"] for e in entries]
    return Response("\n".join(names) + "\n", headers=headers,
                    media_type="text/plain; charset=utf-8")
