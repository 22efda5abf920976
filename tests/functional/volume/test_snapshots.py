"""Snapshots through the openstack CLI and raw HTTP: create, list, show, set, metadata, delete;
a volume with snapshots is not deleted; quotas count them."""

from __future__ import annotations


def test_snapshot_lifecycle(vcloud, member, member_api):
    v = member.osc("volume", "create", "--size", "2", "snapped")
    member_api.wait(v["id"], "available")
    snap = member.osc("volume", "snapshot", "create", "--volume", "snapped", "--property", "k=v", "snap-1")
    assert snap["volume_id"] == v["id"] and snap["size"] == 2
    deadline_snap = _wait_snapshot(member_api, snap["id"], "available")
    assert deadline_snap["metadata"] == {"k": "v"}
    listed = member.osc("volume", "snapshot", "list")
    assert [s["ID"] for s in listed] == [snap["id"]]
    member.osc("volume", "snapshot", "set", "--name", "snap-2", "--property", "x=y", snap["id"], json_out=False)
    shown = member.osc("volume", "snapshot", "show", snap["id"])
    assert shown["name"] == "snap-2" and shown["properties"] == {"k": "v", "x": "y"}
    usage = member_api("GET", f"/os-quota-sets/{member.project_id}?usage=true").json()["quota_set"]
    assert usage["snapshots"]["in_use"] == 1 and usage["gigabytes"]["in_use"] == 4
    # a volume with snapshots is not deleted
    refused = member_api("DELETE", f"/volumes/{v['id']}")
    assert refused.status_code == 400 and "snapshots" in refused.json()["badRequest"]["message"]
    member.osc("volume", "snapshot", "delete", snap["id"], json_out=False)
    _wait_snapshot_gone(member_api, snap["id"])
    usage = member_api("GET", f"/os-quota-sets/{member.project_id}?usage=true").json()["quota_set"]
    assert usage["snapshots"]["in_use"] == 0 and usage["gigabytes"]["in_use"] == 2
    member.osc("volume", "delete", v["id"], json_out=False)
    member_api.wait_gone(v["id"])


def test_snapshot_bad_input(vcloud, member, member_api):
    r = member_api("POST", "/snapshots", json={"snapshot": {"volume_id": "00000000-0000-0000-0000-000000000000"}})
    assert r.status_code == 404 and "itemNotFound" in r.json()
    vcloud.osc("volume", "type", "create", "--property", "volume_backend_name=nowhere", "snap-nowhere",
               json_out=False)
    try:
        vid = member_api("POST", "/volumes", json={"volume": {"size": 1, "volume_type": "snap-nowhere"}}).json()[
            "volume"]["id"]
        member_api.wait(vid, "error")
        r = member_api("POST", "/snapshots", json={"snapshot": {"volume_id": vid}})
        assert r.status_code == 400 and "status must be available" in r.json()["badRequest"]["message"]
        usage = member_api("GET", f"/os-quota-sets/{member.project_id}?usage=true").json()["quota_set"]
        assert usage["snapshots"]["in_use"] == 0
        assert member_api("DELETE", f"/volumes/{vid}").status_code == 202
        member_api.wait_gone(vid)
    finally:
        vcloud.osc("volume", "type", "delete", "snap-nowhere", json_out=False)
    vcloud.osc("quota", "set", "--snapshots", "0", member.project_id, json_out=False)
    vid = member_api("POST", "/volumes", json={"volume": {"size": 1}}).json()["volume"]["id"]
    member_api.wait(vid, "available")
    r = member_api("POST", "/snapshots", json={"snapshot": {"volume_id": vid}})
    assert r.status_code == 413 and "SnapshotLimitExceeded" in r.json()["overLimit"]["message"]
    assert member_api("GET", "/snapshots").json()["snapshots"] == []
    assert member_api("DELETE", f"/volumes/{vid}").status_code == 202


def _wait_snapshot(api, snapshot_id: str, status: str) -> dict:
    import time

    deadline = time.monotonic() + 30
    while True:
        snap = api("GET", f"/snapshots/{snapshot_id}").json()["snapshot"]
        if snap["status"] == status or time.monotonic() > deadline:
            assert snap["status"] == status, snap
            return snap
        time.sleep(0.05)


def _wait_snapshot_gone(api, snapshot_id: str) -> None:
    import time

    deadline = time.monotonic() + 30
    while api("GET", f"/snapshots/{snapshot_id}").status_code != 404:
        assert time.monotonic() < deadline
        time.sleep(0.05)


def test_cascade_delete_takes_the_snapshots_along(member, member_api):
    vid = member_api("POST", "/volumes", json={"volume": {"size": 1}}).json()["volume"]["id"]
    member_api.wait(vid, "available")
    snaps = [member_api("POST", "/snapshots", json={"snapshot": {"volume_id": vid}}).json()["snapshot"]["id"]
             for _ in range(2)]
    for sid in snaps:
        _wait_snapshot(member_api, sid, "available")
    assert member_api("DELETE", f"/volumes/{vid}?cascade=true").status_code == 202
    member_api.wait_gone(vid)
    for sid in snaps:
        _wait_snapshot_gone(member_api, sid)
    usage = member_api("GET", f"/os-quota-sets/{member.project_id}?usage=true").json()["quota_set"]
    assert (usage["volumes"]["in_use"], usage["snapshots"]["in_use"], usage["gigabytes"]["in_use"]) == (0, 0, 0)
