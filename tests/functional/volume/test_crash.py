"""The all-in-one killed (SIGKILL) right after a burst of creates and of deletes answered 202:
after a restart every volume is available or gone, nothing is left creating or deleting, and the
quota usage counts exactly what is there."""

from __future__ import annotations

import time

from tests.cloud import new_user, start_cloud, stop_cloud
from tests.functional.volume.conftest import VolumeApi


def test_bursts_killed_after_the_202s_converge(tmp_path):
    env = {"NUBES_VOLUME__QUOTA_VOLUMES": "-1"}
    (tmp_path / "state").mkdir()
    cloud = start_cloud(tmp_path / "state", services="identity,volume", names=("identity", "volume"),
                        extra_env=env)
    try:
        user = new_user(cloud, tmp_path)
        api = VolumeApi(cloud, user.token)
        admin = VolumeApi(cloud, cloud.token())
        deadline = time.monotonic() + 30
        while not admin("GET", "/os-services").json()["services"]:
            assert time.monotonic() < deadline, "no volume manager reported"
            time.sleep(0.1)
        kept = [api("POST", "/volumes", json={"volume": {"size": 1}}).json()["volume"]["id"] for _ in range(6)]
        for vid in kept:
            api.wait(vid, "available")
        doomed, kept = kept[:3], kept[3:]
        for vid in doomed:
            assert api("DELETE", f"/volumes/{vid}").status_code == 202
        burst = []
        for _ in range(10):
            r = api("POST", "/volumes", json={"volume": {"size": 2}})
            assert r.status_code == 202, r.text
            burst.append(r.json()["volume"]["id"])
        cloud.proc.kill()
        cloud.proc.wait()
    finally:
        stop_cloud(cloud)
    cloud = start_cloud(tmp_path / "state", services="identity,volume", names=("identity", "volume"),
                        extra_env=env)
    try:
        api = VolumeApi(cloud, user.token)
        for vid in burst + kept:
            api.wait(vid, "available")
        for vid in doomed:
            api.wait_gone(vid)
        listed = api("GET", "/volumes/detail").json()["volumes"]
        assert sorted(v["id"] for v in listed) == sorted(burst + kept)
        usage = api("GET", f"/os-quota-sets/{user.project_id}?usage=true").json()["quota_set"]
        assert (usage["volumes"]["in_use"], usage["gigabytes"]["in_use"]) == (13, 23)
        assert usage["volumes"]["reserved"] == 0
    finally:
        stop_cloud(cloud)
