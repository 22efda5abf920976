"""Attachments on the file backend: a connector on the backend's own host gets the volume's file,
one elsewhere an NBD export (qemu-storage-daemon) that serves the volume's bytes; deleting the
attachment stops the export; a read-only attachment is exported read-only."""

from __future__ import annotations

import subprocess
import time
import uuid
from pathlib import Path

import pytest

from tests.cloud import new_user, start_cloud, stop_cloud
from tests.functional.volume.conftest import VolumeApi


@pytest.fixture(scope="module")
def fcloud(tmp_path_factory):
    c = start_cloud(tmp_path_factory.mktemp("vfa"), services="identity,volume",
                    names=("identity", "volume"), volume_driver="file")
    api = VolumeApi(c, c.token())
    deadline = time.monotonic() + 30
    while not api("GET", "/os-services").json().get("services"):
        assert time.monotonic() < deadline, "no volume manager reported"
        time.sleep(0.1)
    yield c
    stop_cloud(c)


def _backend_host(cloud) -> str:
    services = VolumeApi(cloud, cloud.token())("GET", "/os-services").json()["services"]
    return next(s["host"] for s in services if s["binary"] == "cinder-volume").partition("@")[0]


def _nbd_info(data: dict) -> subprocess.CompletedProcess:
    return subprocess.run(["qemu-img", "info", "--output=json", "--image-opts",
                           f"driver=nbd,host={data['host']},port={data['port']},export={data['export']}"],
                          capture_output=True, text=True, timeout=30)


def test_local_and_nbd_attachments(fcloud, tmp_path):
    member = new_user(fcloud, tmp_path)
    api = VolumeApi(fcloud, member.token)
    vid = api("POST", "/volumes", json={"volume": {"size": 1, "multiattach": True}}).json()["volume"]["id"]
    api.wait(vid, "available")
    local = api("POST", "/attachments", json={"attachment": {
        "volume_uuid": vid, "instance_uuid": str(uuid.uuid4()),
        "connector": {"host": _backend_host(fcloud), "ip": "127.0.0.1"}}})
    assert local.status_code == 200, local.text
    info = local.json()["attachment"]["connection_info"]
    assert info["driver_volume_type"] == "file" and Path(info["data"]["path"]).is_file()
    api("DELETE", f"/attachments/{local.json()['attachment']['id']}")
    # a host elsewhere: an NBD export of the volume's bytes, read-only when the attachment is
    ro = api("POST", "/attachments", json={"attachment": {
        "volume_uuid": vid, "instance_uuid": str(uuid.uuid4()), "mode": "ro",
        "connector": {"host": "elsewhere-" + uuid.uuid4().hex[:6], "ip": "127.0.0.1"}}})
    assert ro.status_code == 200, ro.text
    ro = ro.json()["attachment"]
    data = ro["connection_info"]["data"]
    assert ro["connection_info"]["driver_volume_type"] == "nbd" and data["read_only"] is True
    shown = _nbd_info(data)
    assert shown.returncode == 0, shown.stderr
    assert '"virtual-size": 1073741824' in shown.stdout
    assert api("POST", f"/attachments/{ro['id']}/action", json={"os-complete": {}}).status_code == 204
    assert api("GET", f"/volumes/{vid}").json()["volume"]["status"] == "in-use"
    assert api("DELETE", f"/attachments/{ro['id']}").status_code == 200
    assert _nbd_info(data).returncode != 0          # the export is gone with its attachment
    assert api("GET", f"/volumes/{vid}").json()["volume"]["status"] == "available"
    assert api("DELETE", f"/volumes/{vid}").status_code == 202
    api.wait_gone(vid)
