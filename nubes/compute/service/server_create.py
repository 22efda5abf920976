"""Creating servers: check the request, then in one transaction count the quota (behind the
project's lock row) and write the instances (building/scheduling), their metadata, tags, block
devices, group membership and ``create`` action; after the commit, ask the conductor to build."""

from __future__ import annotations

import logging
import re
import secrets
import string
import uuid
from typing import Any

from nubes.core.context import RequestContext
from nubes.core.db.base import utcnow
from nubes.compute import exceptions as exc
from nubes.compute import rpc
from nubes.compute.db.models import BlockDeviceMapping, Instance, ServerGroupMember
from nubes.compute.db.queries import actions as qa
from nubes.compute.db.queries import host_states as qh
from nubes.compute.db.queries import instances as qi
from nubes.compute.service import server_boot_volumes as boot_volumes
from nubes.compute.service import server_inputs as inputs
from nubes.compute.service.server_requests import CreateRequest, Created

LOG = logging.getLogger(__name__)


def sanitize_hostname(name: str, default: str) -> str:
    """Nova's hostname from a display name: lower case, [a-z0-9-], at most 63 characters."""
    h = name.encode("latin-1", "ignore").decode("latin-1")[:63]
    h = re.sub(r"[ _.]", "-", h)
    h = re.sub(r"[^\w.-]+", "", h).lower().strip(".-")
    return h or default[:63]


def password(length: int = 12) -> str:
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(length))


def reservation_id() -> str:
    return "r-" + "".join(secrets.choice(string.ascii_lowercase + string.digits) for _ in range(8))


class ServerCreator:
    def __init__(self, state: Any) -> None:
        self.state = state

    async def create(self, ctx: RequestContext, req: CreateRequest, *, zero_disk_allowed: bool) -> Created:
        st = self.state
        async with st.db.reader() as s:
            fl = await inputs.flavor(s, ctx, req.flavor_ref)
            key_data = await inputs.keypair(s, ctx, req.key_name)
            az, force_host, force_node = await inputs.zone(s, ctx, req.availability_zone, st.conf)
            await inputs.destination(s, ctx, req.requested_host, req.requested_node)
            group = await inputs.server_group(s, ctx, req.scheduler_hints)
            same = await qh.hosts_of(s, _ids(req.scheduler_hints.get("same_host")))
            different = await qh.hosts_of(s, _ids(req.scheduler_hints.get("different_host")))
            await st.quotas.check_metadata(s, ctx.project_id or "", len(req.metadata))
        disks = inputs.block_devices(req, fl)
        root_image = await boot_volumes.check(st.rt.clients, ctx, disks.volumes, fl, count=req.max_count)
        if not disks.volume_backed:
            img = inputs.image_summary(await inputs.image(st.rt.clients, ctx, disks.image_id, fl,
                                                          zero_disk_allowed=zero_disk_allowed))
        else:                       # no local root disk, so any flavor disk size will do
            img = root_image or boot_volumes.summary({})
        nets = await inputs.networks(st.rt.clients, ctx, req.networks)
        sg_ids, sg_names = (await inputs.security_groups(st.rt.clients, ctx, req.security_groups)
                            if nets or req.security_groups else ([], []))
        admin_password = req.admin_password or password()
        request = {"networks": nets, "security_group_ids": sg_ids, "image": img,
                   "scheduler_hints": req.scheduler_hints, "availability_zone": az,
                   "pinned_availability_zone": az, "force_host": force_host, "force_node": force_node,
                   "requested_host": req.requested_host, "requested_node": req.requested_node,
                   "group_id": group.id if group else None, "same_host": same, "different_host": different,
                   "admin_password": admin_password, "attempts": 0, "tried_hosts": [], "alternates": [],
                   "block_devices": [_bdm_dict(bd) for bd in disks.devices]}
        rid = reservation_id()
        async with st.db.session() as s:
            count = await st.quotas.allowed_instances(
                s, ctx.project_id or "", ctx.user_id or "", min_count=req.min_count,
                max_count=req.max_count, vcpus=fl["vcpus"], ram=fl["memory_mb"])
            if group is not None:
                await st.quotas.check_group_members(s, ctx.project_id or "", ctx.user_id or "", group.id,
                                                    count)
            rows = [self._row(ctx, req, fl, img, key_data, sg_names, request, rid, i, count, disks)
                    for i in range(count)]
            for row in rows:
                s.add(row)
            await s.flush()
            for row in rows:
                for bd in disks.devices:
                    s.add(_bdm(row.id, bd))
                if group is not None:
                    s.add(ServerGroupMember(group_id=group.id, instance_id=row.id))
                qa.start(s, row.id, "create", ctx.request_id, ctx.user_id, ctx.project_id)
        for row in rows:
            await st.events.publish("create", "start", row)
        build = [r.id for r in rows]
        if disks.volumes:
            types = {bd.device_name or "": bd.volume_type for bd in disks.volumes}
            build = [iid for iid in build if await boot_volumes.prepare(st, ctx, iid, types)]
        if build:
            await st.bus.cast(rpc.CONDUCTOR_TOPIC, "build_instances", {"instance_ids": build})
        LOG.info("servers %s requested by project %s", ", ".join(r.id for r in rows), ctx.project_id)
        return Created(rows[0], admin_password, rid, count)

    def _row(self, ctx: RequestContext, req: CreateRequest, fl: dict[str, Any], img: dict[str, Any],
             key_data: str | None, sg_names: list[str], request: dict[str, Any], rid: str, index: int,
             count: int, disks: Any) -> Instance:
        iid = str(uuid.uuid4())
        name = f"{req.name}-{index + 1}" if count > 1 else req.name
        if req.hostname:
            hostname = f"{req.hostname}-{index + 1}" if count > 1 else req.hostname
        else:
            hostname = sanitize_hostname(name, f"Server-{iid}")
        props = request["image"]["properties"]
        system_metadata = {f"image_{k}": str(v) for k, v in props.items() if not isinstance(v, list | dict)}
        system_metadata.update(image_base_image_ref=disks.image_id, kernel_id=str(props.get("kernel_id", "")),
                               ramdisk_id=str(props.get("ramdisk_id", "")))
        now = utcnow()
        row = Instance(
            id=iid, project_id=ctx.project_id or "", user_id=ctx.user_id or "", display_name=name,
            display_description=req.description, hostname=hostname, availability_zone=request["availability_zone"],
            flavor=fl, flavorid=fl["flavorid"], vcpus=fl["vcpus"], memory_mb=fl["memory_mb"],
            root_gb=fl["root_gb"], ephemeral_gb=fl["ephemeral_gb"], image_ref=disks.image_id,
            key_name=req.key_name, key_data=key_data, user_data=req.user_data,
            config_drive="True" if req.config_drive else "", vm_state="building", task_state="scheduling",
            power_state=0, progress=0, launch_index=index, reservation_id=rid, locked=False,
            access_ip_v4=req.access_ip_v4, access_ip_v6=req.access_ip_v6,
            auto_disk_config=req.auto_disk_config, root_device_name="/dev/vda",
            security_groups=sg_names, request=request, system_metadata=system_metadata, network_info=[],
            created_at=now, updated_at=now, deleted=False)
        row.metadata_items = qi.metadata_rows(req.metadata)
        row.tags = qi.tag_rows(req.tags)
        return row


