"""Security groups and rules through the openstack CLI, openstacksdk and raw HTTP.

The default group made on first use, rules by protocol and port, Neutron's error for each bad
rule, duplicates, remote groups, quotas on groups and rules, and who may see and change what.
"""

from __future__ import annotations

import openstack
import pytest

from tests.functional.network.conftest import make_member, unique


def _rules(api, group_id: str) -> list[dict]:
    return api("GET", f"/security-group-rules?security_group_id={group_id}").json()["security_group_rules"]


def test_default_group_is_made_on_first_use_and_takes_cli_rules(net_cloud, tmp_path):
    m = make_member(net_cloud, tmp_path)
    groups = m.osc("security", "group", "list")
    assert [g["Name"] for g in groups] == ["default"]
    default = m.osc("security", "group", "show", "default")
    assert default["project_id"] == m.project_id and default["description"] == "Default security group"
    rules = default["rules"]
    assert sorted((r["direction"], r["ethertype"], r["remote_group_id"] == default["id"]) for r in rules) == [
        ("egress", "IPv4", False), ("egress", "IPv6", False), ("ingress", "IPv4", True), ("ingress", "IPv6", True)]
    assert all(r["belongs_to_default_sg"] for r in rules)
    # the CLI's two classic rules: ping and ssh from anywhere
    icmp = m.osc("security", "group", "rule", "create", "--proto", "icmp", "default")
    assert icmp["protocol"] == "icmp" and icmp["direction"] == "ingress" and icmp["ether_type"] == "IPv4"
    assert icmp["remote_ip_prefix"] == "0.0.0.0/0" and icmp["port_range_min"] is None
    assert icmp["project_id"] == m.project_id and icmp["security_group_id"] == default["id"]
    ssh = m.osc("security", "group", "rule", "create", "--proto", "tcp", "--dst-port", "22", "default")
    assert (ssh["protocol"], ssh["port_range_min"], ssh["port_range_max"]) == ("tcp", 22, 22)
    listed = m.osc("security", "group", "rule", "list", "default")
    assert {r["ID"] for r in listed} == {r["id"] for r in rules} | {icmp["id"], ssh["id"]}
    assert {r["Port Range"] for r in listed if r["ID"] == ssh["id"]} == {"22:22"}
    shown = m.osc("security", "group", "rule", "show", ssh["id"])
    assert shown["id"] == ssh["id"] and shown["normalized_cidr"] == "0.0.0.0/0"
    # the same rule again, as the CLI and as raw HTTP (with a spelling that means the same)
    dup = m.osc("security", "group", "rule", "create", "--proto", "tcp", "--dst-port", "22", "default",
                check=False, json_out=False)
    assert dup.returncode != 0 and f"Rule id is {ssh['id']}" in dup.stderr
    r = m.api("POST", "/security-group-rules", json={"security_group_rule": {
        "security_group_id": default["id"], "direction": "ingress", "protocol": "6",
        "port_range_min": 22, "port_range_max": 22}})
    err = m.api.error(r, 409)
    assert err["type"] == "SecurityGroupRuleExists"
    assert err["message"] == f"Security group rule already exists. Rule id is {ssh['id']}."
    # the group's revision counts its rule changes
    assert m.api("GET", f"/security-groups/{default['id']}").json()["security_group"]["revision_number"] == 3
    m.osc("security", "group", "rule", "delete", icmp["id"], json_out=False)
    assert icmp["id"] not in {r["id"] for r in _rules(m.api, default["id"])}
    r = m.api("GET", f"/security-group-rules/{icmp['id']}")
    assert m.api.error(r, 404)["type"] == "SecurityGroupRuleNotFound"


