"""Volume services (managers and the scheduler), their heartbeats and capacity, zones and pools."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from nubes.core.db.base import utcnow
from nubes.volume import exceptions as exc
from nubes.volume import rpc
from nubes.volume.db.models import Service


class Hosts:
    def __init__(self, state: Any) -> None:
        self.state = state
        self.db = state.db
        self.conf = state.conf

    def is_up(self, row: Service) -> bool:
        if row.forced_down or row.heartbeat_at is None:
            return False
        return utcnow() - row.heartbeat_at <= timedelta(seconds=self.conf.service_down_time)

    async def report(self, s: AsyncSession, host: str, binary: str, zone: str,
                     capabilities: dict[str, Any] | None) -> Service:
        row = (await s.execute(select(Service).where(Service.host == host, Service.binary == binary))).scalars().first()
        if row is None:
            topic = rpc.manager_topic(host) if binary == rpc.BINARY else rpc.SCHEDULER_TOPIC
            row = Service(uuid=str(uuid.uuid4()), host=host, binary=binary, topic=topic, availability_zone=zone,
                          report_count=0, disabled=False, forced_down=False)
            s.add(row)
        row.availability_zone = zone
        row.report_count += 1
        row.heartbeat_at = utcnow()
        row.updated_at = row.heartbeat_at
        if capabilities is not None:
            row.capabilities = capabilities
        await s.flush()
        return row

    async def services(self, s: AsyncSession, *, host: str | None = None, binary: str | None = None) -> list[Service]:
        stmt = select(Service).order_by(Service.id)
        if host:
            stmt = stmt.where(Service.host == host)
        if binary:
            stmt = stmt.where(Service.binary == binary)
        return list((await s.execute(stmt)).scalars())

    async def set_enabled(self, s: AsyncSession, host: str, binary: str, enabled: bool,
                          reason: str | None) -> Service:
        row = (await s.execute(select(Service).where(Service.host == host, Service.binary == binary))).scalars().first()
        if row is None:
            raise exc.NotFound(f"Service {binary} on host {host} could not be found.")
        row.disabled = not enabled
        row.disabled_reason = None if enabled else reason
        return row

    async def zones(self) -> set[str]:
        """Zones of the volume managers that run (the default zone when none has reported yet)."""
        async with self.db.reader() as s:
            rows = await self.services(s, binary=rpc.BINARY)
        zones = {r.availability_zone for r in rows}
        return zones or {self.conf.storage_availability_zone}

    async def zone_states(self) -> dict[str, bool]:
        async with self.db.reader() as s:
            rows = await self.services(s, binary=rpc.BINARY)
        out: dict[str, bool] = {}
        for r in rows:
            out[r.availability_zone] = out.get(r.availability_zone, False) or (self.is_up(r) and not r.disabled)
        return out

    async def pools(self, s: AsyncSession) -> list[dict[str, Any]]:
        """Every backend's pool (one per backend) that is up, with its last capacity report."""
        out = []
        for row in await self.services(s, binary=rpc.BINARY):
            if not row.capabilities or not self.is_up(row) or row.disabled:
                continue
            caps = dict(row.capabilities)
            out.append({"name": f"{row.host}#{caps.get('pool_name') or caps.get('volume_backend_name')}",
                        "host": row.host, "availability_zone": row.availability_zone, "capabilities": caps})
        return out
