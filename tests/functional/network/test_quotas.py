"""Quotas through the openstack CLI and raw HTTP: show, set, list, details, reset, over-quota creates."""

from __future__ import annotations

from tests.functional.network.conftest import make_member, unique

DEFAULTS = {"network": 100, "subnet": 100, "port": 500, "router": 10, "floatingip": 50, "security_group": 10,
            "security_group_rule": 100, "subnetpool": -1, "rbac_policy": 10}


def _limits(rows: list[dict]) -> dict[str, object]:
    return {r["Resource"]: r["Limit"] for r in rows}


def test_set_show_list_and_reset_through_the_cli(api, net_cloud, tmp_path):
    m = make_member(net_cloud, tmp_path)
    shown = _limits(net_cloud.osc("quota", "show", "--network", m.project_id))
    assert shown["networks"] == 100 and shown["ports"] == 500 and shown["security_groups"] == 10
    net_cloud.osc("quota", "set", "--networks", "2", "--ports", "5", m.project_id, json_out=False)
    shown = _limits(net_cloud.osc("quota", "show", "--network", m.project_id))
    assert shown["networks"] == 2 and shown["ports"] == 5 and shown["subnets"] == 100
    listed = {row["Project ID"]: row for row in net_cloud.osc("quota", "list", "--network")}
    assert listed[m.project_id]["Networks"] == 2 and listed[m.project_id]["Ports"] == 5
    # the member reads its own quotas, and creates until the limit
    own = _limits(m.osc("quota", "show", "--network"))
    assert own["networks"] == 2
    nets = [m.osc("network", "create", unique("q"))["id"] for _ in range(2)]
    over = m.osc("network", "create", unique("q"), check=False, json_out=False)
    assert over.returncode != 0 and "Quota exceeded for resources: ['network']" in over.stderr
    r = m.api("POST", "/networks", json={"network": {"name": "x"}})
    err = m.api.error(r, 409)
    assert err == {"type": "OverQuota", "message": "Quota exceeded for resources: ['network'].", "detail": ""}
    usage = {row["Resource"]: row for row in m.osc("quota", "show", "--network", "--usage")}
    assert usage["networks"]["In Use"] == 2 and usage["networks"]["Limit"] == 2
    # the CLI asks Neutron to check the usage first; --force skips that
    low = net_cloud.osc("quota", "set", "--networks", "1", m.project_id, check=False, json_out=False)
    assert low.returncode != 0 and "Quota limit 1 for network must be greater than or equal to already used 2" \
        in low.stderr
    net_cloud.osc("quota", "set", "--networks", "1", "--force", m.project_id, json_out=False)
    assert api("GET", f"/quotas/{m.project_id}").json()["quota"]["network"] == 1
    # reset to the defaults
    net_cloud.osc("quota", "delete", "--network", m.project_id, json_out=False)
    assert api("GET", f"/quotas/{m.project_id}").json()["quota"] == DEFAULTS
    assert m.project_id not in {q["project_id"] for q in api("GET", "/quotas").json()["quotas"]}
    r = api("DELETE", f"/quotas/{m.project_id}")
    assert api.error(r, 404) == {"type": "TenantQuotaNotFound", "detail": "",
                                 "message": f"Quota for tenant {m.project_id} could not be found."}
    m.osc("network", "delete", *nets, json_out=False)


def test_raw_api_views(api, member):
    r = api("PUT", f"/quotas/{member.project_id}", json={"quota": {"router": 3, "rbac_policy": -1}})
    assert r.status_code == 200
    assert r.json()["quota"] == {**DEFAULTS, "router": 3, "rbac_policy": -1}
    listed = {q["project_id"]: q for q in api("GET", "/quotas").json()["quotas"]}
    assert listed[member.project_id] == {**DEFAULTS, "router": 3, "rbac_policy": -1,
                                         "project_id": member.project_id, "tenant_id": member.project_id}
    assert api("GET", f"/quotas/{member.project_id}/default").json()["quota"] == DEFAULTS
    details = api("GET", f"/quotas/{member.project_id}/details").json()["quota"]
    assert set(details) == set(DEFAULTS)
    assert details["router"] == {"limit": 3, "used": 0, "reserved": 0}
    assert member.api("GET", "/quotas/project").json() == {"project": {"project_id": member.project_id}}
    assert member.api("GET", "/quotas/tenant").json() == {"tenant": {"tenant_id": member.project_id}}
    assert api("DELETE", f"/quotas/{member.project_id}").status_code == 204


def test_members_read_only_their_own_and_change_nothing(api, member, reader):
    admin_project = api("GET", "/quotas/project").json()["project"]["project_id"]
    assert member.api("GET", f"/quotas/{member.project_id}").status_code == 200
    assert member.api("GET", f"/quotas/{member.project_id}/details").status_code == 200
    assert reader.api("GET", f"/quotas/{reader.project_id}").status_code == 200
    for path in (f"/quotas/{admin_project}", f"/quotas/{admin_project}/details",
                 f"/quotas/{admin_project}/default", f"/quotas/{reader.project_id}"):
        assert member.api.error(member.api("GET", path), 403)["type"] == "PolicyNotAuthorized"
    r = member.api("PUT", f"/quotas/{member.project_id}", json={"quota": {"network": 1000}})
    assert member.api.error(r, 403)["type"] == "PolicyNotAuthorized"
    assert member.api.error(member.api("DELETE", f"/quotas/{member.project_id}"), 403)
    api("PUT", f"/quotas/{reader.project_id}", json={"quota": {"network": 7}})
    api("PUT", f"/quotas/{member.project_id}", json={"quota": {"network": 8}})
    assert [q["project_id"] for q in member.api("GET", "/quotas").json()["quotas"]] == [member.project_id]
    denied = member.osc("quota", "set", "--networks", "9", member.project_id, check=False, json_out=False)
    assert denied.returncode != 0
    for p in (reader.project_id, member.project_id):
        api("DELETE", f"/quotas/{p}")


def test_bad_values_get_neutrons_errors(api, member):
    p = member.project_id
    cases = [({"network": "abc"}, "Invalid input for network. Reason: 'abc' is not an integer."),
             ({"network": -2}, "Invalid input for network. Reason: '-2' is too small - must be at least '-1'."),
             ({"port": 2**31}, "must be no larger than '2147483647'"),
             ({"network": 1.5}, "is not an integer"),
             ({"bogus": 1}, "Unrecognized attribute(s) 'bogus'")]
    for body, message in cases:
        r = api("PUT", f"/quotas/{p}", json={"quota": body})
        assert message in api.error(r, 400)["message"], body
    r = api("PUT", f"/quotas/{p}", json={"quotas": {"network": 1}})
    assert api.error(r, 400)["message"] == "Unable to find 'quota' in request body"
    r = api("PUT", f"/quotas/{p}", json={"quota": {"network": 1, "check_limit": "maybe"}})
    api.error(r, 400)
    assert api("GET", f"/quotas/{p}").json()["quota"] == DEFAULTS        # nothing was applied
    r = api("POST", "/quotas", json={"quota": {}})
    assert api.error(r, 501)["message"] == "POST requests are not supported on this resource."


def test_extensions_are_listed(api):
    aliases = {e["alias"] for e in api("GET", "/extensions").json()["extensions"]}
    assert {"quotas", "quota_details", "quota-check-limit"} <= aliases
