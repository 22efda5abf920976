"""Backups of snapshots, of in-use volumes (force, read at a temporary snapshot) and volumes made
from a backup (3.47), through the openstack CLI and raw HTTP, on the fake backend (whose volumes
and snapshots are sparse raw files under the pool directory, so their bytes can be compared)."""

from __future__ import annotations

import os
import uuid

from tests.functional.volume.conftest import VolumeApi
from tests.functional.volume.test_backups import MiB, digest, image, usage, wait_backup, wait_backup_gone, write

CONNECTOR = {"host": "compute-1", "ip": "127.0.0.1", "initiator": "iqn.test"}


def wait_snapshot(api: VolumeApi, snapshot_id: str, status: str) -> dict:
    import time

    deadline = time.monotonic() + 30
    while True:
        snap = api("GET", f"/snapshots/{snapshot_id}").json()["snapshot"]
        if snap["status"] == status or time.monotonic() > deadline:
            assert snap["status"] == status, snap
            return snap
        time.sleep(0.05)


def attach(api: VolumeApi, volume_id: str) -> str:
    att = api("POST", "/attachments", json={"attachment": {
        "volume_uuid": volume_id, "instance_uuid": str(uuid.uuid4()), "connector": CONNECTOR}})
    assert att.status_code == 200, att.text
    att_id = att.json()["attachment"]["id"]
    assert api("POST", f"/attachments/{att_id}/action", json={"os-complete": {}}).status_code == 204
    assert api.wait(volume_id, "in-use")
    return att_id


def test_backup_of_a_snapshot_full_and_incremental(vcloud, member, member_api):
    vol = member.osc("volume", "create", "--size", "1", "snapped")
    member_api.wait(vol["id"], "available")
    src = image(vcloud, vol["id"])
    write(src, 0, os.urandom(4 * MiB))
    at_snapshot = digest(src)
    snap = member.osc("volume", "snapshot", "create", "--volume", vol["id"], "snap")
    wait_snapshot(member_api, snap["id"], "available")
    write(src, 2 * MiB, b"after the snapshot" * 100)          # the volume moves on; the snapshot does not
    attach(member_api, vol["id"])                             # and is in use: a snapshot backs up all the same

    full = member.osc("volume", "backup", "create", "--snapshot", snap["id"], "--name", "of-snap", vol["id"])
    b = wait_backup(member_api, full["id"], "available")
    shown = member.osc("volume", "backup", "show", full["id"])
    assert shown["snapshot_id"] == snap["id"] and b["volume_id"] == vol["id"] and b["size"] == 1
    assert b["data_timestamp"] == member_api("GET", f"/snapshots/{snap['id']}").json()["snapshot"]["created_at"]
    assert member_api("GET", f"/volumes/{vol['id']}").json()["volume"]["status"] == "in-use"
    assert wait_snapshot(member_api, snap["id"], "available")

    # an incremental of a later snapshot stores only the chunk that changed since
    snap2 = member_api("POST", "/snapshots", json={"snapshot": {"volume_id": vol["id"], "force": True}}).json()[
        "snapshot"]
    wait_snapshot(member_api, snap2["id"], "available")
    inc = member.osc("volume", "backup", "create", "--incremental", "--snapshot", snap2["id"], vol["id"])
    b2 = wait_backup(member_api, inc["id"], "available")
    assert (b2["is_incremental"], b2["object_count"], b2["snapshot_id"]) == (True, 1, snap2["id"])

    # restored, each holds its snapshot's bytes, not the volume's
    target = member_api("POST", "/volumes", json={"volume": {"size": 1}}).json()["volume"]
    member_api.wait(target["id"], "available")
    member.osc("volume", "backup", "restore", "--force", full["id"], target["id"])
    member_api.wait(target["id"], "available")
    assert digest(image(vcloud, target["id"])) == at_snapshot
    member.osc("volume", "backup", "restore", "--force", inc["id"], target["id"])
    member_api.wait(target["id"], "available")
    assert digest(image(vcloud, target["id"])) == digest(src)

    # a snapshot being backed up cannot be deleted; after, it can
    for bid in (inc["id"], full["id"]):
        wait_backup(member_api, bid, "available")
        member_api("DELETE", f"/backups/{bid}")
        wait_backup_gone(member_api, bid)


