"""``qemu-img info`` of a user's image runs with Nova's limits (1 GiB of address space, 30 s of
CPU), in the compute driver and in the file volume backend: a stand-in qemu-img reports the limits
it was given."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from nubes.compute.drivers.qemu import disks
from nubes.core import qemu_img_limits
from nubes.volume.drivers import file_chain

FAKE = f"""#!{sys.executable}
import json, resource
print(json.dumps({{"virtual-size": 1, "as": resource.getrlimit(resource.RLIMIT_AS)[0],
                  "cpu": resource.getrlimit(resource.RLIMIT_CPU)[0]}}))
"""


def _fake_qemu_img(tmp_path: Path) -> Path:
    path = tmp_path / "bin" / "qemu-img"
    path.parent.mkdir()
    path.write_text(FAKE)
    path.chmod(0o755)
    return path


async def test_compute_inspects_images_under_the_limits(tmp_path):
    fake = _fake_qemu_img(tmp_path)
    out = await disks.info(tmp_path / "image", "qcow2", qemu_img=str(fake))
    assert (out["as"], out["cpu"]) == (qemu_img_limits.ADDRESS_SPACE, qemu_img_limits.CPU_SECONDS)


async def test_the_file_backend_inspects_images_under_the_limits(tmp_path, monkeypatch):
    fake = _fake_qemu_img(tmp_path)
    monkeypatch.setenv("PATH", f"{fake.parent}:/usr/bin:/bin")
    out = await file_chain.info(tmp_path / "image", "qcow2")
    assert (out["as"], out["cpu"]) == (qemu_img_limits.ADDRESS_SPACE, qemu_img_limits.CPU_SECONDS)


async def test_other_runs_are_not_limited(tmp_path):
    fake = _fake_qemu_img(tmp_path)
    out = json.loads(await disks.run(str(fake)))
    assert out["as"] != qemu_img_limits.ADDRESS_SPACE
