"""The compute driver contract: what a hypervisor backend does for the compute agent.

A driver runs the guests of one compute host. The agent (``nubes.compute.agent``) owns
every decision — what should run where, in which state — and calls the driver to make the
host match; the driver never touches the database, the bus or other services.

Values
  ``instance`` is the instance's record as the conductor sends it (a plain dict): at least
  ``id`` (the server's uuid), ``flavor`` (``vcpus``, ``memory_mb``, ``root_gb``,
  ``ephemeral_gb``, ``swap``), ``metadata`` (dict), ``hostname``/``display_name``,
  ``image_ref``. ``image`` is Glance's image record (``id``, ``disk_format``, ``properties``,
  ...). ``network_info`` is a list of VIFs, one per port: ``{id, address (MAC),
  network_id, fixed_ips: [{ip_address, subnet_id}], ...}`` — the port as network reports it.
  Power states are Nova's integers (``PowerState``): 0 NOSTATE, 1 RUNNING, 3 PAUSED,
  4 SHUTDOWN, 6 CRASHED, 7 SUSPENDED.

Semantics
  Every method is ``async``; blocking work (files, subprocesses) goes through
  ``nubes.core.concurrency.run_blocking``. Methods are idempotent where the agent may retry
  them (delivery on the bus is at least once): ``spawn`` of a guest that already runs,
  ``destroy`` of one that is gone, ``attach_interface`` of an attached VIF and
  ``detach_interface`` of a detached one all succeed without doing anything. A method
  asked to act on a guest the driver does not have raises ``InstanceNotFoundInDriver``;
  a transition the guest's state does not allow (pause a stopped guest) raises
  ``DriverError``. ``init_host`` re-attaches to the guests the host still runs: a
  restarted agent finds them in ``list_instances`` and reconciles.

Errors
  ``DriverError(message, retryable=False)`` — the action failed; ``retryable`` says whether
  trying again (for a build: on another host) may work. ``SpawnFailed(reason,
  retryable=True)`` — a build failed; the conductor reschedules retryable ones.
  ``InstanceNotFoundInDriver(instance_id)`` — no such guest on this host.

Volumes
  A volume reaches a driver as block storage's connection info (Cinder's, as
  ``nubes/volume/drivers/base.py`` "Connection info" defines it), with the volume's id beside it:
  ``connection = {"volume_id": id, "driver_volume_type": "file" | "nbd", "data": {...}}`` where
  ``data`` is ``{"path": "/abs/file", "format": "qcow2"|"raw", "read_only": bool}`` for
  ``"file"`` (a local image file, possibly with a backing chain) and ``{"host", "port", "export",
  "format": "raw", "read_only"}`` for ``"nbd"``. The id may also come as ``serial`` (Nova's name)
  or ``data.volume_id``. ``attach_volume(instance, connection, mountpoint)`` plugs it into the
  guest (hot-plug while it runs; a stopped guest has it from its next start), the guest seeing
  the volume id as the disk's serial; ``detach_volume`` unplugs it and waits, bounded, for the
  guest to let it go (a guest that does not: ``DriverError(retryable=True)``, the volume stays
  attached); ``extend_volume(instance, connection, new_size_bytes)`` makes a running guest see
  the volume's new size (block storage grew it first; Nova's ``volume-extended`` event). Both
  plug and unplug are idempotent (a volume is known by its id); a mountpoint that holds another
  volume is a ``DriverError``. Attached volumes survive what the guest survives (power off and
  on, reboot, an agent restart, a move); ``destroy`` unplugs them and never deletes their data:
  volumes are block storage's.

Block devices
  ``spawn(..., block_devices=[...])`` takes Nova's driver block device mappings, one dict each::

      {"boot_index": 0 | 1 ... | None, "device_name": "/dev/vda" | None,
       "source_type": "volume" | "image" | "snapshot" | "blank",
       "destination_type": "volume" | "local", "volume_id": id,
       "connection_info": {"driver_volume_type": ..., "data": {...}},   # as for attach_volume
       "delete_on_termination": bool, ...}

  Mappings whose destination (or source) is a volume are volumes and need ``connection_info``
  (block storage made, exported and attached them before the build came here); the one with
  ``boot_index`` 0 is the root disk: the guest boots from it instead of a copy of the image
  (``image`` then only tells the kernel/ramdisk to boot, as Nova's volume image metadata does,
  and may be empty), the others are attached at boot. Local mappings (``destination_type``
  ``local``: the image, ephemeral and swap disks) are the flavor's, made by the driver.
  ``delete_on_termination`` is the caller's business (block storage deletes the volume after
  ``destroy``); the driver never deletes a volume.

Snapshots
  ``snapshot`` returns a ``Snapshot``: the disk to upload to the image service, either as
  a file (``path``) or as a stream of chunks, so a real driver can stream a disk of any size
  without holding it in memory. The agent reads ``Snapshot.stream()`` and calls ``close()``.

Remote consoles
  ``get_console(instance, kind)`` (kind ``vnc`` or ``serial``) answers a ``ConsoleEndpoint``: the
  address and port a console proxy connects to (an RFB server for ``vnc``, the raw serial port
  for ``serial``), reachable from the proxy's machine (``[compute] console_proxyclient_address``).
  A guest that has no console of that kind now (not running) raises ``ConsoleUnavailable``.

Moves (resize, cold and live migration)
  ``migrate_to`` runs on the source: it prepares the guest to leave (powered off for a cold
  move, left running for a live one) and returns JSON-able ``migration_data`` that travels
  over the bus to the destination's ``finish_migration``, which creates the guest there.
  The source keeps its copy until ``confirm_migration`` (removed) or ``revert_migration``
  (restored as it was); the destination's copy of a reverted move is removed by
  ``destroy``. A resize is a move whose ``instance`` carries the new flavor at
  ``finish_migration`` (to the same host when allowed).
"""

