"""Filters and attributes past what the columns hold answer Neutron's 400; huge limits mean no limit."""

from __future__ import annotations

import json

from tests.functional.network.conftest import unique


def test_integer_filters_past_64_bits_are_a_400(api):
    for query in ("mtu=18446744073709551616", "revision_number=-9223372036854775809"):
        err = api.error(api("GET", f"/networks?{query}"), 400)
        assert err["type"] == "HTTPBadRequest" and "Invalid input for" in err["message"]
    assert api("GET", "/networks?mtu=9223372036854775807").json()["networks"] == []


def test_a_limit_past_64_bits_is_no_limit(api):
    net = api.create("network", name=unique("lim"))
    api.create("port", network_id=net["id"])
    r = api("GET", "/ports?limit=18446744073709551616")
    assert r.status_code == 200, r.text
    assert r.json()["ports"]
    assert api.error(api("GET", "/ports?limit=-1"), 400)["message"].startswith("Limit must be an integer")


def test_time_filters_are_datetimes(api):
    net = api.create("network", name=unique("when"))
    err = api.error(api("GET", "/networks?created_at=9999999-12-31T25:61:00Z"), 400)
    assert "is not a valid date and time" in err["message"]
    assert api.error(api("GET", "/subnets?updated_at=in:"), 400)["type"] == "HTTPBadRequest"
    r = api("GET", f"/networks?created_at=2000-01-01T00:00:00Z&name={net['name']}")
    assert r.status_code == 200 and r.json()["networks"] == []


def test_integer_attributes_stop_at_the_4_byte_columns(api):
    pool = api.create("subnetpool", name=unique("pool"), prefixes=["10.240.0.0/16"], default_prefixlen=24)
    r = api("PUT", f"/subnetpools/{pool['id']}", json={"subnetpool": {"default_quota": 2**31}})
    assert "must be no larger than '2147483647'" in api.error(r, 400)["message"]
    r = api("PUT", f"/subnetpools/{pool['id']}", json={"subnetpool": {"default_quota": 2**31 - 1}})
    assert r.status_code == 200 and r.json()["subnetpool"]["default_quota"] == 2**31 - 1


def test_nul_in_a_name_is_refused_and_nothing_is_created(api):
    name = unique("nul")
    r = api("POST", "/networks", content=json.dumps({"network": {"name": name + "\u0000"}}).encode(),
            headers={"Content-Type": "application/json"})
    assert "NUL character" in api.error(r, 400)["message"]
    assert not [n for n in api("GET", "/networks").json()["networks"] if n["name"].startswith(name)]
