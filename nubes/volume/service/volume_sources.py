"""What a new volume is made from: a snapshot, another volume (a clone) or an image, checked as
Cinder's create flow checks them, before anything is written or reserved.

A volume from a snapshot or a volume is made on its source's backend (the scheduler keeps to
it), in its source's availability zone, of its source's type unless another is named (a type
that differs is refused: nubes does not move data between backends), at least its source's
size; it carries its source's bootable flag and image metadata. A volume from an image must
hold the image (its ``size`` and ``virtual_size``) and its ``min_disk``; the manager checks the
data again when it has it. A volume from a backup (3.47) is at least the backup's size (its size
when none is given), on whichever backend the scheduler picks, of the type asked for or the
default; the backup must be available (``service/volume_from_backup.py`` restores it once the
backend has made the blank volume)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from nubes.volume import exceptions as exc
from nubes.volume.db.models import Backup, Snapshot, Volume, VolumeGlanceMetadata, VolumeType

GiB = 1024 ** 3
CLONABLE = ("available", "in-use")


@dataclass
class Source:
    kind: str                               # snapshot, volume, image
    size: int                               # the least size of the new volume (GiB)
    volume_type_id: str | None = None
    availability_zone: str | None = None
    bootable: bool = False
    image_metadata: dict[str, str] = field(default_factory=dict)
    snapshot_id: str | None = None
    source_volid: str | None = None
    image_id: str | None = None
    backup_id: str | None = None


def _gib(size_bytes: Any) -> int:
    return -(-int(size_bytes) // GiB) if size_bytes else 0


async def resolve(s: AsyncSession, req: Any, see: set[str] | None) -> Source | None:
    """The source ``req`` names (None: a blank volume); Cinder's 400/404 when it cannot be used."""
    if req.snapshot_id:
        snap = await s.get(Snapshot, req.snapshot_id) if len(req.snapshot_id) <= 36 else None
        if snap is None or (see is not None and snap.project_id not in see):
            raise exc.SnapshotNotFound(req.snapshot_id)
        if snap.status != "available":
            raise exc.InvalidSnapshot("Originating snapshot status must be one of 'available' values")
        parent = await s.get(Volume, snap.volume_id)
        meta = await _glance(s, VolumeGlanceMetadata.snapshot_id == snap.id)
        if not meta and parent is not None:
            meta = await _glance(s, VolumeGlanceMetadata.volume_id == parent.id)
        src = Source("snapshot", snap.volume_size, snap.volume_type_id,
                     parent.availability_zone if parent else None, bool(parent and parent.bootable), meta,
                     snapshot_id=snap.id)
        if req.size is not None and req.size < snap.volume_size:
            raise exc.InvalidInput(f"Volume size '{req.size}'GB cannot be smaller than the snapshot size "
                                   f"{snap.volume_size}GB. They must be >= original snapshot size.")
        return src
    if req.source_volid:
        vol = await s.get(Volume, req.source_volid) if len(req.source_volid) <= 36 else None
        if vol is None or (see is not None and vol.project_id not in see):
            raise exc.VolumeNotFound(req.source_volid)
        if vol.status not in CLONABLE or vol.host is None:
            raise exc.InvalidVolume(f"Unable to clone volumes that are in a {vol.status} state; the source "
                                    "volume must be available or in-use.")
        if req.size is not None and req.size < vol.size:
            raise exc.InvalidInput(f"Volume size '{req.size}'GB cannot be smaller than original volume size "
                                   f"{vol.size}GB. They must be >= original volume size.")
        return Source("volume", vol.size, vol.volume_type_id, vol.availability_zone, vol.bootable,
                      await _glance(s, VolumeGlanceMetadata.volume_id == vol.id), source_volid=vol.id)
    if getattr(req, "backup_id", None):
        backup = await s.get(Backup, req.backup_id) if len(req.backup_id) <= 36 else None
        if backup is None or (see is not None and backup.project_id not in see):
            raise exc.BackupNotFound(req.backup_id)
        if backup.status != "available":
            raise exc.InvalidBackup("Backup status must be available")
        if req.size is not None and req.size < backup.size:
            raise exc.InvalidInput(f"Volume size {req.size}GB cannot be smaller than the backup size "
                                   f"{backup.size}GB. It must be >= backup size.")
        return Source("backup", backup.size, backup_id=backup.id)
    if req.image is not None:
        image = req.image
        if image.get("status") != "active":
            raise exc.InvalidInput(f"Image {image['id']} is not active.")
        if req.size is None:
            raise exc.BadRequest("Invalid input for field/attribute size. Value: None. None is not of type "
                                 "'integer', 'string'")
        image_gb = max(_gib(image.get("size")), _gib(image.get("virtual_size")))
        if image_gb > req.size:
            raise exc.InvalidInput(f"Size of specified image {image_gb}GB is larger than volume size "
                                   f"{req.size}GB.")
        min_disk = int(image.get("min_disk") or 0)
        if min_disk > req.size:
            raise exc.InvalidInput(f"Volume size {req.size}GB cannot be smaller than the image minDisk size "
                                   f"{min_disk}GB.")
        return Source("image", req.size, image_id=str(image["id"]))
    return None


async def _glance(s: AsyncSession, where: Any) -> dict[str, str]:
    rows = (await s.execute(select(VolumeGlanceMetadata).where(where))).scalars()
    return {g.key: g.value for g in rows}


async def check_type(s: AsyncSession, src: Source, vtype: VolumeType, named: str | None) -> None:
    if src.kind in ("snapshot", "volume") and named and src.volume_type_id and vtype.id != src.volume_type_id:
        raise exc.InvalidInput(f"Invalid volume_type provided: {named} (requested type is not compatible; "
                               "either match source volume, or omit type argument).")


def check_zone(src: Source, requested: str | None) -> str | None:
    """The zone of the new volume: its source's (another is refused, as Cinder does by default)."""
    if src.kind not in ("snapshot", "volume") or not src.availability_zone:
        return requested
    if requested and requested != src.availability_zone:
        what = "snapshot" if src.kind == "snapshot" else "source volume"
        raise exc.InvalidInput(f"Volume must be in the same availability zone as the {what}")
    return src.availability_zone
