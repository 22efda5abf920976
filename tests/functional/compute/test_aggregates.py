"""Host aggregates and availability zones on a cloud of three fake hosts: the CLI flow, zones in
``availability zone list``, membership mirrored to placement, Nova's zone rules and the bad requests.

Every test leaves the hosts in no aggregate (other tests on this cloud schedule servers)."""

from __future__ import annotations

import uuid

import pytest

from tests.functional.compute.conftest import unique
from tests.functional.compute.test_services import compute_hosts, node_uuid, placement


def provider_aggregates(cloud, api, host: str) -> list[str]:
    r = placement(cloud, f"/resource_providers/{node_uuid(api, host)}/aggregates")
    assert r.status_code == 200, r.text
    return r.json()["aggregates"]


@pytest.fixture
def aggregates(full_api):
    """Names of aggregates a test makes; emptied and deleted afterwards."""
    made: list[str] = []
    yield made
    for agg in full_api("GET", "/os-aggregates").json()["aggregates"]:
        if agg["name"] in made:
            for host in agg["hosts"]:
                full_api("POST", f"/os-aggregates/{agg['id']}/action", json={"remove_host": {"host": host}})
            assert full_api("DELETE", f"/os-aggregates/{agg['id']}").status_code == 200


def create(api, name: str, zone: str | None = None, version: str = "2.96") -> dict:
    body = {"name": name, **({"availability_zone": zone} if zone else {})}
    r = api("POST", "/os-aggregates", json={"aggregate": body}, version=version)
    assert r.status_code == 200, r.text
    return r.json()["aggregate"]


def action(api, agg_id: int, name: str, body: dict, version: str = "2.96"):
    return api("POST", f"/os-aggregates/{agg_id}/action", json={name: body}, version=version)


def test_cli_aggregate_with_a_zone(full_cloud, full_api, aggregates):
    name, zone = unique("agg"), unique("az")
    aggregates.append(name)
    host = compute_hosts(full_api)[0]
    made = full_cloud.osc("aggregate", "create", "--zone", zone, name)
    assert made["name"] == name and made["availability_zone"] == zone and uuid.UUID(made["uuid"])
    added = full_cloud.osc("aggregate", "add", "host", name, host)
    assert added["hosts"] == [host]
    full_cloud.osc("aggregate", "set", "--property", "ssd=true", "--property", "tier=gold", name, json_out=False)
    shown = full_cloud.osc("aggregate", "show", name)
    assert shown["availability_zone"] == zone and shown["hosts"] == [host]
    assert shown["properties"] == {"ssd": "true", "tier": "gold"}
    listed = [a for a in full_cloud.osc("aggregate", "list", "--long") if a["Name"] == name]
    assert listed and listed[0]["Availability Zone"] == zone
    # the zone appears, the host is in it, the others stay in the default zone
    zones = {z["Zone Name"]: z["Zone Status"] for z in full_cloud.osc("availability", "zone", "list", "--compute")}
    assert zones[zone] == "available" and zones["nova"] == "available" and zones["internal"] == "available"
    summary = full_api("GET", "/os-availability-zone").json()["availabilityZoneInfo"]   # what members see
    assert {z["zoneName"] for z in summary} >= {zone, "nova"} and "internal" not in {z["zoneName"] for z in summary}
    services = {s["Host"]: s["Zone"] for s in full_cloud.osc("compute", "service", "list")}
    assert services[host] == zone and {services[h] for h in compute_hosts(full_api)[1:]} == {"nova"}
    detail = full_cloud.osc("availability", "zone", "list", "--compute", "--long")
    assert {(d["Zone Name"], d["Host Name"], d["Service Name"]) for d in detail} >= {
        (zone, host, "nova-compute"), ("internal", next(s["Host"] for s in full_cloud.osc(
            "compute", "service", "list", "--service", "nova-conductor")), "nova-conductor")}
    # placement knows the membership, and forgets it with the host
    assert made["uuid"] in provider_aggregates(full_cloud, full_api, host)
    full_cloud.osc("aggregate", "remove", "host", name, host)
    assert made["uuid"] not in provider_aggregates(full_cloud, full_api, host)
    zones = {z["Zone Name"] for z in full_cloud.osc("availability", "zone", "list", "--compute")}
    assert zone not in zones                       # a zone without hosts is no zone
    full_cloud.osc("aggregate", "unset", "--property", "tier", name, json_out=False)
    assert full_cloud.osc("aggregate", "show", name)["properties"] == {"ssd": "true"}


def test_a_host_is_in_one_zone_at_most(full_api, aggregates):
    h1, h2 = compute_hosts(full_api)[:2]
    a1, a2, plain = unique("a1"), unique("a2"), unique("plain")
    aggregates += [a1, a2, plain]
    z1, z2 = create(full_api, a1, "zone-1"), create(full_api, a2, "zone-2")
    p = create(full_api, plain)
    assert action(full_api, z1["id"], "add_host", {"host": h1}).status_code == 200
    r = action(full_api, z2["id"], "add_host", {"host": h1})
    assert full_api.fault(r, 409) == (f"Cannot add host to aggregate {z2['id']}. Reason: One or more hosts already "
                                      "in availability zone(s) ['zone-1'].")
    assert action(full_api, p["id"], "add_host", {"host": h1}).status_code == 200   # no zone: fine
    # zoning the plain aggregate differently is refused too; the same zone is fine
    r = full_api("PUT", f"/os-aggregates/{p['id']}", json={"aggregate": {"availability_zone": "zone-2"}})
    assert "already in availability zone(s) ['zone-1']" in full_api.fault(r, 400)
    r = action(full_api, p["id"], "set_metadata", {"metadata": {"availability_zone": "zone-2"}})
    assert full_api.fault(r, 400).startswith(f"Cannot update metadata of aggregate {p['id']}.")
    r = full_api("PUT", f"/os-aggregates/{p['id']}", json={"aggregate": {"availability_zone": "zone-1"}})
    assert r.status_code == 200 and r.json()["aggregate"]["availability_zone"] == "zone-1"
    assert action(full_api, z2["id"], "add_host", {"host": h2}).status_code == 200
    r = full_api("PUT", f"/os-aggregates/{z2['id']}", json={"aggregate": {"availability_zone": None}})
    assert "does not support empty named availability zone" in full_api.fault(r, 400)


