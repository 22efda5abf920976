"""A node's managers: one per backend; a backend whose driver cannot be made is left out, and
a node with none fails with the reason."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest

from nubes.volume.agent.runner import run_managers
from nubes.volume.conf import VolumeConfig
from tests.unit.volume.test_manager import RecordingBus


def runtime(tmp_path, backends: list) -> SimpleNamespace:
    conf = VolumeConfig(backends=backends, host="node")
    return SimpleNamespace(service_conf=conf, conf=SimpleNamespace(core=SimpleNamespace(state_dir=tmp_path)),
                           bus=RecordingBus())


async def test_a_bad_backend_does_not_stop_the_others(tmp_path, caplog):
    rt = runtime(tmp_path, ["fake", {"name": "broken", "driver": "no-such-driver"}])
    task = asyncio.create_task(run_managers(rt))
    # the backends are taken in order: "broken" is tried after "fake" serves
    for _ in range(500):
        if "volume.backup.node@fake" in rt.bus.served and "broken" in caplog.text:
            break
        await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert list(rt.bus.served) == ["volume.manager.node@fake", "volume.backup.node@fake"]
    assert "volume backend broken (driver no-such-driver) not served" in caplog.text


async def test_no_backend_served_is_a_failure(tmp_path):
    rt = runtime(tmp_path, [{"name": "broken", "driver": "no-such-driver"}])
    with pytest.raises(RuntimeError, match="no volume backend could be served: broken: .*unknown volume driver"):
        await run_managers(rt)
