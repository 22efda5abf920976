"""Handlers for /os-availability-zone and /os-availability-zone/detail.

Zones come from the compute services: a zone is available while one of its services is
enabled. The summary hides the ``internal`` zone of the conductor and the scheduler; the
detail (admin) lists every zone's hosts and their services.
"""

from __future__ import annotations

from nubes.core.api.http import Request, json_response
from nubes.compute.api import times
from nubes.compute.service.hosts import INTERNAL_ZONE

P = "os_compute_api:os-availability-zone"


def _svc(req: Request):
    return req.rt.extra["compute"].hosts


async def list_zones(req: Request):
    req.ctx.can(f"{P}:list", target={})
    zones = await _svc(req).zones()
    info = [{"zoneName": z, "zoneState": {"available": True}, "hosts": None}
            for z in zones.available if z != INTERNAL_ZONE]
    info += [{"zoneName": z, "zoneState": {"available": False}, "hosts": None}
             for z in zones.unavailable if z != INTERNAL_ZONE]
    return json_response({"availabilityZoneInfo": info})


async def list_zones_detail(req: Request):
    req.ctx.can(f"{P}:detail", target={})
    zones = await _svc(req).zones()
    info = []
    for z in zones.available:
        hosts = {host: {binary: {"available": s["available"], "active": s["active"],
                                 "updated_at": times.isotime_us(s["updated_at"])}
                        for binary, s in services.items()}
                 for host, services in zones.hosts.get(z, {}).items()}
        info.append({"zoneName": z, "zoneState": {"available": True}, "hosts": hosts})
    info += [{"zoneName": z, "zoneState": {"available": False}, "hosts": None} for z in zones.unavailable]
    return json_response({"availabilityZoneInfo": info})