def test_crud_and_metadata(full_api, aggregates):
    name = unique("crud")
    aggregates.append(name)
    made = create(full_api, name, version="2.40")
    assert "uuid" not in made and "hosts" not in made and made["availability_zone"] is None
    assert made["deleted"] is False and made["deleted_at"] is None
    r = full_api("GET", f"/os-aggregates/{made['id']}")
    agg = r.json()["aggregate"]
    assert agg["hosts"] == [] and agg["metadata"] == {} and uuid.UUID(agg["uuid"])
    renamed = unique("renamed")
    aggregates.append(renamed)
    r = full_api("PUT", f"/os-aggregates/{made['id']}", json={"aggregate": {"name": renamed,
                                                                             "availability_zone": "zz"}})
    assert r.status_code == 200 and r.json()["aggregate"]["name"] == renamed
    assert r.json()["aggregate"]["metadata"] == {"availability_zone": "zz"}
    r = action(full_api, made["id"], "set_metadata", {"metadata": {"a": "1", "b": "2"}})
    assert r.json()["aggregate"]["metadata"] == {"availability_zone": "zz", "a": "1", "b": "2"}
    r = action(full_api, made["id"], "set_metadata", {"metadata": {"a": None, "gone": None}})
    assert r.json()["aggregate"]["metadata"] == {"availability_zone": "zz", "b": "2"}
    assert r.json()["aggregate"]["updated_at"]
    other = unique("other")
    aggregates.append(other)
    create(full_api, other)
    r = full_api("PUT", f"/os-aggregates/{made['id']}", json={"aggregate": {"name": other}})
    assert full_api.fault(r, 409) == f"Aggregate {other} already exists."
    r = full_api("POST", "/os-aggregates", json={"aggregate": {"name": other}})
    assert full_api.fault(r, 409) == f"Aggregate {other} already exists."
    host = compute_hosts(full_api)[2]
    action(full_api, made["id"], "add_host", {"host": host})
    r = full_api("DELETE", f"/os-aggregates/{made['id']}")
    assert full_api.fault(r, 400) == (f"Cannot remove host from aggregate {made['id']}. Reason: Host aggregate "
                                      "is not empty.")
    action(full_api, made["id"], "remove_host", {"host": host})
    assert full_api("DELETE", f"/os-aggregates/{made['id']}").status_code == 200
    assert full_api.fault(full_api("GET", f"/os-aggregates/{made['id']}"), 404) == (
        f"Aggregate {made['id']} could not be found.")


def test_bad_requests(full_api, aggregates):
    name = unique("bad")
    aggregates.append(name)
    agg = create(full_api, name)
    host = compute_hosts(full_api)[0]
    assert full_api.fault(full_api("GET", "/os-aggregates/abc"), 400) == (
        "Invalid input received: id must be an integer")
    assert full_api.fault(action(full_api, 999999, "add_host", {"host": host}), 404) == (
        "Aggregate 999999 could not be found.")
    assert full_api.fault(action(full_api, agg["id"], "add_host", {"host": "no-such-host"}), 404) == (
        "Compute host no-such-host could not be found.")
    assert action(full_api, agg["id"], "add_host", {"host": host}).status_code == 200
    assert full_api.fault(action(full_api, agg["id"], "add_host", {"host": host}), 409) == (
        f"Aggregate {agg['id']} already has host {host}.")
    other = compute_hosts(full_api)[1]
    assert full_api.fault(action(full_api, agg["id"], "remove_host", {"host": other}), 404) == (
        f"Cannot remove host {other} in aggregate {agg['id']}")
    assert full_api.fault(full_api("POST", f"/os-aggregates/{agg['id']}/action", json={"explode": {}}),
                          400) == "There is no such action: explode"
    assert "'host' is a required property" in full_api.fault(action(full_api, agg["id"], "add_host", {}), 400)
    assert full_api.fault(action(full_api, agg["id"], "set_metadata", {"metadata": {"bad/key": "x"}}), 400)
    assert full_api.fault(action(full_api, agg["id"], "set_metadata", {"metadata": {"k": "x" * 256}}), 400)
    for body in ({"aggregate": {}}, {"aggregate": {"name": " padded "}}, {"aggregate": {"name": "x", "y": 1}},
                 {"aggregate": {"name": "ok", "availability_zone": "a:b"}}):
        assert full_api.fault(full_api("POST", "/os-aggregates", json=body), 400)
    r = full_api("PUT", f"/os-aggregates/{agg['id']}", json={"aggregate": {}})
    assert "is not valid under any of the given schemas" in full_api.fault(r, 400)
    r = full_api("POST", f"/os-aggregates/{agg['id']}/images", json={"cache": [{"id": str(uuid.uuid4())}]})
    assert "not implemented" in full_api.fault(r, 501)          # image caching is not built