def test_bad_backups_of_snapshots_leave_nothing(vcloud, member, member_api, admin_api):
    one = member_api("POST", "/volumes", json={"volume": {"size": 1}}).json()["volume"]
    other = member_api("POST", "/volumes", json={"volume": {"size": 1}}).json()["volume"]
    member_api.wait(one["id"], "available")
    member_api.wait(other["id"], "available")
    snap = member_api("POST", "/snapshots", json={"snapshot": {"volume_id": other["id"]}}).json()["snapshot"]
    wait_snapshot(member_api, snap["id"], "available")
    r = member_api("POST", "/backups", json={"backup": {"volume_id": one["id"], "snapshot_id": "nope"}})
    assert r.status_code == 404 and r.json()["itemNotFound"]["message"] == "Snapshot nope could not be found."
    r = member_api("POST", "/backups", json={"backup": {"volume_id": one["id"], "snapshot_id": snap["id"]}})
    assert r.status_code == 400
    assert "does not match with snapshot.volume_id" in r.json()["badRequest"]["message"]
    admin_api("POST", f"/snapshots/{snap['id']}/action", json={"os-reset_status": {"status": "error"}})
    r = member_api("POST", "/backups", json={"backup": {"volume_id": other["id"], "snapshot_id": snap["id"]}})
    assert r.status_code == 400
    assert r.json()["badRequest"]["message"] == ('Invalid snapshot: Snapshot to be backed up must be available, '
                                                 'but the current status is "error".')
    # no earlier backup to be incremental from
    admin_api("POST", f"/snapshots/{snap['id']}/action", json={"os-reset_status": {"status": "available"}})
    r = member_api("POST", "/backups", json={"backup": {"volume_id": other["id"], "snapshot_id": snap["id"],
                                                       "incremental": True}})
    assert r.status_code == 400 and "No backups available" in r.json()["badRequest"]["message"]
    assert member_api("GET", "/backups").json()["backups"] == []
    assert usage(member_api, member.project_id) == (0, 0)
    assert wait_snapshot(member_api, snap["id"], "available")
    assert member_api("GET", f"/volumes/{one['id']}").json()["volume"]["status"] == "available"


def test_in_use_backup_needs_force_and_reads_a_temporary_snapshot(vcloud, member, member_api):
    vol = member_api("POST", "/volumes", json={"volume": {"size": 1}}).json()["volume"]
    member_api.wait(vol["id"], "available")
    src = image(vcloud, vol["id"])
    write(src, 3 * MiB, os.urandom(3 * MiB))
    attach(member_api, vol["id"])
    r = member_api("POST", "/backups", json={"backup": {"volume_id": vol["id"]}})
    assert r.status_code == 400
    assert r.json()["badRequest"]["message"] == "Invalid volume: Backing up an in-use volume must use the force flag."
    assert member_api("GET", "/backups").json()["backups"] == []

    b = member.osc("volume", "backup", "create", "--force", vol["id"])
    got = wait_backup(member_api, b["id"], "available")
    assert got["snapshot_id"] is None
    assert member_api.wait(vol["id"], "in-use")["status"] == "in-use"
    # the temporary snapshot is gone from the backend, and no snapshot record was ever made
    assert not (vcloud.state_dir / "volumes" / "fake" / "fake-images" / f"backup-{b['id']}.raw").exists()
    assert member_api("GET", "/snapshots").json()["snapshots"] == []
    restored = member.osc("volume", "backup", "restore", b["id"], "copy")
    member_api.wait(restored["volume_id"], "available")
    assert digest(image(vcloud, restored["volume_id"])) == digest(src)


