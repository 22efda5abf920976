"""Checks a create-server request against the services it names, as the caller (their token):
the flavor, the image and block devices, networks and ports, security groups, key pair,
availability zone and forced hosts, the server group. Nova's 400/403/409 wording."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from nubes.core.context import RequestContext
from nubes.compute import exceptions as exc
from nubes.compute.db.queries import host_states as qh
from nubes.compute.db.queries import keypairs as qk
from nubes.compute.db.queries import server_groups as qg
from nubes.compute.service import flavors as flavor_service
from nubes.compute.service import server_boot_volumes as boot_volumes
from nubes.compute.service.server_requests import BlockDevice, CreateRequest, NetworkRequest

GIB = 1024 ** 3
BDM_INVALID = boot_volumes.BDM_INVALID


def flavor_snapshot(row: Any) -> dict[str, Any]:
    return {"flavorid": row.flavorid, "name": row.name, "vcpus": row.vcpus, "memory_mb": row.memory_mb,
            "root_gb": row.root_gb, "ephemeral_gb": row.ephemeral_gb, "swap": row.swap,
            "rxtx_factor": row.rxtx_factor, "is_public": row.is_public, "description": row.description,
            "extra_specs": {e.key: e.value for e in row.extra_specs}}


async def flavor(s: Any, ctx: RequestContext, ref: str) -> dict[str, Any]:
    flavorid = ref.rstrip("/").rsplit("/", 1)[-1]
    try:
        row = await flavor_service.visible(s, ctx, flavorid)
    except exc.FlavorNotFound:
        raise exc.BadRequest("Invalid flavorRef provided.") from None
    if row.disabled:
        raise exc.BadRequest("Invalid flavorRef provided.")
    return flavor_snapshot(row)


async def keypair(s: Any, ctx: RequestContext, name: str | None) -> str | None:
    if name is None:
        return None
    row = await qk.get(s, ctx.user_id or "", name)
    if row is None:
        raise exc.BadRequest("Invalid key_name provided.")
    return row.public_key


@dataclass
class Disks:
    image_id: str                                    # "" for a volume-backed server
    devices: list[BlockDevice] = field(default_factory=list)
    volumes: list[BlockDevice] = field(default_factory=list)   # those of devices that are volumes

    @property
    def volume_backed(self) -> bool:
        return any(bd.boot_index == 0 for bd in self.volumes)


def block_devices(req: CreateRequest, fl: dict[str, Any]) -> Disks:
    image_id = req.image_ref.rstrip("/").rsplit("/", 1)[-1] if req.image_ref else ""
    devices: list[BlockDevice] = []
    volumes: list[BlockDevice] = []
    swap = ephemeral = 0
    boot_indexes = []
    for bd in req.block_devices:
        if bd.boot_index is not None and bd.boot_index >= 0:
            boot_indexes.append(bd.boot_index)
        if boot_volumes.is_volume(bd):
            boot_volumes.check_shape(bd)
            volumes.append(bd)
            continue
        if bd.volume_type:
            raise exc.BadRequest("Specifying a volume_type with destination_type=local is not supported.")
        if bd.source_type == "image":
            if bd.boot_index != 0:
                raise exc.BadRequest(BDM_INVALID + "Mapping image to local is not supported.")
            image_id = image_id or (bd.uuid or "")
            if bd.uuid and bd.uuid != image_id:
                raise exc.BadRequest(BDM_INVALID + "the image of the boot device differs from imageRef.")
            continue
        if bd.guest_format == "swap":
            swap += 1
            if swap > 1:
                raise exc.BadRequest(BDM_INVALID + "More than one swap drive requested.")
            bd.volume_size = bd.volume_size or fl["swap"]
            if bd.volume_size > fl["swap"]:
                raise exc.BadRequest("Swap drive requested is larger than instance type allows.")
        else:
            bd.volume_size = bd.volume_size if bd.volume_size is not None else fl["ephemeral_gb"]
            ephemeral += bd.volume_size
            if ephemeral > fl["ephemeral_gb"]:
                raise exc.BadRequest("Ephemeral disks requested are larger than the instance type allows. "
                                     "If no size is given in one block device mapping, flavor ephemeral "
                                     "size will be used.")
        devices.append(bd)
    volume_root = any(bd.boot_index == 0 for bd in volumes)
    if image_id and 0 not in boot_indexes:
        boot_indexes.append(0)            # imageRef alone: Nova's implicit image mapping, boot_index 0
    if (not image_id and not volume_root) or sorted(boot_indexes) != list(range(len(boot_indexes))) or (
            boot_indexes and 0 not in boot_indexes):
        raise exc.BadRequest(BDM_INVALID + "Boot sequence for the instance and image/block device mapping "
                             "combination is not valid.")
    if volume_root:           # the image (if named) is the root volume's source: no local copy of it
        boot_volumes.name_devices(volumes, {d.device_name for d in devices if d.device_name})
        return Disks("", [*devices, *volumes], volumes)
    boot_volumes.name_devices(volumes, {"/dev/vda"} | {d.device_name for d in devices if d.device_name})
    root = BlockDevice("image", "local", boot_index=0, uuid=image_id, delete_on_termination=True,
                       device_name="/dev/vda")
    return Disks(image_id, [root, *devices, *volumes], volumes)


async def image(clients: Any, ctx: RequestContext, image_id: str, fl: dict[str, Any], *,
                zero_disk_allowed: bool) -> dict[str, Any]:
    r = await clients.request("image", "GET", f"/v2/images/{image_id}", token=ctx.auth_token)
    if r.status_code in (400, 403, 404):
        raise exc.BadRequest("Can not find requested image")
    if r.status_code != 200:
        raise exc.BadRequest(f"Can not check the requested image (the image service answered "
                             f"{r.status_code}).")
    img = r.json()
    check_image(img, fl, zero_disk_allowed=zero_disk_allowed)
    return img


def check_image(img: dict[str, Any], fl: dict[str, Any], *, zero_disk_allowed: bool) -> None:
    """Nova's checks of an image against the flavor it is to boot with (``zero_disk_allowed``: the
    API layer's servers:create:zero_disk_flavor decision)."""
    if img.get("status") != "active":
        raise exc.BadRequest(f"Image {img.get('id')} is not active.")
    if fl["memory_mb"] < int(img.get("min_ram") or 0):
        raise exc.BadRequest("Flavor's memory is too small for requested image.")
    if fl["root_gb"] == 0:
        if not zero_disk_allowed:
            raise exc.Forbidden("Only volume-backed servers are allowed for flavors with zero disk.")
        return
    root = fl["root_gb"] * GIB
    size = int(img.get("size") or 0)
    if size > root:
        raise exc.BadRequest(f"Flavor's disk is too small for requested image. Flavor disk is "
                             f"{root} bytes, image is {size} bytes.")
    min_disk = int(img.get("min_disk") or 0) * GIB
    if min_disk > root:
        raise exc.BadRequest(f"Flavor's disk is smaller than the minimum size specified in image "
                             f"metadata. Flavor disk is {root} bytes, minimum size is {min_disk} bytes.")


