"""Nova's proxy APIs on a full cloud, through raw HTTP at the microversions novaclient-era clients
send (and the openstack CLI where it still uses them): floating IPs and pools, addFloatingIp /
removeFloatingIp, security groups and rules, os-networks and os-tenant-networks, the images proxy
and image metadata, os-hosts, /extensions; each answering 404 from the microversion where Nova
removed it. And a server's volume attachments (none, and no attach, without block storage)."""

from __future__ import annotations

import uuid

import pytest

from tests.functional.compute.conftest import make_member, unique
from tests.functional.compute.routed_fixtures import make_routed, remove_routed, wait_addresses
from tests.functional.compute.servers_fixtures import boot_body, delete_all, make_world, ports_of, wait_status

OLD = "2.35"


@pytest.fixture(scope="module")
def world(full_cloud, tmp_path_factory):
    return make_world(full_cloud, tmp_path_factory.mktemp("proxies"))


@pytest.fixture(scope="module")
def routed(full_cloud):
    routed = make_routed(full_cloud, "10.33.0.0/24", "172.24.10.0/24")
    yield routed
    remove_routed(full_cloud, routed)


@pytest.fixture(scope="module")
def member(full_cloud, tmp_path_factory):
    return make_member(full_cloud, tmp_path_factory.mktemp("proxies-member"))


def boot(api, world, network_id: str) -> str:
    r = api("POST", "/servers", json=boot_body(world, unique("px"), networks=[{"uuid": network_id}]))
    assert r.status_code == 202, r.text
    sid = r.json()["server"]["id"]
    assert wait_status(api, sid)["status"] == "ACTIVE"
    return sid


REMOVED = [
    ("GET", "/images", "2.36"), ("GET", "/images/detail", "2.36"), ("GET", "/os-floating-ips", "2.36"),
    ("GET", "/os-floating-ip-pools", "2.36"), ("GET", "/os-security-groups", "2.36"),
    ("GET", "/os-networks", "2.36"), ("GET", "/os-tenant-networks", "2.36"), ("GET", "/os-hosts", "2.43"),
]


@pytest.mark.parametrize(("method", "path", "version"), REMOVED, ids=[f"{m} {p}" for m, p, _ in REMOVED])
def test_removed_from_their_microversion(full_api, method, path, version):
    major, minor = version.split(".")
    before = f"{major}.{int(minor) - 1}"
    assert full_api(method, path, version=before).status_code == 200
    r = full_api(method, path, version=version)
    assert full_api.fault(r, 404)
    assert full_api(method, path, version="2.96").status_code == 404


def test_floating_ips_and_their_actions(full_cloud, world, routed, member):
    api = member.api
    ext = full_cloud.osc("network", "show", routed.external_id)
    pools = api("GET", "/os-floating-ip-pools", version=OLD).json()["floating_ip_pools"]
    assert {"name": ext["name"]} in pools
    r = api("POST", "/os-floating-ips", version=OLD, json={"pool": ext["name"]})
    assert r.status_code == 200, r.text
    fip = r.json()["floating_ip"]
    assert fip["pool"] == ext["name"] and fip["fixed_ip"] is None and fip["instance_id"] is None
    assert fip in api("GET", "/os-floating-ips", version=OLD).json()["floating_ips"]
    assert api.fault(api("POST", "/os-floating-ips", version=OLD, json={"pool": "no-such-pool"}), 404) == \
        "Floating IP pool not found."
    sid = boot(api, world, routed.network_id)
    try:
        port = ports_of(full_cloud, api.token, sid)[0]
        fixed = port["fixed_ips"][0]["ip_address"]
        act = f"/servers/{sid}/action"
        r = api("POST", act, version="2.43", json={"addFloatingIp": {"address": fip["ip"]}})
        assert r.status_code == 202, r.text
        wait_addresses(api, sid, [fip["ip"]])
        shown = api("GET", f"/os-floating-ips/{fip['id']}", version=OLD).json()["floating_ip"]
        assert (shown["instance_id"], shown["fixed_ip"]) == (sid, fixed)
        # Nova's refusals
        assert api.fault(api("POST", act, version="2.43", json={"addFloatingIp": {
            "address": fip["ip"], "fixed_address": "10.99.99.99"}}), 400) == \
            "Specified fixed address not assigned to instance"
        assert api.fault(api("POST", act, version="2.43", json={"addFloatingIp": {"address": "203.0.113.250"}}),
                         404) == "floating IP not found"
        assert api.fault(api("POST", act, version="2.43", json={"addFloatingIp": {"address": "nope"}}), 400)
        assert api.fault(api("POST", act, version="2.44", json={"addFloatingIp": {"address": fip["ip"]}}), 404)
        r = api("POST", act, version="2.43", json={"removeFloatingIp": {"address": fip["ip"]}})
        assert r.status_code == 202, r.text
        wait_addresses(api, sid, [])
        assert api.fault(api("POST", act, version="2.43", json={"removeFloatingIp": {"address": fip["ip"]}}),
                         409) == f"Floating IP {fip['ip']} is not associated with instance {sid}."
    finally:
        delete_all(api, [sid])
    assert api("DELETE", f"/os-floating-ips/{fip['id']}", version=OLD).status_code == 202
    assert api.fault(api("GET", f"/os-floating-ips/{fip['id']}", version=OLD), 404) == \
        f"Floating IP not found for ID {fip['id']}"