def test_group_lifecycle_through_the_cli(net_cloud, member):
    name = unique("web")
    g = member.osc("security", "group", "create", "--description", "web servers", "--tag", "tier1", name)
    assert g["name"] == name and g["description"] == "web servers" and g["stateful"] is True
    assert g["tags"] == ["tier1"] and g["is_shared"] is False and g["revision_number"] >= 1
    assert sorted((r["direction"], r["ethertype"]) for r in g["rules"]) == [("egress", "IPv4"), ("egress", "IPv6")]
    assert name in {x["Name"] for x in member.osc("security", "group", "list")}
    member.osc("security", "group", "set", "--name", name + "-2", "--description", "changed", "--stateless",
               name, json_out=False)
    shown = member.osc("security", "group", "show", name + "-2")
    assert shown["description"] == "changed" and shown["stateful"] is False
    stateless = member.osc("security", "group", "create", "--stateless", unique("udp"))
    assert stateless["stateful"] is False
    tagged = member.api("GET", "/security-groups?tags=tier1").json()["security_groups"]
    assert [x["id"] for x in tagged] == [g["id"]]
    member.osc("security", "group", "delete", g["id"], stateless["id"], json_out=False)
    r = member.api("GET", f"/security-groups/{g['id']}")
    err = member.api.error(r, 404)
    assert err["type"] == "SecurityGroupNotFound" and err["message"] == f"Security group {g['id']} does not exist"
    # its rules went with it
    assert _rules(member.api, g["id"]) == []


def test_default_group_cannot_be_removed_or_renamed_by_its_project(api, net_cloud, tmp_path):
    m = make_member(net_cloud, tmp_path)
    [default] = m.api("GET", "/security-groups?name=default").json()["security_groups"]
    err = m.api.error(m.api("DELETE", f"/security-groups/{default['id']}"), 409)
    assert err == {"type": "SecurityGroupCannotRemoveDefault", "detail": "",
                   "message": "Insufficient rights for removing default security group."}
    r = m.api("PUT", f"/security-groups/{default['id']}", json={"security_group": {"name": "other"}})
    assert m.api.error(r, 409)["type"] == "SecurityGroupCannotUpdateDefault"
    r = m.api("PUT", f"/security-groups/{default['id']}", json={"security_group": {"description": "mine"}})
    assert r.status_code == 200 and r.json()["security_group"]["description"] == "mine"
    for name in ("default", "Default"):
        r = m.api("POST", "/security-groups", json={"security_group": {"name": name}})
        err = m.api.error(r, 409)
        assert err["type"] == "SecurityGroupDefaultAlreadyExists"
        assert err["message"] == "Default security group already exists."
    other = m.api.create("security_group", "security-groups", name=unique("x"))
    r = m.api("PUT", f"/security-groups/{other['id']}", json={"security_group": {"name": "default"}})
    assert m.api.error(r, 409)["type"] == "SecurityGroupDefaultAlreadyExists"
    # an admin may delete a project's default group (as in Neutron); the next use makes a new one
    assert api("DELETE", f"/security-groups/{default['id']}").status_code == 204
    [again] = m.api("GET", "/security-groups?name=default").json()["security_groups"]
    assert again["id"] != default["id"] and len(again["security_group_rules"]) == 4


def test_projects_see_and_touch_only_their_own_groups(api, member, reader):
    admins = api.create("security_group", "security-groups", name=unique("admin-only"))
    mine = member.api.create("security_group", "security-groups", name=unique("mine"))
    seen = {g["id"] for g in member.api("GET", "/security-groups").json()["security_groups"]}
    assert mine["id"] in seen and admins["id"] not in seen
    assert all(g["project_id"] == member.project_id
               for g in member.api("GET", "/security-groups").json()["security_groups"])
    rule_projects = {r["project_id"] for r in member.api("GET", "/security-group-rules")
                     .json()["security_group_rules"]}
    assert rule_projects == {member.project_id}
    assert member.api.error(member.api("GET", f"/security-groups/{admins['id']}"), 404)["type"] == \
        "SecurityGroupNotFound"
    r = member.api("PUT", f"/security-groups/{admins['id']}", json={"security_group": {"name": "taken"}})
    member.api.error(r, 404)
    member.api.error(member.api("DELETE", f"/security-groups/{admins['id']}"), 404)
    r = member.api("POST", "/security-group-rules", json={"security_group_rule": {
        "security_group_id": admins["id"], "direction": "ingress"}})
    assert member.api.error(r, 404)["type"] == "SecurityGroupNotFound"
    admin_rule = _rules(api, admins["id"])[0]
    member.api.error(member.api("GET", f"/security-group-rules/{admin_rule['id']}"), 404)
    member.api.error(member.api("DELETE", f"/security-group-rules/{admin_rule['id']}"), 404)
    r = member.api("POST", "/security-groups", json={"security_group": {"name": "x", "project_id": "other"}})
    assert "requires admin privileges" in member.api.error(r, 400)["message"]
    # a reader lists (its project's default group appears) but changes nothing
    assert [g["name"] for g in reader.api("GET", "/security-groups").json()["security_groups"]] == ["default"]
    r = reader.api("POST", "/security-groups", json={"security_group": {"name": "ro"}})
    assert reader.api.error(r, 403)["type"] == "PolicyNotAuthorized"
    [ro_default] = reader.api("GET", "/security-groups").json()["security_groups"]
    r = reader.api("POST", "/security-group-rules", json={"security_group_rule": {
        "security_group_id": ro_default["id"], "direction": "ingress", "protocol": "tcp"}})
    assert reader.api.error(r, 403)["type"] == "PolicyNotAuthorized"
    r = reader.api("PUT", f"/security-groups/{ro_default['id']}", json={"security_group": {"description": "x"}})
    reader.api.error(r, 403)
    ro = reader.osc("security", "group", "rule", "create", "--proto", "icmp", "default", check=False,
                    json_out=False)
    assert ro.returncode != 0 and "disallowed by policy" in ro.stderr
    # an admin adds a rule to the member's group: the rule belongs to the group's project
    r = api("POST", "/security-group-rules", json={"security_group_rule": {
        "security_group_id": mine["id"], "direction": "ingress", "protocol": "udp",
        "port_range_min": 53, "port_range_max": 53}})
    assert r.status_code == 201 and r.json()["security_group_rule"]["project_id"] == member.project_id
    for g in (admins, mine):
        assert api("DELETE", f"/security-groups/{g['id']}").status_code == 204


