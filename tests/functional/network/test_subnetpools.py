"""Subnet pools through the openstack CLI and raw HTTP: prefixes, prefix-length bounds, subnets
carved from a pool, the default pool, add/remove prefixes, quotas and sharing."""

from __future__ import annotations

from tests.functional.network.conftest import unique


def test_pool_and_subnets_from_it(net_cloud, api):
    pool = net_cloud.osc("subnet", "pool", "create", "--pool-prefix", "10.110.0.0/16", "--default-prefix-length",
                         "26", "--min-prefix-length", "20", "--max-prefix-length", "28", unique("pool"))
    assert pool["prefixes"] == ["10.110.0.0/16"] and pool["ip_version"] == 4
    assert (pool["default_prefixlen"], pool["min_prefixlen"], pool["max_prefixlen"]) == (26, 20, 28)
    net = api.create("network", name=unique("pooled"))
    a = net_cloud.osc("subnet", "create", "--network", net["id"], "--subnet-pool", pool["id"], unique("a"))
    assert a["cidr"] == "10.110.0.0/26" and a["subnetpool_id"] == pool["id"] and a["gateway_ip"] == "10.110.0.1"
    assert a["allocation_pools"] == [{"start": "10.110.0.2", "end": "10.110.0.62"}]
    b = net_cloud.osc("subnet", "create", "--network", net["id"], "--subnet-pool", pool["id"], "--prefix-length",
                      "28", unique("b"))
    assert b["cidr"] == "10.110.0.64/28"     # the most specific free block is used first
    c = net_cloud.osc("subnet", "create", "--network", net["id"], "--subnet-pool", pool["id"], "--subnet-range",
                      "10.110.8.0/24", unique("c"))
    assert c["cidr"] == "10.110.8.0/24"
    errors = [
        ({"prefixlen": 30}, 400, "Unable to allocate subnet with prefix length 30, maximum allowed prefix is 28."),
        ({"prefixlen": 16}, 400, "Unable to allocate subnet with prefix length 16, minimum allowed prefix is 20."),
        ({"cidr": "10.120.0.0/24"}, 409, "Failed to allocate subnet: Cannot allocate requested subnet from the "
                                         "available set of prefixes."),
        ({"cidr": "10.110.8.128/25"}, 409, "Cannot allocate requested subnet"),
        ({"ip_version": 6}, 400, "Cannot allocate IPv6 subnet from IPv4 subnet pool"),
        ({"allocation_pools": [{"start": "10.110.0.2", "end": "10.110.0.5"}]}, 400,
         "allocation_pools allowed only for specific subnet requests."),
    ]
    for extra, status, words in errors:
        body = {"network_id": net["id"], "ip_version": 4, "subnetpool_id": pool["id"], **extra}
        r = api("POST", "/subnets", json={"subnet": body})
        assert words in api.error(r, status)["message"], (extra, r.text)
    r = api("DELETE", f"/subnetpools/{pool['id']}")
    err = api.error(r, 400)
    assert err["type"] == "SubnetPoolDeleteError"
    assert err["message"] == "Unable to delete subnet pool: Subnet pool has existing allocations."
    # subnets of one network come from one pool
    r = api("POST", "/subnets", json={"subnet": {"network_id": net["id"], "ip_version": 4, "cidr": "10.130.0.0/24"}})
    assert api.error(r, 400)["type"] == "NetworkSubnetPoolAffinityError"
    for s in (a, b, c):
        net_cloud.osc("subnet", "delete", s["id"], json_out=False)
    net_cloud.osc("subnet", "pool", "delete", pool["id"], json_out=False)
    api("DELETE", f"/networks/{net['id']}")


def test_exhausted_pool(api):
    pool = api.create("subnetpool", name=unique("small"), prefixes=["10.140.0.0/24"], default_prefixlen=25)
    net = api.create("network", name=unique("small"))
    made = [api.create("subnet", network_id=net["id"], ip_version=4, subnetpool_id=pool["id"]) for _ in range(2)]
    assert sorted(s["cidr"] for s in made) == ["10.140.0.0/25", "10.140.0.128/25"]
    r = api("POST", "/subnets", json={"subnet": {"network_id": net["id"], "ip_version": 4,
                                                 "subnetpool_id": pool["id"]}})
    err = api.error(r, 409)
    assert err["type"] == "SubnetAllocationError"
    assert err["message"] == "Failed to allocate subnet: Insufficient prefix space to allocate subnet size /25."
    api("DELETE", f"/networks/{net['id']}")
    assert api("DELETE", f"/subnetpools/{pool['id']}").status_code == 204


