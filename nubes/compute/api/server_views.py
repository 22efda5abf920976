"""The server representations, exactly as Nova's per microversion (brief, detail, create)."""

from __future__ import annotations

import hashlib
from typing import Any

from nubes.core.api.http import Request
from nubes.compute.api import links
from nubes.compute.api.times import isotime, isotime_us
from nubes.compute.service import server_records
from nubes.compute.service.server_status import PROGRESS_STATUSES, status
from nubes.compute.service.servers import ServerView

ATTRS = "os_compute_api:os-extended-server-attributes"


def host_id(project_id: str, host: str | None) -> str:
    """Nova's hostId: sha224 of project id and host, so projects cannot compare hosts."""
    if not host:
        return ""
    return hashlib.sha224((project_id + host).encode()).hexdigest()


def brief(req: Request, v: ServerView) -> dict[str, Any]:
    return {"id": v.row.id, "name": v.row.display_name, "links": links.links(req, "servers", v.row.id)}


def _bookmark(req: Request, collection: str, ident: str) -> list[dict[str, str]]:
    return [{"rel": "bookmark", "href": f"{links.base(req)}/{collection}/{ident}"}]


def _flavor(req: Request, fl: dict[str, Any], project_id: str) -> dict[str, Any]:
    if req.ctx.api_version < (2, 47):
        return {"id": fl["flavorid"], "links": _bookmark(req, "flavors", fl["flavorid"])}
    out = {"vcpus": fl["vcpus"], "ram": fl["memory_mb"], "disk": fl["root_gb"],
           "ephemeral": fl["ephemeral_gb"], "swap": fl["swap"], "original_name": fl["name"]}
    if req.ctx.allowed("os_compute_api:servers:show:flavor-extra-specs", {"project_id": project_id}):
        out["extra_specs"] = dict(fl.get("extra_specs") or {})
    return out


