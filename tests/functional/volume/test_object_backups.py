"""Backups kept in object storage: an all-in-one with block and object storage, where
``[volume] backup_store = "auto"`` puts them in the owner's account (``AUTH_<project>``, container
``volumebackups``), which python-swiftclient shows; full and incremental, restore, delete, a
chunk object overwritten through the Swift API, and an export/import of a record."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import time
import uuid

import pytest
from swiftclient.client import Connection

from nubes.volume.backup.store import chunk_name
from tests.cloud import User, new_user, start_cloud, stop_cloud
from tests.functional.volume.conftest import VolumeApi
from tests.functional.volume.test_backups import MiB, digest, image, wait_backup_gone, write

SERVICES = ("identity", "volume", "object")


@pytest.fixture(scope="module")
def ocloud(tmp_path_factory):
    c = start_cloud(tmp_path_factory.mktemp("vob"), services=",".join(SERVICES), names=SERVICES)
    api = VolumeApi(c, c.token())
    deadline = time.monotonic() + 30
    while "cinder-backup" not in {s["binary"] for s in api("GET", "/os-services").json().get("services", [])}:
        assert time.monotonic() < deadline, "no backup service reported"
        time.sleep(0.1)
    yield c
    stop_cloud(c)


def wait_backup(api: VolumeApi, backup_id: str, status: str, timeout: float = 60) -> dict:
    """The backup once no work is under way on it, which must have left it ``status`` (a failure
    fails at once, with its reason)."""
    deadline = time.monotonic() + timeout
    while True:
        r = api("GET", f"/backups/{backup_id}")
        assert r.status_code == 200, r.text
        b = r.json()["backup"]
        if b["status"] not in ("creating", "restoring", "deleting"):
            assert b["status"] == status, b
            return b
        assert time.monotonic() < deadline, b
        time.sleep(0.05)


def swift(user: User) -> Connection:
    """python-swiftclient as the user, authenticated through identity (v3)."""
    return Connection(authurl=user.cloud.auth_url, user=user.name, key=user.password, auth_version="3",
                      os_options={"project_name": user.project_name, "user_domain_id": "default",
                                  "project_domain_id": "default"}, retries=0)


def objects(conn: Connection, backup_id: str) -> dict[str, dict]:
    _headers, listing = conn.get_container("volumebackups", prefix=f"{backup_id}/", full_listing=True)
    return {o["name"]: o for o in listing}


def chunk_objects(backup_id: str, *indexes: int) -> set[str]:
    return {f"{backup_id}/chunks/{chunk_name(i)}" for i in indexes} | {f"{backup_id}/metadata.json"}


def new_volume(user: User, api: VolumeApi, name: str, size: int = 1) -> str:
    vid = user.osc("volume", "create", "--size", str(size), name)["id"]
    api.wait(vid, "available")
    return vid


def test_full_and_incremental_backups_live_in_the_owners_account(ocloud, tmp_path):
    member = new_user(ocloud, tmp_path)
    api = VolumeApi(ocloud, member.token)
    vid = new_volume(member, api, "data")
    src = image(ocloud, vid)
    write(src, 0, os.urandom(6 * MiB))               # chunks 0 and 1 (4 MiB chunks)
    write(src, 700 * MiB, b"tail" * 1000)            # chunk 175
    original = digest(src)

    full = member.osc("volume", "backup", "create", "--name", "full", vid)
    b = wait_backup(api, full["id"], "available")
    assert (b["container"], b["object_count"], b["is_incremental"]) == ("volumebackups", 3, False)
    conn = swift(member)
    stored = objects(conn, full["id"])
    assert set(stored) == chunk_objects(full["id"], 0, 1, 175)
    assert stored[f"{full['id']}/chunks/{chunk_name(1)}"]["bytes"] == 4 * MiB
    _h, raw = conn.get_object("volumebackups", f"{full['id']}/metadata.json")
    meta = json.loads(raw)
    assert meta["accounts"] == {full["id"]: f"AUTH_{member.project_id}"}
    assert [c[0] for c in meta["chunks"]] == [0, 1, 175]
    assert not any((ocloud.state_dir / "backups").glob(f"*/{full['id']}"))     # not in the directory

    write(src, 5 * MiB, b"changed")
    changed = digest(src)
    inc = member.osc("volume", "backup", "create", "--incremental", "--name", "inc", vid)
    b = wait_backup(api, inc["id"], "available")
    assert (b["is_incremental"], b["object_count"]) == (True, 1)
    assert set(objects(conn, inc["id"])) == chunk_objects(inc["id"], 1)

    restored = member.osc("volume", "backup", "restore", inc["id"], "copy")
    api.wait(restored["volume_id"], "available")
    wait_backup(api, inc["id"], "available")
    assert digest(image(ocloud, restored["volume_id"])) == changed
    other = new_volume(member, api, "other")
    write(image(ocloud, other), 3 * MiB, b"junk" * 100)
    member.osc("volume", "backup", "restore", "--force", full["id"], other)
    api.wait(other, "available")
    wait_backup(api, full["id"], "available")
    assert digest(image(ocloud, other), 1 << 30) == original

    # another project sees nothing of it
    stranger = swift(new_user(ocloud, tmp_path))
    assert stranger.get_account()[1] == []

    member.osc("volume", "backup", "delete", "inc", json_out=False)
    wait_backup_gone(api, inc["id"])
    assert objects(conn, inc["id"]) == {}
    assert set(objects(conn, full["id"])) == chunk_objects(full["id"], 0, 1, 175)
    member.osc("volume", "backup", "delete", "full", json_out=False)
    wait_backup_gone(api, full["id"])
    assert conn.get_container("volumebackups")[1] == []


def test_a_corrupt_chunk_object_fails_the_restore_and_loses_nothing(ocloud, tmp_path):
    member = new_user(ocloud, tmp_path)
    api = VolumeApi(ocloud, member.token)
    vid = new_volume(member, api, "data")
    write(image(ocloud, vid), 0, os.urandom(8 * MiB))
    original = digest(image(ocloud, vid))
    bid = member.osc("volume", "backup", "create", vid)["id"]
    wait_backup(api, bid, "available")
    conn = swift(member)
    name = f"{bid}/chunks/{chunk_name(1)}"
    _h, good = conn.get_object("volumebackups", name)
    conn.put_object("volumebackups", name, good[:-1] + bytes([good[-1] ^ 1]))      # one bit flipped

    target = new_volume(member, api, "target")
    member.osc("volume", "backup", "restore", "--force", bid, target)
    assert api.wait(target, "error_restoring")["status"] == "error_restoring"
    after = wait_backup(api, bid, "available")
    assert "chunk 1" in after["fail_reason"] and "checksum" in after["fail_reason"]
    msgs = api("GET", "/messages").json()["messages"]
    assert any(m["resource_uuid"] == target and "restore backup" in m["user_message"] for m in msgs)
    assert set(objects(conn, bid)) == chunk_objects(bid, 0, 1)                     # nothing removed

    # the chunk put back, the same backup restores whole into a new volume
    conn.put_object("volumebackups", name, good)
    restored = member.osc("volume", "backup", "restore", bid, "again")
    api.wait(restored["volume_id"], "available")
    assert digest(image(ocloud, restored["volume_id"])) == original


def test_an_exported_record_names_the_account_and_imports_from_it(ocloud, tmp_path):
    member = new_user(ocloud, tmp_path)
    api, admin = VolumeApi(ocloud, member.token), VolumeApi(ocloud, ocloud.token())
    vid = new_volume(member, api, "data")
    write(image(ocloud, vid), 2 * MiB, os.urandom(MiB))
    bid = member.osc("volume", "backup", "create", vid)["id"]
    wait_backup(api, bid, "available")
    record = ocloud.osc("volume", "backup", "record", "export", bid)
    assert record["backup_service"] == "nubes.volume.backup.swift"
    fields = json.loads(base64.b64decode(record["backup_url"]))
    assert (fields["account"], fields["container"]) == (f"AUTH_{member.project_id}", "volumebackups")

    # the same objects under another backup id (as if the record had been lost): its import finds
    # them in the member's account through the record, checks them, and restores from them
    conn = swift(member)
    copy = str(uuid.uuid4())
    _h, raw = conn.get_object("volumebackups", f"{bid}/metadata.json")
    meta = json.loads(raw)
    for index, _sha, _holder in meta["chunks"]:
        conn.put_object("volumebackups", f"{copy}/chunks/{chunk_name(index)}",
                        conn.get_object("volumebackups", f"{bid}/chunks/{chunk_name(index)}")[1])
    meta.update(backup_id=copy, chunks=[[i, sha, copy] for i, sha, _h in meta["chunks"]],
                containers={copy: "volumebackups"}, accounts={copy: fields["account"]})
    new_raw = json.dumps(meta).encode()
    url = base64.b64encode(json.dumps({**fields, "id": copy,
                                       "checksum": hashlib.sha256(new_raw).hexdigest()}).encode()).decode()
    import_body = {"backup-record": {"backup_service": record["backup_service"], "backup_url": url}}
    r = admin("POST", "/backups/import_record", json=import_body)
    assert r.status_code == 400 and "has no metadata object" in r.json()["badRequest"]["message"]
    conn.put_object("volumebackups", f"{copy}/metadata.json", new_raw)
    wrong = base64.b64encode(json.dumps({**fields, "id": copy, "account": "AUTH_nobody"}).encode()).decode()
    r = admin("POST", "/backups/import_record", json={"backup-record": {
        "backup_service": record["backup_service"], "backup_url": wrong}})
    assert r.status_code == 400, r.text
    r = admin("POST", "/backups/import_record", json=import_body)
    assert r.status_code == 201, r.text
    imported = wait_backup(admin, copy, "available")
    assert imported["object_count"] == 1

    target = new_volume(ocloud, admin, "imported")           # the importer's project: admin's
    ocloud.osc("volume", "backup", "restore", "--force", copy, target)
    admin.wait(target, "available")
    assert digest(image(ocloud, target)) == digest(image(ocloud, vid))
    ocloud.osc("volume", "backup", "delete", copy, json_out=False)
    wait_backup_gone(admin, copy)
    assert objects(conn, copy) == {} and set(objects(conn, bid)) == chunk_objects(bid, 0)
