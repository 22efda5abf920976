"""Compute services and availability zones: list, enable/disable, force down, delete.

A service is *up* while its last heartbeat is younger than ``service_down_time`` and it is
not forced down. A compute service's zone is the ``availability_zone`` of the aggregates its
host is in (the default zone when none names one); the conductor's and the scheduler's zone
is ``internal``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from nubes.core.db.base import utcnow
from nubes.compute import exceptions as exc
from nubes.compute import rpc
from nubes.compute.db.models import Service
from nubes.compute.db.queries import aggregates as aq
from nubes.compute.db.queries import hosts as q

LOG = logging.getLogger(__name__)

INTERNAL_ZONE = "internal"
COMPUTE = q.COMPUTE_BINARY
PLACEMENT = {"OpenStack-API-Version": "placement 1.20"}


def is_up(row: Service, down_time: float, now: datetime | None = None) -> bool:
    if row.forced_down:
        return False
    seen = row.last_seen_up or row.updated_at or row.created_at
    if seen is None:
        return False
    return ((now or utcnow()) - seen).total_seconds() <= down_time


@dataclass
class ServiceView:
    row: Service
    zone: str
    up: bool


@dataclass
class Zones:
    available: list[str]
    unavailable: list[str]
    # zone -> host -> binary -> {available, active, updated_at}, for the enabled services.
    hosts: dict[str, dict[str, dict[str, dict[str, Any]]]]


class Hosts:
    def __init__(self, state: Any) -> None:
        self.state = state

    @property
    def conf(self) -> Any:
        return self.state.conf

    def zone_of(self, row: Service, zones_by_host: dict[str, list[str]]) -> str:
        if row.binary != COMPUTE:
            return INTERNAL_ZONE
        zones = zones_by_host.get(row.host)
        return ",".join(zones) if zones else self.conf.default_availability_zone

    def _views(self, rows: list[Service], zones_by_host: dict[str, list[str]]) -> list[ServiceView]:
        now = utcnow()
        return [ServiceView(r, self.zone_of(r, zones_by_host), is_up(r, self.conf.service_down_time, now))
                for r in rows]

    async def list_services(self, *, host: str | None = None, binary: str | None = None) -> list[ServiceView]:
        async with self.state.db.reader() as s:
            rows = await q.services(s, host=host, binary=binary)
            zones = await aq.zones_by_host(s)
        return self._views(rows, zones)

    async def _view(self, service_id: int) -> ServiceView:
        async with self.state.db.reader() as s:
            row = await q.service_by_id(s, service_id)
            zones = await aq.zones_by_host(s)
        if row is None:
            raise exc.ServiceNotFound(service_id)
        return self._views([row], zones)[0]

    # -- changes ------------------------------------------------------------------------
    async def update_by_host(self, host: str, binary: str, *, disabled: bool | None = None,
                             disabled_reason: str | None = None, forced_down: bool | None = None) -> ServiceView:
        """The pre-2.53 form: the service named by host and binary."""
        if binary != COMPUTE:
            raise exc.BadRequest(f"Updating a {binary} service is not supported. Only nova-compute services "
                                 "can be updated.")
        async with self.state.db.session() as s:
            row = await q.service(s, host, binary)
            if row is None:
                raise exc.HostBinaryNotFound(host, binary)
            was_disabled = row.disabled
            self._apply(row, disabled, disabled_reason, forced_down)
            service_id = row.id
        if disabled is not None and disabled != was_disabled:
            await self._tell_host(host, not disabled)
        return await self._view(service_id)

    async def update_by_uuid(self, service_uuid: str, *, status: str | None = None,
                             disabled_reason: str | None = None, forced_down: bool | None = None) -> ServiceView:
        """The 2.53 form: the service named by its uuid, the changes in the body."""
        async with self.state.db.session() as s:
            row = await q.service_by_uuid(s, service_uuid)
            if row is None:
                raise exc.ServiceNotFound(service_uuid)
            if row.binary != COMPUTE:
                raise exc.BadRequest(f"Updating a {row.binary} service is not supported. Only nova-compute "
                                     "services can be updated.")
            if status == "enabled" and disabled_reason:
                raise exc.BadRequest("Specifying 'disabled_reason' with status 'enabled' is invalid.")
            if status is None and forced_down is None:
                raise exc.BadRequest("No updates were requested. Fields 'status' or 'forced_down' should be "
                                     "specified.")
            was_disabled = row.disabled
            disabled = None if status is None else status == "disabled"
            self._apply(row, disabled, disabled_reason, forced_down)
            service_id, host = row.id, row.host
        if disabled is not None and disabled != was_disabled:
            await self._tell_host(host, not disabled)
        return await self._view(service_id)

    @staticmethod
    def _apply(row: Service, disabled: bool | None, reason: str | None, forced_down: bool | None) -> None:
        if disabled is not None:
            row.disabled = disabled
            row.disabled_reason = reason if disabled else None
        if forced_down is not None:
            row.forced_down = forced_down
        row.updated_at = utcnow()

    async def _tell_host(self, host: str, enabled: bool) -> None:
        """Let the host's agent follow now (its placement trait); the next heartbeat would anyway."""
        try:
            await self.state.bus.cast(rpc.agent_topic(host), "set_host_enabled", {"enabled": enabled})
        except Exception as e:    # the heartbeat reconciles it; never fail the API call for this
            LOG.warning("could not tell compute host %s it is %s: %s", host,
                        "enabled" if enabled else "disabled", e)

    async def delete(self, service_id: int | str, *, by_uuid: bool) -> None:
        async with self.state.db.session() as s:
            row = await (q.service_by_uuid(s, str(service_id)) if by_uuid else q.service_by_id(s, int(service_id)))
            if row is None:
                raise exc.NotFound(f"Service {service_id} not found.")
            node_uuids: list[str] = []
            if row.binary == COMPUTE:
                if await q.instance_count(s, row.host):
                    raise exc.Conflict("Unable to delete compute service that is hosting instances. Migrate or "
                                       "delete the instances first.")
                if await q.moves_of_host(s, row.host):
                    raise exc.Conflict("Unable to delete compute service that has in-progress migrations. "
                                       "Complete the migrations or delete the instances first.")
                for agg in await aq.of_hosts(s, [row.host]):
                    for member in [h for h in agg.hosts if h.host == row.host]:
                        agg.hosts.remove(member)
                node_uuids = [n.uuid for n in await q.nodes_of_host(s, row.host)]
                await q.delete_nodes_of_host(s, row.host)
            await s.delete(row)
        for node_uuid in node_uuids:
            await self._delete_provider(node_uuid)

    async def _delete_provider(self, node_uuid: str) -> None:
        clients = self.state.rt.clients
        if clients is None:
            return
        try:
            r = await clients.request("placement", "DELETE", f"/resource_providers/{node_uuid}", headers=PLACEMENT)
            if r.status_code not in (204, 404):
                LOG.error("Failed to delete compute node resource provider for compute node %s: %s %s",
                          node_uuid, r.status_code, r.text[:200])
        except Exception as e:
            LOG.error("Failed to delete compute node resource provider for compute node %s: %s", node_uuid, e)

    # -- availability zones ---------------------------------------------------------------
    async def zones(self) -> Zones:
        views = await self.list_services()
        available: list[str] = []
        hosts: dict[str, dict[str, dict[str, dict[str, Any]]]] = {}
        for v in views:
            if v.row.disabled:
                continue
            if v.zone not in available:
                available.append(v.zone)
            hosts.setdefault(v.zone, {}).setdefault(v.row.host, {})[v.row.binary] = {
                "available": v.up, "active": not v.row.disabled, "updated_at": v.row.updated_at}
        unavailable: list[str] = []
        for v in views:
            if v.row.disabled and v.zone not in available and v.zone not in unavailable:
                unavailable.append(v.zone)
        return Zones(available, unavailable, hosts)
