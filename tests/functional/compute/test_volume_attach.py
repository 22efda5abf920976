"""Attaching block storage's volumes to servers (os-volume_attachments) on a cloud with compute
(fake hypervisors) and the volume service (fake backend), through the openstack CLI and
openstacksdk: the volume goes in-use with the server's attachment and back to available."""

from __future__ import annotations

import time

import openstack
import pytest

from tests.functional.compute.conftest import unique
from tests.functional.compute.servers_fixtures import boot_body, delete_all, wait_status
from tests.functional.compute.volume_cloud import api, cloud, world  # noqa: F401  (fixtures)


@pytest.fixture
def server(api, world):
    r = api("POST", "/servers", json=boot_body(world, unique("va"), networks=[{"uuid": world.network_id}]))
    assert r.status_code == 202, r.text
    sid = r.json()["server"]["id"]
    wait_status(api, sid)
    yield sid
    delete_all(api, [sid])


def volume(cloud, size: int = 1) -> dict:
    vol = cloud.osc("volume", "create", "--size", str(size), unique("v"))
    deadline = time.monotonic() + 30
    while vol["status"] != "available" and time.monotonic() < deadline:
        time.sleep(0.2)
        vol = cloud.osc("volume", "show", vol["id"])
    assert vol["status"] == "available", vol
    return vol


def test_attach_list_detach_through_the_cli(cloud, api, server):
    vol = volume(cloud)
    cloud.osc("server", "add", "volume", "--os-compute-api-version", "2.79", "--tag", "data",
              "--enable-delete-on-termination", server, vol["id"])
    shown = cloud.osc("volume", "show", vol["id"])
    assert shown["status"] == "in-use"
    assert [a["server_id"] for a in shown["attachments"]] == [server]
    assert shown["attachments"][0]["device"] == "/dev/vdb"
    rows = cloud.osc("server", "volume", "list", "--os-compute-api-version", "2.89", server)
    assert len(rows) == 1 and rows[0]["Volume ID"] == vol["id"] and rows[0]["Device"] == "/dev/vdb"
    assert rows[0]["Tag"] == "data" and rows[0]["Delete On Termination?"] is True
    assert rows[0]["Attachment ID"] == shown["attachments"][0]["attachment_id"]
    s = api("GET", f"/servers/{server}").json()["server"]
    assert s["os-extended-volumes:volumes_attached"] == [{"id": vol["id"], "delete_on_termination": True}]
    one = api("GET", f"/servers/{server}/os-volume_attachments/{vol['id']}", version="2.1").json()
    assert one == {"volumeAttachment": {"id": vol["id"], "serverId": server, "volumeId": vol["id"],
                                        "device": "/dev/vdb"}}

    cloud.osc("server", "remove", "volume", server, vol["id"], json_out=False)
    shown = cloud.osc("volume", "show", vol["id"])
    assert shown["status"] == "available" and shown["attachments"] == []
    assert cloud.osc("server", "volume", "list", server) == []
    assert api("GET", f"/servers/{server}").json()["server"]["os-extended-volumes:volumes_attached"] == []
    cloud.osc("volume", "delete", vol["id"], json_out=False)


def test_attach_and_detach_with_openstacksdk(cloud, api, server, monkeypatch):
    vol = volume(cloud)
    monkeypatch.setenv("OS_CLIENT_CONFIG_FILE", str(cloud.state_dir / "clouds.yaml"))
    conn = openstack.connect(cloud="nubes")
    s = conn.compute.get_server(server)
    att = conn.compute.create_volume_attachment(s, volume_id=vol["id"])
    assert att.volume_id == vol["id"] and att.device == "/dev/vdb"
    assert [a.volume_id for a in conn.compute.volume_attachments(s)] == [vol["id"]]
    assert conn.block_storage.get_volume(vol["id"]).status == "in-use"
    conn.compute.delete_volume_attachment(s, vol["id"])
    assert list(conn.compute.volume_attachments(s)) == []
    assert conn.block_storage.get_volume(vol["id"]).status == "available"
    conn.block_storage.delete_volume(vol["id"])


