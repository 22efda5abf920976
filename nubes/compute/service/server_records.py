"""An instance as the agents get it over the bus: everything they need, so they never read the DB."""

from __future__ import annotations

from typing import Any


def instance_name(instance_id: str) -> str:
    """Nova's ``instance-%08x`` name; nubes' ids are uuids, so the first 32 bits of it."""
    return f"instance-{int(instance_id.replace('-', '')[:8], 16):08x}"


def record(row: Any) -> dict[str, Any]:
    req = row.request or {}
    return {
        "id": row.id, "uuid": row.id, "name": instance_name(row.id), "display_name": row.display_name,
        "hostname": row.hostname, "project_id": row.project_id, "user_id": row.user_id,
        "host": row.host, "node": row.node, "availability_zone": row.availability_zone,
        "flavor": row.flavor, "vcpus": row.vcpus, "memory_mb": row.memory_mb, "root_gb": row.root_gb,
        "ephemeral_gb": row.ephemeral_gb, "image_ref": row.image_ref, "image": req.get("image"),
        "key_name": row.key_name, "key_data": row.key_data, "user_data": row.user_data,
        "config_drive": row.config_drive, "vm_state": row.vm_state, "task_state": row.task_state,
        "power_state": row.power_state, "launch_index": row.launch_index,
        "reservation_id": row.reservation_id,
        "metadata": {m.key: m.value for m in row.metadata_items},
        "security_groups": row.security_groups, "security_group_ids": req.get("security_group_ids", []),
        "requested_networks": req.get("networks", []), "network_info": row.network_info or [],
        "root_device_name": row.root_device_name, "system_metadata": row.system_metadata or {},
        "block_devices": req.get("block_devices", []),
        "request": {k: v for k, v in req.items() if k != "admin_password"},
        "display_description": row.display_description, "old_flavor": row.old_flavor,
        "new_flavor": row.new_flavor, "progress": row.progress, "locked": row.locked,
        "access_ip_v4": row.access_ip_v4, "access_ip_v6": row.access_ip_v6,
        "auto_disk_config": row.auto_disk_config,
        "terminated_at": row.terminated_at.isoformat() if row.terminated_at else None,
        "created_at": row.created_at.isoformat() if row.created_at else None,
        "updated_at": row.updated_at.isoformat() if row.updated_at else None,
        "launched_at": row.launched_at.isoformat() if row.launched_at else None,
    }