from __future__ import annotations

import enum
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from nubes.core.concurrency import run_blocking

CHUNK = 1024 * 1024


class PowerState(enum.IntEnum):
    NOSTATE = 0
    RUNNING = 1
    PAUSED = 3
    SHUTDOWN = 4
    CRASHED = 6
    SUSPENDED = 7


# Nova's names of the power states (the ``state`` of standard diagnostics).
POWER_STATE_NAMES = {PowerState.NOSTATE: "pending", PowerState.RUNNING: "running",
                     PowerState.PAUSED: "paused", PowerState.SHUTDOWN: "shutdown",
                     PowerState.CRASHED: "crashed", PowerState.SUSPENDED: "suspended"}


class DriverError(Exception):
    def __init__(self, message: str, *, retryable: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.retryable = retryable


class InstanceNotFoundInDriver(DriverError):
    def __init__(self, instance_id: str) -> None:
        super().__init__(f"Instance {instance_id} is not running on this host.")
        self.instance_id = instance_id


class AgentNotEnabled(DriverError):
    """The guest has no agent the driver could set a password through (Nova's InstanceAgentNotEnabled)."""

    def __init__(self, message: str = "QEMU guest agent is not enabled") -> None:
        super().__init__(message)


class SpawnFailed(DriverError):
    def __init__(self, reason: str, retryable: bool = True) -> None:
        super().__init__(reason, retryable=retryable)
        self.reason = reason


class ConsoleUnavailable(DriverError):
    """The guest has no console of the kind asked for (not running, or the driver offers none)."""


CONSOLE_KINDS = ("vnc", "serial")


@dataclass(frozen=True)
class ConsoleEndpoint:
    """Where a console proxy reaches a guest's console (Nova's ``ConsoleConnectInfo``)."""

    host: str
    port: int
    internal_access_path: str | None = None


@dataclass(frozen=True)
class NodeResources:
    """What the host offers (totals, before allocation ratios and reservations)."""

    hypervisor_hostname: str
    vcpus: int
    memory_mb: int
    local_gb: int
    hypervisor_type: str
    hypervisor_version: int
    host_ip: str | None
    cpu_info: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class InstanceInfo:
    power_state: int
    num_cpus: int = 0
    memory_mb: int = 0
    cpu_time_ns: int = 0


@dataclass
class Snapshot:
    """A guest's disk image, ready to upload: a file or a stream of chunks."""

    disk_format: str = "qcow2"
    container_format: str = "bare"
    size: int | None = None
    path: Path | None = None
    chunks: AsyncIterator[bytes] | None = None
    cleanup: Callable[[], Awaitable[None]] | None = None

    async def stream(self, chunk_size: int = CHUNK) -> AsyncIterator[bytes]:
        if self.chunks is not None:
            async for chunk in self.chunks:
                yield chunk
            return
        if self.path is None:
            return
        fh = await run_blocking(open, self.path, "rb")
        try:
            while chunk := await run_blocking(fh.read, chunk_size):
                yield chunk
        finally:
            await run_blocking(fh.close)

    async def close(self) -> None:
        if self.cleanup is not None:
            await self.cleanup()


@runtime_checkable
class ComputeDriver(Protocol):
    """A hypervisor backend for one host (see the module docstring for the contract)."""

    host: str

    async def init_host(self) -> None:
        """Connect to the hypervisor and re-attach to the guests it still runs."""

    async def node_resources(self) -> NodeResources: ...

    async def list_instances(self) -> list[str]:
        """Ids of every guest on the host, whatever its power state."""

    async def get_info(self, instance_id: str) -> InstanceInfo: ...

    async def spawn(self, instance: dict, image: dict, network_info: list[dict], *,
                    admin_password: str | None = None, block_devices: list[dict] | None = None) -> None: ...

    async def destroy(self, instance: dict, network_info: list[dict]) -> None: ...

    async def power_off(self, instance: dict) -> None: ...

    async def power_on(self, instance: dict) -> None: ...

    async def reboot(self, instance: dict, hard: bool) -> None: ...

    async def pause(self, instance: dict) -> None: ...

    async def unpause(self, instance: dict) -> None: ...

    async def suspend(self, instance: dict) -> None: ...

    async def resume(self, instance: dict) -> None: ...

    async def rescue(self, instance: dict, image: dict, *, admin_password: str | None = None) -> None: ...

    async def unrescue(self, instance: dict) -> None: ...

    async def snapshot(self, instance: dict) -> Snapshot: ...

    async def attach_interface(self, instance: dict, vif: dict) -> None: ...

    async def detach_interface(self, instance: dict, vif: dict) -> None: ...

    async def attach_volume(self, instance: dict, connection: dict, mountpoint: str) -> None:
        """Plug a volume at ``mountpoint`` (``/dev/vdb``, a hint: the guest names its disks).
        ``connection``: see "Volumes" in the module docstring. A driver that cannot plug that
        kind of volume raises DriverError saying so."""

    async def detach_volume(self, instance: dict, connection: dict, mountpoint: str) -> None:
        """Unplug the volume ``connection`` names (see "Volumes" in the module docstring)."""

    async def extend_volume(self, instance: dict, connection: dict, new_size_bytes: int) -> None:
        """Let the guest see the attached volume's new size (block storage grew it)."""

    async def get_console_output(self, instance: dict) -> str: ...

    async def set_admin_password(self, instance: dict, password: str) -> None:
        """Change the password of the guest's administrator (``changePassword``), through an agent
        in the guest; AgentNotEnabled when the guest has none."""

    async def inject_network_info(self, instance: dict, network_info: list[dict]) -> None:
        """Hand the guest its current network configuration (``injectNetworkInfo``); a driver whose
        guests read it from the metadata API or the config drive has nothing to do."""

    async def get_console(self, instance: dict, kind: str) -> ConsoleEndpoint:
        """Where the guest's ``kind`` console (``vnc``, ``serial``) is served (see the module docstring)."""

    async def get_diagnostics(self, instance: dict) -> dict[str, Any]:
        """Nova's standard diagnostics (microversion 2.48)."""

    async def get_host_uptime(self) -> str:
        """The host's ``uptime`` line (``" 10:00:00 up 3 days, ... load average: ..."``)."""

    async def migrate_to(self, instance: dict, dest_host: str, *, live: bool = False) -> dict[str, Any]:
        """Source side of a move: returns the JSON-able data ``finish_migration`` needs."""

    async def finish_migration(self, instance: dict, network_info: list[dict],
                               migration_data: dict[str, Any], *, power_on: bool = True) -> None:
        """Destination side of a move: create the guest from ``migration_data``."""

    async def live_migration_force_complete(self, instance: dict) -> None:
        """Finish a live migration under way without waiting for the guest's memory to converge. A
        driver that hands the guest over in one step (no pre-copy rounds) has nothing to do."""

    async def confirm_migration(self, instance: dict) -> None:
        """Source side, the move confirmed: remove what is left of the guest here."""

    async def revert_migration(self, instance: dict, network_info: list[dict], *,
                               power_on: bool = True) -> None:
        """Source side, the move reverted: bring the guest back as it was."""


def instance_id(instance: dict) -> str:
    iid = instance.get("id") or instance.get("uuid")
    if not iid:
        raise DriverError("The instance record has no id.")
    return str(iid)


def instance_metadata(instance: dict) -> dict[str, str]:
    """The instance's user metadata, whether it comes as a dict or as [{key, value}] rows."""
    md = instance.get("metadata") or {}
    if isinstance(md, list):
        return {str(m.get("key")): str(m.get("value")) for m in md if isinstance(m, dict)}
    return {str(k): str(v) for k, v in md.items()}