def test_bad_attachments(cloud, api, server):
    import uuid

    missing = str(uuid.uuid4())
    r = api("POST", f"/servers/{server}/os-volume_attachments", json={"volumeAttachment": {"volumeId": missing}})
    assert api.fault(r, 404) == f"Volume {missing} could not be found."
    vol = volume(cloud)
    path = f"/servers/{server}/os-volume_attachments"
    assert api("POST", path, json={"volumeAttachment": {"volumeId": vol["id"]}}).status_code == 200
    r = api("POST", path, json={"volumeAttachment": {"volumeId": vol["id"]}})
    assert "Invalid volume" in api.fault(r, 400)
    # the failed attempt left no second attachment behind
    assert len(cloud.osc("volume", "show", vol["id"])["attachments"]) == 1
    assert api.fault(api("DELETE", f"{path}/{missing}"), 404)
    assert api.fault(api("POST", path, json={"volumeAttachment": {"volumeId": "nope"}}), 400)
    assert api("DELETE", f"{path}/{vol['id']}").status_code == 202
    assert cloud.osc("volume", "show", vol["id"])["status"] == "available"

    r = api("POST", f"/servers/{server}/action", json={"suspend": None})
    assert r.status_code == 202, r.text
    wait_status(api, server, ("SUSPENDED", "ERROR"))
    r = api("POST", path, json={"volumeAttachment": {"volumeId": vol["id"]}})
    assert "Cannot 'attach_volume' instance" in api.fault(r, 409)
    assert cloud.osc("volume", "show", vol["id"])["status"] == "available"
    cloud.osc("volume", "delete", vol["id"], json_out=False)


def test_volumes_outlive_their_server(cloud, api, world):
    from tests.functional.compute.servers_fixtures import wait_gone

    r = api("POST", "/servers", json=boot_body(world, unique("va"), networks=[{"uuid": world.network_id}]))
    sid = r.json()["server"]["id"]
    wait_status(api, sid)
    kept, dropped = volume(cloud), volume(cloud)
    path = f"/servers/{sid}/os-volume_attachments"
    assert api("POST", path, json={"volumeAttachment": {"volumeId": kept["id"]}}).status_code == 200
    r = api("POST", path, json={"volumeAttachment": {"volumeId": dropped["id"], "delete_on_termination": True}},
            version="2.79")
    assert r.status_code == 200 and r.json()["volumeAttachment"]["delete_on_termination"] is True, r.text
    assert r.json()["volumeAttachment"]["device"] == "/dev/vdc"
    assert api("DELETE", f"/servers/{sid}").status_code == 204
    wait_gone(api, sid)
    shown = cloud.osc("volume", "show", kept["id"])
    assert shown["status"] == "available" and shown["attachments"] == []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        res = cloud.osc("volume", "show", dropped["id"], check=False)
        if res.returncode != 0:
            break
        time.sleep(0.2)
    assert res.returncode != 0 and "No Volume found" in res.stderr, res
    cloud.osc("volume", "delete", kept["id"], json_out=False)


def test_online_extend_reaches_the_guest(cloud, api, server):
    vol = volume(cloud)
    cloud.osc("server", "add", "volume", server, vol["id"])
    cloud.osc("volume", "set", "--os-volume-api-version", "3.42", "--size", "2", vol["id"], json_out=False)
    blocks = 2 * 1024 ** 3 // 512
    deadline = time.monotonic() + 30
    log = ""
    while time.monotonic() < deadline:
        log = cloud.osc("console", "log", "show", server, json_out=False)
        if f"/dev/vdb new size {blocks} 512-byte" in log:
            break
        time.sleep(0.3)
    assert f"virtio_blk: /dev/vdb new size {blocks} 512-byte logical blocks" in log, log
    actions = [a["Action"] for a in cloud.osc("server", "event", "list", server)]
    assert "extend_volume" in actions, actions
    # a network-era client cannot send it (Nova's 2.51)
    r = api("POST", "/os-server-external-events", version="2.50", json={"events": [
        {"name": "volume-extended", "server_uuid": server, "tag": vol["id"]}]})
    assert api.fault(r, 400)
    cloud.osc("server", "remove", "volume", server, vol["id"], json_out=False)
    assert cloud.osc("volume", "show", vol["id"])["size"] == 2