def test_security_groups_and_rules(full_cloud, member):
    api = member.api
    r = api("POST", "/os-security-groups", version=OLD, json={"security_group": {
        "name": unique("sg"), "description": "web"}})
    assert r.status_code == 200, r.text
    group = r.json()["security_group"]
    assert group["tenant_id"] == member.project_id and group["description"] == "web"
    assert group["id"] in [g["id"] for g in api("GET", "/os-security-groups", version=OLD).json()["security_groups"]]
    # the network service holds it
    assert member.osc("security group", "show", group["id"])["name"] == group["name"]
    rules = "/os-security-group-rules"
    r = api("POST", rules, version=OLD, json={"security_group_rule": {
        "parent_group_id": group["id"], "ip_protocol": "tcp", "from_port": 22, "to_port": 22,
        "cidr": "10.0.0.0/8"}})
    assert r.status_code == 200, r.text
    rule = r.json()["security_group_rule"]
    assert rule == {"id": rule["id"], "parent_group_id": group["id"], "ip_protocol": "tcp", "from_port": 22,
                    "to_port": 22, "group": {}, "ip_range": {"cidr": "10.0.0.0/8"}}
    r = api("POST", rules, version=OLD, json={"security_group_rule": {
        "parent_group_id": group["id"], "ip_protocol": "icmp", "group_id": group["id"]}})
    assert r.status_code == 200, r.text
    icmp = r.json()["security_group_rule"]
    assert (icmp["from_port"], icmp["to_port"], icmp["group"]) == (-1, -1, {"name": group["name"],
                                                                            "tenant_id": member.project_id})
    shown = api("GET", f"/os-security-groups/{group['id']}", version=OLD).json()["security_group"]
    assert sorted(r["id"] for r in shown["rules"]) == sorted([rule["id"], icmp["id"]])
    bad = [({"ip_protocol": "tcp", "from_port": 30, "to_port": 20},
            "Invalid port range 30:20. Former value cannot be greater than the later"),
           ({"ip_protocol": "gre", "from_port": 1, "to_port": 2}, "Invalid IP protocol gre."),
           ({"cidr": "10.0.0.0/8"}, "Not enough parameters to build a valid rule."),
           ({"ip_protocol": "tcp", "from_port": 1, "to_port": 2, "cidr": "nope"}, "nope is not a valid IP network.")]
    for extra, message in bad:
        r = api("POST", rules, version=OLD, json={"security_group_rule": {"parent_group_id": group["id"], **extra}})
        assert api.fault(r, 400) == message
    r = api("POST", rules, version=OLD, json={"security_group_rule": {
        "parent_group_id": str(uuid.uuid4()), "ip_protocol": "tcp", "from_port": 1, "to_port": 2}})
    assert api.fault(r, 404)
    r = api("PUT", f"/os-security-groups/{group['id']}", version=OLD, json={"security_group": {
        "name": group["name"], "description": "renamed"}})
    assert r.status_code == 200 and r.json()["security_group"]["description"] == "renamed", r.text
    assert api.fault(api("POST", "/os-security-groups", version=OLD, json={"security_group": {"name": "x"}}),
                     400) == "Security group description is not a string or unicode"
    assert api("DELETE", f"{rules}/{rule['id']}", version=OLD).status_code == 202
    assert api("DELETE", f"/os-security-groups/{group['id']}", version=OLD).status_code == 202
    assert api.fault(api("GET", f"/os-security-groups/{group['id']}", version=OLD), 404) == \
        f"Security group {group['id']} not found."