BAD_RULES = [
    ({"protocol": "bogus"}, 400, "SecurityGroupRuleInvalidProtocol", "protocol bogus not supported"),
    ({"protocol": 256}, 400, "SecurityGroupRuleInvalidProtocol", None),
    ({"protocol": "tcp", "port_range_min": 30, "port_range_max": 20}, 400, "SecurityGroupInvalidPortRange",
     "For TCP/UDP protocols, port_range_min must be <= port_range_max"),
    ({"protocol": "tcp", "port_range_min": 0, "port_range_max": 20}, 400, "SecurityGroupInvalidPortValue",
     "Invalid value for port 0"),
    ({"protocol": "udp", "port_range_min": 70000, "port_range_max": 70000}, 400,
     "SecurityGroupInvalidPortValue", "Invalid value for port 70000"),
    ({"protocol": "gre", "port_range_min": 1, "port_range_max": 2}, 400, "SecurityGroupInvalidProtocolForPort",
     "Ports cannot be specified for protocol 47. Ports are only supported for DCCP, SCTP, TCP, UDP, UDPLITE."),
    ({"port_range_min": 22, "port_range_max": 22}, 400, "SecurityGroupProtocolRequiredWithPorts", None),
    ({"protocol": "icmp", "port_range_min": 300}, 400, "SecurityGroupInvalidIcmpValue",
     "Invalid value for ICMP type (port_range_min) 300. It must be 0 to 255."),
    ({"protocol": "icmp", "port_range_max": 3}, 400, "SecurityGroupMissingIcmpType", None),
    ({"ethertype": "IPv6", "remote_ip_prefix": "10.0.0.0/8"}, 400, "SecurityGroupRuleParameterConflict",
     "Conflicting value ethertype IPv6 for CIDR 10.0.0.0/8"),
    ({"protocol": "ipv6-icmp"}, 400, "SecurityGroupEthertypeConflictWithProtocol",
     "Invalid ethertype IPv4 for protocol ipv6-icmp."),
    ({"ethertype": "IPv5"}, 400, "SecurityGroupRuleInvalidEtherType", None),
    ({"remote_ip_prefix": "10.0.0.300/8"}, 400, "InvalidCIDR", "Invalid CIDR 10.0.0.300/8 given as IP prefix."),
    ({"remote_ip_prefix": "10.0.0.0/8", "remote_group_id": "SELF"}, 400, "SecurityGroupMultipleRemoteEntites",
     None),
    ({"remote_group_id": "00000000-0000-0000-0000-000000000000"}, 404, "SecurityGroupNotFound",
     "Security group 00000000-0000-0000-0000-000000000000 does not exist"),
    ({"direction": "sideways"}, 400, "HTTPBadRequest", "Invalid input for direction."),
    ({"direction": None}, 400, "HTTPBadRequest", None),
    ({"bogus": 1}, 400, "HTTPBadRequest", "Unrecognized attribute(s) 'bogus'"),
    ({"security_group_id": "00000000-0000-0000-0000-000000000001"}, 404, "SecurityGroupNotFound", None),
]


