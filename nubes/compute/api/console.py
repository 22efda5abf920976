"""Handlers for /servers/{id}/diagnostics: Nova's standard diagnostics from 2.48, the driver's
flat form (libvirt's names) before."""

from __future__ import annotations

from typing import Any

from nubes.compute.api import authz
from nubes.core.api.http import Request, json_response


def legacy(d: dict[str, Any]) -> dict[str, Any]:
    """The pre-2.48 shape: per CPU, disk and NIC counters under libvirt's key names."""
    out: dict[str, Any] = {}
    for cpu in d.get("cpu_details") or []:
        out[f"cpu{cpu.get('id', 0)}_time"] = cpu.get("time")
    out["memory"] = (d.get("memory_details") or {}).get("maximum", 0) * 1024
    for i, disk in enumerate(d.get("disk_details") or []):
        name = f"vd{chr(ord('a') + i)}"
        out.update({f"{name}_read": disk.get("read_bytes"), f"{name}_read_req": disk.get("read_requests"),
                    f"{name}_write": disk.get("write_bytes"), f"{name}_write_req": disk.get("write_requests"),
                    f"{name}_errors": disk.get("errors_count")})
    for i, nic in enumerate(d.get("nic_details") or []):
        name = f"tap{i}"
        for key in ("rx_octets", "rx_errors", "rx_drop", "rx_packets", "tx_octets", "tx_errors", "tx_drop",
                    "tx_packets"):
            out[f"{name}_{key.replace('_octets', '')}"] = nic.get(key)
    return out


STANDARD = ("state", "driver", "hypervisor", "hypervisor_os", "uptime", "config_drive", "num_cpus", "num_disks",
            "num_nics", "cpu_details", "memory_details", "disk_details", "nic_details")


async def show_diagnostics(req: Request):
    await authz.server(req, f"{authz.P}:os-server-diagnostics")
    d = await req.rt.extra["compute"].server_network.diagnostics(req.ctx, req.path_params["server_id"])
    if req.ctx.api_version >= (2, 48):
        return json_response({k: d.get(k) for k in STANDARD})
    return json_response(legacy(d))