def addresses(network_info: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for vif in network_info or []:
        entries = out.setdefault(vif.get("network_name") or vif.get("network_id", ""), [])
        for ip in vif.get("fixed_ips", []):
            entries.append({"version": ip["version"], "addr": ip["address"], "OS-EXT-IPS:type": "fixed",
                            "OS-EXT-IPS-MAC:mac_addr": vif.get("mac_address")})
            for fip in ip.get("floating_ips", []):
                entries.append({"version": fip.get("version", 4), "addr": fip["address"],
                                "OS-EXT-IPS:type": "floating", "OS-EXT-IPS-MAC:mac_addr": vif.get("mac_address")})
    return out


def _fault(req: Request, fault: Any) -> dict[str, Any]:
    out = {"code": fault.code, "created": isotime(fault.created_at), "message": fault.message}
    if req.ctx.is_admin or fault.code != 500:
        out["details"] = fault.details or ""
    return out


def _image(req: Request, r: Any) -> Any:
    if not r.image_ref:
        return ""
    image: dict[str, Any] = {"id": r.image_ref, "links": _bookmark(req, "images", r.image_ref)}
    if req.ctx.api_version >= (2, 98):
        # Nova's: the image_* keys of the system metadata, without their prefix.
        image["properties"] = {k[len("image_"):]: val for k, val in (r.system_metadata or {}).items()
                               if k.startswith("image_")}
    return image


def _common(req: Request, v: ServerView, *, extend_address: bool) -> tuple[dict[str, Any], str]:
    """What every full representation carries, update and rebuild before 2.75 included."""
    r = v.row
    st = status(r.vm_state, r.task_state)
    found = addresses(r.network_info)
    if not extend_address:
        found = {net: [{"version": a["version"], "addr": a["addr"]} for a in entries]
                 for net, entries in found.items()}
    out: dict[str, Any] = {
        "id": r.id, "name": r.display_name, "status": st, "tenant_id": r.project_id, "user_id": r.user_id,
        "metadata": {m.key: m.value for m in r.metadata_items}, "hostId": host_id(r.project_id, r.host),
        "image": _image(req, r), "flavor": _flavor(req, r.flavor, r.project_id),
        "created": isotime(r.created_at), "updated": isotime(r.updated_at),
        "addresses": found, "accessIPv4": r.access_ip_v4 or "",
        "accessIPv6": r.access_ip_v6 or "", "links": links.links(req, "servers", r.id),
        "OS-DCF:diskConfig": "AUTO" if r.auto_disk_config else "MANUAL",
    }
    if st in PROGRESS_STATUSES:
        out["progress"] = r.progress or 0
    if v.fault is not None and st in ("ERROR", "DELETED"):
        out["fault"] = _fault(req, v.fault)
    return out, st


def _later(req: Request, v: ServerView, out: dict[str, Any], *, show: bool) -> None:
    """The fields later microversions added to every full representation."""
    r, version = v.row, req.ctx.api_version
    if version >= (2, 9):
        out["locked"] = bool(r.locked)
    if version >= (2, 73):
        out["locked_reason"] = r.locked_reason
    if version >= (2, 19):
        out["description"] = r.display_description
    if version >= (2, 26):
        out["tags"] = [t.tag for t in r.tags]
    if version >= (2, 63):
        out["trusted_image_certificates"] = None
    if version >= (2, 71) and show:
        out["server_groups"] = list(v.group_ids)


def changed(req: Request, v: ServerView, *, rebuild: bool = False) -> dict[str, Any]:
    """The server in the answer to an update (``PUT /servers/{id}``) or a rebuild: before 2.75 Nova's
    smaller representation (no extended attributes, zone, key, usage, volumes or address types);
    from 2.75 the same as a show. A rebuild adds key_name (2.54) and user_data (2.57)."""
    version = req.ctx.api_version
    if version >= (2, 75):
        out = detail(req, v, show=True)
    else:
        out, _st = _common(req, v, extend_address=False)
        _later(req, v, out, show=True)
        if rebuild and version >= (2, 54):
            out["key_name"] = v.row.key_name
    if rebuild and version >= (2, 57):
        out["user_data"] = v.row.user_data
    return out


def volumes_attached(r: Any, version: tuple[int, int]) -> list[dict[str, Any]]:
    # only when loaded with the row (``queries.instances``): a row made just now has none yet
    bdms = r.__dict__.get("block_devices") or []
    out = []
    for b in bdms:
        if b.destination_type == "volume" and b.volume_id:
            out.append({"id": b.volume_id, **({"delete_on_termination": bool(b.delete_on_termination)}
                                               if version >= (2, 3) else {})})
    return out


def detail(req: Request, v: ServerView, *, show: bool = False) -> dict[str, Any]:
    """The full server; ``show`` adds what only show/update/rebuild carry (server_groups)."""
    r, version, ctx = v.row, req.ctx.api_version, req.ctx
    out, _st = _common(req, v, extend_address=True)
    out.update({
        "key_name": r.key_name, "config_drive": r.config_drive or "",
        "OS-EXT-AZ:availability_zone": r.availability_zone or "",
        "OS-EXT-STS:task_state": r.task_state, "OS-EXT-STS:vm_state": r.vm_state,
        "OS-EXT-STS:power_state": r.power_state,
        "OS-SRV-USG:launched_at": isotime_us(r.launched_at), "OS-SRV-USG:terminated_at": isotime_us(r.terminated_at),
        "os-extended-volumes:volumes_attached": volumes_attached(r, version),
    })
    if r.security_groups:
        out["security_groups"] = [{"name": n} for n in r.security_groups]
    _extended(req, v, out)
    _later(req, v, out, show=show)
    if version >= (2, 16) and ctx.allowed("os_compute_api:servers:show:host_status",
                                          {"project_id": r.project_id}):
        out["host_status"] = v.host_status
    if version >= (2, 96):
        out["pinned_availability_zone"] = (r.request or {}).get("pinned_availability_zone")
    if version >= (2, 100):
        out["scheduler_hints"] = dict((r.request or {}).get("scheduler_hints") or {})
    return out


def _extended(req: Request, v: ServerView, out: dict[str, Any]) -> None:
    r, version = v.row, req.ctx.api_version
    if not req.ctx.allowed(ATTRS, {"project_id": r.project_id}):
        if version >= (2, 90):
            out["OS-EXT-SRV-ATTR:hostname"] = r.hostname
        return
    out.update({"OS-EXT-SRV-ATTR:host": r.host, "OS-EXT-SRV-ATTR:hypervisor_hostname": r.node,
                "OS-EXT-SRV-ATTR:instance_name": server_records.instance_name(r.id)})
    if version >= (2, 3):
        sm = r.system_metadata or {}
        out.update({"OS-EXT-SRV-ATTR:reservation_id": r.reservation_id,
                    "OS-EXT-SRV-ATTR:launch_index": r.launch_index, "OS-EXT-SRV-ATTR:hostname": r.hostname,
                    "OS-EXT-SRV-ATTR:kernel_id": sm.get("kernel_id", ""),
                    "OS-EXT-SRV-ATTR:ramdisk_id": sm.get("ramdisk_id", ""),
                    "OS-EXT-SRV-ATTR:root_device_name": r.root_device_name,
                    "OS-EXT-SRV-ATTR:user_data": r.user_data})


def created(req: Request, row: Any, admin_password: str | None, with_password: bool) -> dict[str, Any]:
    out: dict[str, Any] = {"id": row.id, "links": links.links(req, "servers", row.id),
                           "OS-DCF:diskConfig": "AUTO" if row.auto_disk_config else "MANUAL",
                           "security_groups": [{"name": n} for n in row.security_groups or ["default"]]}
    if with_password and admin_password:
        out["adminPass"] = admin_password
    return out
