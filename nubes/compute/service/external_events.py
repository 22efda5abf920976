"""External events about servers (Nova's os-server-external-events), sent by the network service.

Each event names a server and what happened to one of its ports (``tag`` is the port id):

- ``network-changed``: the port's addresses or floating IPs changed; the server's cached network
  info is refreshed from the network API at once (the port named by ``tag``, or all of them), so
  ``addresses`` shows a floating IP as soon as it is associated;
- ``network-vif-deleted``: the port is gone; it leaves the cache;
- ``network-vif-plugged`` / ``network-vif-unplugged``: accepted; nothing here waits for them
  (Nova's compute uses them only to unblock a spawn that waits for its ports).

And one from the volume service (2.51): ``volume-extended`` (``tag`` is the volume id) after an
online extend: the volume's new size is read from the volume API and the server's host is told to
grow the attached disk (the agent's ``extend_volume``, recorded as the ``extend_volume`` instance
action).

As Nova: an event for a server that does not exist is answered with code 404, one for a server
that has no host (never scheduled, shelved offloaded) with 422; both are ``failed``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import uuid

from sqlalchemy import select

from nubes.core.context import current_request_id
from nubes.core.db.base import utcnow
from nubes.core.exceptions import ServiceUnavailable
from nubes.compute import rpc
from nubes.compute.db.models import BlockDeviceMapping
from nubes.compute.db.queries import actions as qa
from nubes.compute.db.queries import instances as qi
from nubes.compute.service import server_ports, server_records, server_volumes

LOG = logging.getLogger(__name__)

NETWORK_EVENTS = ("network-changed", "network-vif-plugged", "network-vif-unplugged", "network-vif-deleted")
VOLUME_EVENTS = ("volume-extended",)         # from 2.51


@dataclass
class Outcome:
    event: dict[str, Any]          # the event as sent, with its ``status`` and ``code``
    accepted: bool


class ExternalEvents:
    def __init__(self, state: Any) -> None:
        self.state = state

    @property
    def clients(self) -> Any:
        return self.state.rt.clients

    async def _servers(self, ids: list[str]) -> dict[str, tuple[str | None, str | None]]:
        """The live servers among ``ids``: their hosts and task states."""
        async with self.state.db.reader() as s:
            return {r.id: (r.host, r.task_state) for r in await qi.get_many(s, ids) if not r.deleted}

    async def deliver(self, events: list[dict[str, Any]]) -> list[Outcome]:
        servers = await self._servers(sorted({e["server_uuid"] for e in events}))
        hosts = {sid: host for sid, (host, _task) in servers.items()}
        out: list[Outcome] = []
        for e in events:
            ev = {**e, "status": e.get("status", "completed")}
            if e["server_uuid"] not in hosts:
                out.append(Outcome({**ev, "status": "failed", "code": 404}, False))
            elif not hosts[e["server_uuid"]]:
                LOG.debug("server %s has no host: event %s ignored", e["server_uuid"], e["name"])
                out.append(Outcome({**ev, "status": "failed", "code": 422}, False))
            else:
                out.append(Outcome({**ev, "code": 200}, True))
        done: set[tuple[str, str | None]] = set()
        for o in out:
            # a server being deleted loses its ports and its cache with them: nothing to refresh
            if o.accepted and servers[o.event["server_uuid"]][1] != "deleting":
                await self._apply(o.event, done)
        return out

    async def _apply(self, ev: dict[str, Any], done: set[tuple[str, str | None]]) -> None:
        iid, tag = ev["server_uuid"], ev.get("tag")
        if ev["name"] == "volume-extended" and tag:
            try:
                await self.extended(iid, tag)
            except ServiceUnavailable as e:
                LOG.warning("volume %s of %s grew, the guest was not told: %s", tag, iid, e.message)
        elif ev["name"] == "network-vif-deleted" and tag:
            await self._drop(iid, tag)
        elif ev["name"] == "network-changed":
            if (iid, None) in done or (iid, tag) in done:     # one refresh per port and batch
                return
            done.add((iid, tag))
            try:
                await self.refresh(iid, tag)
            except ServiceUnavailable as e:   # the event is delivered; the next one refreshes again
                LOG.warning("refreshing the network info of %s: %s", iid, e.message)

    async def extended(self, iid: str, volume_id: str) -> None:
        async with self.state.db.reader() as s:
            bdm = (await s.execute(select(BlockDeviceMapping).where(
                BlockDeviceMapping.instance_id == iid, BlockDeviceMapping.volume_id == volume_id,
                BlockDeviceMapping.destination_type == "volume"))).scalars().first()
            row = await qi.get(s, iid)
        if bdm is None or row is None or not row.host:
            LOG.info("volume-extended for %s: volume %s is not attached to it", iid, volume_id)
            return
        r = await server_volumes.volume_request(self.clients, "GET", f"/volumes/{volume_id}")
        if r.status_code != 200:
            LOG.warning("volume-extended for %s: volume %s answered %s", iid, volume_id, r.status_code)
            return
        size = int(r.json()["volume"]["size"])
        request_id = current_request_id() or f"req-{uuid.uuid4()}"
        async with self.state.db.session() as s:
            qa.start(s, iid, "extend_volume", request_id, None, row.project_id)
            b = await s.get(BlockDeviceMapping, bdm.id)
            if b is not None:
                b.volume_size = size
        await self.state.bus.cast(rpc.agent_topic(row.host), "extend_volume", {
            "instance_id": iid, "instance": server_records.record(row), "volume_id": volume_id,
            "new_size": size, "connection_info": bdm.connection_info, "request_id": request_id})

    async def _drop(self, iid: str, port_id: str) -> None:
        async with self.state.db.reader() as s:
            row = await qi.get(s, iid)
            if row is None or not any(v.get("id") == port_id for v in row.network_info or []):
                return
        async with self.state.db.session() as s:
            row = await qi.get(s, iid, for_update=True)
            if row is None:
                return
            kept = [v for v in row.network_info or [] if v.get("id") != port_id]
            if len(kept) != len(row.network_info or []):
                row.network_info = kept
                row.updated_at = utcnow()

    async def refresh(self, iid: str, port_id: str | None = None) -> None:
        """Re-read the addresses and floating IPs of the server's cached ports (``port_id`` only,
        when given) from the network API and store them in its network info."""
        async with self.state.db.reader() as s:
            row = await qi.get(s, iid)
            cached = [v["id"] for v in (row.network_info or []) if v.get("id")] if row is not None else []
        wanted = [p for p in cached if port_id in (None, p)]
        if not wanted:
            return
        ports = await self._ports(wanted)
        floating = await server_ports.floating_ips(self.clients, list(ports))
        async with self.state.db.session() as s:
            row = await qi.get(s, iid, for_update=True)
            if row is None:
                return
            vifs, changed = [], False
            for v in row.network_info or []:
                port = ports.get(v.get("id"))
                if port is not None:
                    ips = server_ports.fixed_ips(port, floating.get(port["id"], []))
                    if ips != v.get("fixed_ips"):
                        v, changed = {**v, "fixed_ips": ips}, True
                vifs.append(v)
            if changed:
                row.network_info = vifs
                row.updated_at = utcnow()

    async def _ports(self, port_ids: list[str]) -> dict[str, dict[str, Any]]:
        query = "&".join(f"id={p}" for p in port_ids)
        r = await self.clients.request("network", "GET", f"/v2.0/ports?{query}")
        if r.status_code != 200:
            raise ServiceUnavailable(f"The network service answered {r.status_code} listing ports.")
        return {p["id"]: p for p in r.json().get("ports", [])}