@pytest.mark.parametrize("extra,status,kind,message", BAD_RULES, ids=[b[2] + str(i) for i, b in enumerate(BAD_RULES)])
def test_bad_rules_get_neutrons_errors(member, extra, status, kind, message):
    g = member.api.create("security_group", "security-groups", name=unique("bad"))
    body = {"security_group_id": g["id"], "direction": "ingress", **extra}
    if body.get("remote_group_id") == "SELF":
        body["remote_group_id"] = g["id"]
    if body["direction"] is None:
        del body["direction"]
    r = member.api("POST", "/security-group-rules", json={"security_group_rule": body})
    err = member.api.error(r, status)
    assert err["type"] == kind, err
    if message:
        assert message in err["message"], err
    assert len(_rules(member.api, g["id"])) == 2        # nothing half-written
    member.api("DELETE", f"/security-groups/{g['id']}")


def test_bad_protocol_and_port_range_through_the_cli(member):
    g = member.osc("security", "group", "create", unique("cli-bad"))
    bad = member.osc("security", "group", "rule", "create", "--proto", "bogus", g["id"], check=False,
                     json_out=False)
    assert bad.returncode != 0 and "protocol bogus not supported" in bad.stderr
    bad = member.osc("security", "group", "rule", "create", "--proto", "gre", "--dst-port", "20:30", g["id"],
                     check=False, json_out=False)
    assert bad.returncode != 0 and "Ports cannot be specified for protocol 47" in bad.stderr
    bad = member.osc("security", "group", "rule", "create", "--proto", "icmp", "--icmp-type", "300", g["id"],
                     check=False, json_out=False)
    assert bad.returncode != 0 and "Invalid value for ICMP type (port_range_min) 300" in bad.stderr
    bad = member.osc("security", "group", "rule", "create", "--proto", "udp", "--dst-port", "0:10", g["id"],
                     check=False, json_out=False)
    assert bad.returncode != 0 and "Invalid value for port 0" in bad.stderr
    bad = member.osc("security", "group", "rule", "create", "--proto", "tcp", "--remote-group",
                     "00000000-0000-0000-0000-000000000000", g["id"], check=False, json_out=False)
    assert bad.returncode != 0
    member.osc("security", "group", "delete", g["id"], json_out=False)


def test_prefixes_protocols_and_remote_groups(member):
    a = member.api.create("security_group", "security-groups", name=unique("a"))
    b = member.api.create("security_group", "security-groups", name=unique("b"))

    def add(**body):
        return member.api("POST", "/security-group-rules", json={"security_group_rule": {
            "security_group_id": a["id"], "direction": "ingress", **body}})

    r = add(protocol="TCP", port_range_min=80, port_range_max=80, remote_ip_prefix="10.0.0.5/24")
    rule = r.json()["security_group_rule"]
    assert r.status_code == 201 and rule["protocol"] == "tcp"
    assert rule["remote_ip_prefix"] == "10.0.0.5/24" and rule["normalized_cidr"] == "10.0.0.0/24"
    err = member.api.error(add(protocol="6", port_range_min=80, port_range_max=80,
                               remote_ip_prefix="10.0.0.0/24"), 409)
    assert err["message"].endswith(f"Rule id is {rule['id']}.")
    host = add(protocol="udp", port_range_min=53, port_range_max=53, remote_ip_prefix="192.0.2.7").json()
    assert host["security_group_rule"]["remote_ip_prefix"] == "192.0.2.7/32"
    v6 = add(ethertype="ipv6", protocol="icmp").json()["security_group_rule"]
    assert (v6["ethertype"], v6["protocol"]) == ("IPv6", "ipv6-icmp")
    err = member.api.error(add(ethertype="IPv6", protocol="58"), 409)
    assert err["type"] == "SecurityGroupRuleExists"
    num = add(protocol=132, port_range_min=1, port_range_max=9).json()["security_group_rule"]
    assert num["protocol"] == "132"
    anyproto = add(protocol="any", remote_group_id=b["id"]).json()["security_group_rule"]
    assert anyproto["protocol"] is None and anyproto["remote_group_id"] == b["id"]
    # deleting the remote group takes the rules that name it (Neutron's cascade)
    assert member.api("DELETE", f"/security-groups/{b['id']}").status_code == 204
    assert anyproto["id"] not in {x["id"] for x in _rules(member.api, a["id"])}
    # description is the one thing a rule update may change
    r = member.api("PUT", f"/security-group-rules/{num['id']}",
                   json={"security_group_rule": {"description": "sctp ports"}})
    assert r.status_code == 200 and r.json()["security_group_rule"]["description"] == "sctp ports"
    r = member.api("PUT", f"/security-group-rules/{num['id']}",
                   json={"security_group_rule": {"direction": "egress"}})
    assert member.api.error(r, 400)["message"] == "Cannot update read-only attribute direction"
    member.api("DELETE", f"/security-groups/{a['id']}")