def test_networks_and_tenant_networks(full_api, world, member):
    nets = member.api("GET", "/os-networks", version=OLD).json()["networks"]
    (mine,) = [n for n in nets if n["id"] == world.network_id]
    assert mine["label"] == world.network_name and mine["cidr"] is None and "bridge" not in mine
    admin_view = full_api("GET", f"/os-networks/{world.network_id}", version=OLD).json()["network"]
    assert admin_view["label"] == world.network_name and admin_view["bridge"] is None
    missing = str(uuid.uuid4())
    assert member.api.fault(member.api("GET", f"/os-networks/{missing}", version=OLD), 404) == \
        f"Network {missing} could not be found."
    r = member.api("POST", "/os-networks", version=OLD, json={"network": {"label": "x"}})
    assert r.status_code == 410, r.text
    tenant = member.api("GET", "/os-tenant-networks", version=OLD).json()["networks"]
    assert {"id": world.network_id, "cidr": "None", "label": world.network_name} in tenant
    r = member.api("GET", f"/os-tenant-networks/{world.network_id}", version=OLD)
    assert r.json() == {"network": {"id": world.network_id, "cidr": "None", "label": world.network_name}}
    assert member.api.fault(member.api("GET", f"/os-tenant-networks/{missing}", version=OLD), 404) == \
        "Network not found"


def test_images_proxy_metadata_and_snapshots(full_api, world):
    brief = full_api("GET", "/images", version=OLD).json()["images"]
    (img,) = [i for i in brief if i["id"] == world.image_id]
    assert img["name"] == world.image_name
    assert [link["rel"] for link in img["links"]] == ["self", "bookmark", "alternate"]
    detail = full_api("GET", f"/images/{world.image_id}", version=OLD).json()["image"]
    assert (detail["status"], detail["progress"], detail["OS-EXT-IMG-SIZE:size"]) == ("ACTIVE", 100, 4096)
    assert world.image_id in [i["id"] for i in full_api("GET", "/images/detail?status=ACTIVE",
                                                        version=OLD).json()["images"]]
    meta = f"/images/{world.image_id}/metadata"
    r = full_api("POST", meta, version="2.38", json={"metadata": {"color": "blue", "size_hint": "s"}})
    assert r.status_code == 200, r.text
    assert {"color": "blue", "size_hint": "s"}.items() <= r.json()["metadata"].items()
    assert full_api("GET", f"{meta}/color", version="2.38").json() == {"meta": {"color": "blue"}}
    r = full_api("PUT", f"{meta}/color", version="2.38", json={"meta": {"color": "red"}})
    assert r.json() == {"meta": {"color": "red"}}, r.text
    assert full_api.fault(full_api("PUT", f"{meta}/color", version="2.38", json={"meta": {"shape": "x"}}), 400) == \
        "Request body and URI mismatch"
    assert full_api("DELETE", f"{meta}/size_hint", version="2.38").status_code == 204
    assert full_api.fault(full_api("DELETE", f"{meta}/size_hint", version="2.38"), 404) == "Invalid metadata key"
    assert full_api("GET", meta, version="2.38").json()["metadata"].get("color") == "red"
    assert full_api.fault(full_api("GET", meta, version="2.39"), 404)
    # a snapshot is an image of the proxy, naming its server
    r = full_api("POST", "/servers", json=boot_body(world, unique("snap")))
    sid = r.json()["server"]["id"]
    try:
        assert wait_status(full_api, sid)["status"] == "ACTIVE"
        r = full_api("POST", f"/servers/{sid}/action", version=OLD, json={"createImage": {"name": unique("s")}})
        assert r.status_code == 202, r.text
        snap_id = r.headers["location"].rsplit("/", 1)[-1]
        snap = full_api("GET", f"/images/{snap_id}", version=OLD).json()["image"]
        assert snap["server"]["id"] == sid and snap["metadata"]["image_type"] == "snapshot"
        assert snap["status"] in ("SAVING", "ACTIVE")
        servers = full_api("GET", f"/images/detail?server={sid}", version=OLD).json()["images"]
        assert [i["id"] for i in servers] == [snap_id]
    finally:
        delete_all(full_api, [sid])
    assert full_api("DELETE", f"/images/{snap_id}", version=OLD).status_code == 204
    assert full_api.fault(full_api("GET", f"/images/{snap_id}", version=OLD), 404) == "Image not found."


