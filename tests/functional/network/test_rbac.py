"""RBAC policies through the openstack CLI and raw HTTP: sharing networks (one project or all) and
external access, security group sharing, who may create which entry, and the errors Neutron gives."""

from __future__ import annotations

from tests.functional.network.conftest import make_member, unique


def _ids(api, collection: str) -> set[str]:
    return {x["id"] for x in api("GET", f"/{collection}").json()[collection.replace("-", "_")]}


def test_share_a_network_with_one_project_through_the_cli(api, net_cloud, tmp_path):
    m = make_member(net_cloud, tmp_path)
    net = net_cloud.osc("network", "create", unique("to-share"))
    assert net["id"] not in _ids(m.api, "networks")
    entry = net_cloud.osc("network", "rbac", "create", "--target-project", m.project_id, "--action",
                          "access_as_shared", "--type", "network", net["id"])
    assert entry["object_id"] == net["id"] and entry["object_type"] == "network"
    assert entry["target_project_id"] == m.project_id and entry["action"] == "access_as_shared"
    listed = {r["ID"]: r for r in net_cloud.osc("network", "rbac", "list")}
    assert listed[entry["id"]]["Object ID"] == net["id"]
    shown = net_cloud.osc("network", "rbac", "show", entry["id"])
    assert shown["target_project_id"] == m.project_id
    # the target sees and uses the network, and it is shared for that project only
    assert net["id"] in _ids(m.api, "networks")
    seen = m.osc("network", "show", net["id"])
    assert seen["shared"] is True
    assert api("GET", f"/networks/{net['id']}").json()["network"]["shared"] is False
    assert api("GET", f"/networks/{net['id']}").json()["network"]["revision_number"] == net["revision_number"] + 1
    # filters
    r = api("GET", f"/rbac-policies?object_id={net['id']}&target_tenant={m.project_id}")
    assert [x["id"] for x in r.json()["rbac_policies"]] == [entry["id"]]
    # the same entry again, and an action networks do not have
    dup = net_cloud.osc("network", "rbac", "create", "--target-project", m.project_id, "--action",
                        "access_as_shared", "--type", "network", net["id"], check=False, json_out=False)
    assert dup.returncode != 0 and "An RBAC policy already exists with those values." in dup.stderr
    r = api("POST", "/rbac-policies", json={"rbac_policy": {
        "object_type": "network", "object_id": net["id"], "action": "access_as_readonly",
        "target_tenant": m.project_id}})
    err = api.error(r, 400)
    assert err["type"] == "InvalidActionForType"
    assert err["message"] == ("Invalid action 'access_as_readonly' for object type 'network'. "
                              "Valid actions: ['access_as_external', 'access_as_shared']")
    net_cloud.osc("network", "rbac", "delete", entry["id"], json_out=False)
    assert net["id"] not in _ids(m.api, "networks")
    r = api("GET", f"/rbac-policies/{entry['id']}")
    assert api.error(r, 404)["type"] == "RbacPolicyNotFound"
    net_cloud.osc("network", "delete", net["id"], json_out=False)


def test_wildcard_entries_are_the_shared_and_external_flags(api, member):
    net = api.create("network", name=unique("flags"))
    r = api("POST", "/rbac-policies", json={"rbac_policy": {
        "object_type": "network", "object_id": net["id"], "action": "access_as_shared", "target_tenant": "*"}})
    assert r.status_code == 201
    wildcard = r.json()["rbac_policy"]
    assert api("GET", f"/networks/{net['id']}").json()["network"]["shared"] is True
    assert net["id"] in _ids(member.api, "networks")
    assert api("DELETE", f"/rbac-policies/{wildcard['id']}").status_code == 204
    assert api("GET", f"/networks/{net['id']}").json()["network"]["shared"] is False
    # and the other way: the network's flags are entries
    api("PUT", f"/networks/{net['id']}", json={"network": {"shared": True, "router:external": True}})
    entries = api("GET", f"/rbac-policies?object_id={net['id']}").json()["rbac_policies"]
    assert sorted((e["action"], e["target_tenant"]) for e in entries) == [
        ("access_as_external", "*"), ("access_as_shared", "*")]
    external = [e for e in entries if e["action"] == "access_as_external"][0]
    api("DELETE", f"/rbac-policies/{external['id']}")
    assert api("GET", f"/networks/{net['id']}").json()["network"]["router:external"] is False
    # an external network opened to one project only
    r = api("POST", "/rbac-policies", json={"rbac_policy": {
        "object_type": "network", "object_id": net["id"], "action": "access_as_external",
        "target_tenant": member.project_id}})
    assert r.status_code == 201
    api("PUT", f"/networks/{net['id']}", json={"network": {"shared": False}})
    seen = member.api("GET", f"/networks/{net['id']}").json()["network"]
    assert seen["router:external"] is True
    assert api("DELETE", f"/networks/{net['id']}").status_code == 204
    assert api("GET", f"/rbac-policies?object_id={net['id']}").json()["rbac_policies"] == []


