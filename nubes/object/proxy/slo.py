"""Static large objects (Swift's SLO): a manifest that lists its segments exactly, each checked
when the manifest is written (what ``swift upload -S`` makes when ``/info`` offers ``slo``).

``PUT ?multipart-manifest=put`` takes a JSON list of segments, each ``{"path": "/<container>/
<object>", "etag": ..., "size_bytes": ..., "range": "<first>-<last>"}`` (etag and size may be
null: not checked) or ``{"data": <base64>}`` (inline bytes). Every path is HEADed; any segment
missing, of another ETag or size, empty, or a range outside it fails the whole PUT with 400 and
Swift's ``Errors:`` list. The manifest is stored as the object's body, in Swift's own form
(``name``, ``bytes``, ``hash``, ``content_type``, ``last_modified``, ``range``), flagged
``X-Static-Large-Object: True``, with its total size and ETag (the MD5 of the segments' ETags,
``<etag>:<range>;`` for a ranged one) as sysmeta, and ``;swift_bytes=<total>`` on the content
type, which the container listing turns into the object's size.

GET and HEAD answer the segments joined (nested manifests expanded, at most ten deep), with one
byte range served across them; ``?multipart-manifest=get`` answers the manifest (``&format=raw``:
in the PUT form); ``DELETE ?multipart-manifest=delete`` deletes every segment, then the
manifest, answering as bulk delete does."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote

from starlette.responses import Response, StreamingResponse

from nubes.object.proxy import dlo
from nubes.object.proxy.constraints import SLO_INFO
from nubes.object.proxy.base import Cluster
from nubes.object.proxy.errors import SwiftError

HEADER = "x-static-large-object"
ETAG = "x-object-sysmeta-slo-etag"
SIZE = "x-object-sysmeta-slo-size"
MAX_SEGMENTS = SLO_INFO["max_manifest_segments"]
MAX_MANIFEST_SIZE = SLO_INFO["max_manifest_size"]
MIN_SEGMENT_SIZE = SLO_INFO["min_segment_size"]
MAX_DEPTH = 10
ALLOWED_KEYS = {"path", "etag", "size_bytes", "range", "data"}


def is_manifest(headers: Any) -> bool:
    return str(headers.get(HEADER, "")).lower() in ("true", "1", "yes", "on")


def strip_swift_bytes(content_type: str) -> str:
    base, sep, _rest = content_type.partition(";swift_bytes=")
    return base if sep else content_type


@dataclass
class Segment:
    """One entry of a stored manifest: a whole object, a range of one, or inline data."""

    name: str = ""             # "/container/object"; "" for inline data
    size: int = 0              # the object's (or the data's) bytes
    etag: str = ""
    content_type: str = ""
    last_modified: str = ""
    range: tuple[int, int] | None = None    # (first, last) inclusive
    data: bytes = b""
    slo: bool = False          # the segment is itself a manifest

    @property
    def length(self) -> int:
        return self.range[1] - self.range[0] + 1 if self.range else self.size

    def stored(self) -> dict[str, Any]:
        if not self.name:
            return {"data": base64.b64encode(self.data).decode()}
        out: dict[str, Any] = {"name": self.name, "bytes": self.size, "hash": self.etag,
                               "content_type": self.content_type, "last_modified": self.last_modified}
        if self.range:
            out["range"] = f"{self.range[0]}-{self.range[1]}"
        if self.slo:
            out["sub_slo"] = True
        return out

    def raw(self) -> dict[str, Any]:
        if not self.name:
            return {"data": base64.b64encode(self.data).decode()}
        out: dict[str, Any] = {"path": self.name, "etag": self.etag, "size_bytes": self.size}
        if self.range:
            out["range"] = f"{self.range[0]}-{self.range[1]}"
        return out

    @classmethod
    def from_stored(cls, entry: dict[str, Any]) -> Segment:
        if "data" in entry:
            data = base64.b64decode(entry["data"])
            return cls(size=len(data), data=data)
        seg = cls(name=entry["name"], size=int(entry["bytes"]), etag=entry.get("hash", ""),
                  content_type=entry.get("content_type", ""), last_modified=entry.get("last_modified", ""),
                  slo=bool(entry.get("sub_slo")))
        if entry.get("range"):
            first, _, last = entry["range"].partition("-")
            seg.range = (int(first), int(last))
        return seg


def manifest_etag(segs: list[Segment]) -> str:
    parts = []
    for s in segs:
        etag = s.etag if s.name else hashlib.md5(s.data, usedforsecurity=False).hexdigest()
        parts.append(f"{etag}:{s.range[0]}-{s.range[1]};" if s.range else etag)
    return hashlib.md5("".join(parts).encode(), usedforsecurity=False).hexdigest()


def _range_of(value: Any, size: int) -> tuple[int, int] | None | str:
    """(first, last) of a segment's ``range`` within ``size`` bytes; a message when it is bad."""
    if value is None:
        return None
    text = str(value).strip()
    first, sep, last = text.partition("-")
    if not sep or not (first.isdigit() or last.isdigit()) or (first and not first.isdigit()) or \
            (last and not last.isdigit()):
        return "Invalid range"
    if not first:
        n = int(last)
        lo, hi = max(0, size - n), size - 1
    else:
        lo, hi = int(first), min(int(last), size - 1) if last else size - 1
    if lo > hi or lo >= size:
        return "Unsatisfiable Range"
    return lo, hi