def test_os_hosts(full_api, world, member):
    hosts = full_api("GET", "/os-hosts", version="2.42").json()["hosts"]
    assert {"host_name": world.hosts[0], "service": "compute", "zone": "nova"} in hosts
    assert {h["service"] for h in hosts} >= {"compute", "conductor", "scheduler"}
    assert all(h["zone"] == "nova" for h in full_api("GET", "/os-hosts?zone=nova", version="2.42").json()["hosts"])
    host = world.hosts[0]
    shown = full_api("GET", f"/os-hosts/{host}", version="2.42").json()["host"]
    assert [r["resource"]["project"] for r in shown[:3]] == ["(total)", "(used_now)", "(used_max)"]
    assert shown[0]["resource"]["memory_mb"] == 32768
    r = full_api("PUT", f"/os-hosts/{host}", version="2.42", json={"status": "disable"})
    assert r.json() == {"host": host, "status": "disabled"}, r.text
    r = full_api("PUT", f"/os-hosts/{host}", version="2.42", json={"status": "enable"})
    assert r.json() == {"host": host, "status": "enabled"}, r.text
    assert full_api.fault(full_api("PUT", f"/os-hosts/{host}", version="2.42", json={"maintenance_mode": "enable"}),
                          501)
    assert full_api.fault(full_api("GET", f"/os-hosts/{host}/reboot", version="2.42"), 501)
    assert full_api.fault(full_api("PUT", f"/os-hosts/{host}", version="2.42", json={"status": "off"}), 400)
    assert full_api.fault(full_api("GET", "/os-hosts/no-such-host", version="2.42"), 404) == \
        "Compute host no-such-host could not be found."
    assert member.api.fault(member.api("GET", "/os-hosts", version="2.42"), 403)


def test_extensions(full_cloud, full_api):
    listed = full_cloud.osc("extension", "list", "--compute")
    aliases = {e["Alias"] for e in listed}
    assert {"os-floating-ips", "os-security-groups", "os-server-external-events", "os-keypairs"} <= aliases
    r = full_api("GET", "/extensions/os-keypairs", version="2.1")
    assert r.json()["extension"]["name"] == "Keypairs", r.text
    assert full_api.fault(full_api("GET", "/extensions/os-volumes"), 404)


def test_volume_attachments_are_empty(full_cloud, world, member, tmp_path):
    sid = boot(member.api, world, world.network_id)
    try:
        r = member.api("GET", f"/servers/{sid}/os-volume_attachments")
        assert r.status_code == 200 and r.json() == {"volumeAttachments": []}, r.text
        vol = str(uuid.uuid4())
        assert member.api.fault(member.api("GET", f"/servers/{sid}/os-volume_attachments/{vol}"), 404) == \
            f"Instance {sid} is not attached to volume {vol}."
        other = make_member(full_cloud, tmp_path)
        assert other.api.fault(other.api("GET", f"/servers/{sid}/os-volume_attachments"), 404)
        # this cloud has no volume service: an attach cannot reach it, and nothing is recorded
        r = member.api("POST", f"/servers/{sid}/os-volume_attachments", json={"volumeAttachment": {"volumeId": vol}})
        assert member.api.fault(r, 503)
        r = member.api("GET", f"/servers/{sid}/os-volume_attachments")
        assert r.status_code == 200 and r.json() == {"volumeAttachments": []}, r.text
        r = member.api("PUT", f"/servers/{sid}/os-volume_attachments/{vol}",
                       json={"volumeAttachment": {"volumeId": vol}})
        assert member.api.fault(r, 404) == f"Instance {sid} is not attached to volume {vol}."
    finally:
        delete_all(member.api, [sid])