def test_pool_input_errors_and_updates(net_cloud, api):
    cases = [
        ({"prefixes": []}, "Empty subnet pool prefix list."),
        ({"prefixes": ["10.0.0.0/8", "fd00::/8"]}, "Cannot mix IPv4 and IPv6 prefixes in a subnet pool."),
        ({"prefixes": ["10.0.0.0/8"], "min_prefixlen": 24, "max_prefixlen": 16},
         "Illegal prefix bounds: min_prefixlen=24, max_prefixlen=16."),
        ({"prefixes": ["10.0.0.0/8"], "max_prefixlen": 40},
         "Illegal prefix bounds: max_prefixlen=40, ip_version_max=32."),
        ({"prefixes": ["10.0.0.300/8"]}, "Invalid input for prefixes"),
        ({"prefixes": ["10.0.0.0/8"], "default_prefixlen": -1}, "Invalid input for default_prefixlen"),
    ]
    for body, words in cases:
        r = api("POST", "/subnetpools", json={"subnetpool": {"name": unique("bad"), **body}})
        assert words in api.error(r, 400)["message"], (body, r.text)
    r = api("POST", "/subnetpools", json={"subnetpool": {"prefixes": ["10.0.0.0/8"]}})
    assert "Required attribute 'name' not specified" in api.error(r, 400)["message"]
    pool = api.create("subnetpool", name=unique("grow"), prefixes=["10.150.0.0/24", "10.150.1.0/24"])
    assert pool["prefixes"] == ["10.150.0.0/23"]            # prefixes are compacted
    assert (pool["min_prefixlen"], pool["max_prefixlen"], pool["default_prefixlen"]) == (8, 32, 8)
    net_cloud.osc("subnet", "pool", "set", "--pool-prefix", "10.151.0.0/24", "--default-prefix-length", "26",
                  "--min-prefix-length", "24", pool["id"], json_out=False)
    shown = api("GET", f"/subnetpools/{pool['id']}").json()["subnetpool"]
    assert shown["prefixes"] == ["10.150.0.0/23", "10.151.0.0/24"] and shown["default_prefixlen"] == 26
    assert shown["revision_number"] == pool["revision_number"] + 1
    r = api("PUT", f"/subnetpools/{pool['id']}", json={"subnetpool": {"prefixes": ["10.150.0.0/24"]}})
    assert api.error(r, 400)["message"] == ("Illegal update to prefixes: Existing prefixes must be a subset of "
                                            "the new prefixes.")
    r = api("PUT", f"/subnetpools/{pool['id']}", json={"subnetpool": {"min_prefixlen": 27}})
    assert "default_prefixlen=26, min_prefixlen=27" in api.error(r, 400)["message"]
    r = api("PUT", f"/subnetpools/{pool['id']}", json={"subnetpool": {"shared": True}})
    assert api.error(r, 400)["message"] == "Cannot update read-only attribute shared"
    api("DELETE", f"/subnetpools/{pool['id']}")


