"""Booting servers from block storage's volumes (block_device_mapping_v2, destination_type
volume) on a cloud with compute (fake hypervisors) and the volume service (fake backend),
through the openstack CLI, openstacksdk and the API: the root volume is /dev/vda and in-use,
the server is volume-backed (image "", no DISK_GB in placement), and its delete deletes or
keeps the volumes as delete_on_termination says."""

from __future__ import annotations

import time

import openstack
import pytest

from tests.functional.compute.conftest import unique
from tests.functional.compute.servers_fixtures import allocations_of, delete_all, wait_status
from tests.functional.compute.volume_cloud import api, cloud, world  # noqa: F401  (fixtures)


@pytest.fixture(scope="module")
def zero_disk_flavor(cloud):
    return cloud.osc("flavor", "create", "--ram", "512", "--disk", "0", "--vcpus", "1", unique("nodisk"))["id"]


def wait_volume(cloud, vid: str, wanted: str = "available") -> dict:
    deadline = time.monotonic() + 30
    vol = cloud.osc("volume", "show", vid)
    while vol["status"] != wanted and time.monotonic() < deadline:
        time.sleep(0.2)
        vol = cloud.osc("volume", "show", vid)
    assert vol["status"] == wanted, vol
    return vol


def volume_gone(cloud, vid: str) -> bool:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if vid not in {v["ID"] for v in cloud.osc("volume", "list")}:
            return True
        time.sleep(0.2)
    return False


def image_volume(cloud, world) -> dict:
    vol = cloud.osc("volume", "create", "--size", "1", "--image", world.image_id, unique("root"))
    return wait_volume(cloud, vol["id"])


def assert_volume_backed(cloud, api, sid: str, root: str) -> None:
    s = api("GET", f"/servers/{sid}").json()["server"]
    assert s["status"] == "ACTIVE" and s["image"] == ""
    rows = cloud.osc("server", "volume", "list", sid)
    assert [(r["Volume ID"], r["Device"]) for r in rows][0] == (root, "/dev/vda")
    vol = cloud.osc("volume", "show", root)
    assert vol["status"] == "in-use" and [a["server_id"] for a in vol["attachments"]] == [sid]
    allocs = allocations_of(cloud, cloud.token(), sid)
    assert allocs and all("DISK_GB" not in a["resources"] for a in allocs.values())
    assert all("VCPU" in a["resources"] for a in allocs.values())


def test_boot_an_existing_volume_through_the_cli(cloud, api, world, zero_disk_flavor):
    root = image_volume(cloud, world)["id"]
    s = cloud.osc("server", "create", "--flavor", zero_disk_flavor, "--volume", root, "--network",
                  world.network_id, unique("bfv"))
    sid = s["id"]
    assert wait_status(api, sid)["status"] == "ACTIVE"
    assert_volume_backed(cloud, api, sid, root)
    assert cloud.osc("server", "show", sid)["image"] in ("", None, "N/A (booted from volume)")
    for body, status in (({"rebuild": {"imageRef": world.image_id}}, 501), ({"shelve": None}, 501),
                         ({"migrate": None}, 501), ({"createImage": {"name": "x"}}, 501),
                         ({"rescue": None}, 400)):
        r = api("POST", f"/servers/{sid}/action", json=body)
        assert r.status_code == status, (body, r.text)
        assert "volume-backed" in r.text
    delete_all(api, [sid])
    wait_volume(cloud, root)                   # delete_on_termination defaults to false: kept
    cloud.osc("volume", "delete", root, json_out=False)


def test_boot_from_volume_of_an_image_through_the_cli(cloud, api, world):
    before = {v["ID"] for v in cloud.osc("volume", "list")}
    s = cloud.osc("server", "create", "--flavor", world.flavor_id, "--image", world.image_id,
                  "--boot-from-volume", "1", "--network", world.network_id, unique("bfv"))
    sid = s["id"]
    assert wait_status(api, sid)["status"] == "ACTIVE"
    made = [v for v in cloud.osc("volume", "list") if v["ID"] not in before]
    assert len(made) == 1 and made[0]["Size"] == 1
    assert cloud.osc("volume", "show", made[0]["ID"])["bootable"] in (True, "true")
    assert_volume_backed(cloud, api, sid, made[0]["ID"])
    delete_all(api, [sid])
    wait_volume(cloud, made[0]["ID"])
    cloud.osc("volume", "delete", made[0]["ID"], json_out=False)


