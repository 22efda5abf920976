"""A driver that keeps volumes in memory (sizes only): scale tests and the test clouds.

It keeps the contract of ``drivers/base.py`` (idempotent creates and deletes, capacity from
the volumes it holds, connection info of type ``"fake"``); what it holds lives as long as the
process, so a restarted manager finds an empty backend, as after a wiped pool. Readers of
``local_image`` (backups) get a sparse raw file under the pool directory holding the volume's
bytes, made on first use and wiped with the rest at the next start."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from nubes.volume.conf import BackendConf
from nubes.volume.drivers.base import BackendStats, InsufficientCapacity, VolumeDriverError, VolumeNotFoundInBackend


class FakeDriver:
    def __init__(self, backend: BackendConf) -> None:
        self.backend = backend
        self.backend_name = backend.name
        self.volumes: dict[str, int] = {}
        self.snapshots: dict[str, tuple[str, int]] = {}
        self.exports: dict[tuple[str, str], dict] = {}
        # Tests make a create fail by naming the volume's id here.
        self.fail_create: set[str] = set()
        self.images = Path(backend.pool_dir) / "fake-images"

    async def start(self) -> None:
        shutil.rmtree(self.images, ignore_errors=True)

    def _image(self, volume_id: str) -> Path:
        return self.images / f"{volume_id}.raw"

    async def stop(self) -> None:
        pass

    def _provisioned(self) -> float:
        return float(sum(self.volumes.values()) + sum(size for _v, size in self.snapshots.values()))

    async def stats(self) -> BackendStats:
        total = float(self.backend.size_gb)
        return BackendStats(
            volume_backend_name=self.backend.name, total_capacity_gb=total,
            free_capacity_gb=total,            # thin: nothing written takes no room
            provisioned_capacity_gb=self._provisioned(), allocated_capacity_gb=self._provisioned(),
            reserved_percentage=self.backend.reserved_percentage,
            max_over_subscription_ratio=self.backend.max_over_subscription_ratio,
            storage_protocol="fake", vendor_name="nubes", driver_version="1.0")

    async def list_volumes(self) -> list[str]:
        return list(self.volumes)

    async def list_snapshots(self) -> list[str]:
        return list(self.snapshots)

    async def list_exports(self) -> list[tuple[str, str]]:
        return list(self.exports)

    async def create_volume(self, volume: dict) -> dict | None:
        if volume["id"] in self.fail_create:
            raise VolumeDriverError(f"the fake backend was told to fail volume {volume['id']}")
        if volume["id"] not in self.volumes:
            ratio = self.backend.max_over_subscription_ratio
            if self._provisioned() + volume["size"] > self.backend.size_gb * ratio:
                raise InsufficientCapacity(f"backend {self.backend.name} is full")
            self.volumes[volume["id"]] = int(volume["size"])
        return {"provider_location": f"fake:{volume['id']}"}

    async def delete_volume(self, volume: dict) -> None:
        self.volumes.pop(volume["id"], None)
        self._image(volume["id"]).unlink(missing_ok=True)

    def _need(self, volume_id: str) -> None:
        if volume_id not in self.volumes:
            raise VolumeNotFoundInBackend(volume_id)

    async def extend_volume(self, volume: dict, new_size: int) -> None:
        self._need(volume["id"])
        self.volumes[volume["id"]] = new_size
        if self._image(volume["id"]).exists():
            os.truncate(self._image(volume["id"]), new_size << 30)

    async def create_cloned_volume(self, volume: dict, source: dict) -> dict | None:
        self._need(source["id"])
        return await self.create_volume(volume)

    async def create_snapshot(self, snapshot: dict, volume: dict) -> dict | None:
        self._need(volume["id"])
        self.snapshots[snapshot["id"]] = (volume["id"], int(snapshot.get("volume_size") or volume["size"]))
        return {"provider_location": f"fake:{snapshot['id']}"}

    async def delete_snapshot(self, snapshot: dict, volume: dict) -> None:
        self.snapshots.pop(snapshot["id"], None)

    async def create_volume_from_snapshot(self, volume: dict, snapshot: dict) -> dict | None:
        if snapshot["id"] not in self.snapshots:
            raise VolumeNotFoundInBackend(snapshot["id"])
        return await self.create_volume(volume)

    async def revert_to_snapshot(self, volume: dict, snapshot: dict) -> None:
        self._need(volume["id"])
        if snapshot["id"] not in self.snapshots:
            raise VolumeNotFoundInBackend(snapshot["id"])

    async def export(self, volume: dict, attachment_id: str, connector: dict) -> dict:
        self._need(volume["id"])
        info = {"driver_volume_type": "fake", "data": {"volume_id": volume["id"], "read_only": False}}
        self.exports[(volume["id"], attachment_id)] = info
        return info

    async def unexport(self, volume: dict, attachment_id: str) -> None:
        self.exports.pop((volume["id"], attachment_id), None)

    async def copy_image_to_volume(self, volume: dict, image_file: Path, image_format: str) -> None:
        self._need(volume["id"])

    async def copy_volume_to_image(self, volume: dict, dest: Path, disk_format: str) -> None:
        raise VolumeDriverError("the fake backend holds no data to copy")

    async def local_image(self, volume: dict) -> tuple[Path, str]:
        self._need(volume["id"])
        path = self._image(volume["id"])
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(path, "wb") as f:
                f.truncate(self.volumes[volume["id"]] << 30)
        return path, "raw"
