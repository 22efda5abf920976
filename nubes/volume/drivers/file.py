"""The ``file`` backend: volumes as image files in a pool directory, through qemu-img.

Snapshots and clones copy no data: they are qcow2 backing chains (see ``file_chain`` for the
pool's layout and its crash safety).

- A snapshot freezes the volume's active file as the snapshot's file and gives the volume a
  new, empty qcow2 overlay on it. A raw volume therefore becomes a qcow2 overlay on its frozen
  raw file at its first snapshot (its connection info says so).
- A volume from a snapshot is a new overlay on the snapshot's file; a clone of a volume takes an
  internal snapshot (kept only as long as something depends on it) and does the same.
- Deleting a snapshot removes its record; its file stays while a volume's or another
  snapshot's chain needs it and goes with the last one.
- Revert gives the volume a fresh overlay on the snapshot's file; the old overlay goes.

Exports: a connector on this node's host gets ``"file"`` (the active file's path); any other
gets ``"nbd"`` from a ``qemu-storage-daemon`` per attachment (``nbd_exports``). While a volume
has an NBD export, its snapshots and resizes go through that daemon's QMP; while it has a
``"file"`` export, the hypervisor holding it open resizes and snapshots it, so the driver only
records a new size (and grows the file itself once the last local export goes)."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import shutil
import socket
import tempfile
import uuid
from collections import defaultdict
from pathlib import Path

from nubes.core.concurrency import run_blocking
from nubes.volume.conf import BackendConf
from nubes.volume.drivers import file_chain as fc
from nubes.volume.drivers import nbd_exports as nbd
from nubes.volume.drivers.base import (
    BackendStats, InsufficientCapacity, VolumeDriverError, VolumeNotFoundInBackend)

GiB = fc.GiB
LOG = logging.getLogger(__name__)


class FileDriver:
    def __init__(self, backend: BackendConf) -> None:
        self.backend = backend
        self.backend_name = backend.name
        self.pool = fc.Pool(Path(backend.pool_dir))
        self.host = backend.host or socket.gethostname()
        self.format = backend.format
        self._locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._pool_lock = asyncio.Lock()      # record writes and file collection

    # -- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        if shutil.which("qemu-img") is None:
            raise VolumeDriverError("the file backend needs qemu-img, which is not installed")
        if shutil.which("qemu-storage-daemon") is None:       # only NBD exports need it
            LOG.warning("backend %s: qemu-storage-daemon is not installed: volumes can be "
                        "attached on this node only", self.backend.name)
        if self.format not in ("raw", "qcow2"):
            raise VolumeDriverError(f"the file backend's format must be raw or qcow2, not {self.format!r}")
        self.pool.prepare()
        async with self._pool_lock:
            self.pool.clean_tmp()
            for rec in self.pool.records("snapshots"):
                if rec.get("internal"):           # a clone's, left by a crash mid-clone
                    self.pool.remove("snapshots", rec["id"])
            recorded = set()
            for key in self.pool.keys("exports"):
                rec = self.pool.read("exports", key)
                if rec and rec["type"] == "nbd" and not nbd.alive(rec):
                    # Its daemon died (the node restarted): the record stays, so that the
                    # manager's reconcile serves it again where its attachment expects it
                    # (ensure_export) or removes it when the attachment is gone.
                    self._drop_export_files(rec)
                elif rec and rec["type"] == "nbd":
                    recorded.add(rec["socket"])
            # A daemon started by a run that died before recording it serves nobody.
            for pid, sock in nbd.daemons_under(self._socket_dir()).items():
                if sock not in recorded:
                    LOG.warning("backend %s: stopping an unrecorded NBD export daemon (pid %d)",
                                self.backend.name, pid)
                    await nbd.stop_daemon({"pid": pid, "socket": sock})
                    Path(sock).unlink(missing_ok=True)
                    (self.pool.dirs["exports"] / Path(sock).name).with_suffix(".pid").unlink(missing_ok=True)
            sockets = self._socket_dir()
            for leftover in (sockets.iterdir() if sockets.is_dir() else ()):
                if str(leftover) not in recorded:       # a dead daemon's socket
                    leftover.unlink(missing_ok=True)
            if sockets.is_dir() and not any(sockets.iterdir()):
                sockets.rmdir()
            await self._collect()

    async def stop(self) -> None:
        pass

    def _socket_dir(self) -> Path:
        """Where the export daemons' monitor sockets live: a short path of this pool's own (a unix
        socket's path is limited to 107 bytes, and pools can sit deep in a tree)."""
        tag = hashlib.sha256(str(self.pool.dirs["exports"].resolve()).encode()).hexdigest()[:16]
        root = Path("/run") if os.access("/run", os.W_OK) else Path(tempfile.gettempdir())
        return root / f"nubes-nbd-{tag}"

    # -- capacity --------------------------------------------------------------------------

    async def stats(self) -> BackendStats:
        def measure() -> tuple[int, float, float, int]:
            allocated = self.pool.allocated_bytes()
            vfs = os.statvfs(self.pool.data)
            fs_free = vfs.f_bavail * vfs.f_frsize
            vols = float(sum(r["size"] for r in self.pool.records("volumes")))
            snaps = float(sum(r["size"] for r in self.pool.records("snapshots")))
            return allocated, vols, vols + snaps, fs_free
        allocated, vols, provisioned, fs_free = await asyncio.to_thread(measure)
        total = min(float(self.backend.size_gb), (allocated + fs_free) / GiB)
        free = max(0.0, total - allocated / GiB)
        return BackendStats(
            volume_backend_name=self.backend.name, total_capacity_gb=round(total, 3),
            free_capacity_gb=round(free, 3), provisioned_capacity_gb=provisioned,
            allocated_capacity_gb=vols, reserved_percentage=self.backend.reserved_percentage,
            max_over_subscription_ratio=self.backend.max_over_subscription_ratio,
            storage_protocol="file", vendor_name="nubes", driver_version="1.0",
            multiattach=False,                 # one writer per image (docs/volume-backends.md)
            extra={"volume_format": self.format, "export_protocols": ["file", "nbd"]})

    async def _check_room(self, size_gb: int) -> None:
        st = await self.stats()
        limit = st.total_capacity_gb * st.max_over_subscription_ratio
        if st.provisioned_capacity_gb + size_gb > limit:
            raise InsufficientCapacity(
                f"backend {self.backend.name}: {size_gb} GiB more would exceed {limit:g} GiB provisioned")

    # -- listing ---------------------------------------------------------------------------

    async def list_volumes(self) -> list[str]:
        return await asyncio.to_thread(self.pool.keys, "volumes")

    async def list_snapshots(self) -> list[str]:
        recs = await asyncio.to_thread(self.pool.records, "snapshots")
        return [r["id"] for r in recs if not r.get("internal")]

    async def list_exports(self) -> list[tuple[str, str]]:
        out = []
        for rec in await asyncio.to_thread(self.pool.records, "exports"):
            out.append((rec["volume_id"], rec["attachment_id"]))
        return out

    # -- helpers ---------------------------------------------------------------------------

    def _volume(self, volume_id: str) -> dict:
        rec = self.pool.read("volumes", volume_id)
        if rec is None:
            raise VolumeNotFoundInBackend(volume_id)
        return rec

    def _snapshot(self, snapshot_id: str) -> dict:
        rec = self.pool.read("snapshots", snapshot_id)
        if rec is None:
            raise VolumeNotFoundInBackend(snapshot_id)
        return rec

    def _exports_of(self, volume_id: str) -> list[dict]:
        return [r for r in self.pool.records("exports") if r["volume_id"] == volume_id]

    def _nbd_export(self, volume_id: str) -> dict | None:
        for r in self._exports_of(volume_id):
            if r["type"] == "nbd" and nbd.alive(r):
                return r
        return None

    def _has_file_export(self, volume_id: str) -> bool:
        return any(r["type"] == "file" for r in self._exports_of(volume_id))

    async def _put(self, kind: str, key: str, record: dict) -> None:
        await run_blocking(self.pool.write, kind, key, record)

    async def _collect(self, candidates: list[str] | None = None) -> None:
        await run_blocking(self.pool.collect, candidates)

    @staticmethod
    def _update(rec: dict) -> dict:
        return {"provider_location": rec["file"]}

    async def _overlay(self, backing: dict, size_gb: int, unsafe: bool = False) -> tuple[str, list[str]]:
        """A new qcow2 overlay on ``backing``'s file (a record), in place under its final name."""
        name, tmp = self.pool.new_name("qcow2")
        try:
            await fc.create(tmp, "qcow2", size_gb * GiB, backing=backing["file"],
                            backing_fmt=backing["format"], unsafe=unsafe)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        os.replace(tmp, self.pool.file(name))
        return name, [name, *backing["chain"]]

    async def _new_volume_on(self, volume: dict, backing: dict) -> dict:
        """``volume`` as an overlay on ``backing`` (a snapshot record), idempotent."""
        async with self._locks[volume["id"]]:
            existing = self.pool.read("volumes", volume["id"])
            if existing is not None:
                return self._update(existing)
            await self._check_room(int(volume["size"]))
            async with self._pool_lock:
                size = max(int(volume["size"]), int(backing["size"]))
                name, chain = await self._overlay(backing, size)
                rec = {"id": volume["id"], "size": size, "file": name, "format": "qcow2", "chain": chain}
                await self._put("volumes", volume["id"], rec)
            return self._update(rec)

    # -- volumes ---------------------------------------------------------------------------

    async def create_volume(self, volume: dict) -> dict | None:
        async with self._locks[volume["id"]]:
            existing = self.pool.read("volumes", volume["id"])
            if existing is not None:
                return self._update(existing)
            size = int(volume["size"])
            await self._check_room(size)
            name, tmp = self.pool.new_name(self.format)
            try:
                await fc.create(tmp, self.format, size * GiB)
            except BaseException:
                tmp.unlink(missing_ok=True)
                raise
            async with self._pool_lock:
                os.replace(tmp, self.pool.file(name))
                rec = {"id": volume["id"], "size": size, "file": name, "format": self.format, "chain": [name]}
                await self._put("volumes", volume["id"], rec)
            return self._update(rec)

    async def delete_volume(self, volume: dict) -> None:
        async with self._locks[volume["id"]]:
            for rec in self._exports_of(volume["id"]):
                await self._remove_export(rec)
            async with self._pool_lock:
                rec = self.pool.read("volumes", volume["id"])
                if rec is None:
                    return
                self.pool.remove("volumes", volume["id"])
                await self._collect(rec["chain"])
        # A volume whose clone this was may now be the only user of the file they shared.
        for other in self.pool.records("volumes"):
            if len(other["chain"]) > 1 and other["chain"][1] in rec["chain"]:
                async with self._locks[other["id"]]:
                    await self._shorten(other["id"])

    async def extend_volume(self, volume: dict, new_size: int) -> None:
        async with self._locks[volume["id"]]:
            rec = self._volume(volume["id"])
            if new_size < rec["size"]:
                raise VolumeDriverError(
                    f"volume {volume['id']} is {rec['size']} GiB: it cannot shrink to {new_size} GiB")
            if new_size == rec["size"]:
                return
            await self._check_room(new_size - rec["size"])
            export = self._nbd_export(volume["id"])
            if export is not None:
                await nbd.resize_export(export, new_size * GiB)
            elif not self._has_file_export(volume["id"]):
                await fc.resize(self.pool.file(rec["file"]), rec["format"], new_size * GiB)
            # With a local ("file") export the hypervisor holding the file grows it (QMP
            # block_resize on Nova's volume-extended event); the record says what to grow to.
            rec["size"] = new_size
            async with self._pool_lock:
                await self._put("volumes", volume["id"], rec)

    async def _grow_to_record(self, rec: dict) -> None:
        """Grow the file to the recorded size when a hypervisor that had it did not."""
        path = self.pool.file(rec["file"])
        actual = (await fc.info(path, rec["format"]))["virtual-size"]
        if actual < rec["size"] * GiB:
            await fc.resize(path, rec["format"], rec["size"] * GiB)

    async def create_cloned_volume(self, volume: dict, source: dict) -> dict | None:
        existing = self.pool.read("volumes", volume["id"])
        if existing is not None:
            return self._update(existing)
        internal = {"id": f"clone-{volume['id']}", "volume_id": source["id"]}
        snap = self.pool.read("snapshots", internal["id"]) or \
            await self._take_snapshot(internal, source, internal=True)
        try:
            return await self._new_volume_on(volume, snap)
        finally:
            # The internal snapshot's file stays in the clone's and the source's chains.
            async with self._pool_lock:
                self.pool.remove("snapshots", internal["id"])

    # -- snapshots -------------------------------------------------------------------------

    async def create_snapshot(self, snapshot: dict, volume: dict) -> dict | None:
        existing = self.pool.read("snapshots", snapshot["id"])
        if existing is not None:
            return self._update(existing)
        return self._update(await self._take_snapshot(snapshot, volume))

    async def _take_snapshot(self, snapshot: dict, volume: dict, internal: bool = False) -> dict:
        async with self._locks[volume["id"]]:
            existing = self.pool.read("snapshots", snapshot["id"])
            if existing is not None:
                return existing
            rec = self._volume(volume["id"])
            if self._has_file_export(volume["id"]):
                raise VolumeDriverError(
                    f"volume {volume['id']} is attached through a local path: its hypervisor takes "
                    "the snapshot (assisted volume snapshot)")
            export = self._nbd_export(volume["id"])
            snap = {"id": snapshot["id"], "volume_id": volume["id"], "size": rec["size"],
                    "file": rec["file"], "format": rec["format"], "chain": rec["chain"],
                    "internal": internal}
            async with self._pool_lock:
                # The overlay's backing is the active file, in use (by the daemon) or not: its
                # size is given, so qemu-img need not open it (-u).
                name, chain = await self._overlay(rec, rec["size"], unsafe=export is not None)
                if export is not None:
                    new_node = f"n{uuid.uuid4().hex[:12]}"
                    try:
                        await nbd.live_snapshot(export, self.pool.file(name), new_node)
                    except VolumeDriverError:
                        self.pool.file(name).unlink(missing_ok=True)
                        raise
                    export["node"] = new_node
                    export["file"] = name
                    key = self._export_key(volume["id"], export["attachment_id"])
                    await self._put("exports", key, export)
                # The snapshot record first: a crash between the two writes leaves the volume
                # on its old file and a spare overlay that collection removes.
                await self._put("snapshots", snapshot["id"], snap)
                await self._put("volumes", volume["id"],
                                {**rec, "file": name, "format": "qcow2", "chain": chain})
            return snap

    async def delete_snapshot(self, snapshot: dict, volume: dict) -> None:
        rec = self.pool.read("snapshots", snapshot["id"])
        if rec is None:
            return
        async with self._locks[rec["volume_id"]]:
            async with self._pool_lock:
                if self.pool.read("snapshots", snapshot["id"]) is None:
                    return
                self.pool.remove("snapshots", snapshot["id"])
                await self._collect(rec["chain"])
            await self._shorten(rec["volume_id"])

    async def _shorten(self, volume_id: str) -> None:
        try:
            await self._fold(volume_id)
        except VolumeDriverError as err:          # the chain stays as it was: still correct
            LOG.warning("volume %s: could not shorten its chain: %s", volume_id, err.message)

    async def _fold(self, volume_id: str) -> None:
        """Fold the volume's overlay into its backing file when nothing else needs that file
        (its snapshot is gone, no clone or other snapshot is built on it) and nothing has the
        volume open. ``qemu-img commit`` copies only what was written since the snapshot; a
        crash midway leaves the overlay, which still covers every cluster it wrote, in use."""
        vol = self.pool.read("volumes", volume_id)
        if vol is None or len(vol["chain"]) < 2 or self._exports_of(volume_id):
            return
        base = vol["chain"][1]
        for kind in ("volumes", "snapshots"):
            for r in self.pool.records(kind):
                if not (kind == "volumes" and r["id"] == volume_id) and base in r["chain"]:
                    return
        base_fmt = (await fc.info(self.pool.file(base)))["format"]
        if base_fmt not in ("raw", "qcow2"):
            return
        await fc.commit(self.pool.file(vol["file"]))
        base_path = self.pool.file(base)
        if (await fc.info(base_path, base_fmt))["virtual-size"] < vol["size"] * GiB:
            await fc.resize(base_path, base_fmt, vol["size"] * GiB)
        async with self._pool_lock:
            await self._put("volumes", volume_id,
                            {**vol, "file": base, "format": base_fmt, "chain": vol["chain"][1:]})
            await self._collect([vol["file"]])

    async def create_volume_from_snapshot(self, volume: dict, snapshot: dict) -> dict | None:
        existing = self.pool.read("volumes", volume["id"])
        if existing is not None:
            return self._update(existing)
        return await self._new_volume_on(volume, self._snapshot(snapshot["id"]))

    async def revert_to_snapshot(self, volume: dict, snapshot: dict) -> None:
        async with self._locks[volume["id"]]:
            rec = self._volume(volume["id"])
            if self._exports_of(volume["id"]):
                raise VolumeDriverError(f"volume {volume['id']} is exported: detach it before reverting")
            snap = self._snapshot(snapshot["id"])
            async with self._pool_lock:
                name, chain = await self._overlay(snap, max(rec["size"], snap["size"]))
                await self._put("volumes", volume["id"],
                                {**rec, "file": name, "format": "qcow2", "chain": chain,
                                 "size": max(rec["size"], snap["size"])})
                await self._collect(rec["chain"])

    # -- exports ---------------------------------------------------------------------------

    @staticmethod
    def _export_key(volume_id: str, attachment_id: str) -> str:
        return f"{volume_id}__{attachment_id}"

    def _drop_export_files(self, rec: dict) -> None:
        for key in ("socket", "pidfile"):
            if rec.get(key):
                Path(rec[key]).unlink(missing_ok=True)
        if rec.get("pidfile"):
            Path(rec["pidfile"]).with_suffix(".log").unlink(missing_ok=True)
        if rec.get("socket"):
            try:
                Path(rec["socket"]).parent.rmdir()        # the pool's socket directory, once empty
            except OSError:
                pass

    async def _remove_export(self, rec: dict) -> None:
        if rec["type"] == "nbd":
            await nbd.stop_daemon(rec)
            self._drop_export_files(rec)
        async with self._pool_lock:
            self.pool.remove("exports", self._export_key(rec["volume_id"], rec["attachment_id"]))

    @staticmethod
    def _info(rec: dict) -> dict:
        if rec["type"] == "file":
            return {"driver_volume_type": "file", "data": {
                "path": rec["path"], "format": rec["format"], "read_only": rec["read_only"],
                "volume_id": rec["volume_id"]}}
        return {"driver_volume_type": "nbd", "data": {
            "host": rec["host"], "port": rec["port"], "export": rec["export"], "format": "raw",
            "read_only": not rec["writable"], "volume_id": rec["volume_id"]}}

    async def export(self, volume: dict, attachment_id: str, connector: dict) -> dict:
        key = self._export_key(volume["id"], attachment_id)
        async with self._locks[volume["id"]]:
            rec = self._volume(volume["id"])
            old = self.pool.read("exports", key)
            if old is not None and (old["type"] == "file" or nbd.alive(old)):
                return self._info(old)
            read_only = bool(volume.get("read_only")) or connector.get("mode") == "ro"
            for other in self._exports_of(volume["id"]):
                if other["type"] == "nbd" and not nbd.alive(other):        # its daemon died
                    await self._remove_export(other)
                elif other["attachment_id"] != attachment_id:
                    how = "over NBD" if other["type"] == "nbd" else "through a local path"
                    raise VolumeDriverError(
                        f"volume {volume['id']} is already exported {how} (attachment "
                        f"{other['attachment_id']}): one writer at a time may open its image")
            await self._grow_to_record(rec)
            if connector.get("host") == self.host:
                exp = {"type": "file", "volume_id": volume["id"], "attachment_id": attachment_id,
                       "path": str(self.pool.file(rec["file"])), "format": rec["format"],
                       "read_only": read_only}
            else:
                exp = await self._start_nbd(volume["id"], attachment_id, rec, not read_only)
            async with self._pool_lock:
                await self._put("exports", key, exp)
            return self._info(exp)

    async def ensure_export(self, volume: dict, attachment_id: str) -> None:
        """Serve an NBD export whose daemon died again, at the host, port and export name its
        attachment's connection info already holds (a compute node keeps using them)."""
        key = self._export_key(volume["id"], attachment_id)
        async with self._locks[volume["id"]]:
            old = self.pool.read("exports", key)
            if old is None or old["type"] != "nbd" or nbd.alive(old):
                return
            rec = self._volume(volume["id"])
            await self._grow_to_record(rec)
            sock, pidfile = Path(old["socket"]), Path(old["pidfile"])
            await run_blocking(sock.parent.mkdir, mode=0o700, exist_ok=True)
            pid, _port = await nbd.start_daemon(
                image=self.pool.file(rec["file"]), fmt=rec["format"], node=old["node"],
                export_name=old["export"], host=old["host"], ports=range(old["port"], old["port"] + 1),
                taken=set(), socket_path=sock, pidfile=pidfile, logfile=pidfile.with_suffix(".log"),
                writable=old["writable"])
            async with self._pool_lock:
                await self._put("exports", key, {**old, "pid": pid, "file": rec["file"]})
            LOG.info("backend %s: NBD export of volume %s for attachment %s served again on port %d",
                     self.backend.name, volume["id"], attachment_id, old["port"])

    async def _start_nbd(self, volume_id: str, attachment_id: str, rec: dict, writable: bool) -> dict:
        base = self.pool.dirs["exports"] / f"{volume_id[:8]}-{attachment_id[:8]}-{uuid.uuid4().hex[:6]}"
        taken = {r["port"] for r in self.pool.records("exports") if r["type"] == "nbd"}
        node = f"n{uuid.uuid4().hex[:12]}"
        export_name = f"volume-{volume_id}"
        sock, pidfile = self._socket_dir() / (base.name + ".qmp"), base.with_suffix(".pid")
        await run_blocking(sock.parent.mkdir, mode=0o700, exist_ok=True)
        pid, port = await nbd.start_daemon(
            image=self.pool.file(rec["file"]), fmt=rec["format"], node=node, export_name=export_name,
            host=self.backend.export_ip,
            ports=range(self.backend.nbd_port_min, self.backend.nbd_port_max + 1),
            taken=taken, socket_path=sock, pidfile=pidfile, logfile=base.with_suffix(".log"),
            writable=writable)
        return {"type": "nbd", "volume_id": volume_id, "attachment_id": attachment_id, "pid": pid,
                "port": port, "host": self.backend.export_ip, "socket": str(sock), "pidfile": str(pidfile),
                "node": node, "export": export_name, "writable": writable, "file": rec["file"]}

    async def unexport(self, volume: dict, attachment_id: str) -> None:
        async with self._locks[volume["id"]]:
            rec = self.pool.read("exports", self._export_key(volume["id"], attachment_id))
            if rec is None:
                return
            await self._remove_export(rec)
            vol = self.pool.read("volumes", volume["id"])
            if vol is not None and not self._exports_of(volume["id"]):
                await self._grow_to_record(vol)

    # -- images ----------------------------------------------------------------------------

    async def copy_image_to_volume(self, volume: dict, image_file: Path, image_format: str) -> None:
        async with self._locks[volume["id"]]:
            rec = self._volume(volume["id"])
            if self._exports_of(volume["id"]):
                raise VolumeDriverError(f"volume {volume['id']} is exported: cannot write an image into it")
            # An image naming other files (a backing file, an external data file) would make
            # qemu-img read them from this host: refused.
            meta = await fc.info(Path(image_file), image_format)
            data_file = (meta.get("format-specific") or {}).get("data", {}).get("data-file")
            if meta.get("backing-filename") or data_file:
                raise VolumeDriverError(
                    f"the image names another file ({meta.get('backing-filename') or data_file}): "
                    "images with backing or data files are not accepted")
            name, tmp = self.pool.new_name(self.format)
            try:
                await fc.convert(Path(image_file), image_format, tmp, self.format)
                virtual = (await fc.info(tmp, self.format))["virtual-size"]
                if virtual > rec["size"] * GiB:
                    raise VolumeDriverError(
                        f"the image is {virtual} bytes: larger than volume {volume['id']} "
                        f"({rec['size']} GiB)")
                if virtual < rec["size"] * GiB:
                    await fc.resize(tmp, self.format, rec["size"] * GiB)
            except BaseException:
                tmp.unlink(missing_ok=True)
                raise
            async with self._pool_lock:
                os.replace(tmp, self.pool.file(name))
                await self._put("volumes", volume["id"],
                                {**rec, "file": name, "format": self.format, "chain": [name]})
                await self._collect(rec["chain"])

    async def copy_volume_to_image(self, volume: dict, dest: Path, disk_format: str) -> None:
        rec = self._volume(volume["id"])
        if disk_format not in ("raw", "qcow2", "vmdk", "vdi", "vhdx", "vpc"):
            raise VolumeDriverError(f"cannot write a volume as disk format {disk_format!r}")
        # An attached volume is read as it is (crash-consistent), without taking its lock.
        await fc.convert(self.pool.file(rec["file"]), rec["format"], Path(dest), disk_format,
                         shared=bool(self._exports_of(volume["id"])))

    async def local_image(self, volume: dict) -> tuple[Path, str]:
        rec = self._volume(volume["id"])
        return self.pool.file(rec["file"]), rec["format"]

    async def snapshot_image(self, snapshot: dict) -> tuple[Path, str]:
        # a snapshot's file is frozen: the volume writes into the overlay above it
        rec = self._snapshot(snapshot["id"])
        return self.pool.file(rec["file"]), rec["format"]
