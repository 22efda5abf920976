"""Resize and cold migration between hosts of one machine (the qemu driver's moves).

Source (``migrate_to``): the guest is powered off (ACPI, then forced), its directory renamed
``<id>_resize`` (kept until the move is confirmed or reverted, as Nova's libvirt driver does),
and the migration data says where its disks are. Destination (``finish_migration``): the
disks are copied from there (sparse), the root overlay is pointed at the destination's own
cached base image (fetched from the image service if it lacks it) and grown to the new
flavor's root size; swap is made anew at the new size, the config drive rewritten, and the
guest started with the new flavor's CPUs and memory. ``confirm_migration`` removes the
source's copy, ``revert_migration`` renames it back and starts it as it was. Attached volumes
travel in the migration data (their connection info; a root volume is not copied: there is no
local root disk) and are on the destination's command line.

Between machines the same steps would need the source's disks carried over (an ssh/rsync
or an HTTP pull from the source agent, as Nova's ``copy_image`` does): the migration data
then names a remote path, and only ``_copy_disks`` changes. Live migration is not offered
(``supports_live_migration = False``): ``migrate_to(live=True)`` raises DriverError.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from nubes.compute.drivers.base import DriverError, PowerState, instance_id
from nubes.compute.drivers.qemu import disks
from nubes.compute.drivers.qemu.disks import run
from nubes.compute.drivers.qemu.guest import RESIZE_SUFFIX, Guest, GuestState, load
from nubes.core.concurrency import run_blocking

COPIED = ("disk", "disk.eph0")


class MoveActions:
    async def migrate_to(self, instance: dict, dest_host: str, *, live: bool = False) -> dict[str, Any]:
        iid = instance_id(instance)
        g = self._find(iid)
        if live:
            raise DriverError("Live migration is not supported by the qemu driver; use a cold migration.")
        async with g.lock:
            if g.state.moving:
                return self._migration_data(g, dest_host)
            if g.state.rescue:
                raise DriverError(f"Guest {iid} is in rescue mode; unrescue it before moving it.")
            power = await self._power(g)
            await self._discard_memory(g)
            await self._stop(g, clean=True)
            target = self.instances_dir / (iid + RESIZE_SUFFIX)
            if await run_blocking(target.exists):
                await run_blocking(shutil.rmtree, target)
            self._guests.pop(g.key, None)
            await run_blocking(os.rename, g.dir, target)
            g.dir = target
            g.state.moving, g.state.saved_power = "cold", int(power)
            await g.save()
            self._guests[g.key] = g
            return self._migration_data(g, dest_host)

    async def live_migration_force_complete(self, instance: dict) -> None:
        raise DriverError("Live migration is not supported by the qemu driver.")

    def _migration_data(self, g: Guest, dest_host: str) -> dict[str, Any]:
        s = g.state
        return {"source_host": self.host, "dest_host": dest_host, "live": False, "source_dir": str(g.dir),
                "image_id": s.image_id, "base_format": s.base_format, "kernel_id": s.kernel_id,
                "ramdisk_id": s.ramdisk_id, "cmdline": s.cmdline, "config_drive": s.config_drive,
                "power_state": s.saved_power, "disks": [n for n in COPIED if (g.dir / n).exists()],
                "volumes": s.volumes}

    async def finish_migration(self, instance: dict, network_info: list[dict],
                               migration_data: dict[str, Any], *, power_on: bool = True) -> None:
        from nubes.compute.drivers.qemu.driver import _flavor, _vif

        iid = instance_id(instance)
        existing = self._guests.get(iid)
        if existing is not None and not existing.state.moving:      # done already (a message seen twice)
            if power_on:
                await self.power_on(instance)
            return
        g = Guest(GuestState(id=iid, host=self.host), self.instances_dir / iid)
        s = g.state
        s.name = str(instance.get("hostname") or instance.get("display_name") or iid)
        s.vcpus, s.memory_mb, s.root_gb, s.ephemeral_gb, s.swap_mb = _flavor(instance)
        s.vifs = [_vif(v) for v in network_info or []]
        s.volumes = [dict(v) for v in migration_data.get("volumes") or []]
        if await run_blocking(g.dir.exists):
            raise DriverError(f"Guest {iid} already has files in {g.dir}: the move cannot land here.")
        try:
            await g.save()
            image_id = str(migration_data.get("image_id") or instance.get("image_ref") or "")
            if any(v.get("boot_index") == 0 for v in s.volumes):        # the root disk is a volume
                s.root_gb = 0
                if image_id:
                    record = await self.cache.record(image_id)
                    s.image_id = image_id
                    await self._boot_files(s, record)
                await self._copy_disks(g, Path(migration_data["source_dir"]),
                                       [n for n in migration_data.get("disks") or [] if n != "disk"], None, "")
            else:
                record = await self.cache.record(image_id)
                s.image_id, s.base_format = str(record["id"]), disks.qemu_format(record.get("disk_format"))
                base = await self.cache.fetch(record)
                s.base = str(base)
                await self._boot_files(s, record)
                await self.cache.verify(record, base)
                await self._copy_disks(g, Path(migration_data["source_dir"]), migration_data.get("disks") or [],
                                       base, s.base_format)
                await disks.grow(g.path("disk"), s.root_gb, qemu_img=self.qemu_img)
            if s.swap_mb:
                await disks.create_swap(g.path("disk.swap"), self.cache.root, s.swap_mb, qemu_img=self.qemu_img)
            s.config_drive = bool(migration_data.get("config_drive")) or self.force_config_drive
            if s.config_drive:
                await self._write_config_drive(g, instance, network_info, None)
            s.ready = True
            await g.save()
            self._guests[g.key] = g
            if power_on:
                async with g.lock:
                    await self._start(g)
        except BaseException:
            self._guests.pop(g.key, None)
            await self._quit(g)
            await run_blocking(shutil.rmtree, g.dir, ignore_errors=True)
            raise

    async def _copy_disks(self, g: Guest, source: Path, names: list[str], base: Path | None, fmt: str) -> None:
        for name in names:
            src = source / name
            if not await run_blocking(src.exists):
                raise DriverError(f"The source's disk {src} is missing: the move cannot finish here.")
            await run("cp", "--sparse=always", str(src), str(g.path(name)))
        if base is not None:
            root = await disks.info(g.path("disk"), "qcow2", qemu_img=self.qemu_img)
            if root.get("backing-filename") != str(base):
                await disks.rebase(g.path("disk"), base, fmt, qemu_img=self.qemu_img)
        if "disk.eph0" not in names and g.state.ephemeral_gb:
            await disks.create_ephemeral(g.path("disk.eph0"), self.cache.root, g.state.ephemeral_gb,
                                         qemu_img=self.qemu_img)

    async def confirm_migration(self, instance: dict) -> None:
        iid = instance_id(instance)
        g = self._guests.get(iid + RESIZE_SUFFIX)
        if g is None:
            return
        async with g.lock:
            self._guests.pop(g.key, None)
            await self._remove(g, [])

    async def revert_migration(self, instance: dict, network_info: list[dict], *,
                               power_on: bool = True) -> None:
        from nubes.compute.drivers.qemu.driver import _vif

        iid = instance_id(instance)
        g = self._guests.get(iid + RESIZE_SUFFIX)
        if g is None:
            self._find(iid)              # not moving: nothing to revert (raises if unknown)
            return
        target = self.instances_dir / iid
        async with g.lock:
            if await run_blocking(target.exists):
                other = await run_blocking(load, target)
                if other is not None and other.state.host != self.host:
                    raise DriverError(f"Guest {iid}'s copy on {other.state.host} still exists on this machine; "
                                      "destroy it before reverting the move.", retryable=True)
                raise DriverError(f"Guest {iid} already has files in {target}; cannot revert there.")
            self._guests.pop(g.key, None)
            await run_blocking(os.rename, g.dir, target)
            g.dir = target
            before, g.state.moving, g.state.saved_power = g.state.saved_power, None, None
            if network_info:
                g.state.vifs = [_vif(v) for v in network_info]
            await g.save()
            self._guests[g.key] = g
            if power_on and before in (None, PowerState.RUNNING, PowerState.PAUSED):
                await self._start(g)
