"""Networks through the openstack CLI and raw HTTP: provider attributes, sharing, errors, listing."""

from __future__ import annotations

import httpx

from tests.functional.network.conftest import NetApi, unique


def test_install_guide_provider_and_selfservice_networks(net_cloud):
    provider = net_cloud.osc("network", "create", "--share", "--external", "--provider-physical-network",
                             unique("physnet")[:0] + "provider", "--provider-network-type", "flat",
                             unique("provider"))
    assert provider["router:external"] is True and provider["shared"] is True
    assert provider["provider:network_type"] == "flat" and provider["provider:segmentation_id"] is None
    assert provider["mtu"] == 1500 and provider["revision_number"] == 1
    self_service = net_cloud.osc("network", "create", unique("selfservice"))
    assert self_service["provider:network_type"] == "vxlan"
    assert self_service["mtu"] == 1450 and self_service["provider:segmentation_id"] >= 1
    names = {n["Name"] for n in net_cloud.osc("network", "list")}
    assert {provider["name"], self_service["name"]} <= names
    # one flat network per physical network
    dup = net_cloud.osc("network", "create", "--provider-physical-network", "provider",
                        "--provider-network-type", "flat", unique("again"), check=False, json_out=False)
    assert dup.returncode != 0 and "in use" in dup.stderr
    net_cloud.osc("network", "delete", provider["id"], self_service["id"], json_out=False)


def test_vlan_segments_are_allocated_and_unique(api):
    a = api.create("network", name=unique("v"), **{"provider:network_type": "vlan",
                                                   "provider:physical_network": "provider",
                                                   "provider:segmentation_id": 100})
    assert a["provider:segmentation_id"] == 100
    r = api("POST", "/networks", json={"network": {"provider:network_type": "vlan",
                                                    "provider:physical_network": "provider",
                                                    "provider:segmentation_id": 100}})
    assert api.error(r, 409)["message"].startswith("Unable to create the network. The VLAN 100")
    r = api("POST", "/networks", json={"network": {"provider:network_type": "vlan",
                                                    "provider:physical_network": "nope"}})
    assert "unknown for VLAN" in api.error(r, 400)["message"]
    r = api("POST", "/networks", json={"network": {"provider:network_type": "geneve"}})
    assert api.error(r, 400)["type"] == "InvalidInput"
    api("DELETE", f"/networks/{a['id']}")


def test_member_cannot_set_provider_attributes_or_see_them(member):
    r = member.api("POST", "/networks", json={"network": {"name": "x", "provider:network_type": "vxlan"}})
    err = member.api.error(r, 403)
    assert err["type"] == "PolicyNotAuthorized" and "provider:network_type" in err["message"]
    net = member.api.create("network", name=unique("mine"))
    assert "provider:network_type" not in net and net["project_id"] == member.project_id
    r = member.api("POST", "/networks", json={"network": {"shared": True}})
    assert member.api.error(r, 403)["type"] == "PolicyNotAuthorized"
    member.api("DELETE", f"/networks/{net['id']}")


def test_visibility_between_projects(api, member, reader):
    private = api.create("network", name=unique("private"))
    shared = api.create("network", name=unique("shared"), shared=True)
    ids = {n["id"] for n in member.api("GET", "/networks").json()["networks"]}
    assert shared["id"] in ids and private["id"] not in ids
    r = member.api("GET", f"/networks/{private['id']}")
    assert member.api.error(r, 404)["type"] == "NetworkNotFound"
    r = member.api("DELETE", f"/networks/{shared['id']}")
    assert r.status_code in (403, 404)
    r = reader.api("POST", "/networks", json={"network": {"name": "ro"}})
    assert reader.api.error(r, 403)["type"] == "PolicyNotAuthorized"
    for n in (private, shared):
        assert api("DELETE", f"/networks/{n['id']}").status_code == 204


