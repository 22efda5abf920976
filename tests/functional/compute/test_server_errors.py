"""Bad server requests get Nova's fault body, status and wording — and leave no server behind."""

from __future__ import annotations

import uuid

import pytest

from tests.functional.compute.conftest import make_member, unique
from tests.functional.compute.servers_fixtures import boot_body, delete_all, make_world, wait_status


@pytest.fixture(scope="module")
def world(full_cloud, tmp_path_factory):
    return make_world(full_cloud, tmp_path_factory.mktemp("errors"))


@pytest.fixture(scope="module")
def member(full_cloud, tmp_path_factory):
    return make_member(full_cloud, tmp_path_factory.mktemp("errors-member"))


def _create(api, world, **server):
    body = boot_body(world, unique("bad"))
    body["server"].update(server)
    return api("POST", "/servers", json={"server": {k: v for k, v in body["server"].items() if v is not None}})


def test_unknown_or_unusable_references(full_cloud, full_api, world):
    assert full_api.fault(_create(full_api, world, imageRef=str(uuid.uuid4())), 400) == "Can not find requested image"
    assert full_api.fault(_create(full_api, world, flavorRef="no-such-flavor"), 400) == "Invalid flavorRef provided."
    r = _create(full_api, world, networks=[{"uuid": (net := str(uuid.uuid4()))}])
    assert full_api.fault(r, 400) == f"Network {net} could not be found."
    r = _create(full_api, world, networks=[{"port": (port := str(uuid.uuid4()))}])
    assert full_api.fault(r, 400) == f"Port id {port} could not be found."
    assert full_api.fault(_create(full_api, world, key_name="no-such-key"), 400) == "Invalid key_name provided."
    r = _create(full_api, world, security_groups=[{"name": "no-such-group"}])
    assert "Security group no-such-group not found" in full_api.fault(r, 400)
    r = _create(full_api, world, availability_zone="atlantis")
    assert full_api.fault(r, 400) == "The requested availability zone is not available"
    r = _create(full_api, world, block_device_mapping_v2=[{"source_type": "volume", "destination_type": "volume",
                                                           "uuid": str(uuid.uuid4()), "boot_index": 0}])
    msg = full_api.fault(r, 400)
    assert msg.startswith("Block Device Mapping is Invalid: ") and "volume support is not available" in msg
    r = _create(full_api, world, imageRef="", block_device_mapping_v2=[{"source_type": "blank",
                                                                      "destination_type": "local", "boot_index": -1}])
    assert "Boot sequence" in full_api.fault(r, 400)


def test_flavor_too_small_for_image(full_cloud, full_api, world, tmp_path):
    f = tmp_path / "big.raw"
    f.write_bytes(b"\0" * 1024)
    img = full_cloud.osc("image", "create", "--file", str(f), "--disk-format", "raw", "--container-format", "bare",
                         "--min-disk", "5", "--min-ram", "256", unique("needs5g"))
    msg = full_api.fault(_create(full_api, world, imageRef=img["id"]), 400)
    assert msg == ("Flavor's disk is smaller than the minimum size specified in image metadata. Flavor disk is "
                   "1073741824 bytes, minimum size is 5368709120 bytes.")
    full_cloud.osc("image", "set", "--min-disk", "0", "--min-ram", "1024", img["id"], json_out=False)
    assert full_api.fault(_create(full_api, world, imageRef=img["id"]), 400) == (
        "Flavor's memory is too small for requested image.")


def test_malformed_bodies_name_the_field(full_api, world):
    def bad(body, *words):
        msg = full_api.fault(full_api("POST", "/servers", json=body), 400)
        assert all(w in msg for w in words), msg

    bad({"server": {"flavorRef": world.flavor_id, "networks": "none"}}, "'name' is a required property")
    bad({"server": {"name": "x", "flavorRef": world.flavor_id}}, "'networks' is a required property")
    bad({"server": {"name": "x", "flavorRef": world.flavor_id, "networks": "none", "colour": "red"}},
        "Additional properties are not allowed", "'colour'")
    bad({"servers": {}}, "'server' is a required property")
    bad(boot_body(world, "x", networks=[{"uuid": "not-a-uuid"}]), "networks")
    bad(boot_body(world, "x", min_count="two"), "field/attribute min_count")
    bad(boot_body(world, "x", min_count=3, max_count=2), "min_count must be <= max_count")
    bad(boot_body(world, "x", user_data="***"), "field/attribute user_data", "'base64'")
    bad(boot_body(world, "x", metadata={"k": 1}), "field/attribute k")
    bad(boot_body(world, "x", tags=["a/b"]), "field/attribute 0")
    bad(boot_body(world, "x", accessIPv4="999.1.1.1"), "field/attribute accessIPv4", "'ipv4'")
    bad(boot_body(world, " padded "), "field/attribute name")
    bad(boot_body(world, "x", hostname="-x-"), "field/attribute hostname")
    bad(boot_body(world, "x", networks=[{"uuid": world.network_id, "fixed_ip": "10.0.0.300"}]),
        "field/attribute fixed_ip")
    r = full_api("POST", "/servers", content=b"{not json", headers={"Content-Type": "application/json"})
    assert "Malformed JSON" in full_api.fault(r, 400)
    r = full_api("POST", "/servers", json=boot_body(world, "x", description="d"), version="2.18")
    assert "'description' was unexpected" in full_api.fault(r, 400)


