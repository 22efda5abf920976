"""After a restart nothing stays creating or deleting: the volume managers finish what their
previous run had been sent (here: messages lost with a process that ran no manager)."""

from __future__ import annotations

import time

from tests.cloud import new_user, start_cloud, stop_cloud
from tests.functional.volume.conftest import VolumeApi


def _up(tmp, **env):
    return start_cloud(tmp, services="identity,volume", names=("identity", "volume"), extra_env=env)


def _managers_reported(api: VolumeApi) -> None:
    deadline = time.monotonic() + 30
    while not any(s["state"] == "up" for s in api("GET", "/os-services").json()["services"]):
        assert time.monotonic() < deadline, "no volume manager reported"
        time.sleep(0.1)


def test_creates_and_deletes_left_under_way_are_finished_after_a_restart(tmp_path):
    cloud = _up(tmp_path)
    try:
        user = new_user(cloud, tmp_path)
        api = VolumeApi(cloud, user.token)
        _managers_reported(VolumeApi(cloud, cloud.token()))
        doomed = api("POST", "/volumes", json={"volume": {"size": 1, "name": "doomed"}}).json()["volume"]["id"]
        api.wait(doomed, "available")
    finally:
        stop_cloud(cloud)
    # The same cloud without its managers: the scheduler still sees the backend (its last report
    # is recent) and sends the create to a manager nobody runs; the delete goes the same way.
    cloud = _up(tmp_path, NUBES_VOLUME__RUN_MANAGERS="false")
    try:
        api = VolumeApi(cloud, user.token)
        pending = api("POST", "/volumes", json={"volume": {"size": 2, "name": "pending"}}).json()["volume"]["id"]
        deadline = time.monotonic() + 30
        while api("GET", f"/volumes/{pending}").json()["volume"]["status"] != "creating" or \
                VolumeApi(cloud, cloud.token())("GET", f"/volumes/{pending}").json()["volume"][
                    "os-vol-host-attr:host"] is None:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert api("DELETE", f"/volumes/{doomed}").status_code == 202
        assert api("GET", f"/volumes/{doomed}").json()["volume"]["status"] == "deleting"
    finally:
        stop_cloud(cloud)
    cloud = _up(tmp_path)
    try:
        api = VolumeApi(cloud, user.token)
        assert api.wait(pending, "available")["size"] == 2
        api.wait_gone(doomed)
        usage = api("GET", f"/os-quota-sets/{user.project_id}?usage=true").json()["quota_set"]
        assert (usage["volumes"]["in_use"], usage["gigabytes"]["in_use"]) == (1, 2)
        statuses = {v["status"] for v in api("GET", "/volumes/detail").json()["volumes"]}
        assert statuses == {"available"}
    finally:
        stop_cloud(cloud)
