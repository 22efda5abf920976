"""Volume transfers between projects through the openstack CLI and raw HTTP."""

from __future__ import annotations

import time

from tests.cloud import new_user
from tests.functional.volume.conftest import VolumeApi


def quota(api: VolumeApi, project_id: str, resource: str) -> int:
    q = api("GET", f"/os-quota-sets/{project_id}?usage=true").json()["quota_set"][resource]
    return q["in_use"] + q["reserved"]


def wait_snapshot(api: VolumeApi, snapshot_id: str) -> None:
    deadline = time.monotonic() + 30
    while api("GET", f"/snapshots/{snapshot_id}").json()["snapshot"]["status"] != "available":
        assert time.monotonic() < deadline
        time.sleep(0.05)


def test_transfer_request_create_accept_moves_volume_snapshots_and_quota(vcloud, member, member_api, tmp_path):
    receiver = new_user(vcloud, tmp_path)
    rapi = VolumeApi(vcloud, receiver.token)
    vol = member.osc("volume", "create", "--size", "3", "gift")
    member_api.wait(vol["id"], "available")
    snap = member.osc("volume", "snapshot", "create", "--volume", vol["id"], "gift-snap")
    wait_snapshot(member_api, snap["id"])

    t = member.osc("volume", "transfer", "request", "create", "--name", "give", vol["id"])
    assert t["auth_key"] and t["volume_id"] == vol["id"]
    assert member_api("GET", f"/volumes/{vol['id']}").json()["volume"]["status"] == "awaiting-transfer"
    assert member_api("DELETE", f"/volumes/{vol['id']}").status_code == 400
    listed = member.osc("volume", "transfer", "request", "list")
    assert [x["ID"] for x in listed] == [t["id"]]
    shown = member.osc("volume", "transfer", "request", "show", t["id"])
    assert "auth_key" not in shown and shown["name"] == "give"
    # the receiver does not see it, and a wrong key is Cinder's 400
    assert rapi("GET", f"/volume-transfers/{t['id']}").status_code == 404
    r = rapi("POST", f"/volume-transfers/{t['id']}/accept", json={"accept": {"auth_key": "wrong"}})
    assert r.status_code == 400
    assert r.json()["badRequest"]["message"] == f"Invalid auth key: Attempt to transfer {t['id']} with invalid auth key."
    # over the receiver's quota: 413, nothing moves
    vcloud.osc("quota", "set", "--gigabytes", "2", receiver.project_id, json_out=False)
    r = rapi("POST", f"/volume-transfers/{t['id']}/accept", json={"accept": {"auth_key": t["auth_key"]}})
    assert r.status_code == 413, r.text
    assert member_api("GET", f"/volumes/{vol['id']}").json()["volume"]["status"] == "awaiting-transfer"
    assert (quota(member_api, member.project_id, "gigabytes"), quota(rapi, receiver.project_id, "gigabytes")) == (6, 0)
    vcloud.osc("quota", "set", "--gigabytes", "100", receiver.project_id, json_out=False)

    accepted = receiver.osc("volume", "transfer", "request", "accept", "--auth-key", t["auth_key"], t["id"])
    assert accepted["volume_id"] == vol["id"]
    assert rapi("GET", f"/volumes/{vol['id']}").json()["volume"]["status"] == "available"
    assert member_api("GET", f"/volumes/{vol['id']}").status_code == 404
    assert rapi("GET", f"/snapshots/{snap['id']}").status_code == 200       # the snapshot went along
    assert (quota(member_api, member.project_id, "volumes"), quota(member_api, member.project_id, "gigabytes"),
            quota(member_api, member.project_id, "snapshots")) == (0, 0, 0)
    assert (quota(rapi, receiver.project_id, "volumes"), quota(rapi, receiver.project_id, "gigabytes"),
            quota(rapi, receiver.project_id, "snapshots")) == (1, 6, 1)
    assert member.osc("volume", "transfer", "request", "list") == []
    # accepted once: the transfer is gone
    r = rapi("POST", f"/volume-transfers/{t['id']}/accept", json={"accept": {"auth_key": t["auth_key"]}})
    assert r.status_code == 404


def test_no_snapshots_legacy_path_and_delete(vcloud, member, member_api, tmp_path):
    receiver = new_user(vcloud, tmp_path)
    rapi = VolumeApi(vcloud, receiver.token)
    vol = member_api("POST", "/volumes", json={"volume": {"size": 1}}).json()["volume"]
    member_api.wait(vol["id"], "available")
    snap = member_api("POST", "/snapshots", json={"snapshot": {"volume_id": vol["id"]}}).json()["snapshot"]
    wait_snapshot(member_api, snap["id"])
    # the legacy path: no no_snapshots there
    r = member_api("POST", "/os-volume-transfer", json={"transfer": {"volume_id": vol["id"], "no_snapshots": True}})
    assert r.status_code == 400
    assert member_api("POST", "/volume-transfers", version="3.54",
                      json={"transfer": {"volume_id": vol["id"]}}).status_code == 404
    legacy = member_api("POST", "/os-volume-transfer", version="3.0", json={"transfer": {"volume_id": vol["id"]}})
    assert legacy.status_code == 202 and "no_snapshots" not in legacy.json()["transfer"]
    tid = legacy.json()["transfer"]["id"]
    again = member_api("POST", "/os-volume-transfer", json={"transfer": {"volume_id": vol["id"]}})
    assert again.status_code == 400                      # awaiting-transfer already
    assert member_api("GET", "/os-volume-transfer/detail").json()["transfers"][0]["id"] == tid
    assert member_api("DELETE", f"/os-volume-transfer/{tid}").status_code == 202
    assert member_api("GET", f"/volumes/{vol['id']}").json()["volume"]["status"] == "available"
    assert member_api("GET", f"/os-volume-transfer/{tid}").status_code == 404

    t = member_api("POST", "/volume-transfers", json={"transfer": {"volume_id": vol["id"], "no_snapshots": True}})
    assert t.status_code == 202 and t.json()["transfer"]["no_snapshots"] is True
    t = t.json()["transfer"]
    r = rapi("POST", f"/volume-transfers/{t['id']}/accept", json={"accept": {"auth_key": t["auth_key"]}})
    assert r.status_code == 202, r.text
    assert rapi("GET", f"/volumes/{vol['id']}").status_code == 200
    assert member_api("GET", f"/snapshots/{snap['id']}").status_code == 200      # kept by the giver
    assert quota(member_api, member.project_id, "snapshots") == 1
    assert quota(rapi, receiver.project_id, "snapshots") == 0
    assert member_api("POST", "/volume-transfers", json={"transfer": {"volume_id": "nope"}}).status_code == 404
    assert member_api("POST", "/volume-transfers", json={"transfer": {}}).status_code == 400
