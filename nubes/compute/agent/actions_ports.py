"""An instance's ports on the move and at attach/detach, through the network API (service token).

``bind`` points the ports' ``binding:host_id`` at a host (a move's destination, an unshelve)
and returns them as fresh VIFs; ``unbind`` clears it (shelve offload: the ports stay the
server's). ``PortSteps`` attaches an interface (a call: the port is created — or the user's
bound —, plugged by the driver, and the conductor merges it into the instance's network info)
and detaches one (the driver unplugs it; a port Nova made is deleted, the user's unbound).
"""

from __future__ import annotations

import logging
from typing import Any

from nubes.core.exceptions import ServiceUnavailable
from nubes.compute import exceptions as exc
from nubes.compute.agent.actions import Actions, Job
from nubes.compute.drivers.base import DriverError, InstanceNotFoundInDriver
from nubes.compute.service import server_ports
from nubes.compute.service.server_ports import PortError

LOG = logging.getLogger(__name__)
ATTACH_EVENT = "compute_attach_interface"
DETACH_EVENT = "compute_detach_interface"


async def _put(clients: Any, port_id: str, body: dict[str, Any]) -> dict[str, Any] | None:
    r = await clients.request("network", "PUT", f"/v2.0/ports/{port_id}", json={"port": body})
    if r.status_code == 200:
        return r.json()["port"]
    LOG.warning("updating port %s: the network service answered %s", port_id, r.status_code)
    return None


async def bind(clients: Any, vifs: list[dict[str, Any]], host: str) -> list[dict[str, Any]]:
    out = []
    floating = await server_ports.floating_ips(clients, [v["id"] for v in vifs if v.get("id")])
    for v in vifs:
        port = await _put(clients, v["id"], {"binding:host_id": host})
        if port is None:
            out.append(v)
            continue
        out.append(await server_ports.vif(clients, port, preserve=bool(v.get("preserve_on_delete")),
                                          tag=v.get("tag"), floating=floating.get(port["id"], [])))
    return out


async def unbind(clients: Any, vifs: list[dict[str, Any]]) -> None:
    for v in vifs:
        try:
            await _put(clients, v["id"], {"binding:host_id": None})
        except ServiceUnavailable as e:
            LOG.warning("unbinding port %s: %s", v.get("id"), e.message)


class PortSteps:
    def __init__(self, acts: Actions) -> None:
        self.acts = acts
        self.agent = acts.agent

    def handlers(self) -> dict[str, Any]:
        return {"detach_interface": self.detach_interface}

    async def _merge(self, job: Job, event: str, result: str | None, **change: Any) -> None:
        ev: dict[str, Any] = {"event": event, "action": job.action, "host": self.agent.host}
        if job.request_id:
            ev["request_id"] = job.request_id
        if result:
            ev["result"] = result
        await self.agent.call_conductor("network_info_update", {"instance_id": job.id, "action_event": ev,
                                                                **change})

    async def attach_interface(self, payload: dict) -> dict[str, Any]:
        job = Job(dict(payload["instance"]), payload.get("request_id"), "attach_interface", {})
        wanted = dict(payload.get("network") or {})
        async with self.acts.locks[job.id]:
            await self._merge(job, ATTACH_EVENT, None)
            await self.acts.notify("interface_attach", "start", job.rec)
            try:
                vifs, made = await server_ports.plug(self.acts.clients, {**job.rec, "requested_networks": [wanted]},
                                                     self.agent.host)
            except PortError as e:
                await self._merge(job, ATTACH_EVENT, "Error")
                raise (exc.Conflict(e.message) if e.retryable else exc.BadRequest(e.message)) from None
            vif = vifs[0]
            try:
                await self.acts.driver.attach_interface(job.rec, vif)
            except DriverError as e:
                await server_ports.unplug(self.acts.clients, job.id, keep=[] if made else [vif["id"]],
                                          only=[vif["id"]])
                await self._merge(job, ATTACH_EVENT, "Error")
                raise exc.InterfaceAttachFailed(job.id, e.message) from None
            await self._merge(job, ATTACH_EVENT, "Success", add=[vif])
            await self.acts.notify("interface_attach", "end", job.rec, port_id=vif["id"])
            return vif

    async def detach_interface(self, job: Job) -> None:
        port_id = job.args.get("port_id")
        vif = next((v for v in job.rec.get("network_info") or [] if v.get("id") == port_id), {"id": port_id})
        await self._merge(job, DETACH_EVENT, None)
        await self.acts.notify("interface_detach", "start", job.rec, port_id=port_id)
        try:
            await self.acts.driver.detach_interface(job.rec, vif)
        except InstanceNotFoundInDriver:
            pass
        except DriverError as e:
            await self._merge(job, DETACH_EVENT, "Error")
            LOG.warning("detaching port %s of %s failed: %s", port_id, job.id, e.message)
            return
        keep = [port_id] if vif.get("preserve_on_delete") else []
        await server_ports.unplug(self.acts.clients, job.id, keep=keep, only=[port_id])
        await self._merge(job, DETACH_EVENT, "Success", remove=[port_id])
        await self.acts.notify("interface_detach", "end", job.rec, port_id=port_id)
