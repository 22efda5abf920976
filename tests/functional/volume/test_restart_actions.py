"""After a restart no volume stays cloning, extending, reverting or uploading: the managers finish
(or, for an upload, undo) what their previous run had been sent (here: messages lost with a
process that ran no manager), and the quota usage comes out exact."""

from __future__ import annotations

import time

from tests.cloud import new_user, start_cloud, stop_cloud
from tests.functional.volume.conftest import VolumeApi
from tests.functional.volume.test_restart import _managers_reported
from tests.functional.volume.test_snapshots import _wait_snapshot


def _up(tmp, **env):
    return start_cloud(tmp, services="identity,image,volume", names=("identity", "image", "volume"),
                       extra_env=env)


def _act(api, vid, action, arg, **kw):
    r = api("POST", f"/volumes/{vid}/action", json={action: arg}, **kw)
    assert r.status_code == 202, r.text
    return r


def test_tasks_left_under_way_are_finished_after_a_restart(tmp_path):
    (tmp_path / "volumes" / "fake").mkdir(parents=True)       # the fake backend keeps its volumes there
    cloud = _up(tmp_path)
    try:
        user = new_user(cloud, tmp_path)
        api = VolumeApi(cloud, user.token)
        _managers_reported(VolumeApi(cloud, cloud.token()))
        ids = {n: api("POST", "/volumes", json={"volume": {"size": 1, "name": n}}).json()["volume"]["id"]
               for n in ("grow", "source", "back", "up")}
        for vid in ids.values():
            api.wait(vid, "available")
        snap = api("POST", "/snapshots", json={"snapshot": {"volume_id": ids["back"]}}).json()["snapshot"]["id"]
        _wait_snapshot(api, snap, "available")
    finally:
        stop_cloud(cloud)
    cloud = _up(tmp_path, NUBES_VOLUME__RUN_MANAGERS="false")
    try:
        api = VolumeApi(cloud, user.token)
        admin = VolumeApi(cloud, cloud.token())
        _act(api, ids["grow"], "os-extend", {"new_size": 3})
        _act(api, ids["back"], "revert", {"snapshot_id": snap})
        upload = _act(api, ids["up"], "os-volume_upload_image", {"image_name": "half", "disk_format": "qcow2"})
        image_id = upload.json()["os-volume_upload_image"]["image_id"]
        clone = api("POST", "/volumes", json={"volume": {"size": 2, "source_volid": ids["source"]}}).json()["volume"]["id"]
        deadline = time.monotonic() + 30
        while admin("GET", f"/volumes/{clone}").json()["volume"]["os-vol-host-attr:host"] is None:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        statuses = {n: api("GET", f"/volumes/{v}").json()["volume"]["status"] for n, v in ids.items()}
        assert statuses == {"grow": "extending", "source": "available", "back": "reverting", "up": "uploading"}
        quota = api("GET", f"/os-quota-sets/{user.project_id}?usage=true").json()["quota_set"]["gigabytes"]
        assert (quota["in_use"], quota["reserved"]) == (7, 2)      # 4 volumes, a snapshot, the clone; the extend
    finally:
        stop_cloud(cloud)
    cloud = _up(tmp_path)
    try:
        api = VolumeApi(cloud, user.token)
        assert api.wait(ids["grow"], "available")["size"] == 3
        api.wait(ids["back"], "available")
        api.wait(ids["up"], "available")
        assert api.wait(clone, "available")["size"] == 2
        assert _wait_snapshot(api, snap, "available")["status"] == "available"
        quota = api("GET", f"/os-quota-sets/{user.project_id}?usage=true").json()["quota_set"]["gigabytes"]
        assert (quota["in_use"], quota["reserved"]) == (9, 0)
        # the half-made image went with the upload it was for
        assert user.osc("image", "show", image_id, check=False).returncode != 0
        staging = tmp_path / "volumes" / "fake.staging"
        assert not staging.exists() or list(staging.iterdir()) == []
    finally:
        stop_cloud(cloud)
