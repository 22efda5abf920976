"""A hypervisor in memory: guests with realistic power states and console logs, no processes.

``FakeDriver(host, conf)`` offers a host of ``conf.fake_vcpus`` / ``fake_memory_mb`` /
``fake_disk_gb``. With ``state_file`` its guests outlive the process (a restarted agent
re-attaches to them, as to a real hypervisor's).

Failures can be injected per instance for tests, through its metadata: ``fake_fail`` names
the actions that fail (comma list: ``spawn``, ``power_off``, ``reboot``, ``snapshot``...),
``fake_fail_hosts`` the hosts where they fail (comma list; absent: every host). A failed
spawn raises ``SpawnFailed(retryable=True)``, any other action ``DriverError(retryable=True)``.

Slowness can be injected the same way: ``fake_delay`` lists ``action:seconds`` pairs (comma
list: ``spawn:5,destroy:1``), ``fake_delay_hosts`` the hosts where they are slow. The actions
that honour it: ``spawn``, ``destroy``, ``power_off``, ``power_on``, ``reboot``, ``pause``,
``unpause``, ``suspend``, ``resume``, ``rescue``, ``unrescue``, ``snapshot`` (its data comes that
much later), ``migrate_to``, ``finish_migration``, ``confirm_migration``, ``revert_migration``; the
delay comes before the action changes anything, so a process killed meanwhile leaves the guest
as it was. A slow spawn defines the guest first (it shows in ``list_instances`` with no power
state, and in the state file) and boots it when the delay is over, as a hypervisor defines a
domain and then starts it.

Volumes are bookkeeping (mountpoint -> volume id, sizes once extended), idempotent as the qemu
driver's: attaching an attached volume or detaching a detached one does nothing; a spawn's
volume block devices (``base.py``, "Block devices") are attached from the start.

Moves are idempotent as a hypervisor's: ``migrate_to`` of a guest already leaving answers its
data again, ``finish_migration`` of a guest already there updates it.
"""

from __future__ import annotations

import asyncio
import json
import os
import struct
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from nubes.core.concurrency import run_blocking
from nubes.compute.drivers.base import (
    CONSOLE_KINDS,
    POWER_STATE_NAMES,
    ConsoleEndpoint,
    ConsoleUnavailable,
    DriverError,
    InstanceInfo,
    InstanceNotFoundInDriver,
    NodeResources,
    PowerState,
    Snapshot,
    SpawnFailed,
    instance_id,
    instance_metadata,
)
from nubes.compute.drivers.fake_consoles import FakeConsoles

MAX_CONSOLE_LINES = 1000
RUNNING, PAUSED, SHUTDOWN, SUSPENDED = (PowerState.RUNNING, PowerState.PAUSED, PowerState.SHUTDOWN,
                                        PowerState.SUSPENDED)


@dataclass
class _Guest:
    id: str
    name: str
    vcpus: int
    memory_mb: int
    disk_gb: int
    image_id: str
    power_state: int = RUNNING
    vifs: list[dict[str, Any]] = field(default_factory=list)
    console: list[str] = field(default_factory=list)
    booted_at: float = 0.0          # wall clock of the last boot (0: not running since)
    run_since: float = 0.0          # wall clock since which it has been RUNNING (cpu time)
    cpu_time_ns: int = 0
    rescued: bool = False
    moving: str | None = None       # "cold" or "live" while a move away is under way
    saved_state: int | None = None  # the power state before a cold move powered it off
    volumes: dict[str, str] = field(default_factory=dict)      # mountpoint -> volume id
    volume_sizes: dict[str, int] = field(default_factory=dict)  # volume id -> bytes, once extended
    boot_volume: str | None = None                              # the root volume's id (boot from volume)


