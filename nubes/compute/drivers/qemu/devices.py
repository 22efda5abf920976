"""The qemu driver's device work: interfaces (hot-plug), snapshots, rescue, console, diagnostics.

- ``attach_interface`` makes the tap and, while QEMU runs, ``netdev_add`` + ``device_add``
  (ACPI hot-plug on the ``pc`` machine's root bus); a stopped guest gets the NIC at its next
  start. ``detach_interface`` asks the guest to release the NIC (``device_del``, repeated
  while it does not), waits for ``DEVICE_DELETED`` (``unplug_timeout``), then removes the
  netdev and the tap.
- volumes (``attach_volume``, ``detach_volume``, ``extend_volume``) are in ``volumes``.
- ``snapshot`` pauses a running guest (``stop`` drains and flushes its disks), converts the
  root disk with its backing chain to a standalone qcow2 (``qemu-img convert -U``), and lets
  the guest run again: the pause lasts as long as the conversion.
- ``rescue`` stops the guest and boots the rescue image (its kernel and ramdisk, or the
  guest's own when it has none) from ``disk.rescue``, the original disk attached second;
  ``unrescue`` boots the original again and removes ``disk.rescue``.
- ``get_console`` answers where QEMU's own VNC server and the serial port's TCP chardev of a
  running (or paused) guest listen (``query-vnc``, ``query-chardev``): ``process`` starts them.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from nubes.compute.drivers.base import (
    CONSOLE_KINDS,
    POWER_STATE_NAMES,
    AgentNotEnabled,
    ConsoleEndpoint,
    ConsoleUnavailable,
    DriverError,
    PowerState,
    Snapshot,
    instance_id,
)
from nubes.compute.drivers.qemu import configdrive, disks, process, taps
from nubes.compute.drivers.qemu.images import prop
from nubes.compute.drivers.qemu.qmp import QMPClosed, QMPError
from nubes.core.concurrency import run_blocking

MAX_CONSOLE_BYTES = 100 * 1024          # Nova's libvirt driver returns this much of the log
UNPLUG_RETRY = 5.0                       # seconds between device_del requests of one detach


class DeviceActions:
    # -- interfaces ---------------------------------------------------------------------
    async def attach_interface(self, instance: dict, vif: dict) -> None:
        from nubes.compute.drivers.qemu.driver import _vif

        g = self._find(instance_id(instance))
        new = _vif(vif)
        async with g.lock:
            if any(v["id"] == new["id"] for v in g.state.vifs):
                return
            await taps.ensure(configdrive.tap_name(new["id"]), new["mtu"])
            if await self._status(g) is not None:
                netdev, device = process.netdev_args(new)
                qmp = await self._monitor(g)
                try:
                    await qmp.execute("netdev_add", netdev)
                except QMPError as e:
                    raise DriverError(f"Attaching interface {new['id']} failed: {e.desc}") from None
                try:
                    await qmp.execute("device_add", device)
                except QMPError as e:
                    await qmp.execute("netdev_del", {"id": netdev["id"]})
                    raise DriverError(f"Attaching interface {new['id']} failed: {e.desc}") from None
            g.state.vifs.append(new)
            await g.save()

    async def detach_interface(self, instance: dict, vif: dict) -> None:
        g = self._find(instance_id(instance))
        port = str(vif.get("id"))
        async with g.lock:
            found = [v for v in g.state.vifs if v["id"] == port]
            if not found:
                return
            if await self._status(g) is not None:
                await self._unplug(g, found[0])
            g.state.vifs = [v for v in g.state.vifs if v["id"] != port]
            await g.save()
            if not self._tap_in_use(port, g.id, but=g):
                await taps.remove(configdrive.tap_name(port))

    async def _unplug(self, g: Any, vif: dict) -> None:
        """``device_del`` until the guest releases the NIC: a request that reaches a guest still
        booting (its ACPI hot-plug not yet set up) is lost, so it is repeated every
        ``UNPLUG_RETRY`` seconds, as libvirt's callers do, within ``unplug_timeout``."""
        netdev, device = process.netdev_args(vif)
        qmp = await self._monitor(g)
        qmp.take_events("DEVICE_DELETED")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.unplug_timeout
        while True:
            try:
                await qmp.execute("device_del", {"id": device["id"]})
            except QMPError as e:
                if e.klass == "DeviceNotFound":
                    break                             # released after an earlier request timed out
                if "in the process of unplug" not in e.desc:
                    raise DriverError(f"Detaching interface {vif['id']} failed: {e.desc}") from None
            wait = min(UNPLUG_RETRY, max(deadline - loop.time(), 0.0))
            ev = await qmp.wait_event("DEVICE_DELETED", wait,
                                      match=lambda d: d.get("device") == device["id"])
            if ev is not None:
                break
            if loop.time() >= deadline:
                raise DriverError(f"Guest {g.id} did not release interface {vif['id']} within "
                                  f"{self.unplug_timeout:g}s.", retryable=True)
        try:
            await qmp.execute("netdev_del", {"id": netdev["id"]})
        except QMPError:
            pass                                      # already gone with the device

    # -- snapshots ----------------------------------------------------------------------
    async def snapshot(self, instance: dict) -> Snapshot:
        g = self._find(instance_id(instance))
        if any(v.get("boot_index") == 0 for v in g.state.volumes):
            raise DriverError(f"Guest {g.id} boots from a volume: its snapshot is the volume's, taken by "
                              "block storage.")
        await run_blocking(self.snapshots_dir.mkdir, parents=True, exist_ok=True)
        out = self.snapshots_dir / f"{g.id}-{uuid.uuid4().hex[:8]}.qcow2"
        async with g.lock:
            status = await self._status(g)
            qmp = await self._monitor(g) if status is not None else None
            paused_here = status == "running"
            if paused_here:
                await qmp.execute("stop")
            try:
                size = await disks.convert(g.path("disk"), out, qemu_img=self.qemu_img,
                                           force_share=status is not None)
            except DriverError:
                await run_blocking(out.unlink, missing_ok=True)
                raise
            finally:
                if paused_here:
                    try:
                        await qmp.execute("cont")
                    except QMPClosed:
                        pass

        async def cleanup() -> None:
            await run_blocking(out.unlink, missing_ok=True)

        return Snapshot(disk_format="qcow2", container_format="bare", size=size, path=out, cleanup=cleanup)

    # -- rescue -------------------------------------------------------------------------
    async def rescue(self, instance: dict, image: dict, *, admin_password: str | None = None) -> None:
        g = self._find(instance_id(instance))
        async with g.lock:
            record = await self.cache.record(image or {"id": g.state.image_id})
            fmt = disks.qemu_format(record.get("disk_format"))
            base = await self.cache.fetch(record)
            await self.cache.verify(record, base)          # before the guest is stopped for it
            kernel, initrd, cmdline = g.state.kernel, g.state.initrd, g.state.cmdline
            if prop(record, "kernel_id"):
                kernel = str(await self.cache.fetch(await self.cache.record(str(prop(record, "kernel_id")))))
                initrd = None
                if prop(record, "ramdisk_id"):
                    initrd = str(await self.cache.fetch(await self.cache.record(str(prop(record, "ramdisk_id")))))
                cmdline = prop(record, "os_command_line") or cmdline
            await self._quit(g)
            await self._discard_memory(g)
            rescue_disk = g.path("disk.rescue")
            await run_blocking(rescue_disk.unlink, missing_ok=True)
            await disks.create_root(rescue_disk, base, fmt, 0, qemu_img=self.qemu_img)
            g.state.rescue = {"image_id": str(record["id"]), "kernel": kernel, "initrd": initrd,
                              "cmdline": cmdline}
            await g.save()
            await self._start(g)

    async def unrescue(self, instance: dict) -> None:
        g = self._find(instance_id(instance))
        async with g.lock:
            if not g.state.rescue:
                raise DriverError(f"Guest {g.id} is not in rescue mode.")
            await self._quit(g)
            g.state.rescue = None
            await g.save()
            await run_blocking(g.path("disk.rescue").unlink, missing_ok=True)
            await self._start(g)

    # -- the guest's own configuration ----------------------------------------------------
    async def set_admin_password(self, instance: dict, password: str) -> None:
        """Nova's libvirt driver sets it through the QEMU guest agent; nubes' guests are started
        without the agent's channel, so there is no one in the guest to ask (409, as Nova answers)."""
        self._find(instance_id(instance))
        raise AgentNotEnabled()

    async def inject_network_info(self, instance: dict, network_info: list[dict]) -> None:
        """Nothing to do, as in Nova's libvirt driver: the guest reads its network configuration
        from the metadata API or the config drive (network_data.json)."""
        self._find(instance_id(instance))

    # -- looking at guests --------------------------------------------------------------
    async def get_console_output(self, instance: dict) -> str:
        g = self._find(instance_id(instance))

        def tail() -> bytes:
            try:
                with open(g.path("console.log"), "rb") as fh:
                    fh.seek(0, 2)
                    size = fh.tell()
                    fh.seek(max(size - MAX_CONSOLE_BYTES, 0))
                    return fh.read()
            except OSError:
                return b""

        return (await run_blocking(tail)).decode(errors="replace")

    async def get_console(self, instance: dict, kind: str) -> ConsoleEndpoint:
        g = self._find(instance_id(instance))
        if kind not in CONSOLE_KINDS:
            raise ConsoleUnavailable(f"QEMU guests have no {kind} console here.")
        power = await self._power(g)
        if power not in (PowerState.RUNNING, PowerState.PAUSED):
            raise ConsoleUnavailable(f"Guest {g.id} is {POWER_STATE_NAMES[power]}: it has no console now.")
        try:
            qmp = await self._monitor(g)
            if kind == "vnc":
                info = await qmp.execute("query-vnc")
                service = str(info.get("service", ""))
                port = int(service) if info.get("enabled") and service.isdigit() else None
            else:
                devs = await qmp.execute("query-chardev")
                port = next((process.chardev_port(str(c.get("filename", ""))) for c in devs
                             if c.get("label") == "console"), None)
        except (QMPClosed, QMPError) as e:
            raise DriverError(f"Cannot ask QEMU where the console of guest {g.id} is: {e}") from None
        if port is None:      # a guest QEMU started without it (before consoles were served): next boot
            raise DriverError(f"Guest {g.id} was started without a {kind} console; it has one from its "
                              "next start.")
        return ConsoleEndpoint(host=self.console_address, port=port)

    async def get_diagnostics(self, instance: dict) -> dict[str, Any]:
        """Nova's standard diagnostics (2.48): CPU times of the vCPU threads, block counters
        from ``query-blockstats``, NIC counters of the taps (from the guest's side)."""
        g = self._find(instance_id(instance))
        power = await self._power(g)
        pid = process.pid_of(g.dir) if power not in (PowerState.SHUTDOWN, PowerState.SUSPENDED) else None
        cpus: list[dict[str, Any]] = [{"id": i, "time": 0, "utilisation": None} for i in range(g.state.vcpus)]
        blocks: list[dict[str, Any]] = []
        if pid:
            qmp = await self._monitor(g)
            try:
                for cpu in await qmp.execute("query-cpus-fast") or []:
                    i = int(cpu.get("cpu-index", 0))
                    if i < len(cpus):
                        cpus[i]["time"] = await run_blocking(process.thread_cpu_ns, pid, int(cpu["thread-id"]))
                for dev in await qmp.execute("query-blockstats") or []:
                    st = dev.get("stats") or {}
                    blocks.append({"read_bytes": st.get("rd_bytes", 0), "read_requests": st.get("rd_operations", 0),
                                   "write_bytes": st.get("wr_bytes", 0),
                                   "write_requests": st.get("wr_operations", 0),
                                   "errors_count": st.get("failed_rd_operations", 0)
                                   + st.get("failed_wr_operations", 0)})
            except QMPClosed:
                pid = None
        n_disks = len(g.state.volumes) + (not any(v.get("boot_index") == 0 for v in g.state.volumes)) \
            + bool(g.state.ephemeral_gb) + bool(g.state.swap_mb) + bool(g.state.config_drive) \
            + bool(g.state.rescue)
        if not blocks:
            blocks = [{"read_bytes": 0, "read_requests": 0, "write_bytes": 0, "write_requests": 0,
                       "errors_count": 0} for _ in range(n_disks)]
        nics = []
        for vif in g.state.vifs:
            counters = await run_blocking(taps.counters, configdrive.tap_name(vif["id"]))
            nics.append({"mac_address": vif["address"], **counters, "rx_rate": None, "tx_rate": None})
        accel = await self._accel()
        return {
            "state": POWER_STATE_NAMES[power], "driver": "qemu",
            "hypervisor": "kvm" if accel.name == "kvm" else "qemu", "hypervisor_os": "linux",
            "uptime": await run_blocking(process.started_seconds_ago, pid) if pid else 0,
            "config_drive": g.state.config_drive, "num_cpus": g.state.vcpus, "num_disks": len(blocks),
            "num_nics": len(nics), "cpu_details": cpus,
            "memory_details": {"maximum": g.state.memory_mb,
                               "used": min(await run_blocking(process.rss_mb, pid), g.state.memory_mb) if pid else 0},
            "disk_details": blocks, "nic_details": nics,
        }
