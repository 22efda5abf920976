"""External events about servers (Nova's os-server-external-events), sent by the network service.

Each event names a server and what happened to one of its ports (``tag`` is the port id):

- ``network-changed``: the port's addresses or floating IPs changed; the server's cached network
  info is refreshed from the network API at once (the port named by ``tag``, or all of them), so
  ``addresses`` shows a floating IP as soon as it is associated;
- ``network-vif-deleted``: the port is gone; it leaves the cache;
- ``network-vif-plugged`` / ``network-vif-unplugged``: accepted; nothing here waits for them
  (Nova's compute uses them only to unblock a spawn that waits for its ports).

As Nova: an event for a server that does not exist is answered with code 404, one for a server
that has no host (never scheduled, shelved offloaded) with 422; both are ``failed``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from nubes.core.db.base import utcnow
from nubes.core.exceptions import ServiceUnavailable
from nubes.compute.db.queries import instances as qi
from nubes.compute.service import server_ports

LOG = logging.getLogger(__name__)

NETWORK_EVENTS = ("network-changed", "network-vif-plugged", "network-vif-unplugged", "network-vif-deleted")


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
        if ev["name"] == "network-vif-deleted" and tag:
            await self._drop(iid, tag)
        elif ev["name"] == "network-changed":
            if (iid, None) in done or (iid, tag) in done:     # one refresh per port and batch
                return
            done.add((iid, tag))
            try:
                await self.refresh(iid, tag)
            except ServiceUnavailable as e:   # the event is delivered; the next one refreshes again
                LOG.warning("refreshing the network info of %s: %s", iid, e.message)

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
