"""The parts of HTTP the object server's GET and HEAD obey: Range and the conditional headers."""

from __future__ import annotations

import email.utils
import math
from datetime import UTC

from nubes.object.server.backend import HTTPError
from nubes.object.timestamps import Timestamp


def http_date(timestamp: Timestamp) -> str:
    """Last-Modified: the timestamp rounded up to the second (a date has no fractions)."""
    return email.utils.formatdate(math.ceil(timestamp.seconds), usegmt=True)


def _parse_date(value: str | None) -> float | None:
    if not value:
        return None
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


def _etags(value: str) -> list[str]:
    return [t.strip().removeprefix("W/").strip('"') for t in value.split(",") if t.strip()]


def check_conditions(headers, etag: str, timestamp: Timestamp, resp_headers: dict) -> None:
    """RFC 9110's order: If-Match, else If-Unmodified-Since (412); If-None-Match, else
    If-Modified-Since (304)."""
    last_modified = math.ceil(timestamp.seconds)
    if_match = headers.get("if-match")
    if if_match is not None:
        tags = _etags(if_match)
        if "*" not in tags and etag not in tags:
            raise HTTPError(412, "Precondition Failed", resp_headers)
    else:
        since = _parse_date(headers.get("if-unmodified-since"))
        if since is not None and last_modified > since:
            raise HTTPError(412, "Precondition Failed", resp_headers)
    if_none = headers.get("if-none-match")
    if if_none is not None:
        tags = _etags(if_none)
        if "*" in tags or etag in tags:
            raise HTTPError(304, "", resp_headers)
    else:
        since = _parse_date(headers.get("if-modified-since"))
        if since is not None and last_modified <= since:
            raise HTTPError(304, "", resp_headers)


def parse_range(value: str | None, length: int) -> list[tuple[int, int]] | None:
    """The ``(start, end-exclusive)`` ranges of a ``Range: bytes=...`` header, or None when it is
    absent or malformed (then the whole body is sent, as RFC 9110 allows). 416 when none of the
    ranges overlaps the body."""
    if not value or not value.strip().lower().startswith("bytes="):
        return None
    ranges: list[tuple[int, int]] = []
    for spec in value.strip()[6:].split(","):
        spec = spec.strip()
        if "-" not in spec:
            return None
        first, _, last = spec.partition("-")
        first, last = first.strip(), last.strip()
        if not first:
            if not last.isdigit():
                return None
            suffix = int(last)
            if suffix == 0:
                continue
            ranges.append((max(0, length - suffix), length))
            continue
        if not first.isdigit() or (last and not last.isdigit()):
            return None
        start = int(first)
        end = int(last) + 1 if last else length
        if last and end <= start:
            return None
        if start >= length:
            continue
        ranges.append((start, min(end, length)))
    if not ranges:
        raise HTTPError(416, "Requested Range Not Satisfiable",
                        {"Content-Range": f"bytes */{length}"})
    return ranges


