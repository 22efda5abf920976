"""A driver that keeps volumes in memory: scale tests and the test clouds.

It keeps the contract of ``drivers/base.py`` (idempotent creates and deletes, capacity from
the volumes it holds, connection info of type ``"fake"``); what it holds lives as long as the
process, so a restarted manager finds an empty backend, as after a wiped pool; unless the
backend's pool directory exists when the driver starts (tests of restarts make it): then what it
holds is kept there (``fake-backend.json``) and found again by the next run.

Data: a volume holds its first ``DATA_LIMIT`` bytes (what an image wrote into it; the rest reads
as zeros), carried by clones, snapshots, reverts and copies to images, so tests can see that the
bytes went where they should. An image with data beyond that limit is refused.

Readers of ``local_image`` (backups) get a sparse raw file under the pool directory holding the
volume's bytes; while that file exists it is the volume's data (a restore writes into it), and
the other operations read it back first. ``snapshot_image`` writes such a file of a snapshot's
bytes, which only the snapshot's delete removes."""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
from pathlib import Path

from nubes.core.concurrency import run_blocking
from nubes.volume.conf import BackendConf
from nubes.volume.drivers.base import BackendStats, InsufficientCapacity, VolumeDriverError, VolumeNotFoundInBackend


DATA_LIMIT = 16 * 1024 * 1024
GiB = 1024 ** 3
# qemu-img's names of the image formats a volume can be copied to
QEMU_FORMATS = {"raw": "raw", "qcow2": "qcow2", "vmdk": "vmdk", "vdi": "vdi", "vhd": "vpc", "vhdx": "vhdx"}


def _qemu_img(*args: str) -> None:
    res = subprocess.run(["qemu-img", *args], capture_output=True, text=True)
    if res.returncode != 0:
        raise VolumeDriverError(f"qemu-img {args[0]} failed: {res.stderr.strip()[:300]}")


def _read_image(image_file: Path, image_format: str) -> bytes:
    """The guest-visible bytes of an image, up to DATA_LIMIT (refused when it holds more)."""
    raw = image_file
    if image_format != "raw":
        raw = image_file.with_name(image_file.name + ".raw")
        _qemu_img("convert", "-f", QEMU_FORMATS.get(image_format, image_format), "-O", "raw",
                  str(image_file), str(raw))
    try:
        with open(raw, "rb") as fh:
            try:
                beyond = os.lseek(fh.fileno(), DATA_LIMIT, os.SEEK_DATA)
            except OSError:
                beyond = None           # ENXIO: no data after the limit
            if beyond is not None and fh.seek(beyond) is not None and fh.read(1 << 20).strip(b"\0"):
                raise VolumeDriverError(f"the fake backend keeps at most {DATA_LIMIT} bytes of data")
            fh.seek(0)
            return fh.read(DATA_LIMIT).rstrip(b"\0")
    finally:
        if raw != image_file:
            raw.unlink(missing_ok=True)


def _write_image(data: bytes, size_gb: int, dest: Path, disk_format: str) -> None:
    raw = dest if disk_format == "raw" else dest.with_name(dest.name + ".raw")
    try:
        with open(raw, "wb") as fh:
            fh.write(data)
            fh.truncate(size_gb * GiB)          # sparse: the rest reads as zeros
        if raw != dest:
            _qemu_img("convert", "-f", "raw", "-O", QEMU_FORMATS[disk_format], str(raw), str(dest))
    finally:
        if raw != dest:
            raw.unlink(missing_ok=True)