def test_volume_from_a_backup(vcloud, member, member_api):
    vol = member_api("POST", "/volumes", json={"volume": {"size": 1}}).json()["volume"]
    member_api.wait(vol["id"], "available")
    src = image(vcloud, vol["id"])
    write(src, 9 * MiB, os.urandom(5 * MiB))
    b = member_api("POST", "/backups", json={"backup": {"volume_id": vol["id"]}}).json()["backup"]
    wait_backup(member_api, b["id"], "available")

    new = member.osc("--os-volume-api-version", "3.47", "volume", "create", "--backup", b["id"], "--size", "2",
                     "from-backup")
    assert new["status"] == "creating"
    got = member_api.wait(new["id"], "available")
    assert got["size"] == 2 and got["name"] == "from-backup"
    assert digest(image(vcloud, new["id"]), 1 << 30) == digest(src)
    assert wait_backup(member_api, b["id"], "available")["fail_reason"] is None
    # without a size: the backup's
    r = member_api("POST", "/volumes", version="3.47", json={"volume": {"backup_id": b["id"]}})
    assert r.status_code == 202, r.text
    assert member_api.wait(r.json()["volume"]["id"], "available")["size"] == 1
    assert digest(image(vcloud, r.json()["volume"]["id"])) == digest(src)


def test_bad_volumes_from_backups_leave_nothing(vcloud, member, member_api, admin_api):
    vol = member_api("POST", "/volumes", json={"volume": {"size": 2}}).json()["volume"]
    member_api.wait(vol["id"], "available")
    b = member_api("POST", "/backups", json={"backup": {"volume_id": vol["id"]}}).json()["backup"]
    wait_backup(member_api, b["id"], "available")
    before = {v["id"] for v in member_api("GET", "/volumes").json()["volumes"]}

    def create(body: dict, version: str = "3.47"):
        return member_api("POST", "/volumes", version=version, json={"volume": body})

    r = create({"backup_id": b["id"], "size": 1})
    assert r.status_code == 400
    assert r.json()["badRequest"]["message"] == ("Invalid input received: Volume size 1GB cannot be smaller than "
                                                 "the backup size 2GB. It must be >= backup size.")
    r = create({"backup_id": str(uuid.uuid4()), "size": 2})
    assert r.status_code == 404 and "could not be found" in r.json()["itemNotFound"]["message"]
    r = create({"backup_id": b["id"], "size": 2}, version="3.46")
    assert r.status_code == 400 and "3.47" in r.json()["badRequest"]["message"]
    r = create({"backup_id": b["id"], "source_volid": vol["id"], "size": 2})
    assert r.status_code == 400 and "Multiple volume sources" in r.json()["badRequest"]["message"]
    admin_api("POST", f"/backups/{b['id']}/action", json={"os-reset_status": {"status": "error"}})
    r = create({"backup_id": b["id"], "size": 2})
    assert r.status_code == 400
    assert r.json()["badRequest"]["message"] == "Invalid backup: Backup status must be available"
    assert {v["id"] for v in member_api("GET", "/volumes").json()["volumes"]} == before
    assert member_api("GET", "/messages").json()["messages"] == []


def test_a_restore_into_a_new_volume_that_fails_errors_it_with_a_message(vcloud, member, member_api):
    vol = member_api("POST", "/volumes", json={"volume": {"size": 1}}).json()["volume"]
    member_api.wait(vol["id"], "available")
    write(image(vcloud, vol["id"]), 0, os.urandom(2 * MiB))
    b = member_api("POST", "/backups", json={"backup": {"volume_id": vol["id"]}}).json()["backup"]
    wait_backup(member_api, b["id"], "available")
    chunk = next((vcloud.state_dir / "backups" / "volumebackups" / b["id"] / "chunks").iterdir())
    chunk.write_bytes(b"not what was backed up")
    r = member_api("POST", "/volumes", version="3.47", json={"volume": {"backup_id": b["id"]}})
    assert r.status_code == 202, r.text
    vid = r.json()["volume"]["id"]
    assert member_api.wait(vid, "error")
    after = wait_backup(member_api, b["id"], "available")
    assert "checksum" in after["fail_reason"]
    msgs = member_api("GET", "/messages").json()["messages"]
    assert any(m["resource_uuid"] == vid and "restore backup" in m["user_message"] for m in msgs)
    assert member_api("DELETE", f"/volumes/{vid}").status_code == 202
    member_api.wait_gone(vid)
