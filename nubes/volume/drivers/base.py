"""The volume driver contract: what a storage backend does for the volume manager.

A driver serves the volumes of one backend (Cinder's ``host@backend``). The volume manager
(``nubes.volume.agent``) owns every decision — which volume exists, in which state, who it is
exported to — and calls the driver to make the backend match; the driver never touches the
database, the bus or other services.

Values
  ``volume`` is the volume's record as the manager sends it (a plain dict): at least ``id``,
  ``size`` (GiB), ``provider_location`` (what the driver answered when it created the volume,
  or None) and ``volume_type`` extra specs under ``extra_specs`` (dict). ``snapshot`` likewise:
  ``id``, ``volume_id``, ``volume_size`` (GiB), ``provider_location``. A ``connector`` is what
  the attaching host says about itself (os-brick's connector properties): ``host``, ``ip``,
  ``initiator`` (may be absent), ``multipath``, ``platform``, ``os_type``.

Model updates
  ``create_*`` methods may return a dict of fields the manager stores on the record
  (``provider_location``, ``provider_id``); None stores nothing. ``provider_location`` is the
  driver's own handle (for the file backend: the volume's file name in the pool).

Connection info
  ``export`` answers Cinder's connection info, ``{"driver_volume_type": TYPE, "data": {...}}``,
  which compute hands to its hypervisor driver:

  - ``"file"`` — the volume as a local image file, for a compute host on the backend's own
    machine: ``data = {"path": "/abs/file", "format": "qcow2"|"raw", "read_only": bool,
    "volume_id": id}``. The file may have a backing chain; the hypervisor opens it with it.
  - ``"nbd"`` — an NBD export (one per attachment) for compute hosts elsewhere:
    ``data = {"host": ip, "port": int, "export": name, "format": "raw", "read_only": bool,
    "volume_id": id}`` (the export presents the volume's guest-visible bytes; its chain stays
    on the backend).

  ``unexport`` removes what ``export`` made for that attachment (nothing for a local path).

Semantics
  Every method is ``async``; blocking work (files, qemu-img, subprocesses) goes through
  ``nubes.core.concurrency.run_blocking`` or an asyncio subprocess. Methods are idempotent
  where the manager may retry them (delivery on the bus is at least once): creating a volume
  that exists with the same size, deleting one that is gone, exporting an export that exists
  (the same connection info again) and unexporting one that is gone all succeed without doing
  anything. ``list_volumes``/``list_exports`` let a restarted manager reconcile: anything the
  backend holds that the database does not know is removed, anything half-made is finished
  or removed, and every export an attachment still has is served again (``ensure_export``, as
  Cinder's ``ensure_export`` at a volume service's start).

Snapshots and clones
  Where the format allows, a snapshot or a clone does not copy data (the file backend uses
  qcow2 backing chains), so its time does not depend on the volume's size. ``delete_snapshot``
  of a snapshot that other volumes or snapshots still depend on keeps the data they need.
  A snapshot of a volume attached through a local path is taken by the hypervisor that has it
  open (Nova's assisted volume snapshots), not by ``create_snapshot``: the manager only calls
  ``create_snapshot`` for volumes that are not attached, or attached through an export the
  backend controls (``"nbd"``), where the driver takes it live.

Errors
  ``VolumeDriverError(message)`` — the operation failed; the manager sets the record's error
  status and writes a user message with ``message``. ``VolumeNotFoundInBackend(id)`` — the
  backend has no such volume or snapshot. ``InsufficientCapacity(message)`` — the pool cannot
  hold it (the scheduler should have prevented it; a race can still get here).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable


class VolumeDriverError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class VolumeNotFoundInBackend(VolumeDriverError):
    def __init__(self, resource_id: str) -> None:
        super().__init__(f"{resource_id} does not exist on this backend.")
        self.resource_id = resource_id


class InsufficientCapacity(VolumeDriverError):
    pass


@dataclass(frozen=True)
class BackendStats:
    """A backend's capacity report (Cinder's ``get_volume_stats``), as the scheduler reads it.

    Capacities are GiB (floats); ``provisioned_capacity_gb`` is the sum of the sizes of the
    volumes the backend holds (what thin provisioning promised), ``allocated_capacity_gb`` the
    same as the manager counts it."""

    volume_backend_name: str
    total_capacity_gb: float
    free_capacity_gb: float
    provisioned_capacity_gb: float = 0.0
    allocated_capacity_gb: float = 0.0
    reserved_percentage: int = 0
    max_over_subscription_ratio: float = 20.0
    thin_provisioning_support: bool = True
    thick_provisioning_support: bool = False
    multiattach: bool = True
    storage_protocol: str = "file"
    vendor_name: str = "nubes"
    driver_version: str = "1.0"
    extra: dict[str, Any] = field(default_factory=dict)   # anything else, reported as capabilities


@runtime_checkable
class VolumeDriver(Protocol):
    """A storage backend (see the module docstring for the contract)."""

    backend_name: str

    async def start(self) -> None:
        """Check the backend can serve (tools present, pool usable) and prepare it."""

    async def stop(self) -> None:
        """Release what the driver holds in this process (exports it serves stay for restart)."""

    async def stats(self) -> BackendStats: ...

    async def list_volumes(self) -> list[str]:
        """Ids of every volume the backend holds."""

    async def list_snapshots(self) -> list[str]:
        """Ids of every snapshot the backend holds."""

    async def list_exports(self) -> list[tuple[str, str]]:
        """(volume id, attachment id) of every export the backend serves."""

    async def create_volume(self, volume: dict) -> dict | None:
        """A blank volume of ``volume["size"]`` GiB."""

    async def delete_volume(self, volume: dict) -> None: ...

    async def extend_volume(self, volume: dict, new_size: int) -> None:
        """Grow to ``new_size`` GiB (also while exported: a live export sees the new size)."""

    async def create_cloned_volume(self, volume: dict, source: dict) -> dict | None:
        """``volume`` with the contents of volume ``source`` (``volume["size"]`` >= source's)."""

    async def create_snapshot(self, snapshot: dict, volume: dict) -> dict | None: ...

    async def delete_snapshot(self, snapshot: dict, volume: dict) -> None: ...

    async def create_volume_from_snapshot(self, volume: dict, snapshot: dict) -> dict | None: ...

    async def revert_to_snapshot(self, volume: dict, snapshot: dict) -> None:
        """Make ``volume`` hold what ``snapshot`` holds (the volume's newest snapshot)."""

    async def export(self, volume: dict, attachment_id: str, connector: dict) -> dict:
        """Connection info for ``connector`` (see the module docstring)."""

    async def unexport(self, volume: dict, attachment_id: str) -> None: ...

    async def ensure_export(self, volume: dict, attachment_id: str) -> None:
        """Make an export ``list_exports`` names serve again after the backend lost it (a node
        restart stopped its target), with the connection info it had; nothing when it serves."""

    async def copy_image_to_volume(self, volume: dict, image_file: Path, image_format: str) -> None:
        """Write the image in ``image_file`` (format ``image_format``: raw, qcow2, ...) into the
        volume, converted to the volume's format; the volume must be at least the image's
        virtual size (the manager checks before calling)."""

    async def copy_volume_to_image(self, volume: dict, dest: Path, disk_format: str) -> None:
        """Write the volume's guest-visible contents to ``dest`` as ``disk_format``."""

    async def local_image(self, volume: dict) -> tuple[Path, str]:
        """The volume as an image file on this machine and its format (``"raw"``, or ``"qcow2"``
        with its backing chain), for readers such as backups (through qemu-img or qemu-io);
        raise VolumeDriverError when the backend has none."""

    async def snapshot_image(self, snapshot: dict) -> tuple[Path, str]:
        """The snapshot as an image file on this machine and its format, as ``local_image``
        (backups of snapshots read it); nothing writes the file while the snapshot exists.
        VolumeNotFoundInBackend when the backend has no such snapshot."""
