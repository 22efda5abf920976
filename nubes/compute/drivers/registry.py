"""The compute drivers nubes ships, by the name ``[compute] driver`` selects."""

from __future__ import annotations

from typing import Any

from nubes.compute.drivers.base import ComputeDriver
from nubes.compute.drivers.fake import FakeDriver
from nubes.compute.drivers.qemu import QemuDriver

# "qemu": QEMU processes on this machine (nubes.compute.drivers.qemu; needs root and QEMU:
# qemu.usable() says whether this host can; qemu.driver_options(rt, host) gives its options).
DRIVERS: dict[str, type] = {"fake": FakeDriver, "qemu": QemuDriver}


def make_driver(name: str, host: str, conf: Any, **options: Any) -> ComputeDriver:
    """A driver instance for ``host``; ``options`` are the driver's own keyword arguments."""
    cls = DRIVERS.get(name)
    if cls is None:
        raise ValueError(f"unknown compute driver {name!r}: choose one of {', '.join(sorted(DRIVERS))}")
    return cls(host, conf, **options)
