"""os-simple-tenant-usage: per project, the hours each server ran in a window (from its launched_at
and terminated_at) and those hours times its vCPUs, RAM and disk — Nova's arithmetic, deleted
servers included. Paged by server from 2.40 (the marker is the last server of a page)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from nubes.core.context import RequestContext
from nubes.core.db.base import utcnow
from nubes.compute import exceptions as exc
from nubes.compute.db.queries import usage as q


@dataclass
class Window:
    start: datetime
    stop: datetime
    detailed: bool = True
    limit: int | None = None
    marker: str | None = None


def hours(launched: datetime | None, terminated: datetime | None, start: datetime, stop: datetime) -> float:
    if launched is None or (terminated is not None and terminated < start) or launched > stop:
        return 0.0
    begin = max(launched, start)
    end = min(stop, terminated) if terminated is not None else stop
    return max(0.0, (end - begin).total_seconds() / 3600.0)


def server_usage(row: Any, w: Window, now: datetime) -> dict[str, Any]:
    h = hours(row.launched_at, row.terminated_at, w.start, w.stop)
    ended = row.terminated_at
    uptime = (ended or now) - row.launched_at
    return {"instance_id": row.id, "name": row.display_name, "hours": h, "memory_mb": row.memory_mb,
            "local_gb": row.root_gb + row.ephemeral_gb, "vcpus": row.vcpus, "tenant_id": row.project_id,
            "flavor": (row.flavor or {}).get("name", ""), "started_at": row.launched_at, "ended_at": ended,
            "state": "terminated" if ended else row.vm_state,
            "uptime": int(uptime.days * 86400 + uptime.seconds)}


def summarise(rows: list[Any], w: Window) -> list[dict[str, Any]]:
    now = utcnow()
    out: dict[str, dict[str, Any]] = {}
    for row in rows:
        info = server_usage(row, w, now)
        summary = out.setdefault(row.project_id, {
            "tenant_id": row.project_id, "total_local_gb_usage": 0.0, "total_vcpus_usage": 0.0,
            "total_memory_mb_usage": 0.0, "total_hours": 0.0, "start": w.start, "stop": w.stop,
            **({"server_usages": []} if w.detailed else {})})
        summary["total_local_gb_usage"] += info["local_gb"] * info["hours"]
        summary["total_vcpus_usage"] += info["vcpus"] * info["hours"]
        summary["total_memory_mb_usage"] += info["memory_mb"] * info["hours"]
        summary["total_hours"] += info["hours"]
        if w.detailed:
            summary["server_usages"].append(info)
    return list(out.values())


class Usage:
    def __init__(self, state: Any) -> None:
        self.state = state

    async def _rows(self, w: Window, project_id: str | None) -> list[Any]:
        if w.stop > utcnow():
            w.stop = utcnow()
        async with self.state.db.reader() as s:
            try:
                return await q.active_in_window(s, w.start, w.stop, project_id=project_id, limit=w.limit,
                                                marker=w.marker)
            except LookupError:
                raise exc.BadRequest(f"marker [{w.marker}] not found") from None

    async def list(self, ctx: RequestContext, w: Window) -> tuple[list[dict[str, Any]], str | None]:
        """The usage of every project; and the marker of the next page (None: last page)."""
        rows = await self._rows(w, None)
        return summarise(rows, w), _next(rows, w)

    async def show(self, ctx: RequestContext, project_id: str, w: Window) -> tuple[dict[str, Any], str | None]:
        w.detailed = True
        rows = await self._rows(w, project_id)
        found = summarise(rows, w)
        return (found[0] if found else {}), _next(rows, w)


def _next(rows: list[Any], w: Window) -> str | None:
    return rows[-1].id if w.limit and len(rows) == w.limit else None
