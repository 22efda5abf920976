"""The legacy attach actions (os-reserve ... os-force_detach) against the fake backend."""

from __future__ import annotations

import uuid

CONNECTOR = {"host": "compute-1", "ip": "127.0.0.1"}


def _act(api, vid, action, arg=None, **kw):
    return api("POST", f"/volumes/{vid}/action", json={action: arg}, **kw)


def _status(api, vid):
    return api("GET", f"/volumes/{vid}").json()["volume"]["status"]


def test_legacy_attach_and_detach(vcloud, member, member_api, admin_api):
    vid = member_api("POST", "/volumes", json={"volume": {"size": 1}}).json()["volume"]["id"]
    member_api.wait(vid, "available")
    assert _act(member_api, vid, "os-reserve").status_code == 202 and _status(member_api, vid) == "attaching"
    assert _act(member_api, vid, "os-unreserve").status_code == 202 and _status(member_api, vid) == "available"
    assert _act(member_api, vid, "os-reserve").status_code == 202
    r = _act(member_api, vid, "os-initialize_connection", {"connector": CONNECTOR})
    assert r.status_code == 200 and r.json()["connection_info"]["driver_volume_type"] == "fake"
    server = str(uuid.uuid4())
    r = _act(member_api, vid, "os-attach", {"instance_uuid": server, "mountpoint": "/dev/vdb", "mode": "rw"})
    assert r.status_code == 202, r.text
    vol = member_api("GET", f"/volumes/{vid}").json()["volume"]
    assert vol["status"] == "in-use" and [(a["server_id"], a["device"]) for a in vol["attachments"]] == [
        (server, "/dev/vdb")]
    # a second reserve of a single-attach, attached volume is refused
    r = _act(member_api, vid, "os-reserve")
    assert r.status_code == 400 and "badRequest" in r.json()
    assert _act(member_api, vid, "os-begin_detaching").status_code == 202 and _status(member_api, vid) == "detaching"
    assert _act(member_api, vid, "os-roll_detaching").status_code == 202 and _status(member_api, vid) == "in-use"
    assert _act(member_api, vid, "os-begin_detaching").status_code == 202
    assert _act(member_api, vid, "os-terminate_connection", {"connector": CONNECTOR}).status_code == 202
    att_id = vol["attachments"][0]["attachment_id"]
    assert _act(member_api, vid, "os-detach", {"attachment_id": att_id}).status_code == 202
    vol = member_api("GET", f"/volumes/{vid}").json()["volume"]
    assert vol["status"] == "available" and vol["attachments"] == []
    # force detach: admin only; it removes the attachment and the export
    _act(member_api, vid, "os-attach", {"instance_uuid": server, "mountpoint": "/dev/vdb"})
    assert _act(member_api, vid, "os-force_detach", {}).status_code == 403
    assert _act(admin_api, vid, "os-force_detach", {"connector": CONNECTOR}).status_code == 202
    assert _status(member_api, vid) == "available"
    assert member_api("GET", f"/attachments?volume_id={vid}").json()["attachments"] == []
    assert member_api("DELETE", f"/volumes/{vid}").status_code == 202


def test_legacy_attach_bad_input(vcloud, member, member_api):
    vid = member_api("POST", "/volumes", json={"volume": {"size": 1}}).json()["volume"]["id"]
    member_api.wait(vid, "available")
    assert _act(member_api, vid, "os-begin_detaching").status_code == 400
    assert _act(member_api, vid, "os-detach", {}).status_code == 400
    assert _act(member_api, vid, "os-initialize_connection", {}).status_code == 400
    assert _act(member_api, vid, "os-initialize_connection", {"connector": "x"}).status_code == 400
    assert _act(member_api, vid, "os-attach", {"instance_uuid": str(uuid.uuid4())}).status_code == 400
    assert _act(member_api, vid, "os-attach", "nonsense").status_code == 400
    missing = "00000000-0000-0000-0000-000000000000"
    assert _act(member_api, missing, "os-reserve").status_code == 404
    assert _status(member_api, vid) == "available"
    assert member_api("GET", f"/attachments?volume_id={vid}").json()["attachments"] == []
    assert member_api("DELETE", f"/volumes/{vid}").status_code == 202