def test_who_may_create_which_entry(api, net_cloud, member, tmp_path):
    other = make_member(net_cloud, tmp_path)
    own = member.api.create("network", name=unique("own"))
    # a member shares its own network with one project
    r = member.api("POST", "/rbac-policies", json={"rbac_policy": {
        "object_type": "network", "object_id": own["id"], "action": "access_as_shared",
        "target_tenant": other.project_id}})
    assert r.status_code == 201
    entry = r.json()["rbac_policy"]
    assert entry["project_id"] == member.project_id
    assert own["id"] in _ids(other.api, "networks")
    # ... but not with everyone (policy), nor another project's network
    r = member.api("POST", "/rbac-policies", json={"rbac_policy": {
        "object_type": "network", "object_id": own["id"], "action": "access_as_shared", "target_tenant": "*"}})
    err = member.api.error(r, 403)
    assert err["type"] == "PolicyNotAuthorized" and "create_rbac_policy:target_tenant" in err["message"]
    wild = member.osc("network", "rbac", "create", "--target-all-projects", "--action", "access_as_shared",
                      "--type", "network", own["id"], check=False, json_out=False)
    assert wild.returncode != 0 and "disallowed by policy" in wild.stderr
    admins = api.create("network", name=unique("admins"))
    r = member.api("POST", "/rbac-policies", json={"rbac_policy": {
        "object_type": "network", "object_id": admins["id"], "action": "access_as_shared",
        "target_tenant": member.project_id}})
    assert member.api.error(r, 400)["type"] == "InvalidInput"
    # the target sees the network shared with it, but may not pass it on
    r = other.api("POST", "/rbac-policies", json={"rbac_policy": {
        "object_type": "network", "object_id": own["id"], "action": "access_as_shared",
        "target_tenant": other.project_id}})
    err = other.api.error(r, 400)
    assert err["message"] == ("Invalid input for operation: Only admins can manipulate policies on networks "
                              "they do not own.")
    # entries are their creator's: others neither see nor remove them
    assert entry["id"] not in _ids(other.api, "rbac-policies")
    assert other.api.error(other.api("GET", f"/rbac-policies/{entry['id']}"), 404)
    assert other.api.error(other.api("DELETE", f"/rbac-policies/{entry['id']}"), 404)
    assert entry["id"] in _ids(member.api, "rbac-policies")
    # retarget it
    r = member.api("PUT", f"/rbac-policies/{entry['id']}", json={"rbac_policy": {"target_tenant": "elsewhere"}})
    assert r.status_code == 200 and r.json()["rbac_policy"]["target_tenant"] == "elsewhere"
    assert own["id"] not in _ids(other.api, "networks")
    r = member.api("PUT", f"/rbac-policies/{entry['id']}", json={"rbac_policy": {"object_id": admins["id"]}})
    assert member.api.error(r, 400)["message"] == "Cannot update read-only attribute object_id"
    assert member.api("DELETE", f"/rbac-policies/{entry['id']}").status_code == 204
    for n, who in ((own, member.api), (admins, api)):
        who("DELETE", f"/networks/{n['id']}")


