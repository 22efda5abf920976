"""Servers: create (``server_create``), show, list, update, delete, force-delete."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from nubes.core.context import RequestContext
from nubes.core.db.base import utcnow
from nubes.compute import exceptions as exc
from nubes.compute import rpc
from nubes.compute.db.models import Instance
from nubes.compute.db.queries import actions as qa
from nubes.compute.db.queries import host_states as qh
from nubes.compute.db.queries import instances as qi
from nubes.compute.db.queries import server_groups as qg
from nubes.compute.service import server_records
from nubes.compute.service.server_create import ServerCreator
from nubes.compute.service.server_requests import CreateRequest, Created

LOG = logging.getLogger(__name__)


@dataclass
class ServerView:
    """An instance with what its views show beside the row."""

    row: Instance
    fault: Any = None
    group_ids: list[str] = field(default_factory=list)
    host_status: str = ""


@dataclass
class ListQuery:
    filters: qi.InstanceFilters
    sort: list[tuple[str, str]]
    limit: int | None
    marker: str | None
    name: str | None = None          # a regular expression, as Nova
    ip: str | None = None
    ip6: str | None = None


def _addresses(row: Instance, version: int) -> list[str]:
    out = []
    for vif in row.network_info or []:
        for ip in vif.get("fixed_ips", []):
            if ip.get("version") == version:
                out.append(ip["address"])
                out += [f["address"] for f in ip.get("floating_ips", [])]
    return out


def _regex(pattern: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern)
    except re.error:
        return re.compile(re.escape(pattern))


def python_filter(rows: list[Instance], q: ListQuery) -> list[Instance]:
    """The filters Nova also applies after the query: name and IPs as regular expressions."""
    checks = []
    if q.name:
        rx = _regex(q.name)
        checks.append(lambda r: bool(rx.search(r.display_name or "")))
    for value, version in ((q.ip, 4), (q.ip6, 6)):
        if value:
            rx_ip = _regex(value)
            checks.append(lambda r, rx_ip=rx_ip, version=version: any(
                rx_ip.search(a) for a in _addresses(r, version)))
    return [r for r in rows if all(c(r) for c in checks)]


class Servers:
    def __init__(self, state: Any) -> None:
        self.state = state
        self.creator = ServerCreator(state)

    async def create(self, ctx: RequestContext, req: CreateRequest, *, zero_disk_allowed: bool) -> Created:
        """``zero_disk_allowed``: the API layer's decision that the caller may boot on a flavor without
        a root disk (servers:create:zero_disk_flavor)."""
        return await self.creator.create(ctx, req, zero_disk_allowed=zero_disk_allowed)

    # -- reading -------------------------------------------------------------------------------
    async def _visible(self, s: Any, ctx: RequestContext, instance_id: str, *, deleted: bool | None = False
                       ) -> Instance:
        row = await qi.get(s, instance_id, deleted=deleted)
        if row is None or (row.project_id != ctx.project_id and not ctx.is_admin):
            raise exc.InstanceNotFound(instance_id)
        return row

    async def get(self, ctx: RequestContext, instance_id: str) -> ServerView:
        async with self.state.db.reader() as s:
            row = await self._visible(s, ctx, instance_id)
            return (await self._views(s, [row]))[0]

    async def _views(self, s: Any, rows: list[Instance]) -> list[ServerView]:
        ids = [r.id for r in rows]
        faults = await qi.latest_faults(s, [r.id for r in rows if r.vm_state in ("error", "deleted")])
        groups = await qg.groups_of(s, ids)
        services = await qh.services(s, sorted({r.host for r in rows if r.host}))
        down = timedelta(seconds=self.state.conf.service_down_time)
        now = utcnow()
        out = []
        for r in rows:
            status = ""
            if r.host:
                # As Nova: forced down is DOWN, disabled MAINTENANCE, no heartbeat within
                # service_down_time UNKNOWN (the host may be fine; nobody can tell).
                svc = services.get(r.host)
                seen = (svc.last_seen_up or svc.updated_at) if svc else None
                if svc is not None and svc.forced_down:
                    status = "DOWN"
                elif svc is not None and svc.disabled:
                    status = "MAINTENANCE"
                elif seen is None or now - seen > down:
                    status = "UNKNOWN"
                else:
                    status = "UP"
            out.append(ServerView(r, faults.get(r.id), [groups[r.id]] if r.id in groups else [], status))
        return out

    async def list(self, ctx: RequestContext, q: ListQuery) -> list[ServerView]:
        async with self.state.db.reader() as s:
            if q.name or q.ip or q.ip6:
                rows = _slice(await self._page(s, q, None, None), q.marker, None)
                rows = python_filter(rows, q)[:q.limit] if q.limit is not None else python_filter(rows, q)
            else:
                rows = await self._page(s, q, q.limit, q.marker)
            return await self._views(s, rows)

    async def _page(self, s: Any, q: ListQuery, limit: int | None, marker: str | None) -> list[Instance]:
        try:
            return await qi.page(s, q.filters, sort=q.sort, limit=limit, marker=marker)
        except LookupError:
            raise exc.BadRequest(f"marker [{marker}] not found") from None

    # -- changing ------------------------------------------------------------------------------
    async def update(self, ctx: RequestContext, instance_id: str, changes: dict[str, Any]) -> ServerView:
        async with self.state.db.session() as s:
            row = await self._visible(s, ctx, instance_id)
            for key, value in changes.items():
                setattr(row, key, value)
            row.updated_at = utcnow()
        return await self.get(ctx, instance_id)

    async def delete(self, ctx: RequestContext, instance_id: str, *, action: str = "delete") -> None:
        deferred = self.state.deferred_delete
        if action == "delete" and deferred.enabled and await deferred.soft_delete(ctx, instance_id, self._host_up):
            return
        async with self.state.db.session() as s:
            row = await self._visible(s, ctx, instance_id)
            if action == "forceDelete" and row.vm_state != "soft-delete":
                raise exc.InstanceInvalidState("vm_state", row.vm_state, "forceDelete", row.id)
            if row.locked and not ctx.is_admin:
                raise exc.InstanceIsLocked(row.id)
            if row.task_state == "deleting":
                return
            local = not row.host or not await self._host_up(s, row.host)
            row.task_state = "deleting"
            row.updated_at = utcnow()
            qa.start(s, row.id, "delete", ctx.request_id, ctx.user_id, ctx.project_id)
            rec = server_records.record(row)
        await self.state.events.publish("delete", "start", row)
        if local:
            await self.state.bus.cast(rpc.CONDUCTOR_TOPIC, "delete_instance", {"instance_id": instance_id})
        else:
            await self.state.bus.cast(rpc.agent_topic(row.host), "terminate_instance",
                                      {"instance_id": instance_id, "instance": rec})

    async def _host_up(self, s: Any, host: str) -> bool:
        svc = (await qh.services(s, [host])).get(host)
        if svc is None or svc.forced_down:
            return False
        seen = svc.last_seen_up or svc.updated_at
        return seen is not None and (utcnow() - seen).total_seconds() <= self.state.conf.service_down_time


def _slice(rows: list[Instance], marker: str | None, limit: int | None) -> list[Instance]:
    if marker is not None:
        ids = [r.id for r in rows]
        if marker not in ids:
            raise exc.BadRequest(f"marker [{marker}] not found")
        rows = rows[ids.index(marker) + 1:]
    return rows[:limit] if limit is not None else rows