CORE_IMAGE_FIELDS = boot_volumes.CORE_IMAGE_FIELDS


def image_summary(img: dict[str, Any]) -> dict[str, Any]:
    props = {k: v for k, v in img.items() if k not in CORE_IMAGE_FIELDS}
    return {"id": img["id"], "name": img.get("name"), "size": img.get("size"), "min_ram": img.get("min_ram"),
            "min_disk": img.get("min_disk"), "disk_format": img.get("disk_format"),
            "container_format": img.get("container_format"), "properties": props}


async def _get(clients: Any, ctx: RequestContext, path: str) -> Any:
    return await clients.request("network", "GET", path, token=ctx.auth_token)


async def networks(clients: Any, ctx: RequestContext, wanted: str | list[NetworkRequest] | None
                   ) -> list[dict[str, Any]]:
    """The networks to plug, as [{network_id, port_id, fixed_ip, tag}] ([] for none)."""
    if wanted == "none":
        return []
    if wanted is None or wanted == "auto":
        return await _auto(clients, ctx, strict=wanted == "auto")
    out = []
    for n in wanted:
        if n.port_id:
            r = await _get(clients, ctx, f"/v2.0/ports/{n.port_id}")
            if r.status_code != 200:
                raise exc.BadRequest(f"Port id {n.port_id} could not be found.")
            port = r.json()["port"]
            if port.get("device_id"):
                raise exc.Conflict(f"Port {n.port_id} is still in use.")
            out.append({"network_id": port["network_id"], "port_id": n.port_id, "fixed_ip": None,
                        "tag": n.tag})
            continue
        r = await _get(clients, ctx, f"/v2.0/networks/{n.network_id}")
        if r.status_code != 200:
            raise exc.BadRequest(f"Network {n.network_id} could not be found.")
        _needs_subnet(r.json()["network"])
        out.append({"network_id": n.network_id, "port_id": None, "fixed_ip": n.fixed_ip, "tag": n.tag})
    return out


