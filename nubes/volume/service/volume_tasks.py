"""What a volume's ``task`` needs to be finished after a restart, kept beside the record.

A task's arguments (the new size of an extend and its quota reservations, the snapshot of a
revert, the image of an upload or of a create from an image, the status to go back to) are an
admin metadata item ``task_args`` (JSON), which no view shows; ``source`` tells a manager what a
volume is made from (the ``source`` of ``create_volume``)."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from nubes.volume import rpc
from nubes.volume.db.models import Snapshot, Volume, VolumeAdminMetadata

KEY = "task_args"
HIDDEN = {KEY}          # admin metadata no view shows


async def get_args(s: AsyncSession, volume_id: str) -> dict[str, Any]:
    row = await s.get(VolumeAdminMetadata, (volume_id, KEY))
    if row is None:
        return {}
    try:
        return json.loads(row.value)
    except ValueError:
        return {}


async def set_args(s: AsyncSession, volume_id: str, args: dict[str, Any]) -> None:
    value = json.dumps(args, separators=(",", ":"))
    row = await s.get(VolumeAdminMetadata, (volume_id, KEY))
    if row is None:
        s.add(VolumeAdminMetadata(volume_id=volume_id, key=KEY, value=value))
    else:
        row.value = value


async def clear_args(s: AsyncSession, volume_id: str) -> dict[str, Any]:
    row = await s.get(VolumeAdminMetadata, (volume_id, KEY))
    if row is None:
        return {}
    args = await get_args(s, volume_id)
    await s.delete(row)
    return args


async def source_payload(s: AsyncSession, row: Volume, specs_of: Any) -> dict[str, Any] | None:
    """What ``row`` is made from, as the manager's ``create_volume`` takes it (None: blank)."""
    from nubes.volume.service.snapshots import snapshot_record

    if row.snapshot_id:
        snap = await s.get(Snapshot, row.snapshot_id)
        parent = await s.get(Volume, snap.volume_id) if snap else None
        return {"kind": "snapshot",
                "snapshot": snapshot_record(snap) if snap else {"id": row.snapshot_id},
                "volume": rpc.volume_record(parent, await specs_of(s, parent.volume_type_id)) if parent else {}}
    if row.source_volid:
        src = await s.get(Volume, row.source_volid)
        return {"kind": "volume",
                "volume": rpc.volume_record(src, await specs_of(s, src.volume_type_id)) if src
                else {"id": row.source_volid}}
    image_id = (await get_args(s, row.id)).get("image_id")
    if image_id:
        return {"kind": "image", "image_id": image_id}
    return None
