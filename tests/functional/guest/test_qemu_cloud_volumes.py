"""A volume of the volume service's ``file`` backend attached to a real QEMU guest through the
compute API (`openstack server add volume`): the guest lists the new disk with the volume's id as
its serial, and it is gone again after `server remove volume`. Root only (the qemu driver)."""

from __future__ import annotations

import re
import subprocess
import sys
import time

import pytest

from nubes.compute.guest.build import MARKER
from tests import qemu_guest
from tests.cloud import REPO, start_cloud, stop_cloud

pytestmark = pytest.mark.root
DISKS = re.compile(rf"{re.escape(MARKER)} disks ?(.*)")


@pytest.fixture(scope="module")
def qemu_cloud(tmp_path_factory):
    qemu_guest.skip_unless_qemu()
    tmp = tmp_path_factory.mktemp("qv")
    c = start_cloud(tmp, services="identity,image,placement,network,compute,volume",
                    names=("identity", "image", "placement", "network", "compute", "volume"),
                    extra_env={"NUBES_COMPUTE__DRIVER": "qemu", "NUBES_COMPUTE__CPU_ALLOCATION_RATIO": "16"},
                    volume_driver="file")
    try:
        res = subprocess.run([sys.executable, "-m", "nubes.cli", "guest", "register", "--state-dir", str(tmp)],
                             env=c.env, capture_output=True, text=True, timeout=300, cwd=REPO)
        assert res.returncode == 0, res.stdout + res.stderr
        _wait(lambda: c.osc("hypervisor", "list") and c.osc("resource", "provider", "list"), "the qemu host")
        yield c
    finally:
        stop_cloud(c)


def _wait(probe, what: str, timeout: float = 240):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(2)
    raise AssertionError(f"{what}: not there after {timeout:.0f}s")


def _disks(cloud, server: str) -> str | None:
    found = DISKS.findall(cloud.osc("console", "log", "show", server, json_out=False))
    return found[-1] if found else None


def test_the_guest_sees_an_attached_volume(qemu_cloud):
    c = qemu_cloud
    c.osc("flavor", "create", "--ram", "256", "--disk", "1", "--vcpus", "1", "qv.tiny")
    server = c.osc("server", "create", "--image", "nubes-test-guest", "--flavor", "qv.tiny", "--nic", "none",
                   "--os-compute-api-version", "2.37", "--wait", "qv")
    assert server["status"] == "ACTIVE", server
    vol = c.osc("volume", "create", "--size", "1", "qv-data")
    _wait(lambda: c.osc("volume", "show", vol["id"])["status"] == "available", "the volume")
    try:
        _wait(lambda: _disks(c, server["id"]), "the guest's disk list")
        c.osc("server", "add", "volume", server["id"], vol["id"])
        assert c.osc("volume", "show", vol["id"])["status"] == "in-use"
        serial = vol["id"][:20]
        listed = _wait(lambda: (d := _disks(c, server["id"])) and serial in d and d, "the attached disk")
        assert f",{1024 ** 3}," in listed, listed
        c.osc("server", "remove", "volume", server["id"], vol["id"], json_out=False)
        _wait(lambda: serial not in (_disks(c, server["id"]) or serial), "the disk gone")
        assert c.osc("volume", "show", vol["id"])["status"] == "available"
    finally:
        c.osc("server", "delete", "--wait", server["id"], json_out=False)
        c.osc("volume", "delete", vol["id"], json_out=False, check=False)


def test_a_guest_boots_from_a_volume_of_the_test_image(qemu_cloud):
    c = qemu_cloud
    if not any(f["Name"] == "qv.tiny" for f in c.osc("flavor", "list")):
        c.osc("flavor", "create", "--ram", "256", "--disk", "1", "--vcpus", "1", "qv.tiny")
    vol = c.osc("volume", "create", "--size", "1", "--image", "nubes-test-guest", "qv-root")
    _wait(lambda: c.osc("volume", "show", vol["id"])["status"] == "available", "the root volume")
    server = c.osc("server", "create", "--volume", vol["id"], "--flavor", "qv.tiny", "--nic", "none",
                   "--os-compute-api-version", "2.37", "--wait", "qv-bfv")
    try:
        assert server["status"] == "ACTIVE", server
        assert c.osc("volume", "show", vol["id"])["status"] == "in-use"
        listed = _wait(lambda: _disks(c, server["id"]), "the guest's disk list")   # the guest booted
        assert vol["id"][:20] in listed, listed
    finally:
        c.osc("server", "delete", "--wait", server["id"], json_out=False)
        _wait(lambda: c.osc("volume", "show", vol["id"])["status"] == "available", "the volume released")
        c.osc("volume", "delete", vol["id"], json_out=False, check=False)
