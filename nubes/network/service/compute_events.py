"""Events to the compute service about its servers' ports (Neutron's nova notifier).

When a floating IP is associated with or disassociated from a server's port, when a server's
port changes its addresses, goes ACTIVE or DOWN, or is deleted, the compute service is told
through ``POST /os-server-external-events`` (REST, with this service's token), so that it
refreshes the server's network info and ``addresses`` shows the change at once:

- ``network-changed`` (floating IP association, fixed IP change), tagged with the port id;
- ``network-vif-plugged`` / ``network-vif-unplugged`` (port status ACTIVE / from ACTIVE to DOWN);
- ``network-vif-deleted`` (port deleted).

Only ports owned by a server (``device_owner`` ``compute:*`` with a ``device_id``) are told.
Events are queued after the change commits and sent in one batch a moment later, from a task
of their own: sending never delays or fails the network request that made the change; a compute
service that cannot be reached loses the events (logged), as Neutron's notifier does.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from sqlalchemy import select

from nubes.core.exceptions import CloudError
from nubes.network.db.models import Port

LOG = logging.getLogger(__name__)

BATCH_WINDOW = 0.1        # seconds events wait for others to share their request
COMPUTE_OWNER = "compute:"


def server_of(device_owner: str | None, device_id: str | None) -> str | None:
    """The server a port belongs to, or None for ports of no server."""
    if device_id and (device_owner or "").startswith(COMPUTE_OWNER):
        return device_id
    return None


def event(name: str, server_id: str, port_id: str, status: str = "completed") -> dict[str, Any]:
    return {"name": name, "server_uuid": server_id, "tag": port_id, "status": status}


class ComputeEvents:
    def __init__(self, state: Any) -> None:
        self.state = state
        self._pending: list[dict[str, Any]] = []
        self._sender: asyncio.Task[None] | None = None

    @property
    def clients(self) -> Any:
        return getattr(self.state.rt, "clients", None)

    # -- what changed ------------------------------------------------------------------------------
    async def ports_changed(self, port_ids: list[str | None]) -> None:
        """``network-changed`` for those of ``port_ids`` that belong to a server (read after commit)."""
        ids = sorted({p for p in port_ids if p})
        if not ids or self.clients is None:
            return
        try:
            async with self.state.db.reader() as s:
                rows = (await s.execute(select(Port.id, Port.device_id, Port.device_owner)
                                        .where(Port.id.in_(ids)))).all()
        except Exception:  # noqa: BLE001 - the change has committed; telling compute is a hint
            LOG.warning("could not read ports %s to tell the compute service", ids, exc_info=True)
            return
        self.queue([event("network-changed", sid, pid) for pid, dev, owner in rows
                    if (sid := server_of(owner, dev))])

    def port_deleted(self, port_id: str, device_owner: str | None, device_id: str | None) -> None:
        sid = server_of(device_owner, device_id)
        if sid:
            self.queue([event("network-vif-deleted", sid, port_id)])

    def port_status(self, port_id: str, device_owner: str | None, device_id: str | None,
                    old: str, new: str) -> None:
        """vif-plugged when a server's port goes ACTIVE (failed when ERROR), vif-unplugged when an
        ACTIVE one goes DOWN, as Neutron's notifier."""
        sid = server_of(device_owner, device_id)
        if not sid or old == new:
            return
        if new == "ACTIVE":
            self.queue([event("network-vif-plugged", sid, port_id)])
        elif new == "ERROR":
            self.queue([event("network-vif-plugged", sid, port_id, "failed")])
        elif old == "ACTIVE" and new == "DOWN":
            self.queue([event("network-vif-unplugged", sid, port_id)])

    # -- sending -----------------------------------------------------------------------------------
    def queue(self, events: list[dict[str, Any]]) -> None:
        if not events or self.clients is None:
            return
        self._pending.extend(events)
        if self._sender is None or self._sender.done():
            self._sender = asyncio.get_running_loop().create_task(self._send_soon())

    async def _send_soon(self) -> None:
        await asyncio.sleep(BATCH_WINDOW)
        while self._pending:
            batch, self._pending = self._pending, []
            await self.send(batch)

    async def send(self, events: list[dict[str, Any]]) -> None:
        """One request with ``events``; never raises (the changes they tell of have committed)."""
        try:
            r = await self.clients.request("compute", "POST", "/os-server-external-events",
                                           json={"events": events})
        except CloudError as e:
            LOG.warning("could not send %d event(s) to the compute service: %s", len(events), e.message)
            return
        except Exception:  # noqa: BLE001 - a notifier must never take the network service down
            LOG.exception("sending %d event(s) to the compute service failed", len(events))
            return
        if r.status_code in (200, 207):
            LOG.debug("compute accepted events %s", r.text[:500])
        elif r.status_code == 404:
            LOG.debug("compute knows none of the servers of events %s", events)
        else:
            LOG.warning("compute answered %s to %d event(s): %s", r.status_code, len(events), r.text[:300])
