"""Networks: create with a provider segment, show, list, update sharing and external access, delete."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from nubes.core.context import RequestContext
from nubes.network.db.models import Network, NetworkRbac, NetworkSegment, Port
from nubes.network.db.queries import listing
from nubes.network.db.queries import networks as q
from nubes.network.db.queries import tags as tag_q
from nubes.network.exceptions import BadRequest, Conflict, InvalidInput, NetworkInUse, NetworkNotFound
from nubes.network.service import quotas, transactions
from nubes.network.service.segments import Segment, SegmentPolicy

RESOURCE = "networks"
AUTO_DELETED_OWNERS = ("network:dhcp",)


class InvalidSharedSetting(Conflict):
    code = "network.invalid_shared_setting"

    def __init__(self, network_id: str) -> None:
        super().__init__(f"Unable to reconfigure sharing settings for network {network_id}. "
                         "Multiple tenants are using it.")


@dataclass
class NetworkRecord:
    row: Network
    subnets: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    shared: bool = False
    external: bool = False
    availability_zones: list[str] = field(default_factory=list)

    @property
    def segment(self) -> Segment | None:
        if not self.row.segments:
            return None
        seg = self.row.segments[0]
        return Segment(seg.network_type, seg.physical_network, seg.segmentation_id)

    def policy_target(self) -> dict[str, Any]:
        return {"project_id": self.row.project_id, "tenant_id": self.row.project_id,
                "shared": self.shared, "router:external": self.external}


def is_shared_for(row: Network, project_id: str | None) -> bool:
    for entry in row.rbac_entries:
        if entry.action == q.SHARED and (entry.target_project == "*" or
                                         (project_id and entry.target_project == project_id
                                          and row.project_id != project_id)):
            return True
    return False


def is_external(row: Network) -> bool:
    return any(e.action == q.EXTERNAL for e in row.rbac_entries)


async def records(s: AsyncSession, ctx: RequestContext, rows: list[Network],
                  zones: list[str] | None = None) -> list[NetworkRecord]:
    ids = [r.id for r in rows]
    subnets = await q.subnet_ids(s, ids)
    tags = await tag_q.of(s, RESOURCE, ids)
    return [NetworkRecord(r, subnets[r.id], tags[r.id], is_shared_for(r, ctx.project_id), is_external(r),
                          list(zones or [])) for r in rows]


async def visible(s: AsyncSession, ctx: RequestContext, network_id: str, *,
                  for_update: bool = False) -> Network:
    row = await q.get(s, network_id, for_update=for_update)
    if row is None:
        raise NetworkNotFound(network_id)
    if not ctx.is_admin and row.project_id != ctx.project_id and not (
            is_shared_for(row, ctx.project_id) or is_external(row)
            or any(e.target_project == ctx.project_id for e in row.rbac_entries)):
        raise NetworkNotFound(network_id)
    return row


def _rbac(row: Network, action: str, enabled: bool, owner: str) -> None:
    wildcard = [e for e in row.rbac_entries if e.action == action and e.target_project == "*"]
    if enabled and not wildcard:
        row.rbac_entries.append(NetworkRbac(id=str(uuid.uuid4()), project_id=owner, action=action,
                                            target_project="*"))
    elif not enabled:
        for entry in wildcard:
            row.rbac_entries.remove(entry)


class Networks:
    def __init__(self, state: Any) -> None:
        self.state = state
        self.segments = SegmentPolicy(state.conf)

    # -- create ---------------------------------------------------------------------------
    def _segment(self, ctx: RequestContext, values: dict[str, Any]) -> Segment:
        provider = {k: values.get(f"provider:{k}") for k in ("network_type", "physical_network",
                                                             "segmentation_id")}
        if provider["network_type"] is None:
            if provider["physical_network"] is not None or provider["segmentation_id"] is not None:
                raise InvalidInput("provider:network_type required")
            return self.segments.tenant_default()
        return self.segments.validate(provider["network_type"], provider["physical_network"],
                                      provider["segmentation_id"])

    async def create(self, ctx: RequestContext, values: dict[str, Any], project_id: str) -> NetworkRecord:
        wanted = self._segment(ctx, values)
        max_mtu = self.segments.mtu(wanted)
        mtu = values.get("mtu") or max_mtu
        if mtu > max_mtu:
            raise InvalidInput(f"Requested MTU is too big, maximum is {max_mtu}")

        async def tx(s: AsyncSession) -> str:
            await quotas.check(s, self.state.conf, project_id, "network")
            seg = await self.segments.reserve(s, wanted)
            row = Network(id=str(uuid.uuid4()), project_id=project_id, name=values.get("name", ""),
                          description=values.get("description", ""),
                          admin_state_up=values.get("admin_state_up", True), mtu=mtu,
                          port_security_enabled=values.get("port_security_enabled", True),
                          availability_zone_hints=values.get("availability_zone_hints") or [],
                          segments=[NetworkSegment(id=str(uuid.uuid4()), network_type=seg.network_type,
                                                   physical_network=seg.physical_network,
                                                   segmentation_id=seg.segmentation_id)],
                          rbac_entries=[])
            _rbac(row, q.SHARED, bool(values.get("shared")), project_id)
            _rbac(row, q.EXTERNAL, bool(values.get("router:external")), project_id)
            s.add(row)
            return row.id

        network_id = await transactions.write(self.state.db, tx)
        await self.state.notifier.emit("network", "create", network_id)
        return await self.show(ctx, network_id)

    # -- read -----------------------------------------------------------------------------
    async def zones(self, s: AsyncSession) -> list[str]:
        from nubes.network.service import agents

        return await agents.zones(s, self.state.conf, "dhcp")

    async def show(self, ctx: RequestContext, network_id: str) -> NetworkRecord:
        async with self.state.db.reader() as s:
            row = await visible(s, ctx, network_id)
            return (await records(s, ctx, [row], await self.zones(s)))[0]

    async def list(self, ctx: RequestContext, query: Any) -> tuple[list[NetworkRecord], bool]:
        stmt = q.base_select()
        if not ctx.is_admin:
            stmt = stmt.where(q.visible_to(ctx.project_id))
        async with self.state.db.reader() as s:
            rows, more = await listing.page(s, stmt, Network, q.FILTERS, query, RESOURCE,
                                            not_found=NetworkNotFound)
            return await records(s, ctx, rows, await self.zones(s)), more

    # -- update ---------------------------------------------------------------------------
    async def update(self, ctx: RequestContext, network_id: str, values: dict[str, Any],
                     check: Any = None) -> NetworkRecord:
        if any(k.startswith("provider:") for k in values):
            raise BadRequest("Plugin does not support updating provider attributes")

        async def tx(s: AsyncSession) -> None:
            row = await visible(s, ctx, network_id, for_update=True)
            if check is not None:
                check(row, NetworkRecord(row, shared=is_shared_for(row, ctx.project_id),
                                         external=is_external(row)))
            for key in ("name", "description", "admin_state_up", "port_security_enabled"):
                if key in values:
                    setattr(row, key, values[key])
            if "mtu" in values:
                max_mtu = self.segments.mtu(Segment(row.segments[0].network_type,
                                                    row.segments[0].physical_network))
                if values["mtu"] > max_mtu:
                    raise InvalidInput(f"Requested MTU is too big, maximum is {max_mtu}")
                row.mtu = values["mtu"]
            if "shared" in values:
                if not values["shared"] and await self._used_by_others(s, row):
                    raise InvalidSharedSetting(network_id)
                _rbac(row, q.SHARED, values["shared"], row.project_id)
            if "router:external" in values:
                if not values["router:external"] and await self._external_in_use(s, row):
                    raise Conflict(f"Unable to complete operation on network {network_id}. "
                                   "External network has gateway ports or floating IPs in use.")
                _rbac(row, q.EXTERNAL, values["router:external"], row.project_id)
            transactions.bump(row)

        await transactions.write(self.state.db, tx)
        await self.state.notifier.emit("network", "update", network_id)
        return await self.show(ctx, network_id)

    async def _used_by_others(self, s: AsyncSession, row: Network) -> bool:
        stmt = select(Port.id).where(Port.network_id == row.id, Port.project_id != row.project_id,
                                     Port.device_owner.not_like("network:%"))
        return (await s.execute(stmt.limit(1))).first() is not None

    async def _external_in_use(self, s: AsyncSession, row: Network) -> bool:
        stmt = select(Port.id).where(Port.network_id == row.id, Port.device_owner.in_(
            ["network:router_gateway", "network:floatingip"]))
        return (await s.execute(stmt.limit(1))).first() is not None

    # -- delete ---------------------------------------------------------------------------
    async def delete(self, ctx: RequestContext, network_id: str, check: Any = None) -> None:
        """Delete a network with nothing on it but its DHCP ports and, on an external network,
        floating IPs associated with nothing (they go with it, as in Neutron); all or nothing."""
        from nubes.network.service import floatingips as fip_service
        from nubes.network.service import ports as port_service
        from nubes.network.service import subnets as subnet_service

        async def tx(s: AsyncSession) -> tuple[list[str], list[tuple[str, str]]]:
            row = await visible(s, ctx, network_id, for_update=True)
            if check is not None:
                check(row, NetworkRecord(row, shared=is_shared_for(row, ctx.project_id),
                                         external=is_external(row)))
            fips = [(f.id, f.floating_port_id) for f in await fip_service.unused_on_network(s, network_id)]
            fip_ports = {port_id for _, port_id in fips}
            ports = (await s.execute(select(Port.id, Port.device_owner)
                                     .where(Port.network_id == network_id))).all()
            if any(owner not in AUTO_DELETED_OWNERS and pid not in fip_ports for pid, owner in ports):
                raise NetworkInUse(network_id)
            await fip_service.delete_rows(s, [fip_id for fip_id, _ in fips])
            auto = [pid for pid, _ in ports]
            await port_service.delete_rows(s, auto)
            await subnet_service.delete_all_of_network(s, network_id)
            await tag_q.delete_all(s, RESOURCE, network_id)
            await s.delete(row)
            return auto, fips

        removed_ports, removed_fips = await transactions.write(self.state.db, tx)
        for fip_id, _port_id in removed_fips:
            await self.state.notifier.emit("floatingip", "delete", fip_id, router_id=None)
        for port_id in removed_ports:
            await self.state.notifier.emit("port", "delete", port_id, network_id=network_id)
        await self.state.notifier.emit("network", "delete", network_id)
