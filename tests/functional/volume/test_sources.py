"""Volumes made from a snapshot or a volume (a clone), through the openstack CLI and raw HTTP: on
the source's backend, at least the source's size; bad sources refused with nothing written."""

from __future__ import annotations

from tests.functional.volume.test_snapshots import _wait_snapshot


def _usage(api, project_id):
    q = api("GET", f"/os-quota-sets/{project_id}?usage=true").json()["quota_set"]
    return q["volumes"]["in_use"], q["gigabytes"]["in_use"], q["snapshots"]["in_use"]


def test_clone_and_volume_from_snapshot_with_openstack_cli(vcloud, member, member_api, admin_api):
    src = member.osc("volume", "create", "--size", "2", "--bootable", "origin")
    member_api.wait(src["id"], "available")
    snap = member.osc("volume", "snapshot", "create", "--volume", src["id"], "origin-snap")
    _wait_snapshot(member_api, snap["id"], "available")
    from_snap = member.osc("volume", "create", "--snapshot", snap["id"], "from-snap")
    assert from_snap["snapshot_id"] == snap["id"] and from_snap["size"] == 2
    clone = member.osc("volume", "create", "--source", src["id"], "--size", "3", "clone")
    assert clone["source_volid"] == src["id"] and clone["size"] == 3
    for v in (from_snap, clone):
        got = member_api.wait(v["id"], "available")
        assert got["bootable"] == "true"
        host = admin_api("GET", f"/volumes/{v['id']}").json()["volume"]["os-vol-host-attr:host"]
        assert host == admin_api("GET", f"/volumes/{src['id']}").json()["volume"]["os-vol-host-attr:host"]
    assert _usage(member_api, member.project_id) == (3, 9, 1)      # the snapshot counts too
    for v in (from_snap, clone):
        member.osc("volume", "delete", v["id"], json_out=False)
        member_api.wait_gone(v["id"])
    member.osc("volume", "delete", "--purge", src["id"], json_out=False)
    member_api.wait_gone(src["id"])
    assert _usage(member_api, member.project_id) == (0, 0, 0)


def test_bad_sources_leave_nothing(vcloud, member, member_api):
    vid = member_api("POST", "/volumes", json={"volume": {"size": 2}}).json()["volume"]["id"]
    member_api.wait(vid, "available")
    sid = member_api("POST", "/snapshots", json={"snapshot": {"volume_id": vid}}).json()["snapshot"]["id"]
    _wait_snapshot(member_api, sid, "available")
    before = _usage(member_api, member.project_id)
    cases = [
        ({"size": 1, "source_volid": vid}, 400, "cannot be smaller than original volume size 2GB"),
        ({"size": 1, "snapshot_id": sid}, 400, "cannot be smaller than the snapshot size 2GB"),
        ({"size": 2, "snapshot_id": "00000000-0000-0000-0000-000000000000"}, 404, "could not be found"),
        ({"size": 2, "source_volid": "00000000-0000-0000-0000-000000000000"}, 404, "could not be found"),
        ({"size": 2, "source_volid": vid, "snapshot_id": sid}, 400, "Multiple volume sources"),
        ({"size": 2, "source_volid": vid, "availability_zone": "elsewhere"}, 400, "vailability zone"),
        ({"size": None}, 400, "size"),
    ]
    for body, status, text in cases:
        r = member_api("POST", "/volumes", json={"volume": body})
        assert r.status_code == status, (body, r.text)
        (fault,) = r.json().values()
        assert text in fault["message"], (body, fault)
    # an errored source, and a snapshot that is not available
    vcloud.osc("volume", "set", "--state", "error", vid, json_out=False)
    r = member_api("POST", "/volumes", json={"volume": {"size": 2, "source_volid": vid}})
    assert r.status_code == 400 and "Invalid volume" in r.json()["badRequest"]["message"], r.text
    vcloud.osc("volume", "snapshot", "set", "--state", "error", sid, json_out=False)
    r = member_api("POST", "/volumes", json={"volume": {"size": 2, "snapshot_id": sid}})
    assert r.status_code == 400 and "Originating snapshot status must be one of 'available'" in r.text
    assert [v["id"] for v in member_api("GET", "/volumes").json()["volumes"]] == [vid]
    assert _usage(member_api, member.project_id) == before
    # without size, a clone takes its source's
    vcloud.osc("volume", "set", "--state", "available", vid, json_out=False)
    r = member_api("POST", "/volumes", json={"volume": {"size": None, "source_volid": vid}})
    assert r.status_code == 202 and r.json()["volume"]["size"] == 2
    member_api.wait(r.json()["volume"]["id"], "available")
    assert member_api("DELETE", f"/volumes/{r.json()['volume']['id']}").status_code == 202
    assert member_api("DELETE", f"/volumes/{vid}?cascade=true").status_code == 202


def test_a_clone_stays_on_its_source_backend_when_another_has_more_room(tmp_path):
    import time

    from tests.cloud import new_user, start_cloud, stop_cloud
    from tests.functional.volume.conftest import VolumeApi

    cloud = start_cloud(tmp_path, services="identity,volume", names=("identity", "volume"),
                        extra_env={"NUBES_VOLUME__BACKENDS": "fast:fake,slow:fake"})
    try:
        admin = VolumeApi(cloud, cloud.token())
        deadline = time.monotonic() + 30
        while len([s for s in admin("GET", "/os-services").json()["services"] if s["binary"] == "cinder-volume"]) < 2:
            assert time.monotonic() < deadline, "both volume managers did not report"
            time.sleep(0.1)
        user = new_user(cloud, tmp_path)
        api = VolumeApi(cloud, user.token)

        def host(vid):
            return admin("GET", f"/volumes/{vid}").json()["volume"]["os-vol-host-attr:host"]

        src = api("POST", "/volumes", json={"volume": {"size": 50}}).json()["volume"]["id"]
        api.wait(src, "available")
        blank = api("POST", "/volumes", json={"volume": {"size": 1}}).json()["volume"]["id"]
        api.wait(blank, "available")
        assert host(blank) != host(src)          # the weigher sends a blank volume to the roomier backend
        clone = api("POST", "/volumes", json={"volume": {"size": 50, "source_volid": src}}).json()["volume"]["id"]
        api.wait(clone, "available")
        assert host(clone) == host(src)
    finally:
        stop_cloud(cloud)