def test_bad_input(api):
    net = api.create("network", name=unique("bad"))
    base = {"object_type": "network", "object_id": net["id"], "action": "access_as_shared", "target_tenant": "p"}
    cases = [({**base, "object_type": "router"}, 400, "Invalid input for object_type"),
             ({k: v for k, v in base.items() if k != "target_tenant"}, 400,
              "Required attribute 'target_tenant' not specified"),
             ({**base, "object_id": "00000000-0000-0000-0000-000000000000"}, 400,
              "Network 00000000-0000-0000-0000-000000000000 could not be found"),
             ({**base, "bogus": 1}, 400, "Unrecognized attribute(s) 'bogus'")]
    for body, status, message in cases:
        r = api("POST", "/rbac-policies", json={"rbac_policy": body})
        assert message in api.error(r, status)["message"], body
    r = api("GET", "/rbac-policies?bogus=1")
    api.error(r, 400)
    assert api("GET", f"/rbac-policies?object_id={net['id']}").json()["rbac_policies"] == []
    api("DELETE", f"/networks/{net['id']}")


def test_share_a_security_group(api, member):
    g = api.create("security_group", "security-groups", name=unique("shared-sg"))
    r = api("POST", "/rbac-policies", json={"rbac_policy": {
        "object_type": "security_group", "object_id": g["id"], "action": "access_as_shared",
        "target_tenant": member.project_id}})
    assert r.status_code == 201
    entry = r.json()["rbac_policy"]
    seen = member.api("GET", f"/security-groups/{g['id']}").json()["security_group"]
    assert seen["shared"] is True and len(seen["security_group_rules"]) == 2
    assert g["id"] in {x["id"] for x in member.api("GET", "/security-groups?shared=true").json()["security_groups"]}
    # shared for use, not for change
    r = member.api("PUT", f"/security-groups/{g['id']}", json={"security_group": {"description": "mine"}})
    assert member.api.error(r, 403)["type"] == "PolicyNotAuthorized"
    r = member.api("POST", "/security-group-rules", json={"security_group_rule": {
        "security_group_id": g["id"], "direction": "ingress"}})
    member.api.error(r, 403)
    # the member may name it as a remote group in its own rules
    mine = member.api.create("security_group", "security-groups", name=unique("mine"))
    r = member.api("POST", "/security-group-rules", json={"security_group_rule": {
        "security_group_id": mine["id"], "direction": "ingress", "remote_group_id": g["id"]}})
    assert r.status_code == 201
    r = api("POST", "/rbac-policies", json={"rbac_policy": {
        "object_type": "security_group", "object_id": g["id"], "action": "access_as_external",
        "target_tenant": member.project_id}})
    assert api.error(r, 400)["type"] == "InvalidActionForType"
    types = {e["object_type"] for e in api("GET", "/rbac-policies?object_type=security_group")
             .json()["rbac_policies"]}
    assert types == {"security_group"}
    assert api("DELETE", f"/rbac-policies/{entry['id']}").status_code == 204
    member.api.error(member.api("GET", f"/security-groups/{g['id']}"), 404)
    member.api("DELETE", f"/security-groups/{mine['id']}")
    api("DELETE", f"/security-groups/{g['id']}")


def test_rbac_policy_quota(api, net_cloud, tmp_path):
    m = make_member(net_cloud, tmp_path)
    api("PUT", f"/quotas/{m.project_id}", json={"quota": {"rbac_policy": 1}})
    net = m.api.create("network", name=unique("rq"))
    body = {"object_type": "network", "object_id": net["id"], "action": "access_as_shared"}
    assert m.api("POST", "/rbac-policies", json={"rbac_policy": {**body, "target_tenant": "a"}}).status_code == 201
    r = m.api("POST", "/rbac-policies", json={"rbac_policy": {**body, "target_tenant": "b"}})
    assert m.api.error(r, 409) == {"type": "OverQuota", "detail": "",
                                   "message": "Quota exceeded for resources: ['rbac_policy']."}
    over = m.osc("network", "rbac", "create", "--target-project", "admin", "--action", "access_as_shared",
                 "--type", "network", net["id"], check=False, json_out=False)
    assert over.returncode != 0 and "Quota exceeded for resources: ['rbac_policy']" in over.stderr
    m.api("DELETE", f"/networks/{net['id']}")


