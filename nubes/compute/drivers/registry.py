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


def choose(conf: Any) -> tuple[str, str]:
    """The driver ``[compute] driver`` names, with why: "auto" (the default) is qemu where this
    host can run QEMU guests (root, QEMU installed), else fake; a named driver is taken as is."""
    if conf.driver != "auto":
        return conf.driver, "configured"
    from nubes.compute.drivers.qemu import usable

    ok, why = usable()
    if ok:
        return "qemu", "root with QEMU installed ([compute] driver = auto)"
    return "fake", f"{why}; set [compute] driver = qemu to insist ([compute] driver = auto)"
