"""The attachments API (3.27+) against the fake backend: reserve, export to a connector,
complete, delete; multiattach rules; the volume's status and its view's attachments list."""

from __future__ import annotations

import uuid

CONNECTOR = {"host": "compute-1", "ip": "127.0.0.1", "multipath": False, "platform": "x86_64",
             "os_type": "linux"}


def _volume(api, **extra) -> str:
    vid = api("POST", "/volumes", json={"volume": {"size": 1, **extra}}).json()["volume"]["id"]
    api.wait(vid, "available")
    return vid


def test_attachment_lifecycle(vcloud, member, member_api):
    vid = _volume(member_api)
    server = str(uuid.uuid4())
    r = member_api("POST", "/attachments", json={"attachment": {"volume_uuid": vid, "instance_uuid": server}})
    assert r.status_code == 200, r.text
    att = r.json()["attachment"]
    assert att["status"] == "reserved" and att["instance"] == server and att["connection_info"] == {}
    assert member_api("GET", f"/volumes/{vid}").json()["volume"]["status"] == "reserved"
    r = member_api("PUT", f"/attachments/{att['id']}", json={"attachment": {"connector": CONNECTOR}})
    assert r.status_code == 200, r.text
    info = r.json()["attachment"]["connection_info"]
    assert info["driver_volume_type"] == "fake" and info["data"]["volume_id"] == vid
    assert info["data"]["attachment_id"] == att["id"]
    assert member_api("GET", f"/volumes/{vid}").json()["volume"]["status"] == "attaching"
    assert member_api("POST", f"/attachments/{att['id']}/action", json={"os-complete": {}}).status_code == 204
    vol = member_api("GET", f"/volumes/{vid}").json()["volume"]
    assert vol["status"] == "in-use"
    assert [(a["attachment_id"], a["server_id"], a["host_name"]) for a in vol["attachments"]] == [
        (att["id"], server, "compute-1")]
    listed = member.osc("--os-volume-api-version", "3.27", "volume", "attachment", "list")
    assert [(a["ID"], a["Volume ID"], a["Server ID"], a["Status"]) for a in listed] == [
        (att["id"], vid, server, "attached")]
    shown = member_api("GET", f"/attachments/{att['id']}").json()["attachment"]
    assert shown["status"] == "attached" and shown["attached_at"] and shown["attach_mode"] == "rw"
    assert [a["id"] for a in member_api("GET", f"/attachments/detail?volume_id={vid}").json()["attachments"]] == [
        att["id"]]
    assert member_api("GET", f"/attachments?instance_id={uuid.uuid4()}").json()["attachments"] == []
    # an attached volume is not deleted
    assert member_api("DELETE", f"/volumes/{vid}").status_code == 400
    r = member_api("DELETE", f"/attachments/{att['id']}")
    assert r.status_code == 200 and r.json() == {"attachments": []}
    vol = member_api("GET", f"/volumes/{vid}").json()["volume"]
    assert vol["status"] == "available" and vol["attachments"] == []
    assert member_api("GET", f"/attachments/{att['id']}").status_code == 404
    assert member_api("DELETE", f"/volumes/{vid}").status_code == 202