def test_attach_to_a_stopped_server(cloud, api, server):
    vol = volume(cloud)
    cloud.osc("server", "stop", server, json_out=False)
    wait_status(api, server, ("SHUTOFF", "ERROR"))
    att = cloud.osc("server", "add", "volume", server, vol["id"])
    assert att["Volume ID"] == vol["id"] and att["Device"] == "/dev/vdb", att
    assert cloud.osc("volume", "show", vol["id"])["status"] == "in-use"
    cloud.osc("server", "remove", "volume", server, vol["id"], json_out=False)
    assert cloud.osc("volume", "show", vol["id"])["status"] == "available"
    cloud.osc("volume", "delete", vol["id"], json_out=False)


def test_delete_on_termination_is_updated_from_2_85(cloud, api, server):
    vol = volume(cloud)
    path = f"/servers/{server}/os-volume_attachments"
    assert api("POST", path, json={"volumeAttachment": {"volumeId": vol["id"], "tag": "keep"}},
               version="2.79").status_code == 200
    cloud.osc("server", "volume", "update", "--os-compute-api-version", "2.85", "--delete-on-termination",
              server, vol["id"], json_out=False)
    one = api("GET", f"{path}/{vol['id']}", version="2.85").json()["volumeAttachment"]
    assert one["delete_on_termination"] is True and one["tag"] == "keep"
    s = api("GET", f"/servers/{server}").json()["server"]
    assert s["os-extended-volumes:volumes_attached"] == [{"id": vol["id"], "delete_on_termination": True}]
    # what the client sends back unchanged is accepted; a change of anything else is refused
    same = {"volumeId": vol["id"], "id": vol["id"], "serverId": server, "device": "/dev/vdb", "tag": "keep",
            "delete_on_termination": False}
    assert api("PUT", f"{path}/{vol['id']}", json={"volumeAttachment": same}, version="2.85").status_code == 202
    assert api("GET", f"{path}/{vol['id']}", version="2.85").json()["volumeAttachment"]["delete_on_termination"] is False
    r = api("PUT", f"{path}/{vol['id']}", json={"volumeAttachment": {**same, "tag": "other"}}, version="2.85")
    assert "tag" in api.fault(r, 400)
    r = api("PUT", f"{path}/{vol['id']}", json={"volumeAttachment": {**same, "device": "/dev/vdz"}}, version="2.85")
    assert "device" in api.fault(r, 400)
    r = api("PUT", f"{path}/{vol['id']}", json={"volumeAttachment": {"volumeId": vol["id"],
                                                                     "delete_on_termination": "maybe"}}, version="2.85")
    assert api.fault(r, 400)
    # delete_on_termination is not a field before 2.85; a swap is not built
    r = api("PUT", f"{path}/{vol['id']}", json={"volumeAttachment": same}, version="2.84")
    assert api.fault(r, 400)
    other = volume(cloud)
    r = api("PUT", f"{path}/{vol['id']}", json={"volumeAttachment": {"volumeId": other["id"]}}, version="2.85")
    assert r.status_code == 501, r.text
    member = cloud.osc("server", "volume", "list", "--os-compute-api-version", "2.85", server)
    assert [m["Volume ID"] for m in member] == [vol["id"]]
    assert api("DELETE", f"{path}/{vol['id']}").status_code == 202
    deadline = time.monotonic() + 30
    while cloud.osc("volume", "show", vol["id"])["status"] != "available":
        assert time.monotonic() < deadline
        time.sleep(0.2)
    cloud.osc("volume", "delete", vol["id"], other["id"], json_out=False)