def test_bulk_rules_are_all_or_nothing(member):
    g = member.api.create("security_group", "security-groups", name=unique("bulk"))
    one = {"security_group_id": g["id"], "direction": "ingress", "protocol": "tcp",
           "port_range_min": 443, "port_range_max": 443}
    two = {**one, "port_range_min": 8443, "port_range_max": 8443}
    r = member.api("POST", "/security-group-rules", json={"security_group_rules": [one, {**one}]})
    assert member.api.error(r, 409)["type"] == "DuplicateSecurityGroupRuleInPost"
    other = member.api.create("security_group", "security-groups", name=unique("bulk2"))
    r = member.api("POST", "/security-group-rules",
                   json={"security_group_rules": [one, {**two, "security_group_id": other["id"]}]})
    assert member.api.error(r, 400)["type"] == "SecurityGroupNotSingleGroupRules"
    r = member.api("POST", "/security-group-rules", json={"security_group_rules": [one, {**two, "protocol": "x"}]})
    member.api.error(r, 400)
    assert len(_rules(member.api, g["id"])) == 2
    r = member.api("POST", "/security-group-rules", json={"security_group_rules": [one, two]})
    assert r.status_code == 201 and len(r.json()["security_group_rules"]) == 2
    assert len(_rules(member.api, g["id"])) == 4
    for x in (g, other):
        member.api("DELETE", f"/security-groups/{x['id']}")


def test_quotas_on_groups_and_rules(api, net_cloud, tmp_path):
    m = make_member(net_cloud, tmp_path)
    m.api("GET", "/security-groups")                  # the default group: 1 group, 4 rules
    net_cloud.osc("quota", "set", "--secgroups", "2", "--secgroup-rules", "8", m.project_id, json_out=False)
    first = m.osc("security", "group", "create", unique("q1"))     # 2 groups, 6 rules
    over = m.osc("security", "group", "create", unique("q2"), check=False, json_out=False)
    assert over.returncode != 0 and "Quota exceeded for resources: ['security_group']" in over.stderr
    r = m.api("POST", "/security-groups", json={"security_group": {"name": "q3"}})
    assert m.api.error(r, 409)["type"] == "OverQuota"
    m.osc("security", "group", "rule", "create", "--proto", "tcp", "--dst-port", "1", first["id"])
    m.osc("security", "group", "rule", "create", "--proto", "tcp", "--dst-port", "2", first["id"])  # 8 rules
    over = m.osc("security", "group", "rule", "create", "--proto", "tcp", "--dst-port", "3", first["id"],
                 check=False, json_out=False)
    assert over.returncode != 0 and "Quota exceeded for resources: ['security_group_rule']" in over.stderr
    used = api("GET", f"/quotas/{m.project_id}/details").json()["quota"]
    assert used["security_group"] == {"limit": 2, "used": 2, "reserved": 0}
    assert used["security_group_rule"]["used"] == 8
    # a new group brings two egress rules: refused when they do not fit, and nothing is left behind
    net_cloud.osc("quota", "set", "--secgroups", "5", m.project_id, json_out=False)
    r = m.api("POST", "/security-groups", json={"security_group": {"name": unique("q4")}})
    assert m.api.error(r, 409)["message"] == "Quota exceeded for resources: ['security_group_rule']."
    assert len(m.api("GET", "/security-groups").json()["security_groups"]) == 2