def _flavor_sizes(instance: dict) -> tuple[int, int, int]:
    fl = instance.get("flavor") or {}
    vcpus = int(fl.get("vcpus") or instance.get("vcpus") or 1)
    memory = int(fl.get("memory_mb") or fl.get("ram") or instance.get("memory_mb") or 512)
    disk = int(fl.get("root_gb") if fl.get("root_gb") is not None else fl.get("disk") or 0)
    disk += int(fl.get("ephemeral_gb") or 0)
    return vcpus, memory, disk


def _qcow2_header(virtual_size: int) -> bytes:
    """The first cluster of an empty qcow2 (version 3, 64 KiB clusters, no backing or data file):
    what a snapshot of a fake guest's disk starts with, so the image service takes it as qcow2."""
    header = (b"QFI\xfb" + struct.pack(">IQII", 3, 0, 0, 16)
              + struct.pack(">QIIQQIIQ", virtual_size, 0, 0, 0, 0x10000, 1, 0, 0)
              + struct.pack(">QQQII", 0, 0, 0, 4, 104))
    return header.ljust(512, b"\0")


def _volume_id(connection: dict) -> str:
    data = connection.get("data") if isinstance(connection.get("data"), dict) else {}
    return str(connection.get("volume_id") or connection.get("serial") or data.get("volume_id") or "")


def _volume_bdms(block_devices: list[dict] | None) -> tuple[dict[str, str], str | None]:
    """The volumes among a spawn's block devices (mountpoint -> volume id) and the root one's id."""
    volumes: dict[str, str] = {}
    boot = None
    for i, b in enumerate(block_devices or []):
        if b.get("destination_type") != "volume" and b.get("source_type") != "volume":
            continue
        vid = str(b.get("volume_id") or _volume_id(b.get("connection_info") or {}))
        if not vid or not isinstance(b.get("connection_info"), dict):
            raise SpawnFailed(f"Block device {vid or i} is a volume without connection_info.", retryable=False)
        volumes[str(b.get("device_name") or f"/dev/vd{chr(ord('a') + i)}")] = vid
        if b.get("boot_index") is not None and int(b["boot_index"]) == 0:
            boot = vid
    return volumes, boot


def _split(value: str | None) -> set[str]:
    return {p.strip() for p in (value or "").split(",") if p.strip()}