def parse_put_body(body: bytes) -> list[dict[str, Any]]:
    if len(body) > MAX_MANIFEST_SIZE:
        raise SwiftError(413, f"Manifest File > {MAX_MANIFEST_SIZE} bytes")
    try:
        entries = json.loads(body or b"null")
    except ValueError:
        raise SwiftError(400, "Manifest must be valid JSON.") from None
    if not isinstance(entries, list):
        raise SwiftError(400, "Manifest must be a list.")
    if len(entries) > MAX_SEGMENTS:
        raise SwiftError(413, f"Too many segments: the manifest may list at most {MAX_SEGMENTS}.")
    if not entries:
        raise SwiftError(400, "Manifest must list at least one segment.")
    errors = []
    for i, e in enumerate(entries):
        if not isinstance(e, dict) or not e.keys() <= ALLOWED_KEYS:
            errors.append(f"Index {i}: extraneous or missing keys")
        elif ("data" in e) == ("path" in e):
            errors.append(f"Index {i}: expected exactly one of \"path\" and \"data\"")
        elif "data" in e and (set(e) - {"data"}):
            errors.append(f"Index {i}: a data segment takes no other key")
        elif "path" in e and (not isinstance(e["path"], str) or
                              len(unquote(e["path"]).lstrip("/").split("/", 1)) != 2 or
                              not unquote(e["path"]).lstrip("/").split("/", 1)[1]):
            errors.append(f"Index {i}: path does not refer to an object. Path must be of the form "
                          "/container/object.")
        elif "size_bytes" in e and e["size_bytes"] is not None and (
                not isinstance(e["size_bytes"], int) or isinstance(e["size_bytes"], bool)
                or e["size_bytes"] < 0):
            errors.append(f"Index {i}: \"size_bytes\" must be an integer greater than or equal to zero")
        elif "etag" in e and e["etag"] is not None and not isinstance(e["etag"], str):
            errors.append(f"Index {i}: \"etag\" must be a string or null (if provided)")
    if errors:
        raise SwiftError(400, "\n".join(errors))
    return entries


