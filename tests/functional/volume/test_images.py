"""Volumes and images: a volume made from an image (streamed from the image service, its data
checked, bootable, with the image's metadata), and a volume uploaded to an image, through the
openstack CLI; an image too large for the volume, or a minDisk above its size, is refused."""

from __future__ import annotations

import subprocess
import time

import pytest

from tests.cloud import new_user, start_cloud, stop_cloud
from tests.functional.volume.conftest import VolumeApi

DATA = b"nubes volume data " * 64


@pytest.fixture(scope="module")
def icloud(tmp_path_factory):
    c = start_cloud(tmp_path_factory.mktemp("volume-images"), services="identity,image,volume",
                    names=("identity", "image", "volume"))
    api = VolumeApi(c, c.token())
    deadline = time.monotonic() + 30
    while not api("GET", "/os-services").json().get("services"):
        assert time.monotonic() < deadline, "no volume manager reported"
        time.sleep(0.1)
    yield c
    stop_cloud(c)


def _qcow2(tmp_path, name: str, virtual_mib: int) -> str:
    raw, out = tmp_path / f"{name}.raw", tmp_path / f"{name}.qcow2"
    with open(raw, "wb") as fh:
        fh.write(DATA)
        fh.truncate(virtual_mib * 1024 * 1024)
    subprocess.run(["qemu-img", "convert", "-f", "raw", "-O", "qcow2", str(raw), str(out)], check=True)
    return str(out)


def _usage(api, project_id):
    q = api("GET", f"/os-quota-sets/{project_id}?usage=true").json()["quota_set"]
    return q["volumes"]["in_use"], q["gigabytes"]["in_use"]


def _wait_image(user, image_id, status="active"):
    deadline = time.monotonic() + 60
    while True:
        image = user.osc("image", "show", image_id)
        if image["status"] == status or time.monotonic() > deadline:
            assert image["status"] == status, image
            return image
        time.sleep(0.2)


def test_volume_from_image_and_back_to_an_image(icloud, tmp_path):
    user = new_user(icloud, tmp_path)
    api = VolumeApi(icloud, user.token)
    img = user.osc("image", "create", "--file", _qcow2(tmp_path, "small", 64), "--disk-format", "qcow2",
                   "--container-format", "bare", "--property", "os_distro=cirros", "--min-disk", "1", "small")
    v = user.osc("volume", "create", "--image", img["id"], "--size", "1", "from-image")
    volume = api.wait(v["id"], "available", "error")
    assert volume["status"] == "available", api("GET", "/messages").json()
    assert volume["bootable"] == "true"
    meta = volume["volume_image_metadata"]
    assert meta["image_id"] == img["id"] and meta["image_name"] == "small"
    assert meta["disk_format"] == "qcow2" and meta["container_format"] == "bare" and meta["min_disk"] == "1"
    assert meta["os_distro"] == "cirros" and meta["checksum"] == img["checksum"]
    # no staging file stays behind
    staging = icloud.state_dir / "volumes" / "fake.staging"
    assert not staging.exists() or list(staging.iterdir()) == []
    # the volume back to an image: the bytes the image put there, in a 1 GiB disk
    out = user.osc("image", "create", "--volume", v["id"], "--disk-format", "qcow2", "uploaded")
    assert out["status"] == "uploading" and out["disk_format"] == "qcow2"
    api.wait(v["id"], "available")
    uploaded = _wait_image(user, out["image_id"])
    assert uploaded["disk_format"] == "qcow2"
    saved = tmp_path / "saved.qcow2"
    user.osc("image", "save", "--file", str(saved), out["image_id"], json_out=False)
    raw = tmp_path / "saved.raw"
    subprocess.run(["qemu-img", "convert", "-f", "qcow2", "-O", "raw", str(saved), str(raw)], check=True)
    assert raw.stat().st_size == 1024 ** 3
    with open(raw, "rb") as fh:
        assert fh.read(len(DATA)) == DATA
    assert not staging.exists() or list(staging.iterdir()) == []
    user.osc("volume", "delete", v["id"], json_out=False)
    api.wait_gone(v["id"])


def test_image_refusals_leave_nothing(icloud, tmp_path):
    user = new_user(icloud, tmp_path)
    api = VolumeApi(icloud, user.token)
    big = user.osc("image", "create", "--file", _qcow2(tmp_path, "big", 2048), "--disk-format", "qcow2",
                   "--container-format", "bare", "big")
    picky = user.osc("image", "create", "--file", _qcow2(tmp_path, "picky", 16), "--disk-format", "qcow2",
                     "--container-format", "bare", "--min-disk", "5", "picky")
    cases = [({"size": 1, "imageRef": big["id"]}, "Size of specified image 2GB is larger than volume size 1GB."),
             ({"size": 1, "imageRef": picky["id"]}, "cannot be smaller than the image minDisk size 5GB"),
             ({"size": 1, "imageRef": "00000000-0000-0000-0000-000000000000"},
              "Invalid image identifier or unable to access requested image.")]
    for body, text in cases:
        r = api("POST", "/volumes", json={"volume": body})
        assert r.status_code == 400, r.text
        assert text in r.json()["badRequest"]["message"], r.text
    assert api("GET", "/volumes").json()["volumes"] == []
    assert _usage(api, user.project_id) == (0, 0)
    # an in-use volume is not uploaded, force or not (enable_force_upload is off, as Cinder's default)
    vid = api("POST", "/volumes", json={"volume": {"size": 1}}).json()["volume"]["id"]
    api.wait(vid, "available")
    admin = VolumeApi(icloud, icloud.token())
    assert admin("POST", f"/volumes/{vid}/action", json={"os-reset_status": {"status": "in-use"}}).status_code == 202
    before = {i["ID"] for i in user.osc("image", "list")}
    for force in (False, True):
        r = api("POST", f"/volumes/{vid}/action",
                json={"os-volume_upload_image": {"image_name": "nope", "force": force}})
        assert r.status_code == 400 and "must be available" in r.json()["badRequest"]["message"], r.text
    r = api("POST", f"/volumes/{vid}/action", json={"os-volume_upload_image": {"image_name": "x", "disk_format": "iso"}})
    assert r.status_code == 400
    assert {i["ID"] for i in user.osc("image", "list")} == before
    assert api("GET", f"/volumes/{vid}").json()["volume"]["status"] == "in-use"
