"""Backups on the file backend with a real attachment: an in-use volume exported over NBD (a
compute host elsewhere) is backed up with force at a temporary snapshot its storage daemon takes
live, and a volume made from that backup (3.47) holds what the volume held, written through the
export included."""

from __future__ import annotations

import json
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from tests.cloud import new_user, start_cloud, stop_cloud
from tests.functional.volume.conftest import VolumeApi
from tests.functional.volume.test_backups import wait_backup


@pytest.fixture(scope="module")
def fbcloud(tmp_path_factory):
    c = start_cloud(tmp_path_factory.mktemp("vfb"), services="identity,volume",
                    names=("identity", "volume"), volume_driver="file")
    api = VolumeApi(c, c.token())
    deadline = time.monotonic() + 30
    while {s["binary"] for s in api("GET", "/os-services").json().get("services", [])} != {
            "cinder-volume", "cinder-backup"}:
        assert time.monotonic() < deadline, "no volume manager and backup service reported"
        time.sleep(0.1)
    yield c
    stop_cloud(c)


def qemu_io(target: str, fmt: str, command: str) -> str:
    res = subprocess.run(["qemu-io", "-f", fmt, "-c", command, target], capture_output=True, text=True, timeout=60)
    out = res.stdout + res.stderr
    assert res.returncode == 0 and "fail" not in out.lower(), out
    return out


def volume_record(cloud, volume_id: str) -> tuple[Path, dict]:
    (record,) = cloud.state_dir.glob(f"**/volumes/{volume_id}.json")
    return record, json.loads(record.read_text())


def volume_file(cloud, volume_id: str) -> tuple[str, str]:
    record, rec = volume_record(cloud, volume_id)
    return str(record.parent.parent / "data" / rec["file"]), rec["format"]


def snapshot_records(cloud) -> list[Path]:
    return [p for p in cloud.state_dir.glob("**/snapshots/*.json") if not p.name.startswith(".")]


def test_in_use_backup_over_nbd_and_a_volume_from_it(fbcloud, tmp_path):
    member = new_user(fbcloud, tmp_path)
    api = VolumeApi(fbcloud, member.token)
    vid = api("POST", "/volumes", json={"volume": {"size": 1}}).json()["volume"]["id"]
    api.wait(vid, "available")
    qemu_io(*volume_file(fbcloud, vid), "write -P 0xaa 0 1M")
    att = api("POST", "/attachments", json={"attachment": {
        "volume_uuid": vid, "instance_uuid": str(uuid.uuid4()),
        "connector": {"host": "elsewhere-" + uuid.uuid4().hex[:6], "ip": "127.0.0.1"}}})
    assert att.status_code == 200, att.text
    att = att.json()["attachment"]
    data = att["connection_info"]["data"]
    assert att["connection_info"]["driver_volume_type"] == "nbd"
    assert api("POST", f"/attachments/{att['id']}/action", json={"os-complete": {}}).status_code == 204
    api.wait(vid, "in-use")
    nbd = f"nbd://{data['host']}:{data['port']}/{data['export']}"
    qemu_io(nbd, "raw", "write -P 0xbb 1M 1M")             # the "guest" writes through its export

    chain = volume_record(fbcloud, vid)[1]["chain"]
    r = api("POST", "/backups", json={"backup": {"volume_id": vid}})
    assert r.status_code == 400 and "force flag" in r.json()["badRequest"]["message"]
    b = member.osc("volume", "backup", "create", "--force", vid)
    assert wait_backup(api, b["id"], "available")["object_count"] >= 1
    assert api.wait(vid, "in-use")["status"] == "in-use"
    # the backup read a snapshot the daemon took live (the volume is on a new overlay, kept while
    # exported), and that snapshot went after the backup
    assert volume_record(fbcloud, vid)[1]["chain"][1:] == chain
    assert snapshot_records(fbcloud) == []
    qemu_io(nbd, "raw", "read -P 0xbb 1M 1M")                # the export serves on, over the new overlay
    qemu_io(nbd, "raw", "write -P 0xcc 0 1M")                # written after the backup: not in it

    new = member.osc("--os-volume-api-version", "3.47", "volume", "create", "--backup", b["id"], "restored")
    api.wait(new["id"], "available")
    path, fmt = volume_file(fbcloud, new["id"])
    qemu_io(path, fmt, "read -P 0xaa 0 1M")
    qemu_io(path, fmt, "read -P 0xbb 1M 1M")

    assert api("DELETE", f"/attachments/{att['id']}").status_code == 200
    api.wait(vid, "available")
    for volume_id in (vid, new["id"]):
        assert api("DELETE", f"/volumes/{volume_id}").status_code == 202
        api.wait_gone(volume_id)