def test_bad_input_gets_neutron_errors(api):
    r = api("POST", "/networks", content=b"{not json", headers={"Content-Type": "application/json"})
    assert api.error(r, 400)
    r = api("POST", "/networks", json={"net": {}})
    assert api.error(r, 400)["message"] == "Unable to find 'network' in request body"
    r = api("POST", "/networks", json={"network": {"bogus": 1}})
    assert api.error(r, 400)["message"] == "Unrecognized attribute(s) 'bogus'"
    r = api("POST", "/networks", json={"network": {"admin_state_up": "maybe"}})
    assert "cannot be converted to boolean" in api.error(r, 400)["message"]
    r = api("POST", "/networks", json={"network": {"status": "DOWN"}})
    assert api.error(r, 400)["message"] == "Attribute 'status' not allowed in POST"
    r = api("POST", "/networks", json={"network": {"mtu": 9000}})
    assert "MTU is too big" in api.error(r, 400)["message"]
    r = api("GET", "/networks?bogus=1")
    assert api.error(r, 400)["message"] == "[bogus] is invalid attribute for filtering"
    r = api("GET", "/networks/00000000-0000-0000-0000-000000000000")
    assert api.error(r, 404)["type"] == "NetworkNotFound"
    r = api("PATCH", "/networks")
    assert r.status_code == 405


def test_update_with_revision_precondition(api):
    net = api.create("network", name=unique("rev"))
    r = api("PUT", f"/networks/{net['id']}", json={"network": {"name": "renamed"}},
            headers={"If-Match": f"revision_number={net['revision_number']}"})
    assert r.status_code == 200 and r.json()["network"]["revision_number"] == net["revision_number"] + 1
    r = api("PUT", f"/networks/{net['id']}", json={"network": {"name": "again"}},
            headers={"If-Match": f"revision_number={net['revision_number']}"})
    assert api.error(r, 412)["type"] == "RevisionNumberConstraintFailed"
    r = api("PUT", f"/networks/{net['id']}", json={"network": {"status": "DOWN"}})
    assert api.error(r, 400)["message"] == "Cannot update read-only attribute status"
    api("DELETE", f"/networks/{net['id']}")


def test_filters_fields_sorting_and_paging(api):
    tag = unique("page")
    made = [api.create("network", name=f"{tag}-{i}", admin_state_up=(i % 2 == 0)) for i in range(5)]
    for n in made:
        assert api("PUT", f"/networks/{n['id']}/tags/{tag}").status_code == 201
    got = api("GET", f"/networks?tags={tag}&admin_state_up=false&fields=id&fields=name").json()["networks"]
    assert sorted(g["name"] for g in got) == [f"{tag}-1", f"{tag}-3"] and set(got[0]) == {"id", "name"}
    names = [n["name"] for n in api("GET", f"/networks?tags={tag}&sort_key=name&sort_dir=desc")
             .json()["networks"]]
    assert names == sorted(names, reverse=True)
    seen, url = [], f"/networks?tags={tag}&limit=2&sort_key=name&sort_dir=asc"
    while url:
        body = api("GET", url).json()
        seen += [n["name"] for n in body["networks"]]
        nxt = [link["href"] for link in body.get("networks_links", []) if link["rel"] == "next"]
        url = nxt[0].split("/v2.0", 1)[1] if nxt else None
    assert seen == sorted(n["name"] for n in made)
    assert api("GET", f"/networks/{made[0]['id']}/tags").json() == {"tags": [tag]}
    assert api("GET", f"/networks?not-tags={tag}&name={made[0]['name']}").json()["networks"] == []
    for n in made:
        api("DELETE", f"/networks/{n['id']}")


def test_extensions_and_discovery(api, net_cloud):
    import httpx

    root = httpx.get(net_cloud.url("network", "/"), timeout=10).json()
    assert root["versions"][0]["id"] == "v2.0"
    aliases = {e["alias"] for e in api("GET", "/extensions").json()["extensions"]}
    assert {"external-net", "provider", "standard-attr-tag", "revision-if-match"} <= aliases
    assert api("GET", "/extensions/provider").json()["extension"]["alias"] == "provider"
    assert api.error(api("GET", "/extensions/nope"), 404)


TAGGED = ("network", "subnet", "port", "router", "security group", "floating ip", "subnet pool")


def _reader_of(cloud, project_id: str) -> str:
    """A token of a new user with only the reader role on the project."""
    name, password = unique("reader"), "secret-" + unique("pw")
    cloud.osc("user", "create", "--password", password, name)
    cloud.osc("role", "add", "--project", project_id, "--user", name, "reader", json_out=False)
    body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": name, "domain": {"id": "default"}, "password": password}}},
        "scope": {"project": {"id": project_id}}}}
    r = httpx.post(f"{cloud.auth_url}/auth/tokens", json=body, timeout=30)
    assert r.status_code == 201, r.text
    return r.headers["x-subject-token"]