class FakeDriver:
    def __init__(self, host: str, conf: Any, *, state_file: Path | str | None = None) -> None:
        self.host = host
        self.conf = conf
        self.state_file = Path(state_file) if state_file else None
        self._guests: dict[str, _Guest] = {}
        self._started = time.time()
        self._save_lock = asyncio.Lock()
        self.consoles = FakeConsoles(getattr(conf, "console_listen", "127.0.0.1"),
                                     getattr(conf, "console_proxyclient_address", ""))

    # -- the host -----------------------------------------------------------------------
    async def init_host(self) -> None:
        if self.state_file is None or not await run_blocking(self.state_file.exists):
            return
        try:
            data = json.loads(await run_blocking(self.state_file.read_text))
            self._guests = {g["id"]: _Guest(**g) for g in data.get("guests", [])}
        except (OSError, ValueError, TypeError, KeyError) as exc:
            raise DriverError(f"Cannot read the fake hypervisor's state {self.state_file}: {exc}") from exc

    async def node_resources(self) -> NodeResources:
        c = self.conf
        return NodeResources(
            hypervisor_hostname=self.host, vcpus=c.fake_vcpus, memory_mb=c.fake_memory_mb,
            local_gb=c.fake_disk_gb, hypervisor_type="fake", hypervisor_version=1000, host_ip="127.0.0.1",
            cpu_info={"arch": "x86_64", "model": "fake-cpu", "vendor": "nubes", "features": [],
                      "topology": {"sockets": 1, "cores": c.fake_vcpus, "threads": 1}})

    async def list_instances(self) -> list[str]:
        return sorted(self._guests)

    async def get_info(self, instance_id: str) -> InstanceInfo:
        g = self._guest_by_id(instance_id)
        return InstanceInfo(power_state=int(g.power_state), num_cpus=g.vcpus, memory_mb=g.memory_mb,
                            cpu_time_ns=self._cpu_time(g))

    async def get_host_uptime(self) -> str:
        up = int(time.time() - self._started)
        days, rest = divmod(up, 86400)
        clock = time.strftime("%H:%M:%S", time.gmtime())
        return (f" {clock} up {days} days, {rest // 3600:2d}:{rest % 3600 // 60:02d},  0 users,  "
                f"load average: 0.00, 0.00, 0.00")

    # -- building and removing guests ---------------------------------------------------
    async def spawn(self, instance: dict, image: dict, network_info: list[dict], *,
                    admin_password: str | None = None, block_devices: list[dict] | None = None) -> None:
        iid = instance_id(instance)
        self._maybe_fail("spawn", instance)
        existing = self._guests.get(iid)
        if existing is not None and existing.power_state != PowerState.NOSTATE:
            return
        vcpus, memory, disk = _flavor_sizes(instance)
        volumes, boot = _volume_bdms(block_devices)
        g = existing or _Guest(id=iid, name=str(instance.get("hostname") or instance.get("display_name") or iid),
                               vcpus=vcpus, memory_mb=memory, disk_gb=disk,
                               image_id=str((image or {}).get("id") or instance.get("image_ref") or ""),
                               vifs=[dict(v) for v in network_info or []], volumes=volumes, boot_volume=boot)
        self._guests[iid] = g
        delay = self._delay_of("spawn", instance)
        if delay > 0:
            g.power_state = PowerState.NOSTATE      # defined, not started yet
            await self._save()
            await asyncio.sleep(delay)
            if self._guests.get(iid) is not g:      # destroyed meanwhile
                raise SpawnFailed(f"Guest {iid} was destroyed while it was being spawned.", retryable=True)
        self._boot(g)
        await self._save()

    async def destroy(self, instance: dict, network_info: list[dict]) -> None:
        self._maybe_fail("destroy", instance)
        delay = self._delay_of("destroy", instance)
        if delay > 0:
            await asyncio.sleep(delay)
        await self.consoles.close(instance_id(instance))
        if self._guests.pop(instance_id(instance), None) is not None:
            await self._save()

    # -- power --------------------------------------------------------------------------
    async def power_off(self, instance: dict) -> None:
        g = self._acting("power_off", instance)
        await self._slow("power_off", instance)
        if g.power_state != SHUTDOWN:
            self._halt(g, "reboot: Power down")
        await self._save()

    async def power_on(self, instance: dict) -> None:
        g = self._acting("power_on", instance)
        await self._slow("power_on", instance)
        if g.power_state in (SHUTDOWN, PowerState.CRASHED, PowerState.NOSTATE):
            self._boot(g)
        elif g.power_state != RUNNING:
            raise DriverError(f"Cannot power on guest {g.id} while it is {POWER_STATE_NAMES[g.power_state]}.")
        await self._save()

    async def reboot(self, instance: dict, hard: bool) -> None:
        g = self._acting("reboot", instance)
        await self._slow("reboot", instance)
        if not hard and g.power_state != RUNNING:
            raise DriverError(f"Cannot soft reboot guest {g.id} while it is "
                              f"{POWER_STATE_NAMES[PowerState(g.power_state)]}; use a hard reboot.")
        self._halt(g, "reboot: Restarting system")
        self._boot(g)
        await self._save()

    async def pause(self, instance: dict) -> None:
        await self._transition("pause", instance, {RUNNING}, PAUSED)

    async def unpause(self, instance: dict) -> None:
        await self._transition("unpause", instance, {PAUSED}, RUNNING)

    async def suspend(self, instance: dict) -> None:
        await self._transition("suspend", instance, {RUNNING, PAUSED}, SUSPENDED, "PM: suspend entry (deep)")

    async def resume(self, instance: dict) -> None:
        await self._transition("resume", instance, {SUSPENDED}, RUNNING, "PM: suspend exit")

    async def rescue(self, instance: dict, image: dict, *, admin_password: str | None = None) -> None:
        g = self._acting("rescue", instance)
        await self._slow("rescue", instance)
        if g.power_state != SHUTDOWN:
            self._halt(g, "reboot: Power down")
        g.rescued = True
        g.console.append(f"Booting rescue image {(image or {}).get('id', g.image_id)}")
        self._boot(g)
        await self._save()

    async def unrescue(self, instance: dict) -> None:
        g = self._acting("unrescue", instance)
        await self._slow("unrescue", instance)
        if not g.rescued:
            raise DriverError(f"Guest {g.id} is not in rescue mode.")
        self._halt(g, "reboot: Power down")
        g.rescued = False
        self._boot(g)
        await self._save()

    async def set_admin_password(self, instance: dict, password: str) -> None:
        """The fake guest's agent takes any password: its console says so (never the password)."""
        g = self._acting("set_admin_password", instance)
        if g.power_state != RUNNING:
            raise DriverError(f"Cannot set the password of guest {g.id}: it is not running.")
        g.console.append(f"guest-agent: password of the administrator changed ({len(password)} characters)")
        await self._save()

    async def inject_network_info(self, instance: dict, network_info: list[dict]) -> None:
        g = self._acting("inject_network_info", instance)
        g.console.append(f"guest-agent: network configuration injected ({len(network_info)} interfaces)")
        await self._save()

    # -- disks and devices --------------------------------------------------------------
    async def snapshot(self, instance: dict) -> Snapshot:
        g = self._acting("snapshot", instance)
        await self._slow("snapshot", instance)
        note = f"fake disk of {g.id} ({g.disk_gb} GB, image {g.image_id})\n".encode()
        body = _qcow2_header(g.disk_gb * 1024 ** 3) + note.ljust(4096, b"\0")

        async def chunks():
            for i in range(0, len(body), 1024):
                yield body[i:i + 1024]

        return Snapshot(disk_format="qcow2", container_format="bare", size=len(body), chunks=chunks())

    async def attach_interface(self, instance: dict, vif: dict) -> None:
        g = self._acting("attach_interface", instance)
        if all(v.get("id") != vif.get("id") for v in g.vifs):
            g.vifs.append(dict(vif))
            g.console.append(f"virtio_net: new interface {vif.get('address', '')} attached")
            await self._save()

    async def detach_interface(self, instance: dict, vif: dict) -> None:
        g = self._acting("detach_interface", instance)
        kept = [v for v in g.vifs if v.get("id") != vif.get("id")]
        if len(kept) != len(g.vifs):
            g.vifs = kept
            g.console.append(f"virtio_net: interface {vif.get('address', '')} removed")
            await self._save()

    async def attach_volume(self, instance: dict, connection: dict, mountpoint: str) -> None:
        g = self._acting("attach_volume", instance)
        volume = _volume_id(connection)
        if not volume:
            raise DriverError("The volume connection names no volume.", retryable=False)
        if volume in g.volumes.values():
            return                                  # attached already (a message seen twice)
        held = g.volumes.get(mountpoint)
        if held is not None:
            raise DriverError(f"{mountpoint} of guest {g.id} already holds volume {held}.", retryable=False)
        if g.power_state == SUSPENDED:
            raise DriverError(f"Cannot attach volume {volume} to guest {g.id} while it is suspended.")
        g.volumes[mountpoint] = volume
        if g.power_state == RUNNING:
            g.console.append(f"virtio_blk: {mountpoint} attached (serial {volume[:20]})")
        await self._save()

    async def detach_volume(self, instance: dict, connection: dict, mountpoint: str) -> None:
        g = self._acting("detach_volume", instance)
        volume = _volume_id(connection or {})
        found = [m for m, v in g.volumes.items() if (v == volume if volume else m == mountpoint)]
        if not found:
            return                                  # detached already
        if g.volumes[found[0]] == g.boot_volume:
            raise DriverError(f"Volume {g.boot_volume} is the root disk of guest {g.id}; it cannot be detached.")
        if g.power_state == SUSPENDED:
            raise DriverError(f"Cannot detach volume {g.volumes[found[0]]} from guest {g.id} while it is suspended.")
        vid = g.volumes.pop(found[0])
        g.volume_sizes.pop(vid, None)
        g.console.append(f"virtio_blk: {found[0]} removed")
        await self._save()

    async def extend_volume(self, instance: dict, connection: dict, new_size_bytes: int) -> None:
        g = self._acting("extend_volume", instance)
        volume = _volume_id(connection or {})
        mount = next((m for m, v in g.volumes.items() if v == volume), None)
        if mount is None:
            raise DriverError(f"Volume {volume} is not attached to guest {g.id}.")
        if g.volume_sizes.get(volume) != int(new_size_bytes):
            g.volume_sizes[volume] = int(new_size_bytes)
            g.console.append(f"virtio_blk: {mount} new size {int(new_size_bytes) // 512} 512-byte logical blocks")
            await self._save()

    # -- looking at guests --------------------------------------------------------------
    async def get_console_output(self, instance: dict) -> str:
        g = self._acting("get_console_output", instance)
        return "\n".join(g.console) + "\n"

    async def get_console(self, instance: dict, kind: str) -> ConsoleEndpoint:
        """A console this process serves (``fake_consoles``): an RFB server or an echoing serial port."""
        g = self._acting("get_console", instance)
        if kind not in CONSOLE_KINDS:
            raise ConsoleUnavailable(f"The fake hypervisor has no {kind} console.")
        if g.power_state not in (RUNNING, PAUSED):
            raise ConsoleUnavailable(f"Guest {g.id} is {POWER_STATE_NAMES[PowerState(g.power_state)]}: "
                                     "it has no console now.")
        return await self.consoles.endpoint(g.id, g.name, kind)

    async def get_diagnostics(self, instance: dict) -> dict[str, Any]:
        g = self._acting("get_diagnostics", instance)
        running = g.power_state == RUNNING
        uptime = int(time.time() - g.booted_at) if running and g.booted_at else 0
        return {
            "state": POWER_STATE_NAMES[PowerState(g.power_state)], "driver": "fake", "hypervisor": "fake",
            "hypervisor_os": "fake-os", "uptime": uptime, "config_drive": False,
            "num_cpus": g.vcpus, "num_disks": (not g.boot_volume) + len(g.volumes), "num_nics": len(g.vifs),
            "cpu_details": [{"id": i, "time": self._cpu_time(g) // max(g.vcpus, 1),
                             "utilisation": 1 if running else 0} for i in range(g.vcpus)],
            "memory_details": {"maximum": g.memory_mb, "used": g.memory_mb // 4 if running else 0},
            "disk_details": [{"read_bytes": 262144, "read_requests": 112, "write_bytes": 5778432,
                              "write_requests": 488, "errors_count": 0}][:not g.boot_volume] + [
                {"read_bytes": 0, "read_requests": 0, "write_bytes": 0, "write_requests": 0, "errors_count": 0}
                for _ in g.volumes],
            "nic_details": [{"mac_address": v.get("address") or v.get("mac_address"), "rx_octets": 0,
                             "rx_errors": 0, "rx_drop": 0, "rx_packets": 0, "rx_rate": None,
                             "tx_octets": 0, "tx_errors": 0, "tx_drop": 0, "tx_packets": 0,
                             "tx_rate": None} for v in g.vifs],
        }

    # -- moves --------------------------------------------------------------------------
    async def migrate_to(self, instance: dict, dest_host: str, *, live: bool = False) -> dict[str, Any]:
        g = self._acting("migrate_to", instance)
        await self._slow("migrate_to", instance)
        if g.moving is not None:            # already leaving: the same data again
            return self._migration_data(g, dest_host)
        if live and g.power_state not in (RUNNING, PAUSED):
            raise DriverError(f"Cannot live-migrate guest {g.id} while it is "
                              f"{POWER_STATE_NAMES[PowerState(g.power_state)]}.")
        if not live:
            g.saved_state = int(g.power_state)
            if g.power_state != SHUTDOWN:
                self._halt(g, "reboot: Power down")
        g.moving = "live" if live else "cold"
        await self._save()
        return self._migration_data(g, dest_host)

    def _migration_data(self, g: _Guest, dest_host: str) -> dict[str, Any]:
        live = g.moving == "live"
        return {"source_host": self.host, "dest_host": dest_host, "live": live, "image_id": g.image_id,
                "power_state": int(g.power_state), "console": g.console[-50:]}

    async def finish_migration(self, instance: dict, network_info: list[dict],
                               migration_data: dict[str, Any], *, power_on: bool = True) -> None:
        iid = instance_id(instance)
        self._maybe_fail("finish_migration", instance)
        await self._slow("finish_migration", instance)
        vcpus, memory, disk = _flavor_sizes(instance)
        g = self._guests.get(iid)
        if g is None:
            g = _Guest(id=iid, name=str(instance.get("hostname") or instance.get("display_name") or iid),
                       vcpus=vcpus, memory_mb=memory, disk_gb=disk,
                       image_id=str(migration_data.get("image_id") or instance.get("image_ref") or ""),
                       power_state=SHUTDOWN, console=list(migration_data.get("console") or []))
            self._guests[iid] = g
        g.vcpus, g.memory_mb, g.disk_gb = vcpus, memory, disk
        g.vifs = [dict(v) for v in network_info or []]
        g.moving = None
        if migration_data.get("live"):
            self._set_state(g, int(migration_data.get("power_state", RUNNING)))
            g.booted_at = g.booted_at or time.time()
            g.console.append(f"Live migration from {migration_data.get('source_host')} completed")
        elif power_on and g.power_state != RUNNING:
            self._boot(g)
        await self._save()

    async def live_migration_force_complete(self, instance: dict) -> None:
        """The fake hands a guest over in one step: nothing to speed up; its console says it was asked."""
        g = self._acting("live_migration_force_complete", instance)
        g.console.append("live migration: asked to complete without waiting for memory to converge")
        await self._save()

    async def confirm_migration(self, instance: dict) -> None:
        self._maybe_fail("confirm_migration", instance)
        await self._slow("confirm_migration", instance)
        if self._guests.pop(instance_id(instance), None) is not None:
            await self._save()

    async def revert_migration(self, instance: dict, network_info: list[dict], *,
                               power_on: bool = True) -> None:
        g = self._acting("revert_migration", instance)
        await self._slow("revert_migration", instance)
        before, g.moving = g.saved_state, None
        g.saved_state = None
        if network_info:
            g.vifs = [dict(v) for v in network_info]
        if power_on and before in (None, RUNNING) and g.power_state != RUNNING:
            self._boot(g)
        await self._save()

    # -- internals ----------------------------------------------------------------------
    def _guest_by_id(self, iid: str) -> _Guest:
        g = self._guests.get(iid)
        if g is None:
            raise InstanceNotFoundInDriver(iid)
        return g

    def _acting(self, action: str, instance: dict) -> _Guest:
        self._maybe_fail(action, instance)
        return self._guest_by_id(instance_id(instance))

    async def _transition(self, action: str, instance: dict, allowed: set[int], to: int,
                          line: str | None = None) -> None:
        g = self._acting(action, instance)
        await self._slow(action, instance)
        if g.power_state == to:
            return
        if g.power_state not in allowed:
            raise DriverError(f"Cannot {action} guest {g.id} while it is "
                              f"{POWER_STATE_NAMES[PowerState(g.power_state)]}.")
        self._set_state(g, to)
        if line:
            g.console.append(line)
        await self._save()

    def _maybe_fail(self, action: str, instance: dict) -> None:
        md = instance_metadata(instance)
        if action not in _split(md.get("fake_fail")):
            return
        hosts = md.get("fake_fail_hosts")
        if hosts is not None and self.host not in _split(hosts):
            return
        reason = f"Injected failure: {action} of instance {instance.get('id')} on host {self.host}."
        if action == "spawn":
            raise SpawnFailed(reason, retryable=True)
        raise DriverError(reason, retryable=True)

    async def _slow(self, action: str, instance: dict) -> None:
        delay = self._delay_of(action, instance)
        if delay > 0:
            await asyncio.sleep(delay)

    def _delay_of(self, action: str, instance: dict) -> float:
        """Seconds ``action`` is made to take for this instance (``fake_delay``), 0 when none."""
        md = instance_metadata(instance)
        hosts = md.get("fake_delay_hosts")
        if hosts is not None and self.host not in _split(hosts):
            return 0.0
        for item in _split(md.get("fake_delay")):
            name, _, seconds = item.partition(":")
            if name.strip() == action:
                try:
                    return max(0.0, float(seconds))
                except ValueError:
                    raise DriverError(f"fake_delay {item!r}: expected action:seconds, e.g. spawn:5.",
                                      retryable=False) from None
        return 0.0

    @staticmethod
    def _cpu_time(g: _Guest) -> int:
        # A fake guest burns 1% of one CPU while it runs.
        extra = int((time.time() - g.run_since) * 1e7) if g.power_state == RUNNING and g.run_since else 0
        return g.cpu_time_ns + extra

    def _set_state(self, g: _Guest, to: int) -> None:
        g.cpu_time_ns = self._cpu_time(g)
        g.run_since = time.time() if to == RUNNING else 0.0
        g.power_state = to

    def _halt(self, g: _Guest, last_line: str) -> None:
        g.console += ["[  OK  ] Reached target System Shutdown.", last_line]
        self._set_state(g, SHUTDOWN)
        g.booted_at = 0.0
        self._trim(g)

    def _boot(self, g: _Guest) -> None:
        lines = [
            "[    0.000000] Linux version 6.1.0-fake (nubes@fake-hypervisor) #1 SMP PREEMPT_DYNAMIC",
            f"[    0.000000] Command line: root=/dev/vda1 console=ttyS0{' rescue' if g.rescued else ''}",
            f"[    0.000000] Memory: {g.memory_mb * 1024}K available",
            f"[    0.010000] smp: Brought up 1 node, {g.vcpus} CPUs",
            f"[    0.420000] virtio_blk virtio1: [vda] {g.disk_gb * 2097152} 512-byte logical blocks",
        ]
        for i, vif in enumerate(g.vifs):
            lines.append(f"[    0.510000] virtio_net virtio{i + 2} eth{i}: MAC {vif.get('address', '')}")
        for vif in g.vifs:
            for ip in vif.get("fixed_ips") or []:
                lines.append(f"cloud-init[412]: ci-info: | eth0 | True | {ip.get('ip_address')} |")
        lines += ["cloud-init[412]: Cloud-init v. 23.1 finished. Datasource DataSourceOpenStack.",
                  "", f"{g.name} login: "]
        g.console += lines
        self._set_state(g, RUNNING)
        g.booted_at = time.time()
        self._trim(g)

    @staticmethod
    def _trim(g: _Guest) -> None:
        if len(g.console) > MAX_CONSOLE_LINES:
            del g.console[:len(g.console) - MAX_CONSOLE_LINES]

    async def _save(self) -> None:
        """Write the state file. Saves of concurrent builds go one at a time, each writing what
        is current when its turn comes: they share the temporary file, and the last to replace
        the state file must not be an older picture."""
        if self.state_file is None:
            return
        path = self.state_file

        async with self._save_lock:
            data = json.dumps({"host": self.host, "guests": [asdict(g) for g in self._guests.values()]})

            def write() -> None:
                path.parent.mkdir(parents=True, exist_ok=True)
                tmp = path.with_suffix(path.suffix + ".tmp")
                tmp.write_text(data)
                os.replace(tmp, path)

            await run_blocking(write)
