"""Host aggregates: create, rename, re-zone, delete; hosts in and out; metadata.

Availability zones are the ``availability_zone`` metadata of aggregates, and Nova's rules
hold: a host is in one zone at most (adding it to an aggregate of another zone, or zoning an
aggregate whose hosts another aggregate zones differently, is refused); a zone with instances
cannot be renamed; an empty zone name is refused. Membership is mirrored to placement as Nova
does: the aggregate's uuid is among the aggregates of the host's resource providers.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from sqlalchemy.exc import IntegrityError

from nubes.core.db.base import utcnow
from nubes.compute import exceptions as exc
from nubes.compute.db.models import Aggregate, AggregateHost, AggregateMetadata
from nubes.compute.db.queries import aggregates as q
from nubes.compute.db.queries import hosts as hq

LOG = logging.getLogger(__name__)

PLACEMENT = {"OpenStack-API-Version": "placement 1.20"}
ATTEMPTS = 4
ADD, UPDATE, UPDATE_META = "add", "update", "update_meta"


def _refused(action: str, aggregate_id: int, reason: str) -> Exception:
    return {ADD: exc.InvalidAggregateActionAdd, UPDATE: exc.InvalidAggregateActionUpdate,
            UPDATE_META: exc.InvalidAggregateActionUpdateMeta}[action](aggregate_id, reason)


class Aggregates:
    def __init__(self, state: Any) -> None:
        self.state = state

    async def list(self) -> list[Aggregate]:
        async with self.state.db.reader() as s:
            return await q.all_aggregates(s)

    async def show(self, aggregate_id: int) -> Aggregate:
        async with self.state.db.reader() as s:
            row = await q.get(s, aggregate_id)
        if row is None:
            raise exc.AggregateNotFound(aggregate_id)
        return row

    async def create(self, name: str, zone: str | None) -> Aggregate:
        try:
            async with self.state.db.session() as s:
                if await q.by_name(s, name) is not None:
                    raise exc.AggregateNameExists(name)
                row = Aggregate(uuid=str(uuid.uuid4()), name=name, created_at=utcnow(), hosts=[],
                                metadata_items=[AggregateMetadata(key=q.AZ_KEY, value=zone)] if zone else [])
                s.add(row)
                await s.flush()
                aggregate_id = row.id
        except IntegrityError:
            raise exc.AggregateNameExists(name) from None
        return await self.show(aggregate_id)

    async def update(self, aggregate_id: int, updates: dict[str, Any]) -> Aggregate:
        try:
            async with self.state.db.session() as s:
                row = await self._get(s, aggregate_id)
                if "name" in updates and updates["name"] != row.name:
                    other = await q.by_name(s, updates["name"])
                    if other is not None and other.id != row.id:
                        raise exc.AggregateNameExists(updates["name"])
                    row.name = updates["name"]
                if "availability_zone" in updates:
                    meta = {q.AZ_KEY: updates["availability_zone"]}
                    await self._check_zone(s, row, meta, UPDATE)
                    q.set_metadata(row, meta)
                row.updated_at = utcnow()
        except IntegrityError:
            raise exc.AggregateNameExists(updates.get("name", "")) from None
        return await self.show(aggregate_id)

    async def set_metadata(self, aggregate_id: int, metadata: dict[str, str | None]) -> Aggregate:
        async with self.state.db.session() as s:
            row = await self._get(s, aggregate_id)
            await self._check_zone(s, row, metadata, UPDATE_META)
            q.set_metadata(row, metadata)
            row.updated_at = utcnow()
        return await self.show(aggregate_id)

    async def delete(self, aggregate_id: int) -> None:
        async with self.state.db.session() as s:
            row = await self._get(s, aggregate_id)
            if row.hosts:
                raise exc.InvalidAggregateActionDelete(aggregate_id, "Host aggregate is not empty")
            await s.delete(row)

    async def add_host(self, aggregate_id: int, host: str) -> Aggregate:
        try:
            async with self.state.db.session() as s:
                if await hq.service(s, host, hq.COMPUTE_BINARY) is None:
                    raise exc.ComputeHostNotFound(host)
                row = await self._get(s, aggregate_id)
                if any(h.host == host for h in row.hosts):
                    raise exc.AggregateHostExists(aggregate_id, host)
                await self._check_zone(s, row, q.metadata_of(row), ADD, hosts=[host])
                row.hosts.append(AggregateHost(host=host))
                row.updated_at = utcnow()
                agg_uuid = row.uuid
                providers = [n.uuid for n in await hq.nodes_of_host(s, host)]
        except IntegrityError:
            raise exc.AggregateHostExists(aggregate_id, host) from None
        for rp in providers:
            try:
                await self._placement_membership(rp, agg_uuid, add=True)
            except Exception as e:   # Nova logs and goes on: placement's view heals on a later sync
                LOG.warning("Failed to associate %s with a placement aggregate: %s. This may be corrected after "
                            "the host's membership is set again.", host, e)
        return await self.show(aggregate_id)

    async def remove_host(self, aggregate_id: int, host: str) -> Aggregate:
        refused = exc.NotFound(f"Cannot remove host {host} in aggregate {aggregate_id}")
        async with self.state.db.session() as s:
            if await hq.service(s, host, hq.COMPUTE_BINARY) is None:
                raise refused
            row = await q.get(s, aggregate_id)
            if row is None:
                raise refused
            member = next((h for h in row.hosts if h.host == host), None)
            if member is None:
                raise refused
            agg_uuid = row.uuid
            providers = [n.uuid for n in await hq.nodes_of_host(s, host)]
        try:
            for rp in providers:
                await self._placement_membership(rp, agg_uuid, add=False)
        except _Conflict:
            raise exc.Conflict(f"Cannot remove host {host} in aggregate {aggregate_id}") from None
        except Exception as e:
            LOG.warning("Failed to remove %s from placement aggregate %s: %s", host, agg_uuid, e)
        async with self.state.db.session() as s:
            row = await q.get(s, aggregate_id)
            if row is not None:
                for h in [h for h in row.hosts if h.host == host]:
                    row.hosts.remove(h)
                row.updated_at = utcnow()
        return await self.show(aggregate_id)

    # -- rules ----------------------------------------------------------------------------
    @staticmethod
    async def _get(s: Any, aggregate_id: int) -> Aggregate:
        row = await q.get(s, aggregate_id)
        if row is None:
            raise exc.AggregateNotFound(aggregate_id)
        return row

    async def _check_zone(self, s: Any, row: Aggregate, metadata: dict[str, Any], action: str,
                          hosts: list[str] | None = None) -> None:
        if q.AZ_KEY not in metadata:
            return
        zone = metadata[q.AZ_KEY]
        if not zone:
            raise _refused(action, row.id, f"Aggregate {row.name} does not support empty named availability zone")
        members = hosts if hosts is not None else [h.host for h in row.hosts]
        if members:
            conflicting = [q.zone_of(a) for a in await q.of_hosts(s, members)
                           if a.id != row.id and q.zone_of(a) and q.zone_of(a) != zone]
            if conflicting:
                raise _refused(action, row.id, f"One or more hosts already in availability zone(s) {conflicting}")
        current = q.zone_of(row)
        if hosts is None and current and current != zone and await hq.instances_in_zone(s, members, current):
            raise _refused(action, row.id, "One or more hosts contain instances in this zone")

    # -- placement ------------------------------------------------------------------------
    async def _placement_membership(self, rp: str, agg_uuid: str, *, add: bool) -> None:
        clients = self.state.rt.clients
        if clients is None:
            return
        path = f"/resource_providers/{rp}/aggregates"
        for _ in range(ATTEMPTS):
            r = await clients.request("placement", "GET", path, headers=PLACEMENT)
            if r.status_code == 404:
                return          # no provider yet: its agent's first report will not know the aggregate,
            if r.status_code != 200:   # but Nova leaves that to a later sync as well
                raise RuntimeError(f"placement answered {r.status_code} for {path}")
            body = r.json()
            have = list(body.get("aggregates") or [])
            if (agg_uuid in have) == add:
                return
            wanted = have + [agg_uuid] if add else [a for a in have if a != agg_uuid]
            r = await clients.request("placement", "PUT", path, headers=PLACEMENT, json={
                "aggregates": wanted, "resource_provider_generation": body["resource_provider_generation"]})
            if r.status_code == 200:
                return
            if r.status_code != 409:
                raise RuntimeError(f"placement answered {r.status_code} for PUT {path}: {r.text[:200]}")
        raise _Conflict(path)


class _Conflict(Exception):
    """Placement kept answering generation conflicts."""