def test_boot_from_volume_with_openstacksdk_deletes_it_with_the_server(cloud, world, monkeypatch):
    monkeypatch.setenv("OS_CLIENT_CONFIG_FILE", str(cloud.state_dir / "clouds.yaml"))
    conn = openstack.connect(cloud="nubes")
    server = conn.create_server(unique("bfv"), image=world.image_id, flavor=world.flavor_id,
                                network=world.network_id, boot_from_volume=True, volume_size=1,
                                terminate_volume=True, wait=True, timeout=60)
    assert server.status == "ACTIVE"
    atts = list(conn.compute.volume_attachments(server))
    assert [a.device for a in atts] == ["/dev/vda"]
    vid = atts[0].volume_id
    vol = conn.block_storage.get_volume(vid)
    assert vol.status == "in-use" and vol.attachments[0]["server_id"] == server.id
    conn.delete_server(server.id, wait=True, timeout=60)
    assert volume_gone(cloud, vid)


def test_root_and_data_volumes_from_image_blank_and_snapshot(cloud, api, world):
    src = cloud.osc("volume", "create", "--size", "1", unique("src"))
    wait_volume(cloud, src["id"])
    snap = cloud.osc("volume", "snapshot", "create", "--volume", src["id"], unique("snap"))
    deadline = time.monotonic() + 30
    while snap["status"] != "available" and time.monotonic() < deadline:
        time.sleep(0.2)
        snap = cloud.osc("volume", "snapshot", "show", snap["id"])
    bdms = [{"source_type": "image", "uuid": world.image_id, "destination_type": "volume", "boot_index": 0,
             "volume_size": 1, "delete_on_termination": True},
            {"source_type": "blank", "destination_type": "volume", "volume_size": 1, "boot_index": -1,
             "delete_on_termination": True},
            {"source_type": "snapshot", "uuid": snap["id"], "destination_type": "volume",
             "delete_on_termination": False}]
    r = api("POST", "/servers", json={"server": {"name": unique("bfv"), "flavorRef": world.flavor_id,
                                                 "networks": "none", "block_device_mapping_v2": bdms}},
            version="2.67")
    assert r.status_code == 202, r.text
    sid = r.json()["server"]["id"]
    assert wait_status(api, sid)["status"] == "ACTIVE"
    atts = api("GET", f"/servers/{sid}/os-volume_attachments", version="2.89").json()["volumeAttachments"]
    by_device = {a["device"]: a for a in atts}
    assert sorted(by_device) == ["/dev/vda", "/dev/vdb", "/dev/vdc"]
    assert [by_device[d]["delete_on_termination"] for d in sorted(by_device)] == [True, True, False]
    blank = cloud.osc("volume", "show", by_device["/dev/vdb"]["volumeId"])
    assert blank["bootable"] in (False, "false") and blank["status"] == "in-use"
    assert cloud.osc("volume", "show", by_device["/dev/vdc"]["volumeId"])["snapshot_id"] == snap["id"]
    assert_volume_backed(cloud, api, sid, by_device["/dev/vda"]["volumeId"])
    r = api("DELETE", f"/servers/{sid}/os-volume_attachments/{by_device['/dev/vda']['volumeId']}")
    assert r.status_code == 400 and "root device" in r.text
    delete_all(api, [sid])
    assert volume_gone(cloud, by_device["/dev/vda"]["volumeId"])
    assert volume_gone(cloud, by_device["/dev/vdb"]["volumeId"])
    kept = wait_volume(cloud, by_device["/dev/vdc"]["volumeId"])
    cloud.osc("volume", "delete", kept["id"], json_out=False)
    cloud.osc("volume", "snapshot", "delete", snap["id"], json_out=False)
    deadline = time.monotonic() + 30
    while cloud.osc("volume", "snapshot", "list") and time.monotonic() < deadline:
        time.sleep(0.2)
    cloud.osc("volume", "delete", src["id"], json_out=False)


def _bad_cases(cloud, api, world) -> list[tuple[str, list[dict], str]]:
    in_use = image_volume(cloud, world)["id"]
    plain = cloud.osc("volume", "create", "--size", "1", unique("plain"))["id"]
    wait_volume(cloud, plain)
    holder = cloud.osc("server", "create", "--flavor", world.flavor_id, "--volume", in_use, "--network",
                       world.network_id, unique("holder"))["id"]
    assert wait_status(api, holder)["status"] == "ACTIVE"
    missing = "8f5f4c1e-3c57-4bb0-9a1b-0c1a2f7b9e11"
    return [
        ("no size", [{"source_type": "image", "uuid": world.image_id, "destination_type": "volume",
                      "boot_index": 0}], "need to have a non-zero size"),
        ("unknown volume", [{"source_type": "volume", "uuid": missing, "destination_type": "volume",
                             "boot_index": 0}], f"failed to get volume {missing}"),
        ("unknown snapshot", [{"source_type": "snapshot", "uuid": missing, "destination_type": "volume",
                               "boot_index": 0}], f"failed to get snapshot {missing}"),
        ("in use", [{"source_type": "volume", "uuid": in_use, "destination_type": "volume", "boot_index": 0}],
         "Currently in 'in-use'"),
        ("not bootable", [{"source_type": "volume", "uuid": plain, "destination_type": "volume",
                           "boot_index": 0}], f"Block Device {plain} is not bootable."),
        ("boot index", [{"source_type": "image", "uuid": world.image_id, "destination_type": "volume",
                         "boot_index": 1, "volume_size": 1}], "Boot sequence"),
        ("blank no size", [{"source_type": "blank", "destination_type": "volume", "boot_index": -1},
                           {"source_type": "volume", "uuid": in_use, "destination_type": "volume",
                            "boot_index": 0}], "non-zero size"),
        ("two servers", [{"source_type": "volume", "uuid": plain, "destination_type": "volume",
                          "boot_index": 1}], "multiple instances"),
    ], holder, [in_use, plain]