def test_openstacksdk(net_cloud, member):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("OS_CLIENT_CONFIG_FILE", str(member.clouds_file))
        conn = openstack.connect(cloud="member")
    try:
        g = conn.network.create_security_group(name=unique("sdk"), description="from the sdk")
        assert g.project_id == member.project_id and len(g.security_group_rules) == 2 and g.stateful is True
        r = conn.network.create_security_group_rule(security_group_id=g.id, direction="ingress",
                                                    protocol="tcp", port_range_min=8080, port_range_max=8081,
                                                    remote_ip_prefix="198.51.100.0/24", ether_type="IPv4")
        assert (r.protocol, r.port_range_min, r.port_range_max) == ("tcp", 8080, 8081)
        assert {x.id for x in conn.network.security_group_rules(security_group_id=g.id)} >= {r.id}
        assert conn.network.find_security_group(g.name).id == g.id
        g = conn.network.update_security_group(g, description="changed")
        assert g.description == "changed"
        conn.network.delete_security_group_rule(r)
        conn.network.delete_security_group(g)
        assert conn.network.find_security_group(g.name) is None
    finally:
        conn.close()


def test_filters_sorting_fields_and_paging(member):
    tag = unique("t")
    made = [member.api.create("security_group", "security-groups", name=f"{tag}-{i}", tags=[tag])
            for i in range(3)]
    names = [g["name"] for g in member.api("GET", f"/security-groups?tags={tag}&sort_key=name&sort_dir=desc")
             .json()["security_groups"]]
    assert names == [f"{tag}-2", f"{tag}-1", f"{tag}-0"]
    page = member.api("GET", f"/security-groups?tags={tag}&limit=2&sort_key=name&fields=id&fields=name").json()
    assert [set(g) for g in page["security_groups"]] == [{"id", "name"}] * 2
    assert any(link["rel"] == "next" for link in page["security_groups_links"])
    rules = member.api("GET", f"/security-group-rules?security_group_id={made[0]['id']}&direction=egress"
                       "&ethertype=IPv6").json()["security_group_rules"]
    assert len(rules) == 1 and rules[0]["ethertype"] == "IPv6"
    own_default = member.api("GET", "/security-group-rules?belongs_to_default_sg=true").json()
    assert own_default["security_group_rules"] and all(
        r["belongs_to_default_sg"] for r in own_default["security_group_rules"])
    r = member.api("GET", "/security-group-rules?bogus=1")
    assert member.api.error(r, 400)["message"] == "[bogus] is invalid attribute for filtering"
    r = member.api("PUT", f"/security-groups/{made[0]['id']}", json={"security_group": {"name": "x"}},
                   headers={"If-Match": "revision_number=999"})
    assert member.api.error(r, 412)["type"] == "RevisionNumberConstraintFailed"
    for g in made:
        member.api("DELETE", f"/security-groups/{g['id']}")


def test_extensions_are_listed(api):
    aliases = {e["alias"] for e in api("GET", "/extensions").json()["extensions"]}
    assert {"security-group", "stateful-security-group", "security-groups-normalized-cidr",
            "security-groups-rules-belongs-to-default-sg"} <= aliases


def test_a_group_in_use_by_a_port_stays(net_cloud, tmp_path):
    m = make_member(net_cloud, tmp_path)
    net = m.osc("network", "create", unique("sg-net"))
    g = m.osc("security", "group", "create", unique("used"))
    port = m.osc("port", "create", "--network", net["id"], "--security-group", g["id"], unique("p"))
    assert port["security_group_ids"] == [g["id"]]
    busy = m.osc("security", "group", "delete", g["id"], check=False, json_out=False)
    assert busy.returncode != 0 and f"Security Group {g['id']} in use." in busy.stderr
    err = m.api.error(m.api("DELETE", f"/security-groups/{g['id']}"), 409)
    assert err["type"] == "SecurityGroupInUse"
    r = m.api("PUT", f"/security-groups/{g['id']}", json={"security_group": {"stateful": False}})
    assert m.api.error(r, 409)["type"] == "SecurityGroupInUse"
    r = m.api("PUT", f"/security-groups/{g['id']}", json={"security_group": {"description": "still used"}})
    assert r.status_code == 200
    # a port made without groups gets the project's default group
    plain = m.osc("port", "create", "--network", net["id"], unique("p"))
    [default] = m.api("GET", "/security-groups?name=default").json()["security_groups"]
    assert plain["security_group_ids"] == [default["id"]]
    m.osc("port", "delete", port["id"], plain["id"], json_out=False)
    m.osc("security", "group", "delete", g["id"], json_out=False)
    m.osc("network", "delete", net["id"], json_out=False)