def _ids(value: Any) -> list[str]:
    if not value:
        return []
    return [value] if isinstance(value, str) else [str(v) for v in value]


def _bdm(instance_id: str, bd: Any) -> BlockDeviceMapping:
    return BlockDeviceMapping(
        instance_id=instance_id, boot_index=bd.boot_index, source_type=bd.source_type,
        destination_type=bd.destination_type, device_name=bd.device_name, device_type=bd.device_type or "disk",
        disk_bus=bd.disk_bus, guest_format=bd.guest_format,
        image_id=bd.uuid if bd.source_type == "image" else None,
        volume_id=bd.uuid if bd.source_type == "volume" else None,
        snapshot_id=bd.uuid if bd.source_type == "snapshot" else None, volume_size=bd.volume_size,
        delete_on_termination=bd.delete_on_termination or bd.destination_type == "local", tag=bd.tag)


def _bdm_dict(bd: Any) -> dict[str, Any]:
    # A volume's entry gets its volume_id and connection_info from the conductor (build_volumes).
    return {"source_type": bd.source_type, "destination_type": bd.destination_type, "boot_index": bd.boot_index,
            "image_id": bd.uuid if bd.source_type == "image" else None, "volume_size": bd.volume_size,
            "guest_format": bd.guest_format, "device_name": bd.device_name, "device_type": bd.device_type or "disk",
            "disk_bus": bd.disk_bus, "tag": bd.tag,
            "delete_on_termination": bd.delete_on_termination or bd.destination_type == "local"}


def check_counts(min_count: int, max_count: int) -> None:
    if min_count > max_count:
        raise exc.BadRequest("min_count must be <= max_count")