def test_concurrent_attaches_get_distinct_devices(cloud, api, server):
    from concurrent.futures import ThreadPoolExecutor

    vols = [volume(cloud) for _ in range(4)]
    path = f"/servers/{server}/os-volume_attachments"

    def attach(vol):
        return api("POST", path, json={"volumeAttachment": {"volumeId": vol["id"]}})

    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(attach, vols))
    assert all(r.status_code == 200 for r in answers), [r.text for r in answers]
    devices = [r.json()["volumeAttachment"]["device"] for r in answers]
    assert sorted(devices) == ["/dev/vdb", "/dev/vdc", "/dev/vdd", "/dev/vde"], devices
    listed = api("GET", path).json()["volumeAttachments"]
    assert sorted(a["device"] for a in listed) == sorted(devices)
    # the same volume twice at once: one attach, one 400
    extra = volume(cloud)
    with ThreadPoolExecutor(2) as pool:
        twice = list(pool.map(attach, [extra, extra]))
    assert sorted(r.status_code for r in twice) == [200, 400], [r.text for r in twice]
    for vol in [*vols, extra]:
        assert api("DELETE", f"{path}/{vol['id']}").status_code == 202


def test_attach_to_a_paused_server_and_moves_refused_while_attached(cloud, api, server):
    vol = volume(cloud)
    cloud.osc("server", "pause", server, json_out=False)
    wait_status(api, server, ("PAUSED", "ERROR"))
    att = cloud.osc("server", "add", "volume", server, vol["id"])
    assert att["Volume ID"] == vol["id"], att
    assert cloud.osc("volume", "show", vol["id"])["status"] == "in-use"
    cloud.osc("server", "unpause", server, json_out=False)
    wait_status(api, server)
    # the volume's attachment cannot follow the server to another host yet: an honest 501
    for action in ({"migrate": None}, {"resize": {"flavorRef": "2"}}, {"shelve": None},
                   {"os-migrateLive": {"host": None, "block_migration": "auto"}}):
        r = api("POST", f"/servers/{server}/action", json=action, version="2.30")
        assert r.status_code == 501, (action, r.text)
        assert "attached volumes" in r.text
    assert api("GET", f"/servers/{server}").json()["server"]["status"] == "ACTIVE"
    cloud.osc("server", "remove", "volume", server, vol["id"], json_out=False)
    assert cloud.osc("volume", "show", vol["id"])["status"] == "available"
    cloud.osc("volume", "delete", vol["id"], json_out=False)


def test_a_multiattach_volume_on_two_servers_from_2_60(cloud, api, world, server):
    r = api("POST", "/servers", json=boot_body(world, unique("vb"), networks=[{"uuid": world.network_id}]))
    assert r.status_code == 202, r.text
    second = r.json()["server"]["id"]
    wait_status(api, second)
    vtype = cloud.osc("volume", "type", "create", "--property", "multiattach=<is> True", unique("shared"))
    vol = cloud.osc("volume", "create", "--size", "1", "--type", vtype["id"], unique("v"))
    deadline = time.monotonic() + 30
    while vol["status"] != "available" and time.monotonic() < deadline:
        time.sleep(0.2)
        vol = cloud.osc("volume", "show", vol["id"])
    assert vol["multiattach"] is True, vol
    body = {"volumeAttachment": {"volumeId": vol["id"]}}
    r = api("POST", f"/servers/{server}/os-volume_attachments", json=body, version="2.59")
    assert "2.60" in api.fault(r, 400)
    cloud.osc("server", "add", "volume", "--os-compute-api-version", "2.60", server, vol["id"])
    cloud.osc("server", "add", "volume", "--os-compute-api-version", "2.60", second, vol["id"])
    shown = cloud.osc("volume", "show", vol["id"])
    assert shown["status"] == "in-use"
    assert sorted(a["server_id"] for a in shown["attachments"]) == sorted([server, second]), shown
    # the same server twice is still refused
    r = api("POST", f"/servers/{second}/os-volume_attachments", json=body, version="2.60")
    assert "already attached" in api.fault(r, 400)
    cloud.osc("server", "remove", "volume", server, vol["id"], json_out=False)
    assert cloud.osc("volume", "show", vol["id"])["status"] == "in-use"
    cloud.osc("server", "remove", "volume", second, vol["id"], json_out=False)
    assert cloud.osc("volume", "show", vol["id"])["status"] == "available"
    delete_all(api, [second])
    cloud.osc("volume", "delete", vol["id"], json_out=False)
