"""Nova's timestamp formats."""

from __future__ import annotations

from datetime import datetime


def isotime(dt: datetime | None) -> str | None:
    """``2026-12-01T07:21:37Z`` (server and most resource fields)."""
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ") if dt is not None else None


def isotime_us(dt: datetime | None) -> str | None:
    """``2026-12-01T07:21:37.000000`` (key pairs, services, hypervisors, actions)."""
    return dt.strftime("%Y-%m-%dT%H:%M:%S.%f") if dt is not None else None