def test_bad_block_devices_are_400_and_leave_nothing_behind(cloud, api, world):
    cases, holder, vols = _bad_cases(cloud, api, world)
    volumes = sorted((v["ID"], v["Status"]) for v in cloud.osc("volume", "list"))
    servers = {s["ID"] for s in cloud.osc("server", "list")}
    for what, bdms, message in cases:
        body = {"name": unique("bad"), "flavorRef": world.flavor_id, "networks": "none",
                "block_device_mapping_v2": bdms}
        if what == "two servers":
            body.update(imageRef=world.image_id, min_count=2)
        r = api("POST", "/servers", json={"server": body})
        assert r.status_code == 400, (what, r.text)
        assert message in r.json()["badRequest"]["message"], (what, r.text)
    assert sorted((v["ID"], v["Status"]) for v in cloud.osc("volume", "list")) == volumes
    assert {s["ID"] for s in cloud.osc("server", "list")} == servers
    in_use = cloud.osc("volume", "show", vols[0])
    assert [a["server_id"] for a in in_use["attachments"]] == [holder]
    assert cloud.osc("volume", "show", vols[1])["attachments"] == []
    delete_all(api, [holder])
    for vid in vols:
        wait_volume(cloud, vid)
        cloud.osc("volume", "delete", vid, json_out=False)


def test_a_volume_block_storage_refuses_puts_the_server_in_error_with_a_fault(cloud, api, world):
    project = cloud.osc("token", "issue")["project_id"]
    before = cloud.osc("quota", "show", "--volume", project)
    limit = next(v for k, v in (before.items() if isinstance(before, dict) else
                                ((r["Resource"], r["Limit"]) for r in before)) if k == "volumes")
    cloud.osc("quota", "set", "--volumes", "0", project, json_out=False)
    try:
        r = api("POST", "/servers", json={"server": {
            "name": unique("bfv"), "flavorRef": world.flavor_id, "networks": "none",
            "block_device_mapping_v2": [{"source_type": "image", "uuid": world.image_id, "boot_index": 0,
                                         "destination_type": "volume", "volume_size": 1}]}})
        assert r.status_code == 202, r.text
        sid = r.json()["server"]["id"]
        s = wait_status(api, sid)
        assert s["status"] == "ERROR"
        assert s["fault"]["message"].startswith(f"Build of instance {sid} aborted: Volume for block device "
                                                "/dev/vda could not be created")
        delete_all(api, [sid])
    finally:
        cloud.osc("quota", "set", "--volumes", str(limit), project, json_out=False)


def test_a_rescheduled_build_attaches_the_volume_to_the_host_it_runs_on(cloud, api, world):
    failing = world.hosts[:-1]
    r = api("POST", "/servers", json={"server": {
        "name": unique("bfv"), "flavorRef": world.flavor_id, "networks": "none",
        "metadata": {"fake_fail": "spawn", "fake_fail_hosts": ",".join(failing)},
        "block_device_mapping_v2": [{"source_type": "image", "uuid": world.image_id, "boot_index": 0,
                                     "destination_type": "volume", "volume_size": 1,
                                     "delete_on_termination": True}]}})
    assert r.status_code == 202, r.text
    sid = r.json()["server"]["id"]
    s = wait_status(api, sid)           # three hosts, three attempts, each on a host not tried yet
    assert s["status"] == "ACTIVE", s.get("fault")
    host = s["OS-EXT-SRV-ATTR:host"]
    assert host == world.hosts[-1]
    vid = api("GET", f"/servers/{sid}/os-volume_attachments").json()["volumeAttachments"][0]["volumeId"]
    vol = cloud.osc("volume", "show", vid)
    assert vol["status"] == "in-use" and vol["attachments"][0]["host_name"] == host
    delete_all(api, [sid])
    assert volume_gone(cloud, vid)
