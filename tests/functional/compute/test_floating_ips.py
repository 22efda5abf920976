"""Floating IPs in a server's addresses, kept current by the network service's external events, on
a full cloud with fake hosts: openstacksdk's create_server(auto_ip=True) and
delete_server(delete_ips=True), associating and disassociating through the network API, and
POST /os-server-external-events itself (its 200/207/404, its 400s and its policy)."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import openstack
import pytest

from tests.functional.compute.conftest import make_member, unique
from tests.functional.compute.routed_fixtures import floating_of, make_routed, remove_routed, wait_addresses
from tests.functional.compute.servers_fixtures import boot_body, delete_all, make_world, ports_of, wait_status


@pytest.fixture(scope="module")
def world(full_cloud, tmp_path_factory):
    return make_world(full_cloud, tmp_path_factory.mktemp("floating"))


@pytest.fixture(scope="module")
def routed(full_cloud):
    routed = make_routed(full_cloud, "10.31.0.0/24", "172.24.8.0/24")
    yield routed
    remove_routed(full_cloud, routed)


def net_api(cloud, token: str, method: str, path: str, **kw: Any) -> httpx.Response:
    return httpx.request(method, cloud.url("network", path), headers={"X-Auth-Token": token}, timeout=30, **kw)


def sdk(cloud) -> openstack.connection.Connection:
    from openstack import config

    region = config.OpenStackConfig(config_files=[str(cloud.state_dir / "clouds.yaml")]).get_one("nubes")
    return openstack.connection.Connection(config=region)


def test_openstacksdk_auto_ip_and_delete_ips(full_cloud, full_api, world, routed):
    conn = sdk(full_cloud)
    try:
        server = conn.create_server(unique("auto-ip"), image=world.image_id, flavor=world.flavor_id,
                                    network=routed.network_name, auto_ip=True, wait=True, timeout=90)
        assert server.status == "ACTIVE"
        floating = floating_of(full_api("GET", f"/servers/{server.id}").json()["server"])
        assert len(floating) == 1, floating
        port = ports_of(full_cloud, full_cloud.token(), server.id)[0]
        assert floating[0]["OS-EXT-IPS-MAC:mac_addr"] == port["mac_address"]
        assert floating[0]["version"] == 4
        # what create_server returned already carries it
        assert floating[0]["addr"] in [a["addr"] for addrs in server.addresses.values() for a in addrs
                                       if a["OS-EXT-IPS:type"] == "floating"]
        fips = conn.network.ips(floating_ip_address=floating[0]["addr"])
        assert [f.port_id for f in fips] == [port["id"]]
        assert conn.delete_server(server.id, wait=True, timeout=60, delete_ips=True)
        assert list(conn.network.ips(floating_ip_address=floating[0]["addr"])) == []
    finally:
        conn.close()


def test_association_shows_at_once_and_disassociation_removes(full_cloud, full_api, world, routed, tmp_path):
    member = make_member(full_cloud, tmp_path)
    r = member.api("POST", "/servers", json=boot_body(world, unique("fip"), networks=[{"uuid": routed.network_id}]))
    assert r.status_code == 202, r.text
    sid = r.json()["server"]["id"]
    try:
        assert wait_status(member.api, sid)["status"] == "ACTIVE"
        port = ports_of(full_cloud, member.api.token, sid)[0]
        r = net_api(full_cloud, member.api.token, "POST", "/v2.0/floatingips", json={"floatingip": {
            "floating_network_id": routed.external_id, "port_id": port["id"]}})
        assert r.status_code == 201, r.text
        fip = r.json()["floatingip"]
        server = wait_addresses(member.api, sid, [fip["floating_ip_address"]])
        (entry,) = floating_of(server)
        assert entry == {"version": 4, "addr": fip["floating_ip_address"], "OS-EXT-IPS:type": "floating",
                         "OS-EXT-IPS-MAC:mac_addr": port["mac_address"]}
        listed = member.api("GET", "/servers/detail").json()["servers"]
        assert [floating_of(s) for s in listed if s["id"] == sid] == [[entry]]
        # the CLI shows it too
        shown = member.osc("server", "show", sid)
        assert fip["floating_ip_address"] in str(shown["addresses"])
        r = net_api(full_cloud, member.api.token, "PUT", f"/v2.0/floatingips/{fip['id']}",
                    json={"floatingip": {"port_id": None}})
        assert r.status_code == 200, r.text
        wait_addresses(member.api, sid, [])
        # the CLI's way: server add/remove floating ip (through the network API)
        member.osc("server", "add", "floating ip", sid, fip["floating_ip_address"], json_out=False)
        wait_addresses(member.api, sid, [fip["floating_ip_address"]])
        member.osc("server", "remove", "floating ip", sid, fip["floating_ip_address"], json_out=False)
        wait_addresses(member.api, sid, [])
        r = net_api(full_cloud, member.api.token, "PUT", f"/v2.0/floatingips/{fip['id']}",
                    json={"floatingip": {"port_id": port["id"]}})
        assert r.status_code == 200, r.text
        wait_addresses(member.api, sid, [fip["floating_ip_address"]])
        assert net_api(full_cloud, member.api.token, "DELETE", f"/v2.0/floatingips/{fip['id']}").status_code == 204
        wait_addresses(member.api, sid, [])
    finally:
        delete_all(member.api, [sid])


def event(server_uuid: str, name: str = "network-changed", **extra: Any) -> dict[str, Any]:
    return {"name": name, "server_uuid": server_uuid, **extra}


def test_external_events_statuses(full_api, world):
    r = full_api("POST", "/servers", json=boot_body(world, unique("ev")))
    assert r.status_code == 202, r.text
    sid = r.json()["server"]["id"]
    try:
        assert wait_status(full_api, sid)["status"] == "ACTIVE"
        port = full_api("GET", f"/servers/{sid}/os-interface").json()["interfaceAttachments"][0]["port_id"]
        r = full_api("POST", "/os-server-external-events", json={"events": [
            event(sid, tag=port), event(sid, "network-vif-plugged", tag=port, status="completed")]})
        assert r.status_code == 200, r.text
        assert r.json() == {"events": [
            {"name": "network-changed", "server_uuid": sid, "tag": port, "status": "completed", "code": 200},
            {"name": "network-vif-plugged", "server_uuid": sid, "tag": port, "status": "completed", "code": 200}]}
        missing = str(uuid.uuid4())
        r = full_api("POST", "/os-server-external-events", json={"events": [event(sid), event(missing)]})
        assert r.status_code == 207, r.text
        assert [(e["server_uuid"], e["code"], e["status"]) for e in r.json()["events"]] == [
            (sid, 200, "completed"), (missing, 404, "failed")]
        r = full_api("POST", "/os-server-external-events", json={"events": [event(missing)]})
        assert full_api.fault(r, 404) == "No instances found for any event"
        # the port's deletion reaches the server's cache: it leaves addresses
        r = full_api("POST", "/os-server-external-events", json={"events": [
            event(sid, "network-vif-deleted", tag=port)]})
        assert r.status_code == 200, r.text
        assert full_api("GET", f"/servers/{sid}").json()["server"]["addresses"] == {}
    finally:
        delete_all(full_api, [sid])


BAD_EVENTS = {
    "no-events": {},
    "empty-list": {"events": []},
    "unknown-name": {"events": [{"name": "power-on", "server_uuid": str(uuid.UUID(int=1))}]},
    "bad-uuid": {"events": [{"name": "network-changed", "server_uuid": "not-a-uuid"}]},
    "bad-status": {"events": [{"name": "network-changed", "server_uuid": str(uuid.UUID(int=1)),
                               "status": "done"}]},
    "extra-key": {"events": [{"name": "network-changed", "server_uuid": str(uuid.UUID(int=1)), "x": 1}]},
    "long-tag": {"events": [{"name": "network-changed", "server_uuid": str(uuid.UUID(int=1)), "tag": "t" * 256}]},
}


@pytest.mark.parametrize("case", sorted(BAD_EVENTS))
def test_external_events_bad_bodies(full_api, case):
    r = full_api("POST", "/os-server-external-events", json=BAD_EVENTS[case])
    assert full_api.fault(r, 400)


def test_external_events_are_for_admins_and_services(full_cloud, full_api, world, tmp_path):
    member = make_member(full_cloud, tmp_path)
    r = member.api("POST", "/os-server-external-events", json={"events": [event(str(uuid.uuid4()))]})
    assert member.api.fault(r, 403)


def test_a_port_brought_with_its_floating_ip_shows_it_from_the_start(full_cloud, full_api, world, routed,
                                                                      tmp_path):
    """Heat's and Terraform's order: the port and its floating IP first, then the server on the port."""
    member = make_member(full_cloud, tmp_path)
    r = net_api(full_cloud, member.api.token, "POST", "/v2.0/ports", json={"port": {"network_id": routed.network_id}})
    assert r.status_code == 201, r.text
    port = r.json()["port"]
    r = net_api(full_cloud, member.api.token, "POST", "/v2.0/floatingips", json={"floatingip": {
        "floating_network_id": routed.external_id, "port_id": port["id"]}})
    assert r.status_code == 201, r.text
    fip, fip_id = r.json()["floatingip"]["floating_ip_address"], r.json()["floatingip"]["id"]
    r = member.api("POST", "/servers", json=boot_body(world, unique("pre"), networks=[{"port": port["id"]}]))
    assert r.status_code == 202, r.text
    sid = r.json()["server"]["id"]
    try:
        server = wait_status(member.api, sid)
        assert server["status"] == "ACTIVE"
        assert [a["addr"] for a in floating_of(server)] == [fip]
    finally:
        delete_all(member.api, [sid])
        assert net_api(full_cloud, member.api.token, "DELETE", f"/v2.0/floatingips/{fip_id}").status_code == 204
        assert net_api(full_cloud, member.api.token, "DELETE", f"/v2.0/ports/{port['id']}").status_code == 204