async def build(cluster: Cluster, account: str, entries: list[dict[str, Any]],
                head: Callable[[str, str], Any]) -> list[Segment]:
    """The stored manifest of a PUT's ``entries``, every segment checked; 400 listing the failures.
    ``head(container, obj)``: the segment's headers (dict), or raises SwiftError."""
    segs: list[Segment] = []
    problems: list[str] = []
    for e in entries:
        if "data" in e:
            try:
                data = base64.b64decode(e["data"], validate=True)
            except (binascii.Error, ValueError, TypeError):
                problems.append("Inline data, Invalid base64 data")
                continue
            if not data:
                continue
            segs.append(Segment(size=len(data), data=data))
            continue
        path = "/" + unquote(e["path"]).lstrip("/")
        container, obj = path[1:].split("/", 1)
        try:
            headers = await head(container, obj)
        except SwiftError as err:
            problems.append(f"{quote(path)}, {err.status} {reason_phrase(err.status)}")
            continue
        nested = is_manifest(headers)
        size = int(headers.get(SIZE) or headers.get("content-length") or 0) if nested else \
            int(headers.get("content-length") or 0)
        etag = (headers.get(ETAG) if nested else headers.get("etag", "")).strip('"')
        if e.get("etag") is not None and e["etag"].strip('"') != etag:
            problems.append(f"{quote(path)}, Etag Mismatch")
            continue
        if e.get("size_bytes") is not None and int(e["size_bytes"]) != size:
            problems.append(f"{quote(path)}, Size Mismatch")
            continue
        if size < MIN_SEGMENT_SIZE:
            problems.append(f"{quote(path)}, Too small; each segment must be at least 1 byte.")
            continue
        span = _range_of(e.get("range"), size)
        if isinstance(span, str):
            problems.append(f"{quote(path)}, {span}")
            continue
        segs.append(Segment(name=path, size=size, etag=etag,
                            content_type=strip_swift_bytes(headers.get("content-type", "")),
                            last_modified=headers.get("last-modified", ""),
                            range=span if span and span != (0, size - 1) else None, slo=nested))
    if problems:
        raise SwiftError(400, "Errors:\n" + "\n".join(problems))
    if not segs:
        raise SwiftError(400, "Manifest must list at least one segment with data.")
    return segs