async def _auto(clients: Any, ctx: RequestContext, *, strict: bool) -> list[dict[str, Any]]:
    r = await _get(clients, ctx, "/v2.0/networks")
    if r.status_code != 200:
        raise exc.BadRequest(f"Can not list the project's networks (the network service answered "
                             f"{r.status_code}).")
    nets = [n for n in r.json().get("networks", []) if not n.get("router:external") and (
        n.get("shared") or n.get("project_id", n.get("tenant_id")) == ctx.project_id)]
    if len(nets) > 1:
        raise exc.Conflict("Multiple possible networks found, use a Network ID to be more specific.")
    if not nets:
        if strict:
            raise exc.BadRequest(f"Unable to automatically allocate a network for project {ctx.project_id}")
        return []
    _needs_subnet(nets[0])
    return [{"network_id": nets[0]["id"], "port_id": None, "fixed_ip": None, "tag": None}]


def _needs_subnet(network: dict[str, Any]) -> None:
    """Nova's NetworkRequiresSubnet: a port made on a network without a subnet would have no address."""
    if not network.get("subnets"):
        raise exc.BadRequest(f"Network {network.get('id')} requires a subnet in order to boot instances on.")


async def security_groups(clients: Any, ctx: RequestContext, wanted: list[str]
                          ) -> tuple[list[str], list[str]]:
    """(ids, names) of the requested groups (names or ids; the project's default when none)."""
    wanted = list(dict.fromkeys(wanted or ["default"]))
    r = await _get(clients, ctx, "/v2.0/security-groups")
    if r.status_code != 200:
        raise exc.BadRequest(f"Can not list security groups (the network service answered {r.status_code}).")
    groups = r.json().get("security_groups", [])
    ids, names = [], []
    for w in wanted:
        by_id = [g for g in groups if g["id"] == w]
        by_name = [g for g in groups if g["name"] == w and
                   g.get("project_id", g.get("tenant_id")) == ctx.project_id]
        found = by_id or by_name
        if len(found) > 1:
            raise exc.Conflict(f"Multiple security groups found matching '{w}'. Use an ID to be more specific.")
        if not found:
            raise exc.BadRequest(f"Security group {w} not found for project {ctx.project_id}.")
        ids.append(found[0]["id"])
        names.append(found[0]["name"])
    return ids, names


async def zone(s: Any, ctx: RequestContext, text: str | None, conf: Any) -> tuple[str | None, str | None,
                                                                                  str | None]:
    from nubes.compute.scheduler.spec import parse_zone

    az, host, node = parse_zone(text)    # forcing a host: the API layer checked forced_host
    if az and az not in await available_zones(s, conf):
        raise exc.BadRequest("The requested availability zone is not available")
    return az, host, node


async def available_zones(s: Any, conf: Any) -> set[str]:
    zones_of = await qh.zones_of_hosts(s)
    out = {conf.default_availability_zone}
    for svc in await qh.compute_services(s):
        out |= zones_of.get(svc.host, set())
    return out


async def destination(s: Any, ctx: RequestContext, host: str | None, node: str | None) -> None:
    """2.74's host / hypervisor_hostname (the API layer checked requested_destination): they must exist."""
    if not (host or node):
        return
    nodes = await qh.nodes(s)
    if host and not any(n.host == host for n in nodes):
        raise exc.BadRequest(f"Compute host {host} could not be found.")
    if node and not any(n.hypervisor_hostname == node and (not host or n.host == host) for n in nodes):
        raise exc.BadRequest(f"Compute host {host or ''} with node {node} could not be found.".replace(
            "host  with", "host with"))


async def server_group(s: Any, ctx: RequestContext, hints: dict[str, Any]) -> Any:
    group_id = hints.get("group")
    if not group_id:
        return None
    row = await qg.get(s, group_id)
    if row is None or (row.project_id != ctx.project_id and not ctx.is_admin):
        raise exc.BadRequest(f"Instance group {group_id} could not be found.")
    return row