class FakeDriver:
    def __init__(self, backend: BackendConf) -> None:
        self.backend = backend
        self.backend_name = backend.name
        self.volumes: dict[str, int] = {}
        self.snapshots: dict[str, tuple[str, int]] = {}
        self.exports: dict[tuple[str, str], dict] = {}
        self.data: dict[str, bytes] = {}             # volume or snapshot id -> its first bytes
        self.images = Path(backend.pool_dir) / "fake-images"
        # Tests make a create fail by naming the volume's id here.
        self.fail_create: set[str] = set()

    async def start(self) -> None:
        self._state_file = self.backend.pool_dir / "fake-backend.json"
        self._persist = await run_blocking(self.backend.pool_dir.is_dir)
        if self._persist and await run_blocking(self._state_file.exists):
            state = json.loads(await run_blocking(self._state_file.read_text))
            self.volumes = {k: int(v) for k, v in state["volumes"].items()}
            self.snapshots = {k: (v[0], int(v[1])) for k, v in state["snapshots"].items()}
            self.data = {k: base64.b64decode(v) for k, v in state["data"].items()}
        else:
            await run_blocking(shutil.rmtree, self.images, True)

    def _image(self, volume_id: str) -> Path:
        return self.images / f"{volume_id}.raw"

    async def _absorb(self, volume_id: str) -> None:
        """The bytes of the volume's ``local_image`` file, when a reader left one, back into ``data``."""
        path = self._image(volume_id)
        if await run_blocking(path.exists):
            self.data[volume_id] = await run_blocking(_read_image, path, "raw")
            await self._save()

    async def _forget_image(self, volume_id: str) -> None:
        await run_blocking(self._image(volume_id).unlink, True)

    async def _save(self) -> None:
        if not getattr(self, "_persist", False):
            return
        state = {"volumes": self.volumes, "snapshots": self.snapshots,
                 "data": {k: base64.b64encode(v).decode() for k, v in self.data.items() if v}}
        tmp = self._state_file.with_suffix(".tmp")
        await run_blocking(tmp.write_text, json.dumps(state))
        await run_blocking(os.replace, tmp, self._state_file)

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
            await self._save()
        return {"provider_location": f"fake:{volume['id']}"}

    async def delete_volume(self, volume: dict) -> None:
        self.volumes.pop(volume["id"], None)
        self.data.pop(volume["id"], None)
        await self._forget_image(volume["id"])
        await self._save()

    def _need(self, volume_id: str) -> None:
        if volume_id not in self.volumes:
            raise VolumeNotFoundInBackend(volume_id)

    async def extend_volume(self, volume: dict, new_size: int) -> None:
        self._need(volume["id"])
        if new_size < self.volumes[volume["id"]]:
            raise VolumeDriverError(f"volume {volume['id']} cannot shrink to {new_size} GiB")
        self.volumes[volume["id"]] = new_size
        if await run_blocking(self._image(volume["id"]).exists):
            await run_blocking(os.truncate, self._image(volume["id"]), new_size * GiB)
        await self._save()

    async def create_cloned_volume(self, volume: dict, source: dict) -> dict | None:
        self._need(source["id"])
        if volume["size"] < self.volumes[source["id"]]:
            raise VolumeDriverError("a clone cannot be smaller than its source")
        await self._absorb(source["id"])
        update = await self.create_volume(volume)
        self.data[volume["id"]] = self.data.get(source["id"], b"")
        await self._save()
        return update

    async def create_snapshot(self, snapshot: dict, volume: dict) -> dict | None:
        self._need(volume["id"])
        await self._absorb(volume["id"])
        self.snapshots[snapshot["id"]] = (volume["id"], int(snapshot.get("volume_size") or volume["size"]))
        self.data[snapshot["id"]] = self.data.get(volume["id"], b"")
        await self._save()
        return {"provider_location": f"fake:{snapshot['id']}"}

    async def delete_snapshot(self, snapshot: dict, volume: dict) -> None:
        self.snapshots.pop(snapshot["id"], None)
        self.data.pop(snapshot["id"], None)
        await self._forget_image(snapshot["id"])
        await self._save()

    async def create_volume_from_snapshot(self, volume: dict, snapshot: dict) -> dict | None:
        if snapshot["id"] not in self.snapshots:
            raise VolumeNotFoundInBackend(snapshot["id"])
        if volume["size"] < self.snapshots[snapshot["id"]][1]:
            raise VolumeDriverError("a volume cannot be smaller than the snapshot it is made from")
        update = await self.create_volume(volume)
        self.data[volume["id"]] = self.data.get(snapshot["id"], b"")
        await self._save()
        return update

    async def revert_to_snapshot(self, volume: dict, snapshot: dict) -> None:
        self._need(volume["id"])
        if snapshot["id"] not in self.snapshots:
            raise VolumeNotFoundInBackend(snapshot["id"])
        self.data[volume["id"]] = self.data.get(snapshot["id"], b"")
        await self._forget_image(volume["id"])
        await self._save()

    async def export(self, volume: dict, attachment_id: str, connector: dict) -> dict:
        self._need(volume["id"])
        info = {"driver_volume_type": "fake", "data": {"volume_id": volume["id"], "read_only": False}}
        self.exports[(volume["id"], attachment_id)] = info
        return info

    async def unexport(self, volume: dict, attachment_id: str) -> None:
        self.exports.pop((volume["id"], attachment_id), None)

    async def ensure_export(self, volume: dict, attachment_id: str) -> None:
        self._need(volume["id"])        # its exports are in memory: there is nothing to restart

    async def copy_image_to_volume(self, volume: dict, image_file: Path, image_format: str) -> None:
        self._need(volume["id"])
        self.data[volume["id"]] = await run_blocking(_read_image, Path(image_file), image_format)
        await self._forget_image(volume["id"])
        await self._save()

    async def copy_volume_to_image(self, volume: dict, dest: Path, disk_format: str) -> None:
        self._need(volume["id"])
        if disk_format not in QEMU_FORMATS:
            raise VolumeDriverError(f"cannot write disk_format {disk_format}")
        await self._absorb(volume["id"])
        await run_blocking(_write_image, self.data.get(volume["id"], b""), self.volumes[volume["id"]],
                           Path(dest), disk_format)

    async def local_image(self, volume: dict) -> tuple[Path, str]:
        self._need(volume["id"])
        path = self._image(volume["id"])
        if not await run_blocking(path.exists):
            await run_blocking(path.parent.mkdir, parents=True, exist_ok=True)
            await run_blocking(_write_image, self.data.get(volume["id"], b""), self.volumes[volume["id"]],
                               path, "raw")
        return path, "raw"

    async def snapshot_image(self, snapshot: dict) -> tuple[Path, str]:
        if snapshot["id"] not in self.snapshots:
            raise VolumeNotFoundInBackend(snapshot["id"])
        path = self._image(snapshot["id"])
        if not await run_blocking(path.exists):
            await run_blocking(path.parent.mkdir, parents=True, exist_ok=True)
            await run_blocking(_write_image, self.data.get(snapshot["id"], b""), self.snapshots[snapshot["id"]][1],
                               path, "raw")
        return path, "raw"