def test_paging_and_sorting(api):
    net = api.create("network", name=unique("pages"))
    made = [api.create("rbac_policy", "rbac-policies", object_type="network", object_id=net["id"],
                       action="access_as_shared", target_tenant=f"p{i}") for i in range(5)]
    seen, url = [], f"/rbac-policies?object_id={net['id']}&limit=2&sort_key=target_tenant&sort_dir=desc"
    while url:
        body = api("GET", url).json()
        seen += [e["target_tenant"] for e in body["rbac_policies"]]
        nxt = [link["href"] for link in body.get("rbac_policies_links", []) if link["rel"] == "next"]
        url = nxt[0].split("/v2.0", 1)[1] if nxt else None
    assert seen == ["p4", "p3", "p2", "p1", "p0"]
    fields = api("GET", f"/rbac-policies?object_id={net['id']}&fields=target_tenant").json()["rbac_policies"]
    assert all(set(e) == {"target_tenant"} for e in fields)
    assert len(made) == 5
    api("DELETE", f"/networks/{net['id']}")


def test_extensions_are_listed(api):
    aliases = {e["alias"] for e in api("GET", "/extensions").json()["extensions"]}
    assert {"rbac-policies", "rbac-security-groups"} <= aliases


def test_an_entry_the_target_still_uses_stays(api, net_cloud, tmp_path):
    m = make_member(net_cloud, tmp_path)
    net = api.create("network", name=unique("used"))
    entry = net_cloud.osc("network", "rbac", "create", "--target-project", m.project_id, "--action",
                          "access_as_shared", "--type", "network", net["id"])
    port = m.osc("port", "create", "--network", net["id"], unique("p"))
    busy = net_cloud.osc("network", "rbac", "delete", entry["id"], check=False, json_out=False)
    assert busy.returncode != 0 and "cannot be removed because other objects depend on it" in busy.stderr
    err = api.error(api("DELETE", f"/rbac-policies/{entry['id']}"), 409)
    assert err["type"] == "RbacPolicyInUse"
    assert err["message"] == (f"RBAC policy on object {net['id']} cannot be removed because other objects "
                              f"depend on it.\nDetails: Unable to reconfigure sharing settings for network "
                              f"{net['id']}. Multiple tenants are using it.")
    r = api("PUT", f"/rbac-policies/{entry['id']}", json={"rbac_policy": {"target_tenant": "elsewhere"}})
    assert api.error(r, 409)["type"] == "RbacPolicyInUse"
    # with a wildcard entry too, the targeted one may go, but then not the wildcard
    wildcard = api.create("rbac_policy", "rbac-policies", object_type="network", object_id=net["id"],
                          action="access_as_shared", target_tenant="*")
    assert api("DELETE", f"/rbac-policies/{entry['id']}").status_code == 204
    assert api.error(api("DELETE", f"/rbac-policies/{wildcard['id']}"), 409)["type"] == "RbacPolicyInUse"
    r = api("PUT", f"/networks/{net['id']}", json={"network": {"shared": False}})
    assert r.status_code == 409
    m.osc("port", "delete", port["id"], json_out=False)
    assert api("DELETE", f"/rbac-policies/{wildcard['id']}").status_code == 204
    assert api("GET", f"/networks/{net['id']}").json()["network"]["shared"] is False
    api("DELETE", f"/networks/{net['id']}")


def test_a_shared_group_in_use_stays_shared(api, net_cloud, tmp_path):
    m = make_member(net_cloud, tmp_path)
    g = api.create("security_group", "security-groups", name=unique("shared-used"))
    entry = net_cloud.osc("network", "rbac", "create", "--target-project", m.project_id, "--action",
                          "access_as_shared", "--type", "security_group", g["id"])
    net = m.api.create("network", name=unique("n"))
    port = m.osc("port", "create", "--network", net["id"], "--security-group", g["id"], unique("p"))
    assert port["security_group_ids"] == [g["id"]]
    err = api.error(api("DELETE", f"/rbac-policies/{entry['id']}"), 409)
    assert err["type"] == "RbacPolicyInUse" and f"Security Group {g['id']} in use." in err["message"]
    m.osc("port", "delete", port["id"], json_out=False)
    assert api("DELETE", f"/rbac-policies/{entry['id']}").status_code == 204
    r = m.api("POST", "/ports", json={"port": {"network_id": net["id"], "security_groups": [g["id"]]}})
    assert m.api.error(r, 404)["type"] == "SecurityGroupNotFound"
    m.api("DELETE", f"/networks/{net['id']}")
    api("DELETE", f"/security-groups/{g['id']}")
