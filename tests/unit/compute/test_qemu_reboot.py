"""The qemu driver's soft reboot when the guest heeds the ACPI power button only after the wait
(CI saw it under load): QEMU is exiting as the driver falls back to a reset, and the reboot must
start the guest afresh rather than fail with the monitor's closed connection."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

from nubes.compute.conf import ComputeConfig
from nubes.compute.drivers.base import PowerState
from nubes.compute.drivers.qemu.driver import QemuDriver
from nubes.compute.drivers.qemu.qmp import QMPClosed


class ExitingMonitor:
    closed = False

    async def execute(self, command, arguments=None, *, timeout=30.0):
        raise QMPClosed(f"{command}: ")


async def test_a_guest_that_powers_off_late_is_started_again(tmp_path, monkeypatch):
    d = QemuDriver("h", ComputeConfig(), state_dir=tmp_path, shutdown_timeout=0.1)
    g = SimpleNamespace(id="g1", lock=asyncio.Lock())
    steps: list[str] = []

    async def record(name, *a, **kw):
        steps.append(name)

    async def running(_g):
        return PowerState.RUNNING

    async def ignored(_g, _timeout):
        return False

    async def monitor(_g):
        return ExitingMonitor()

    monkeypatch.setattr(d, "_find", lambda iid: g)
    monkeypatch.setattr(d, "_power", running)
    monkeypatch.setattr(d, "_acpi_shutdown", ignored)
    monkeypatch.setattr(d, "_alive", lambda _g: True)
    monkeypatch.setattr(d, "_monitor", monitor)
    for name in ("_discard_memory", "_quit", "_start"):
        monkeypatch.setattr(d, name, lambda _g, _n=name, **kw: record(_n))

    await d.reboot({"id": "g1"}, hard=False)
    assert steps == ["_discard_memory", "_quit", "_start"]