def test_add_and_remove_prefixes(api):
    pool = api.create("subnetpool", name=unique("ops"), prefixes=["10.160.0.0/24"], default_prefixlen=26)
    r = api("PUT", f"/subnetpools/{pool['id']}/add_prefixes", json={"prefixes": ["10.160.1.0/24", "10.161.0.0/24"]})
    assert r.status_code == 200 and r.json() == {"prefixes": ["10.160.0.0/23", "10.161.0.0/24"]}
    net = api.create("network", name=unique("ops"))
    sub = api.create("subnet", network_id=net["id"], ip_version=4, subnetpool_id=pool["id"])
    assert sub["cidr"] == "10.161.0.0/26"      # the most specific block (the /24) is carved first
    r = api("PUT", f"/subnetpools/{pool['id']}/remove_prefixes", json={"prefixes": ["10.161.0.0/24"]})
    assert api.error(r, 400)["message"] == ("Illegal update to prefixes: One or more the prefixes to be removed "
                                            "is in use by a subnet.")
    r = api("PUT", f"/subnetpools/{pool['id']}/remove_prefixes", json={"prefixes": ["10.160.0.0/24"]})
    assert r.json() == {"prefixes": ["10.160.1.0/24", "10.161.0.0/24"]}     # a prefix may be split
    r = api("PUT", f"/subnetpools/{pool['id']}/remove_prefixes", json={"prefixes": ["192.0.2.0/24"]})
    assert r.json() == {"prefixes": ["10.160.1.0/24", "10.161.0.0/24"]}     # disjoint: nothing to do
    r = api("PUT", f"/subnetpools/{pool['id']}/add_prefixes", json={"prefixes": "10.0.0.0/8"})
    assert api.error(r, 400)["message"] == "Request body contains invalid data"
    r = api("PUT", f"/subnetpools/{pool['id']}/add_prefixes", json={"prefixes": ["fd00::/64"]})
    assert api.error(r, 400)["type"] == "PrefixVersionMismatch"
    shown = api("GET", f"/subnetpools/{pool['id']}").json()["subnetpool"]
    assert shown["prefixes"] == ["10.160.1.0/24", "10.161.0.0/24"]
    assert shown["revision_number"] > pool["revision_number"]
    api("DELETE", f"/networks/{net['id']}")
    api("DELETE", f"/subnetpools/{pool['id']}")
    aliases = {e["alias"] for e in api("GET", "/extensions").json()["extensions"]}
    assert {"subnet_allocation", "default-subnetpools", "subnetpool-prefix-ops"} <= aliases


def test_default_pool_shared_pool_and_quota(net_cloud, api, member):
    v6 = api.create("subnetpool", name=unique("v6default"), prefixes=["fd00:aa00::/48"], is_default=True,
                    shared=True, default_prefixlen=64)
    try:
        again = api("POST", "/subnetpools", json={"subnetpool": {"name": unique("second"), "is_default": True,
                                                                 "prefixes": ["fd00:bb00::/48"]}})
        assert "Only one default may exist per IP family" in api.error(again, 400)["message"]
        r = member.api("POST", "/subnetpools", json={"subnetpool": {"name": "mine", "shared": True,
                                                                    "prefixes": ["10.170.0.0/16"]}})
        assert member.api.error(r, 403)["type"] == "PolicyNotAuthorized"
        # a member sees the shared default pool and takes a subnet from it by default
        assert v6["id"] in {p["ID"] for p in member.osc("subnet", "pool", "list")}
        net = member.api.create("network", name=unique("m"))
        sub = member.osc("subnet", "create", "--network", net["id"], "--ip-version", "6", "--use-default-subnet-pool",
                         "--ipv6-ra-mode", "slaac", "--ipv6-address-mode", "slaac", unique("auto"))
        assert sub["subnetpool_id"] == v6["id"] and sub["cidr"] == "fd00:aa00::/64"
        r = member.api("POST", "/subnets", json={"subnet": {"network_id": net["id"], "ip_version": 4,
                                                            "use_default_subnetpool": True}})
        assert member.api.error(r, 400)["message"] == "Bad subnets request: No default subnetpool found for IPv4."
        member.api("DELETE", f"/networks/{net['id']}")
        r = member.api("DELETE", f"/subnetpools/{v6['id']}")
        assert r.status_code in (403, 404)
    finally:
        api("DELETE", f"/subnetpools/{v6['id']}")
    quota = api.create("subnetpool", name=unique("quota"), prefixes=["10.180.0.0/16"], default_prefixlen=28,
                       default_quota=32)
    net = api.create("network", name=unique("q"))
    for _ in range(2):      # two /28s are 32 addresses: the whole quota
        api.create("subnet", network_id=net["id"], ip_version=4, subnetpool_id=quota["id"])
    r = api("POST", "/subnets", json={"subnet": {"network_id": net["id"], "ip_version": 4,
                                                 "subnetpool_id": quota["id"]}})
    err = api.error(r, 409)
    assert err["type"] == "SubnetPoolQuotaExceeded" and err["message"] == "Per-tenant subnet pool prefix quota exceeded."
    api("DELETE", f"/networks/{net['id']}")
    api("DELETE", f"/subnetpools/{quota['id']}")