def test_member_limits(full_cloud, full_api, member, world):
    api = member.api
    r = _create(api, world, availability_zone="nova:some-host")
    assert api.fault(r, 403)
    r = _create(api, world, host=world.hosts[0])
    assert api.fault(r, 403)
    assert "get_all_tenants" in api.fault(api("GET", "/servers?all_tenants=1"), 403)
    assert "get_all_tenants" in api.fault(api("GET", "/servers/detail?all_tenants=true"), 403)
    r = api("POST", "/servers", json=boot_body(world, unique("own")))
    assert r.status_code == 202, r.text
    sid = r.json()["server"]["id"]
    wait_status(api, sid)
    # A host filter is an admin's: a member's is dropped, as Nova does, and he sees his own servers.
    assert [s["id"] for s in api("GET", "/servers?host=no-such-host").json()["servers"]] == [sid]
    assert full_api("GET", "/servers?host=no-such-host&all_tenants=1").json()["servers"] == []
    assert "Only administrators can sort servers by host" in api.fault(api("GET", "/servers?sort_key=host"), 403)
    assert api.fault(api("GET", "/servers?status=DELETED"), 403) == "Only administrators may list deleted instances"
    private = full_cloud.osc("flavor", "create", "--private", "--ram", "256", "--disk", "1", "--vcpus", "1",
                             unique("priv"))
    assert api.fault(_create(api, world, flavorRef=private["id"]), 400) == "Invalid flavorRef provided."
    zero = full_cloud.osc("flavor", "create", "--ram", "256", "--disk", "0", "--vcpus", "1", unique("zero"))
    r = _create(api, world, flavorRef=zero["id"])
    assert api.fault(r, 403) == "Only volume-backed servers are allowed for flavors with zero disk."
    delete_all(api, [sid])


def test_networks_auto_and_ambiguity(full_cloud, full_api, member, world):
    api = member.api
    auto = {"server": {"name": unique("auto"), "flavorRef": world.flavor_id, "imageRef": world.image_id,
                       "networks": "auto"}}
    visible = [n for n in member.osc("network", "list", "--long") if not n.get("Router Type") == "External"]
    ids = []
    if len(visible) == 1:          # this module alone: the one shared network is picked
        r = api("POST", "/servers", json=auto)
        assert r.status_code == 202, r.text
        ids.append(r.json()["server"]["id"])
        assert list(wait_status(api, ids[-1])["addresses"]) == [world.network_name]
    own = member.osc("network", "create", unique("own"))
    assert api.fault(api("POST", "/servers", json=auto), 409) == (
        "Multiple possible networks found, use a Network ID to be more specific.")
    r = api("POST", "/servers", json={"server": {**auto["server"], "networks": "none"}})
    ids.append(r.json()["server"]["id"])
    assert wait_status(api, ids[-1])["addresses"] == {}
    delete_all(api, ids)
    member.osc("network", "delete", own["id"], json_out=False)


def test_unknown_routes_actions_and_params(full_api, world):
    r = full_api("POST", "/servers", json=boot_body(world, unique("act")))
    sid = r.json()["server"]["id"]
    assert full_api.fault(full_api("POST", f"/servers/{sid}/action", json={"frobnicate": {}}), 400) == (
        "There is no such action: frobnicate")
    assert full_api.fault(full_api("POST", f"/servers/{sid}/action", json={"forceDelete": None}), 409)
    vol = str(uuid.uuid4())
    assert "not implemented" in full_api.fault(full_api("PUT", f"/servers/{sid}/os-volume_attachments/{vol}", json={
        "volumeAttachment": {"volumeId": str(uuid.uuid4())}}), 501)
    assert "'colour' was unexpected" in full_api.fault(full_api("GET", "/servers?colour=red"), 400)
    assert full_api("GET", "/servers?colour=red", version="2.74").status_code == 200
    assert full_api.fault(full_api("GET", f"/servers/{uuid.uuid4()}"), 404).endswith("could not be found.")
    delete_all(full_api, [sid])
    assert full_api.fault(full_api("DELETE", f"/servers/{sid}"), 404)
    assert "Invalid input for query parameters sort_key" in full_api.fault(
        full_api("GET", "/servers?sort_key=colour", version="2.74"), 400)
