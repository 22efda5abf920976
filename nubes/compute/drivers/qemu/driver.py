"""``QemuDriver``: the compute driver contract on QEMU processes (see ``__init__`` for the whole).

This module holds the host, building and removing guests, and their power; ``devices``
(interfaces, snapshots, rescue, console, diagnostics) and ``moves`` (resize and cold
migration) add the rest of the contract.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
from pathlib import Path
from typing import Any

from nubes.compute.drivers.base import (
    POWER_STATE_NAMES,
    DriverError,
    InstanceInfo,
    InstanceNotFoundInDriver,
    NodeResources,
    PowerState,
    SpawnFailed,
    instance_id,
)
from nubes.compute.drivers.qemu import configdrive, disks, host, process, taps
from nubes.compute.drivers.qemu.devices import DeviceActions
from nubes.compute.drivers.qemu.guest import RESIZE_SUFFIX, Guest, GuestState, scan
from nubes.compute.drivers.qemu.images import GlanceImages, ImageCache, ImageSource, prop
from nubes.compute.drivers.qemu.inspection import ImageChecks
from nubes.compute.drivers.qemu.moves import MoveActions
from nubes.compute.drivers.qemu.qmp import QMP, QMPClosed, QMPError
from nubes.compute.drivers.qemu.volumes import VolumeActions, connection_of
from nubes.core.concurrency import run_blocking
from nubes.core.config import DEFAULT_STATE_DIR
from nubes.core.disk_formats import DEFAULT_MAX_VIRTUAL_SIZE, DEFAULT_VMDK_TYPES

LOG = logging.getLogger(__name__)

RUNNING, PAUSED, SHUTDOWN, SUSPENDED, CRASHED = (PowerState.RUNNING, PowerState.PAUSED, PowerState.SHUTDOWN,
                                                 PowerState.SUSPENDED, PowerState.CRASHED)
# QMP query-status -> Nova's power state.
STATUS_POWER = {"running": RUNNING, "paused": PAUSED, "prelaunch": PAUSED, "inmigrate": PAUSED,
                "postmigrate": PAUSED, "finish-migrate": PAUSED, "restore-vm": PAUSED, "save-vm": PAUSED,
                "debug": PAUSED, "suspended": SUSPENDED, "shutdown": SHUTDOWN, "guest-panicked": CRASHED,
                "internal-error": CRASHED, "io-error": CRASHED, "watchdog": CRASHED}
DEFAULT_CMDLINE = "root=/dev/vda console=tty0 console=ttyS0"


def _flavor(instance: dict) -> tuple[int, int, int, int, int]:
    fl = instance.get("flavor") or {}
    vcpus = int(fl.get("vcpus") or instance.get("vcpus") or 1)
    memory = int(fl.get("memory_mb") or fl.get("ram") or instance.get("memory_mb") or 512)
    root = int(fl.get("root_gb") if fl.get("root_gb") is not None else fl.get("disk") or 0)
    ephemeral = int(fl.get("ephemeral_gb") or fl.get("OS-FLV-EXT-DATA:ephemeral") or 0)
    swap = int(fl.get("swap") or 0)
    return vcpus, memory, root, ephemeral, swap


def _vif(v: dict) -> dict[str, Any]:
    address = v.get("address") or v.get("mac_address")
    if not v.get("id") or not address:
        raise DriverError(f"VIF {v.get('id')!r} has no id or MAC address.")
    return {"id": str(v["id"]), "address": address, "mtu": taps.mtu_of(v), "network_id": v.get("network_id")}


def volume_bdms(block_devices: list[dict] | None) -> list[dict[str, Any]]:
    """The guest's volumes from the spawn's block devices (``base.py``, "Block devices"): the
    root volume (boot_index 0) first; image, blank and local devices are not volumes."""
    out = []
    for b in block_devices or []:
        if b.get("destination_type") != "volume" and b.get("source_type") != "volume":
            continue                                  # local disks: the flavor's, made here
        if not isinstance(b.get("connection_info"), dict):
            raise SpawnFailed(f"Block device {b.get('volume_id') or b.get('device_name')!r} is a volume "
                              "without connection_info: it is not attached to this host.", retryable=False)
        try:
            conn = connection_of({"volume_id": b.get("volume_id"), **b["connection_info"]})
        except DriverError as e:
            raise SpawnFailed(e.message, retryable=False) from None
        boot = b.get("boot_index")
        out.append({"volume_id": conn["volume_id"], "mountpoint": b.get("device_name"), "connection": conn,
                    "boot_index": 0 if boot is not None and int(boot) == 0 else None})
    out.sort(key=lambda v: v["boot_index"] != 0)
    if len({v["volume_id"] for v in out}) != len(out):
        raise SpawnFailed("A volume is mapped twice in the block devices.", retryable=False)
    return out


class QemuDriver(VolumeActions, DeviceActions, MoveActions):
    """Guests of one host as QEMU processes (options: see the package's docstring)."""

    supports_live_migration = False

    def __init__(self, host: str, conf: Any, *, state_dir: Path | str | None = None, clients: Any = None,
                 images: ImageSource | None = None, accel: str | None = None, vcpus: int | None = None,
                 memory_mb: int | None = None, disk_gb: int | None = None, shutdown_timeout: float = 60.0,
                 shutdown_retry: float = 3.0, boot_timeout: float = 60.0, boot_settle: float = 1.0,
                 unplug_timeout: float = 30.0, force_config_drive: bool = False,
                 qemu: str = host.QEMU, qemu_img: str = host.QEMU_IMG,
                 max_virtual_size: int | None = DEFAULT_MAX_VIRTUAL_SIZE,
                 vmdk_allowed_types: tuple[str, ...] = DEFAULT_VMDK_TYPES) -> None:
        self.host = host
        self.conf = conf
        self.state_dir = Path(state_dir) if state_dir else DEFAULT_STATE_DIR
        self.root = self.state_dir / "compute"
        self.instances_dir = self.root / "instances"
        self.snapshots_dir = self.root / "snapshots"
        source = images if images is not None else (GlanceImages(clients) if clients is not None else None)
        self.cache = ImageCache(self.root / "images", source,
                                ImageChecks(max_virtual_size, tuple(vmdk_allowed_types)))
        self.forced_accel = accel
        self.sizes = {"vcpus": vcpus, "memory_mb": memory_mb, "disk_gb": disk_gb}
        self.shutdown_timeout = shutdown_timeout
        self.shutdown_retry = shutdown_retry
        self.boot_timeout = boot_timeout
        self.boot_settle = boot_settle
        self.unplug_timeout = unplug_timeout
        self.force_config_drive = force_config_drive
        self.qemu = qemu
        self.qemu_img = qemu_img
        self.accel: host.Accel | None = None
        # where guests' consoles listen, and the address the console proxies reach them at
        self.console_listen = str(getattr(conf, "console_listen", "") or "127.0.0.1")
        self.console_address = str(getattr(conf, "console_proxyclient_address", "") or (
            self.console_listen if self.console_listen not in ("0.0.0.0", "::") else "127.0.0.1"))
        self._guests: dict[str, Guest] = {}      # by directory name: <id>, or <id>_resize while moving
        self._spawning: dict[str, asyncio.Lock] = {}

    # -- the host -----------------------------------------------------------------------
    async def init_host(self) -> None:
        ok, why = host.usable()
        if not ok:
            raise DriverError(f"This host cannot run QEMU guests: {why}.")
        await run_blocking(self.instances_dir.mkdir, parents=True, exist_ok=True)
        await self._accel()
        found = await run_blocking(scan, self.instances_dir, self.host)
        for g in found:
            if not g.state.ready:                     # a spawn that never finished: remove it
                LOG.warning("qemu: removing the half-built guest %s", g.id)
                await self._remove(g, [])
                continue
            self._guests[g.key] = g
        running = [g.id for g in self._guests.values() if self._alive(g)]
        for g in self._guests.values():
            if self._alive(g):
                try:
                    await self._reconcile_volumes(g)
                except (DriverError, QMPClosed, QMPError) as e:
                    LOG.warning("qemu: the volumes of guest %s could not be checked: %s", g.id, e)
        LOG.info("qemu driver on %s: %d guests (%d running) in %s", self.host, len(self._guests),
                 len(running), self.instances_dir)

    async def close(self) -> None:
        """Let go of the guests' monitors (the guests keep running): what an agent's exit does."""
        for g in self._guests.values():
            await g.drop_monitor()

    async def _accel(self) -> host.Accel:
        if self.accel is None:
            self.accel = await run_blocking(host.accelerator, self.state_dir, self.qemu, forced=self.forced_accel)
        return self.accel

    async def node_resources(self) -> NodeResources:
        accel = await self._accel()
        vcpus = self.sizes["vcpus"] or os.cpu_count() or 1
        memory = self.sizes["memory_mb"] or await run_blocking(host.memory_mb)
        disk = self.sizes["disk_gb"]
        if disk is None:
            disk = await run_blocking(host.disk_gb, self.root)
        return NodeResources(hypervisor_hostname=self.host, vcpus=int(vcpus), memory_mb=int(memory),
                             local_gb=int(disk), hypervisor_type="QEMU",
                             hypervisor_version=host.version_number(accel.qemu_version or
                                                                    await run_blocking(host.qemu_version, self.qemu)),
                             host_ip=await run_blocking(host.host_ip), cpu_info=await run_blocking(host.cpu_info))

    async def get_host_uptime(self) -> str:
        return await run_blocking(host.uptime_line)

    async def list_instances(self) -> list[str]:
        return sorted({g.id for g in self._guests.values()})

    async def get_info(self, instance_id: str) -> InstanceInfo:
        g = self._find(instance_id)
        power = await self._power(g)
        pid = process.pid_of(g.dir) if power != SHUTDOWN else None
        return InstanceInfo(power_state=int(power), num_cpus=g.state.vcpus, memory_mb=g.state.memory_mb,
                            cpu_time_ns=process.cpu_time_ns(pid) if pid else 0)

    # -- building and removing guests ---------------------------------------------------
    async def spawn(self, instance: dict, image: dict, network_info: list[dict], *,
                    admin_password: str | None = None, block_devices: list[dict] | None = None) -> None:
        iid = instance_id(instance)
        volumes = volume_bdms(block_devices)
        lock = self._spawning.setdefault(iid, asyncio.Lock())
        async with lock:
            existing = self._guests.get(iid)
            if existing is not None:
                async with existing.lock:
                    if not self._alive(existing):
                        await self._start(existing)
                return
            g = Guest(GuestState(id=iid, host=self.host), self.instances_dir / iid)
            try:
                await self._build(g, instance, image, network_info, admin_password, volumes)
                self._guests[g.key] = g
                async with g.lock:
                    await self._start(g, settle=True)
            except BaseException as e:
                self._guests.pop(g.key, None)
                await self._remove(g, network_info)
                if isinstance(e, SpawnFailed):
                    raise
                if isinstance(e, DriverError):
                    raise SpawnFailed(e.message, retryable=e.retryable) from None
                if isinstance(e, (OSError, ValueError)):
                    raise SpawnFailed(f"Spawning guest {iid} failed: {e}") from None
                raise
            LOG.info("qemu: guest %s running on %s (%s)", iid, self.host, (await self._accel()).name)

    async def _build(self, g: Guest, instance: dict, image: dict, network_info: list[dict],
                     admin_password: str | None, volumes: list[dict[str, Any]]) -> None:
        s = g.state
        s.name = str(instance.get("hostname") or instance.get("display_name") or g.id)
        s.vcpus, s.memory_mb, s.root_gb, s.ephemeral_gb, s.swap_mb = _flavor(instance)
        s.vifs = [_vif(v) for v in network_info or []]
        s.volumes = volumes
        if await run_blocking(g.dir.exists):
            raise SpawnFailed(f"Guest {g.id} already has files in {g.dir} (another host's?).", retryable=True)
        await g.save()
        for v in volumes:
            path = v["connection"]["data"].get("path")
            if path and not await run_blocking(os.path.exists, path):
                raise SpawnFailed(f"Volume {v['volume_id']}: {path} does not exist on host {self.host}.",
                                  retryable=False)
        if volumes and volumes[0]["boot_index"] == 0:
            # booted from a volume: no local root disk; the image (Nova: the volume's image
            # metadata) only says which kernel and ramdisk to boot, when it names them
            s.root_gb = 0
            if image and (image.get("id") or image.get("disk_format")):
                record = await self.cache.record(image)
                s.image_id = str(record.get("id") or "")
                await self._boot_files(s, record)
        else:
            record = await self.cache.record(image or {"id": instance.get("image_ref")})
            s.image_id = str(record["id"])
            s.base_format = disks.qemu_format(record.get("disk_format"))
            base = await self.cache.fetch(record)
            s.base = str(base)
            await self._boot_files(s, record)
            await self.cache.verify(record, base)
            await disks.create_root(g.path("disk"), base, s.base_format, s.root_gb, qemu_img=self.qemu_img)
        if s.ephemeral_gb:
            await disks.create_ephemeral(g.path("disk.eph0"), self.cache.root, s.ephemeral_gb,
                                         qemu_img=self.qemu_img)
        if s.swap_mb:
            await disks.create_swap(g.path("disk.swap"), self.cache.root, s.swap_mb, qemu_img=self.qemu_img)
        s.config_drive = self.force_config_drive or str(instance.get("config_drive") or "").lower() in (
            "true", "1", "yes", "on")
        if s.config_drive:
            await self._write_config_drive(g, instance, network_info, admin_password)
        s.ready = True
        await g.save()

    async def _boot_files(self, s: GuestState, record: dict) -> None:
        s.kernel_id, s.ramdisk_id = prop(record, "kernel_id"), prop(record, "ramdisk_id")
        s.kernel = s.initrd = None
        if s.kernel_id:
            s.kernel = str(await self.cache.fetch(await self.cache.record(str(s.kernel_id))))
            if s.ramdisk_id:
                s.initrd = str(await self.cache.fetch(await self.cache.record(str(s.ramdisk_id))))
            s.cmdline = prop(record, "os_command_line") or DEFAULT_CMDLINE

    async def _write_config_drive(self, g: Guest, instance: dict, network_info: list[dict],
                                  admin_password: str | None) -> None:
        contents = configdrive.files(instance, [{**v, **_vif(v)} for v in network_info or []], admin_password)
        await run_blocking(configdrive.write_iso, g.path("disk.config"), contents)

    async def destroy(self, instance: dict, network_info: list[dict]) -> None:
        iid = instance_id(instance)
        g = self._guests.get(iid)
        if g is None:
            resize = self._guests.get(iid + RESIZE_SUFFIX)
            if resize is None:
                for vif in network_info or []:        # a spawn that died half way may have left taps
                    if vif.get("id") and not self._tap_in_use(str(vif["id"]), iid):
                        await taps.remove(configdrive.tap_name(str(vif["id"])))
                return
            g = resize
        async with g.lock:
            self._guests.pop(g.key, None)
            await self._remove(g, network_info)
        LOG.info("qemu: guest %s destroyed on %s", iid, self.host)

    async def _remove(self, g: Guest, network_info: list[dict]) -> None:
        """Stop the guest's QEMU and remove its taps, files and socket."""
        await self._quit(g)
        ports = {str(v["id"]) for v in [*g.state.vifs, *(network_info or [])] if v.get("id")}
        for port in sorted(ports):
            if not self._tap_in_use(port, g.id, but=g):
                await taps.remove(configdrive.tap_name(port))
        await run_blocking(shutil.rmtree, g.dir, ignore_errors=True)

    def _tap_in_use(self, port_id: str, iid: str, but: Guest | None = None) -> bool:
        """Whether another copy of this guest on this machine (a move's other end) uses the tap."""
        for name in (iid, iid + RESIZE_SUFFIX):
            d = self.instances_dir / name
            if (but is None or d != but.dir) and (d / "state.json").exists():
                return True
        return False

    # -- power --------------------------------------------------------------------------
    async def power_off(self, instance: dict) -> None:
        g = self._find(instance_id(instance))
        async with g.lock:
            await self._discard_memory(g)
            await self._stop(g, clean=True)

    async def power_on(self, instance: dict) -> None:
        g = self._find(instance_id(instance))
        async with g.lock:
            power = await self._power(g)
            if power == SUSPENDED:
                await self._resume(g)
            elif power in (SHUTDOWN, CRASHED):
                await self._quit(g)
                await self._start(g)
            elif power != RUNNING:
                raise DriverError(f"Cannot power on guest {g.id} while it is {POWER_STATE_NAMES[power]}.")

    async def reboot(self, instance: dict, hard: bool) -> None:
        g = self._find(instance_id(instance))
        async with g.lock:
            power = await self._power(g)
            if not hard:
                if power != RUNNING:
                    raise DriverError(f"Cannot soft reboot guest {g.id} while it is "
                                      f"{POWER_STATE_NAMES[power]}; use a hard reboot.")
                if await self._acpi_shutdown(g, self.shutdown_timeout):
                    await self._start(g)
                    return
                LOG.warning("qemu: guest %s ignored the ACPI power button; resetting it", g.id)
            if self._alive(g) and power in (RUNNING, PAUSED):
                try:
                    qmp = await self._monitor(g)
                    await qmp.execute("system_reset")
                    if power == PAUSED:
                        await qmp.execute("cont")
                    return
                except (QMPClosed, DriverError) as e:
                    # Most often a guest that heeded the power button just after the wait, so
                    # QEMU is exiting: end that QEMU and start the guest afresh below.
                    LOG.info("qemu: guest %s could not be reset (%s); restarting its QEMU", g.id, e)
            await self._discard_memory(g)
            await self._quit(g)
            await self._start(g)

    async def pause(self, instance: dict) -> None:
        await self._switch(instance, "pause", {RUNNING}, PAUSED, "stop")

    async def unpause(self, instance: dict) -> None:
        await self._switch(instance, "unpause", {PAUSED}, RUNNING, "cont")

    async def _switch(self, instance: dict, action: str, allowed: set[int], to: int, command: str) -> None:
        g = self._find(instance_id(instance))
        async with g.lock:
            power = await self._power(g)
            if power == to:
                return
            if power not in allowed:
                raise DriverError(f"Cannot {action} guest {g.id} while it is {POWER_STATE_NAMES[power]}.")
            await (await self._monitor(g)).execute(command)

    async def suspend(self, instance: dict) -> None:
        """Suspend to a file: the guest's RAM and devices are saved by a migration to
        ``memory.state`` and QEMU exits, freeing the host's memory (libvirt's managed save)."""
        g = self._find(instance_id(instance))
        async with g.lock:
            power = await self._power(g)
            if power == SUSPENDED:
                return
            if power not in (RUNNING, PAUSED):
                raise DriverError(f"Cannot suspend guest {g.id} while it is {POWER_STATE_NAMES[power]}.")
            await self._save_memory(g)

    async def resume(self, instance: dict) -> None:
        g = self._find(instance_id(instance))
        async with g.lock:
            power = await self._power(g)
            if power == RUNNING:
                return
            if power != SUSPENDED:
                raise DriverError(f"Cannot resume guest {g.id} while it is {POWER_STATE_NAMES[power]}.")
            await self._resume(g)

    # -- internals: finding guests and their state --------------------------------------
    def _find(self, iid: str) -> Guest:
        g = self._guests.get(iid) or self._guests.get(iid + RESIZE_SUFFIX)
        if g is None:
            raise InstanceNotFoundInDriver(iid)
        return g

    @staticmethod
    def _alive(g: Guest) -> bool:
        return process.alive(process.pid_of(g.dir), g.id)

    async def _monitor(self, g: Guest) -> QMP:
        if g.qmp is not None and not g.qmp.closed:
            return g.qmp
        if not self._alive(g):
            raise DriverError(f"Guest {g.id} is not running.")
        try:
            g.qmp = await QMP.connect(g.qmp_socket, timeout=10.0)
        except QMPClosed as e:
            raise DriverError(f"Cannot reach the monitor of guest {g.id}: {e}", retryable=True) from None
        return g.qmp

    async def _status(self, g: Guest) -> str | None:
        """QEMU's run state of the guest, None when no QEMU runs it."""
        if not self._alive(g):
            await g.drop_monitor()
            return None
        try:
            return str((await (await self._monitor(g)).execute("query-status"))["status"])
        except (QMPClosed, DriverError):
            if not self._alive(g):                    # it exited meanwhile
                await g.drop_monitor()
                return None
            raise

    async def _power(self, g: Guest) -> PowerState:
        status = await self._status(g)
        if status is None:
            exists = await run_blocking(g.path("memory.state").exists)
            return SUSPENDED if exists else SHUTDOWN
        return STATUS_POWER.get(status, PowerState.NOSTATE)

    # -- internals: starting and stopping QEMU ------------------------------------------
    async def _start(self, g: Guest, *, incoming: str | None = None, settle: bool = False) -> None:
        if not g.state.ready:
            raise DriverError(f"Guest {g.id} is not fully built; it cannot start.")
        for vif in g.state.vifs:
            await taps.ensure(configdrive.tap_name(vif["id"]), taps.mtu_of(vif))
        accel = await self._accel()
        qmp_path, fds = str(g.dir / "qmp.sock"), ()
        dirfd = None
        if len(qmp_path.encode()) >= 100:            # too long for a UNIX socket: through the directory
            dirfd = os.open(g.dir, os.O_RDONLY | os.O_DIRECTORY)
            qmp_path, fds = f"/proc/self/fd/{dirfd}/qmp.sock", (dirfd,)
        await g.drop_monitor()
        cmd = process.command(self.qemu, g.state, g.dir, accel, qmp_path=qmp_path, incoming=incoming,
                              console_listen=self.console_listen)
        try:
            await process.start(cmd, g.dir, g.id, pass_fds=fds, timeout=self.boot_timeout)
        finally:
            if dirfd is not None:
                os.close(dirfd)
        qmp = await self._monitor(g)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.boot_timeout
        while (status := (await qmp.execute("query-status"))["status"]) != "running":
            if status not in ("inmigrate", "prelaunch", "restore-vm") or loop.time() > deadline:
                await self._quit(g)
                raise SpawnFailed(f"Guest {g.id} did not start running (QEMU says {status}).{self._tail(g)}")
            await asyncio.sleep(0.05)
        if settle and self.boot_settle > 0:
            await self._settle(g, qmp)

    async def _settle(self, g: Guest, qmp: QMP) -> None:
        """The first moments of a new guest: a QEMU that exits or a guest that resets at once
        (a kernel that cannot run in this memory, an image that is no disk) fails the spawn."""
        try:
            reset = await qmp.wait_event("RESET", self.boot_settle,
                                         match=lambda d: d.get("guest", True))
        except QMPClosed:
            reset = {"event": "exit"}
        if reset is None:
            return
        what = "exited" if reset.get("event") == "exit" else "reset itself"
        await self._quit(g)
        raise SpawnFailed(f"Guest {g.id} {what} within {self.boot_settle:g}s of starting: it does not "
                          f"boot with this image and flavor.{self._tail(g)}", retryable=False)

    def _tail(self, g: Guest) -> str:
        parts = []
        for name, label in (("qemu.log", "QEMU"), ("console.log", "console")):
            try:
                text = g.path(name).read_text(errors="replace").strip()
            except OSError:
                continue
            if text:
                parts.append(f" {label}: " + " | ".join(text.splitlines()[-5:])[-600:])
        return "".join(parts)

    async def _acpi_shutdown(self, g: Guest, timeout: float) -> bool:
        """Press the ACPI power button (again every ``shutdown_retry``) until QEMU exits; True if
        the guest powered off within ``timeout``."""
        pid = process.pid_of(g.dir)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline:
            try:
                await (await self._monitor(g)).execute("system_powerdown", timeout=5.0)
            except (QMPClosed, DriverError, QMPError):
                pass
            wait = min(self.shutdown_retry, max(deadline - loop.time(), 0.0))
            if await process.wait_gone(pid, g.id, wait):
                await g.drop_monitor()
                return True
        return not self._alive(g)

    async def _stop(self, g: Guest, *, clean: bool) -> None:
        status = await self._status(g)
        if status is None:
            return
        if clean and status == "running" and await self._acpi_shutdown(g, self.shutdown_timeout):
            return
        await self._quit(g)

    async def _quit(self, g: Guest, timeout: float = 10.0) -> None:
        """QMP ``quit``, then SIGKILL when QEMU is still there after ``timeout``."""
        pid = process.pid_of(g.dir)
        if process.alive(pid, g.id):
            try:
                await (await self._monitor(g)).execute("quit", timeout=5.0)
            except (QMPClosed, DriverError, QMPError):
                pass
            if not await process.wait_gone(pid, g.id, timeout):
                LOG.warning("qemu: guest %s did not quit in %gs: killing it", g.id, timeout)
                await process.kill(pid, g.id)
        await g.drop_monitor()

    async def _save_memory(self, g: Guest) -> None:
        qmp = await self._monitor(g)
        part = g.path("memory.state.part")
        await qmp.execute("migrate", {"uri": f"exec:cat > {_quote(part)}"})
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max(self.boot_timeout, 120.0)
        while True:
            info = await qmp.execute("query-migrate")
            status = info.get("status")
            if status == "completed":
                break
            if status in ("failed", "cancelled") or loop.time() > deadline:
                await run_blocking(part.unlink, missing_ok=True)
                if status not in ("failed", "cancelled"):
                    await qmp.execute("migrate_cancel")
                raise DriverError(f"Saving the memory of guest {g.id} failed: "
                                  f"{info.get('error-desc') or status}", retryable=True)
            await asyncio.sleep(0.05)
        await self._quit(g)
        await run_blocking(os.replace, part, g.path("memory.state"))

    async def _resume(self, g: Guest) -> None:
        state = g.path("memory.state")
        await self._start(g, incoming=f"exec:cat {_quote(state)}")
        await run_blocking(state.unlink, missing_ok=True)

    async def _discard_memory(self, g: Guest) -> None:
        await run_blocking(g.path("memory.state").unlink, missing_ok=True)


def _quote(path: Path) -> str:
    import shlex

    return shlex.quote(str(path))