def test_attachment_with_connector_and_multiattach(vcloud, member, member_api):
    vid = _volume(member_api)
    one = member_api("POST", "/attachments", json={"attachment": {
        "volume_uuid": vid, "instance_uuid": str(uuid.uuid4()), "connector": CONNECTOR}}).json()["attachment"]
    assert one["status"] == "attaching" and one["connection_info"]["driver_volume_type"] == "fake"
    # a single-attach volume attached elsewhere: 400 as Cinder, nothing written
    r = member_api("POST", "/attachments", json={"attachment": {"volume_uuid": vid,
                                                                "instance_uuid": str(uuid.uuid4())}})
    assert r.status_code == 400 and "multiattach" in r.json()["badRequest"]["message"]
    assert len(member_api("GET", f"/attachments?volume_id={vid}").json()["attachments"]) == 1
    member_api("DELETE", f"/attachments/{one['id']}")
    assert member_api("GET", f"/volumes/{vid}").json()["volume"]["status"] == "available"
    # a multiattach volume takes two servers; it stays in-use until the last goes
    mid = _volume(member_api, multiattach=True)
    atts = []
    for _ in range(2):
        a = member_api("POST", "/attachments", json={"attachment": {
            "volume_uuid": mid, "instance_uuid": str(uuid.uuid4()), "connector": CONNECTOR}}).json()["attachment"]
        assert member_api("POST", f"/attachments/{a['id']}/action", json={"os-complete": None}).status_code == 204
        atts.append(a["id"])
    vol = member_api("GET", f"/volumes/{mid}").json()["volume"]
    assert vol["status"] == "in-use" and len(vol["attachments"]) == 2
    left = member_api("DELETE", f"/attachments/{atts[0]}").json()["attachments"]
    assert [a["id"] for a in left] == [atts[1]]
    assert member_api("GET", f"/volumes/{mid}").json()["volume"]["status"] == "in-use"
    member_api("DELETE", f"/attachments/{atts[1]}")
    assert member_api("GET", f"/volumes/{mid}").json()["volume"]["status"] == "available"
    for v in (vid, mid):
        assert member_api("DELETE", f"/volumes/{v}").status_code == 202


def test_attachment_bad_input(vcloud, member, member_api, admin_api, tmp_path):
    from tests.cloud import new_user
    from tests.functional.volume.conftest import VolumeApi

    vid = _volume(member_api)
    missing = "00000000-0000-0000-0000-000000000000"
    r = member_api("POST", "/attachments", json={"attachment": {"volume_uuid": missing}})
    assert r.status_code == 404 and "itemNotFound" in r.json()
    r = member_api("POST", "/attachments", json={"attachment": {"instance_uuid": missing}})
    assert r.status_code == 400 and "badRequest" in r.json()
    r = member_api("POST", "/attachments", json={"attachment": {"volume_uuid": vid, "connector": "x"}})
    assert r.status_code == 400
    r = member_api("POST", "/attachments", json={"attachment": {"volume_uuid": vid}}, version="3.26")
    assert r.status_code == 404
    r = member_api("POST", "/attachments", json={"attachment": {"volume_uuid": vid, "mode": "ro"}}, version="3.50")
    assert r.status_code == 400
    att = member_api("POST", "/attachments", json={"attachment": {"volume_uuid": vid}}).json()["attachment"]
    # complete before a connector: refused, nothing changes
    r = member_api("POST", f"/attachments/{att['id']}/action", json={"os-complete": {}})
    assert r.status_code == 400 and "connector" in r.json()["badRequest"]["message"]
    assert member_api("POST", f"/attachments/{att['id']}/action", json={"os-nothing": {}}).status_code == 400
    assert member_api("PUT", f"/attachments/{att['id']}", json={"attachment": {}}).status_code == 400
    assert member_api("PUT", f"/attachments/{missing}", json={"attachment": {"connector": {}}}).status_code == 404
    assert member_api("DELETE", f"/attachments/{missing}").status_code == 404
    assert member_api("GET", "/attachments?limit=x").status_code == 400
    assert member_api("GET", f"/volumes/{vid}").json()["volume"]["status"] == "reserved"
    # another project does not see it (nor may it delete it); an admin does
    stranger = VolumeApi(vcloud, new_user(vcloud, tmp_path).token)
    assert stranger("GET", f"/attachments/{att['id']}").status_code == 404
    assert stranger("DELETE", f"/attachments/{att['id']}").status_code == 404
    assert stranger("GET", "/attachments").json()["attachments"] == []
    assert admin_api("GET", f"/attachments/{att['id']}").status_code == 200
    member_api("DELETE", f"/attachments/{att['id']}")
    assert member_api("GET", f"/volumes/{vid}").json()["volume"]["status"] == "available"
    assert member_api("DELETE", f"/volumes/{vid}").status_code == 202