def test_a_member_tags_its_own_resources(net_cloud, tmp_path):
    """Neutron's <action>_<resource>:tags rules: the owner's member adds, replaces and removes tags
    on each kind of resource (with the CLI and the raw API), a reader reads them and changes none."""
    from tests.functional.network.conftest import make_member

    member = make_member(net_cloud, tmp_path)
    reader = NetApi(net_cloud, _reader_of(net_cloud, member.project_id))
    api = member.api
    ext = net_cloud.osc("network", "create", "--external", unique("tagext"))
    api_admin = NetApi(net_cloud, net_cloud.token())
    api_admin.create("subnet", network_id=ext["id"], cidr="198.51.100.0/24", ip_version=4)
    net = api.create("network", name=unique("tagnet"))
    made = {
        "network": ("networks", net["id"]),
        "subnet": ("subnets", api.create("subnet", network_id=net["id"], cidr="10.77.0.0/24", ip_version=4)["id"]),
        "port": ("ports", api.create("port", network_id=net["id"])["id"]),
        "router": ("routers", api.create("router", name=unique("tagrouter"))["id"]),
        "security group": ("security-groups", api.create("security_group", "security-groups",
                                                         name=unique("tagsg"))["id"]),
        "floating ip": ("floatingips", api.create("floatingip", floating_network_id=ext["id"])["id"]),
        "subnet pool": ("subnetpools", api.create("subnetpool", name=unique("tagpool"),
                                                  prefixes=["10.99.0.0/16"])["id"]),
    }
    assert set(made) == set(TAGGED)
    for kind, (collection, rid) in made.items():
        member.osc(*kind.split(), "set", "--tag", "blue", "--tag", "red", rid, json_out=False)
        assert sorted(api("GET", f"/{collection}/{rid}/tags").json()["tags"]) == ["blue", "red"], kind
        member.osc(*kind.split(), "unset", "--tag", "red", rid, json_out=False)
        r = api("PUT", f"/{collection}/{rid}/tags", json={"tags": ["green", "blue"]})
        assert r.status_code == 200 and sorted(r.json()["tags"]) == ["blue", "green"], (kind, r.text)
        assert api("PUT", f"/{collection}/{rid}/tags/yellow").status_code == 201, kind
        assert api("DELETE", f"/{collection}/{rid}/tags/green").status_code == 204, kind
        assert api("GET", f"/{collection}/{rid}/tags/yellow").status_code == 204, kind
        assert sorted(reader("GET", f"/{collection}/{rid}/tags").json()["tags"]) == ["blue", "yellow"], kind
        for method, path in (("PUT", "/tags/x"), ("DELETE", "/tags/blue"), ("DELETE", "/tags")):
            r = reader(method, f"/{collection}/{rid}{path}")
            assert reader.error(r, 403)["type"] == "PolicyNotAuthorized", (kind, method, path)
        assert api("DELETE", f"/{collection}/{rid}/tags").status_code == 204, kind
        assert api("GET", f"/{collection}/{rid}/tags").json()["tags"] == [], kind
    # another project's member gets a 404, as for the resource itself
    other = make_member(net_cloud, tmp_path)
    assert other.api.error(other.api("PUT", f"/networks/{net['id']}/tags/x"), 404)["type"] == "NetworkNotFound"

    for kind in ("floating ip", "port", "subnet", "router", "security group", "subnet pool"):
        collection, rid = made[kind]
        assert api("DELETE", f"/{collection}/{rid}").status_code == 204, kind
    api("DELETE", f"/networks/{net['id']}")
    api_admin("DELETE", f"/networks/{ext['id']}")


def test_tag_extension_aliases(api):
    aliases = {e["alias"] for e in api("GET", "/extensions").json()["extensions"]}
    assert {"tag", "tag-ext", "standard-attr-tag", "tag-creation"} <= aliases
    assert api("GET", "/extensions/tag").json()["extension"]["alias"] == "tag"
