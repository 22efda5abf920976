"""After a restart no backup stays creating, restoring or deleting and no volume backing-up or
restoring-backup; partial files are removed (messages lost with a process that ran no manager)."""

from __future__ import annotations

import os

from tests.cloud import new_user, start_cloud, stop_cloud
from tests.functional.volume.conftest import VolumeApi
from tests.functional.volume.test_backups import image, usage, wait_backup, wait_backup_gone, write
from tests.functional.volume.test_restart import _managers_reported


def _up(tmp, **env):
    return start_cloud(tmp, services="identity,volume", names=("identity", "volume"), extra_env=env)


def test_backups_left_under_way_are_settled_after_a_restart(tmp_path):
    cloud = _up(tmp_path)
    try:
        user = new_user(cloud, tmp_path)
        api = VolumeApi(cloud, user.token)
        _managers_reported(VolumeApi(cloud, cloud.token()))
        vols = []
        for n in range(3):
            v = api("POST", "/volumes", json={"volume": {"size": 1, "name": f"v{n}"}}).json()["volume"]["id"]
            api.wait(v, "available")
            write(image(cloud, v), 0, os.urandom(1 << 20))
            vols.append(v)
        kept = api("POST", "/backups", json={"backup": {"volume_id": vols[0]}}).json()["backup"]["id"]
        doomed = api("POST", "/backups", json={"backup": {"volume_id": vols[1]}}).json()["backup"]["id"]
        wait_backup(api, kept, "available")
        wait_backup(api, doomed, "available")
    finally:
        stop_cloud(cloud)
    # Without managers (and their backup workers) the casts go nowhere: a create, a restore and
    # a delete are left under way, and a crashed writer's partial directory lies in the store.
    cloud = _up(tmp_path, NUBES_VOLUME__RUN_MANAGERS="false")
    try:
        api = VolumeApi(cloud, user.token)
        made = api("POST", "/backups", json={"backup": {"volume_id": vols[2]}})
        assert made.status_code == 202, made.text
        pending = made.json()["backup"]["id"]
        r = api("POST", f"/backups/{kept}/restore", json={"restore": {"volume_id": vols[1]}})
        assert r.status_code == 202, r.text
        assert api("DELETE", f"/backups/{doomed}").status_code == 202
        assert api("GET", f"/volumes/{vols[2]}").json()["volume"]["status"] == "backing-up"
        assert api("GET", f"/volumes/{vols[1]}").json()["volume"]["status"] == "restoring-backup"
        assert api("GET", f"/backups/{doomed}").json()["backup"]["status"] == "deleting"
    finally:
        stop_cloud(cloud)
    partial = tmp_path / "backups" / "volumebackups" / f".partial-{pending}" / "chunks"
    partial.mkdir(parents=True)
    (partial / "0000000000").write_bytes(b"x" * 100)
    stray = tmp_path / "backups" / "volumebackups" / ".partial-0b0e6c4e-0000-4000-8000-000000000000"
    stray.mkdir()
    cloud = _up(tmp_path)
    try:
        api = VolumeApi(cloud, user.token)
        failed = wait_backup(api, pending, "error")
        assert "restarted" in failed["fail_reason"]
        assert api.wait(vols[2], "available")
        assert wait_backup(api, kept, "available")
        assert api.wait(vols[1], "error_restoring")
        wait_backup_gone(api, doomed)
        assert not partial.parent.exists() and not stray.exists()
        assert not (tmp_path / "backups" / "volumebackups" / doomed).exists()
        assert usage(api, user.project_id) == (2, 2)          # kept and the failed one count
    finally:
        stop_cloud(cloud)
