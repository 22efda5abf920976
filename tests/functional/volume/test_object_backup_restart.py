"""Backups in object storage left under way by a backup worker that stopped: after a restart, a
create cut short is in error with its objects removed (they have no metadata.json: found through
the record), and a delete left under way finishes, removing every object of the backup."""

from __future__ import annotations

import os
import time

from tests.cloud import new_user, start_cloud, stop_cloud
from tests.functional.volume.conftest import VolumeApi
from tests.functional.volume.test_backups import image, wait_backup_gone, write
from tests.functional.volume.test_object_backups import chunk_objects, objects, swift, wait_backup


def _up(tmp, **env):
    cloud = start_cloud(tmp, services="identity,volume,object", names=("identity", "volume", "object"),
                        extra_env=env)
    api = VolumeApi(cloud, cloud.token())
    deadline = time.monotonic() + 30
    while not any(s["binary"] == "cinder-backup" and s["state"] == "up"
                  for s in api("GET", "/os-services").json()["services"]):
        assert time.monotonic() < deadline, "no backup service reported"
        time.sleep(0.1)
    return cloud


def test_object_backups_left_under_way_are_settled_after_a_restart(tmp_path):
    cloud = _up(tmp_path)
    try:
        user = new_user(cloud, tmp_path)
        api = VolumeApi(cloud, user.token)
        vols = []
        for n in range(2):
            v = api("POST", "/volumes", json={"volume": {"size": 1, "name": f"v{n}"}}).json()["volume"]["id"]
            api.wait(v, "available")
            write(image(cloud, v), 0, os.urandom(1 << 20))
            vols.append(v)
        doomed = api("POST", "/backups", json={"backup": {"volume_id": vols[0]}}).json()["backup"]["id"]
        wait_backup(api, doomed, "available")
        assert set(objects(swift(user), doomed)) == chunk_objects(doomed, 0)
    finally:
        stop_cloud(cloud)
    # Without backup workers the casts go nowhere: a create and a delete are left under way, and
    # the objects a crashed create uploaded lie in the owner's account.
    cloud = _up(tmp_path, NUBES_VOLUME__RUN_MANAGERS="false")
    try:
        user.cloud, api = cloud, VolumeApi(cloud, user.token)         # (new ports)
        made = api("POST", "/backups", json={"backup": {"volume_id": vols[1]}})
        assert made.status_code == 202, made.text
        pending = made.json()["backup"]["id"]
        assert api("DELETE", f"/backups/{doomed}").status_code == 202
        conn = swift(user)
        conn.put_object("volumebackups", f"{pending}/chunks/0000000000", b"x" * 100)
        assert set(objects(conn, pending)) == {f"{pending}/chunks/0000000000"}
    finally:
        stop_cloud(cloud)
    cloud = _up(tmp_path)
    try:
        user.cloud, api = cloud, VolumeApi(cloud, user.token)
        failed = wait_backup(api, pending, "error")
        assert "restarted" in failed["fail_reason"]
        assert api.wait(vols[1], "available")
        wait_backup_gone(api, doomed)
        assert swift(user).get_container("volumebackups")[1] == []
    finally:
        stop_cloud(cloud)
