"""A guest as the qemu driver keeps it: its directory, its recorded state, its QEMU process.

``<instances>/<id>/`` holds everything of one guest::

    state.json     what the driver needs to start it again (sizes, boot files, VIFs, rescue)
    disk           root disk: qcow2 overlay on the cached base image (none when the
                   guest boots from a volume: volumes are not in here, see ``volumes``)
    disk.eph0      ephemeral disk (flavor ephemeral_gb), disk.swap (flavor swap)
    disk.config    the config drive (ISO 9660, label config-2)
    disk.rescue    the rescue image's disk while rescued
    console.log    the serial console        qemu.log   QEMU's own messages
    qemu.pid       the QEMU process          qmp.sock   its QMP monitor
    cmdline.json   the last command line     memory.state  a suspended guest's RAM

A guest being moved away lives in ``<id>_resize/`` until the move is confirmed or reverted
(as Nova's libvirt driver does), so a resize to the same machine finds both copies.
"""

from __future__ import annotations

import asyncio
import json
import os
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from nubes.compute.drivers.qemu.qmp import QMP
from nubes.core.concurrency import run_blocking

RESIZE_SUFFIX = "_resize"


@dataclass
class GuestState:
    id: str
    host: str
    name: str = ""
    vcpus: int = 1
    memory_mb: int = 512
    root_gb: int = 0
    ephemeral_gb: int = 0
    swap_mb: int = 0
    image_id: str = ""
    base: str = ""                        # the cached base image file
    base_format: str = "raw"
    kernel_id: str | None = None
    ramdisk_id: str | None = None
    kernel: str | None = None
    initrd: str | None = None
    cmdline: str | None = None
    vifs: list[dict[str, Any]] = field(default_factory=list)
    # attached volumes: [{volume_id, mountpoint, connection: {volume_id, driver_volume_type, data},
    # boot_index}] (boot_index 0: the root disk is this volume, there is no local ``disk``)
    volumes: list[dict[str, Any]] = field(default_factory=list)
    config_drive: bool = False
    rescue: dict[str, Any] | None = None  # {image_id, kernel, initrd, cmdline} while rescued
    moving: str | None = None             # "cold" while a move away is under way
    saved_power: int | None = None        # the power state before the move
    ready: bool = False                   # every file made: the guest can be started
    qmp_path: str = ""

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GuestState:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


class Guest:
    """One guest of this host: its state, directory, and (while it runs) its monitor."""

    def __init__(self, state: GuestState, directory: Path) -> None:
        self.state = state
        self.dir = directory
        self.qmp: QMP | None = None
        self.lock = asyncio.Lock()

    @property
    def id(self) -> str:
        return self.state.id

    @property
    def key(self) -> str:
        return self.dir.name

    def path(self, name: str) -> Path:
        return self.dir / name

    @property
    def qmp_socket(self) -> Path:
        return Path(self.state.qmp_path) if self.state.qmp_path else self.dir / "qmp.sock"

    async def save(self) -> None:
        data = json.dumps(asdict(self.state), indent=1)
        d = self.dir

        def write() -> None:
            d.mkdir(parents=True, exist_ok=True)
            tmp = d / "state.json.tmp"
            tmp.write_text(data)
            os.replace(tmp, d / "state.json")

        await run_blocking(write)

    async def drop_monitor(self) -> None:
        if self.qmp is not None:
            qmp, self.qmp = self.qmp, None
            await qmp.close()


def load(directory: Path) -> Guest | None:
    """The guest kept in ``directory`` (None if it holds no readable state)."""
    try:
        data = json.loads((directory / "state.json").read_text())
        return Guest(GuestState.from_dict(data), directory)
    except (OSError, ValueError, TypeError):
        return None


def scan(root: Path, host: str) -> list[Guest]:
    """Every guest of ``host`` under ``root`` (blocking)."""
    out = []
    if not root.is_dir():
        return out
    for d in sorted(root.iterdir()):
        if d.is_dir() and not d.name.endswith(".del"):
            g = load(d)
            if g is not None and g.state.host == host:
                out.append(g)
    return out