def reason_phrase(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def stored_headers(segs: list[Segment], content_type: str) -> dict[str, str]:
    total = sum(s.length for s in segs)
    return {HEADER: "True", ETAG: manifest_etag(segs), SIZE: str(total),
            "content-type": f"{strip_swift_bytes(content_type)};swift_bytes={total}"}


def read_manifest(body: bytes) -> list[Segment]:
    try:
        return [Segment.from_stored(e) for e in json.loads(body)]
    except (ValueError, KeyError, TypeError):
        raise SwiftError(500, "Unable to load SLO manifest") from None


async def _flatten(cluster: Cluster, account: str, segs: list[Segment], fetch: Callable[..., Any],
                   depth: int = 0) -> list[tuple[Segment, int, int]]:
    """(segment, first, last) of every plain object or data piece, nested manifests expanded."""
    out: list[tuple[Segment, int, int]] = []
    for s in segs:
        lo, hi = s.range or (0, s.size - 1)
        if s.slo:
            if depth >= MAX_DEPTH:
                raise SwiftError(409, "Max recursion depth exceeded on SLO manifest")
            container, obj = s.name[1:].split("/", 1)
            inner = await _flatten(cluster, account, read_manifest(await fetch(container, obj)), fetch,
                                   depth + 1)
            out.extend(_slice(inner, lo, hi))
        else:
            out.append((s, lo, hi))
    return out


def _slice(pieces: list[tuple[Segment, int, int]], lo: int, hi: int) -> list[tuple[Segment, int, int]]:
    out, offset = [], 0
    for seg, a, b in pieces:
        n = b - a + 1
        s, e = max(lo, offset), min(hi, offset + n - 1)
        if s <= e:
            out.append((seg, a + s - offset, a + e - offset))
        offset += n
    return out


async def assembled(cluster: Cluster, account: str, body: bytes, open_newest: Callable[..., Any],
                    fetch: Callable[..., Any]) -> tuple[int, AsyncIterator[bytes]]:
    """The joined bytes of a manifest (a COPY of an SLO copies its content): length, stream."""
    segs = read_manifest(body)
    total = sum(s.length for s in segs)
    pieces = await _flatten(cluster, account, segs, fetch)
    return total, _stream(cluster, account, pieces, open_newest)


async def _stream(cluster: Cluster, account: str, pieces: list[tuple[Segment, int, int]],
                  open_newest: Callable[..., Any]) -> AsyncIterator[bytes]:
    for seg, lo, hi in pieces:
        if not seg.name:
            yield seg.data[lo:hi + 1]
            continue
        container, obj = seg.name[1:].split("/", 1)
        whole = (lo, hi) == (0, seg.size - 1)
        resp = await open_newest(cluster, account, container, obj,
                                 {} if whole else {"range": f"bytes={lo}-{hi}"})
        try:
            if resp.status_code not in (200, 206) or resp.headers.get("etag", "").strip('"') != seg.etag:
                raise SwiftError(409, f"Object segment no longer valid: {seg.name}")
            async for chunk in resp.aiter_raw():
                yield chunk
        finally:
            await resp.aclose()


async def serve(cluster: Cluster, req: Any, account: str, headers: dict[str, str], body: bytes,
                open_newest: Callable[..., Any], fetch: Callable[..., Any]) -> Response:
    """The answer to a GET or HEAD of a manifest with its own ``headers`` and ``body``."""
    segs = read_manifest(body)
    total = sum(s.length for s in segs)
    etag = '"' + (headers.get(ETAG) or headers.get(ETAG.title()) or manifest_etag(segs)) + '"'
    out = {k: v for k, v in headers.items() if k.lower() not in (
        "etag", "content-length", "content-range", HEADER) and not k.lower().startswith("x-object-sysmeta-")}
    for key in [k for k in out if k.lower() == "content-type"]:
        out[key] = strip_swift_bytes(out[key])
    out["Etag"] = etag
    out["X-Static-Large-Object"] = "True"
    judged = dlo.judge(req, etag, total, out)
    if isinstance(judged, Response):
        return judged
    status, start, end = judged
    pieces = _slice(await _flatten(cluster, account, segs, fetch), start, end - 1) if end > start else []
    return StreamingResponse(_stream(cluster, account, pieces, open_newest), status, headers=out)


def manifest_response(req: Any, headers: dict[str, str], body: bytes) -> Response:
    """``?multipart-manifest=get``: the stored manifest (or, ``format=raw``, the PUT form)."""
    segs = read_manifest(body)
    raw = req.query_params.get("format") == "raw"
    payload = json.dumps([s.raw() if raw else s.stored() for s in segs]).encode()
    out = {k: v for k, v in headers.items() if k.lower() not in ("content-length", "etag", HEADER)
           and not k.lower().startswith("x-object-sysmeta-")}
    for key in [k for k in out if k.lower() == "content-type"]:
        out[key] = "application/json; charset=utf-8" if raw else strip_swift_bytes(out[key])
    out["Etag"] = hashlib.md5(payload, usedforsecurity=False).hexdigest()
    out["X-Static-Large-Object"] = "True"
    return Response(payload if req.method == "GET" else b"", 200,
                    headers={**out, "Content-Length": str(len(payload))})


def delete_report(req: Any, deleted: int, not_found: int, errors: list[tuple[str, str]]) -> Response:
    """Bulk delete's answer (plain text, or JSON for an ``Accept: application/json``)."""
    status = "400 Bad Request" if errors else "200 OK"
    report = {"Number Deleted": deleted, "Number Not Found": not_found, "Response Body": "",
              "Response Status": status, "Errors": [list(e) for e in errors]}
    if "application/json" in req.headers.get("accept", ""):
        return Response(json.dumps(report).encode(), 200, media_type="application/json")
    lines = [f"{k}: {v}" for k, v in report.items() if k != "Errors"]
    lines.append("Errors:")
    lines += [f"{name}, {why}" for name, why in errors]
    return Response(("\n".join(lines) + "\n").encode(), 200, media_type="text/plain")


async def segment_names(cluster: Cluster, account: str, segs: list[Segment], fetch: Callable[..., Any],
                        depth: int = 0) -> list[tuple[str, str]]:
    """Every (container, object) a ``multipart-manifest=delete`` removes: the segments, nested
    manifests' segments first, then the nested manifests themselves."""
    out: list[tuple[str, str]] = []
    for s in segs:
        if not s.name:
            continue
        container, obj = s.name[1:].split("/", 1)
        if s.slo and depth < MAX_DEPTH:
            try:
                inner = read_manifest(await fetch(container, obj))
            except SwiftError:
                inner = []
            out.extend(await segment_names(cluster, account, inner, fetch, depth + 1))
        out.append((container, obj))
    return out
