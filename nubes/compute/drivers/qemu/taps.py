"""The guest's tap devices: ``tap<port-id[:11]>``, made by the driver, plugged by the L2 agent.

A tap is made persistent (``ip tuntap add ... mode tap``), given the port's MTU and set up
before QEMU opens it, so it outlives a QEMU process (power off and on, suspend to a file):
the bridge it was plugged into keeps it. ``remove`` deletes it when the guest is destroyed
or the interface detached.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from nubes.compute.drivers.base import DriverError
from nubes.compute.drivers.qemu.configdrive import tap_name

DEFAULT_MTU = 1500

__all__ = ["ensure", "exists", "mtu_of", "remove", "tap_name"]


async def _ip(*args: str) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec("ip", *args, stdin=asyncio.subprocess.DEVNULL,
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await proc.communicate()
    return proc.returncode or 0, (err or out).decode(errors="replace").strip()


def exists(name: str) -> bool:
    return Path("/sys/class/net", name).exists()


def mtu_of(vif: dict) -> int:
    mtu = vif.get("mtu") or (vif.get("network") or {}).get("mtu")
    try:
        return int(mtu) if mtu else DEFAULT_MTU
    except (TypeError, ValueError):
        return DEFAULT_MTU


async def ensure(name: str, mtu: int) -> None:
    """Make the tap ``name`` (if missing) with ``mtu`` and set it up."""
    if not exists(name):
        rc, err = await _ip("tuntap", "add", "dev", name, "mode", "tap")
        if rc and not exists(name):
            raise DriverError(f"Creating tap device {name} failed: {err}", retryable=True)
    rc, err = await _ip("link", "set", "dev", name, "mtu", str(mtu), "up")
    if rc:
        raise DriverError(f"Setting up tap device {name} (mtu {mtu}) failed: {err}", retryable=True)


async def remove(name: str) -> None:
    if not exists(name):
        return
    rc, err = await _ip("link", "del", "dev", name)
    if rc and exists(name):
        raise DriverError(f"Removing tap device {name} failed: {err}", retryable=True)


def counters(name: str) -> dict[str, int]:
    """The tap's counters from the guest's side (the tap's tx is what the guest received)."""
    base = Path("/sys/class/net", name, "statistics")

    def read(key: str) -> int:
        try:
            return int((base / key).read_text())
        except (OSError, ValueError):
            return 0

    return {"rx_octets": read("tx_bytes"), "rx_packets": read("tx_packets"), "rx_errors": read("tx_errors"),
            "rx_drop": read("tx_dropped"), "tx_octets": read("rx_bytes"), "tx_packets": read("rx_packets"),
            "tx_errors": read("rx_errors"), "tx_drop": read("rx_dropped")}
