"""The service catalog: regions, services and endpoints through the CLI and raw HTTP."""

from __future__ import annotations

import uuid

import httpx
import pytest


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


class Api:
    def __init__(self, cloud, token: str) -> None:
        self.url = cloud.auth_url
        self.h = {"X-Auth-Token": token}

    def __call__(self, method: str, path: str, token: str | None = None, **kw) -> httpx.Response:
        headers = {"X-Auth-Token": token} if token else self.h
        return httpx.request(method, self.url + path, headers=headers, timeout=30, **kw)

    def create(self, kind: str, path: str | None = None, **body) -> dict:
        r = self("POST", path or f"/{kind}s", json={kind: body})
        assert r.status_code == 201, r.text
        return r.json()[kind]


@pytest.fixture(scope="module")
def api(cloud, admin_token) -> Api:
    return Api(cloud, admin_token)


def _error(r: httpx.Response, status: int) -> str:
    assert r.status_code == status, r.text
    err = r.json()["error"]
    assert err["code"] == status and err["title"] and err["message"]
    return err["message"]


def _member_token(cloud, api: Api) -> str:
    """A token of a fresh user holding only `member` on a fresh project."""
    project = api.create("project", name=_name("p"))
    user = api.create("user", name=_name("u"), password="pw-cat-123")
    member = api("GET", "/roles?name=member").json()["roles"][0]
    r = api("PUT", f"/projects/{project['id']}/users/{user['id']}/roles/{member['id']}")
    assert r.status_code == 204, r.text
    body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "id": user["id"], "password": "pw-cat-123"}}}, "scope": {"project": {"id": project["id"]}}}}
    r = httpx.post(f"{cloud.auth_url}/auth/tokens", json=body, timeout=30)
    assert r.status_code == 201, r.text
    return r.headers["x-subject-token"]


def test_catalog_cli(cloud, api):
    parent, child, stype = _name("Reg"), _name("Sub"), _name("type")
    r = cloud.osc("region", "create", "--description", "east coast", parent)
    assert r["region"] == parent and r["description"] == "east coast"
    r = cloud.osc("region", "create", "--parent-region", parent, child)
    assert r["parent_region"] == parent
    regions = {row["Region"]: row for row in cloud.osc("region", "list")}
    assert regions[child]["Parent Region"] == parent and "RegionOne" in regions

    svc = cloud.osc("service", "create", "--name", stype + "-svc", "--description", "a test", stype)
    assert svc["type"] == stype and svc["enabled"] is True
    ep = cloud.osc("endpoint", "create", "--region", child, svc["id"], "public", "http://svc.example/v1")
    assert ep["region_id"] == child and ep["interface"] == "public" and ep["service_type"] == stype
    rows = cloud.osc("endpoint", "list", "--service", svc["id"])
    assert [(row["ID"], row["Region"], row["Interface"]) for row in rows] == [(ep["id"], child, "public")]
    assert stype in {row["Type"] for row in cloud.osc("service", "list")}
    # The token catalog picks the new service up at once.
    catalog = {row["Type"]: row for row in cloud.osc("catalog", "list")}
    assert catalog[stype]["Endpoints"][0]["url"] == "http://svc.example/v1"
    assert catalog["identity"]["Endpoints"]

    assert api("DELETE", f"/endpoints/{ep['id']}").status_code == 204
    assert api("DELETE", f"/services/{svc['id']}").status_code == 204
    assert api("DELETE", f"/regions/{child}").status_code == 204
    assert api("DELETE", f"/regions/{parent}").status_code == 204
    assert stype not in {row["Type"] for row in cloud.osc("catalog", "list")}


def test_regions_http(api):
    generated = api.create("region", description="no id given")
    assert len(generated["id"]) == 32 and generated["parent_region_id"] is None
    assert generated["links"]["self"].endswith(f"/v3/regions/{generated['id']}")
    rid = _name("R")
    r = api("PUT", f"/regions/{rid}", json={"region": {"description": "by put", "color": "blue"}})
    assert r.status_code == 201, r.text
    assert r.json()["region"] == {**r.json()["region"], "id": rid, "description": "by put",
                                  "color": "blue"}
    _error(api("PUT", f"/regions/{rid}", json={"region": {}}), 409)
    _error(api("POST", "/regions", json={"region": {"id": rid}}), 409)
    _error(api("PUT", f"/regions/{_name('R')}", json={"region": {"id": "other"}}), 400)
    assert "nope-region" in _error(api("POST", "/regions", json={"region": {
        "parent_region_id": "nope-region"}}), 404)

    child = api.create("region", id=_name("C"), parent_region_id=rid)
    grandchild = api.create("region", id=_name("G"), parent_region_id=child["id"])
    listed = api("GET", f"/regions?parent_region_id={rid}").json()["regions"]
    assert [r["id"] for r in listed] == [child["id"]]
    # A region cannot become its own ancestor.
    msg = _error(api("PATCH", f"/regions/{rid}", json={"region": {"parent_region_id": grandchild["id"]}}),
                 400)
    assert "circular" in msg
    _error(api("PATCH", f"/regions/{rid}", json={"region": {"parent_region_id": rid}}), 400)
    r = api("PATCH", f"/regions/{grandchild['id']}", json={"region": {"parent_region_id": rid,
                                                                       "description": "moved"}})
    assert r.status_code == 200 and r.json()["region"]["parent_region_id"] == rid
    assert r.json()["region"]["description"] == "moved"

    # Deleting: children refuse (409), then endpoints refuse (403), then it goes.
    assert "child regions" in _error(api("DELETE", f"/regions/{rid}"), 409)
    svc = api.create("service", type=_name("t"))
    ep = api.create("endpoint", service_id=svc["id"], interface="admin", url="http://a/",
                    region_id=child["id"])
    for r_id in (grandchild["id"],):
        assert api("DELETE", f"/regions/{r_id}").status_code == 204
    assert "endpoints" in _error(api("DELETE", f"/regions/{child['id']}"), 403)
    assert api("DELETE", f"/endpoints/{ep['id']}").status_code == 204
    assert api("DELETE", f"/regions/{child['id']}").status_code == 204
    assert api("DELETE", f"/regions/{rid}").status_code == 204
    _error(api("GET", f"/regions/{rid}"), 404)
    assert api("DELETE", f"/services/{svc['id']}").status_code == 204
    assert api("DELETE", f"/regions/{generated['id']}").status_code == 204


def test_services_and_endpoints_http(cloud, api):
    _error(api("POST", "/services", json={"service": {"name": "no type"}}), 400)
    _error(api("POST", "/services", json={"service": {"type": "x", "enabled": "maybe"}}), 400)
    stype = _name("type")
    a = api.create("service", type=stype, name="alpha")
    b = api.create("service", type=stype, name="beta", enabled=False)
    assert "description" not in a and a["links"]["self"].endswith(f"/v3/services/{a['id']}")
    assert {s["id"] for s in api("GET", f"/services?type={stype}").json()["services"]} == {a["id"], b["id"]}
    assert [s["id"] for s in api("GET", "/services?name=beta").json()["services"]] == [b["id"]]
    r = api("PATCH", f"/services/{a['id']}", json={"service": {"description": "now described"}})
    assert r.json()["service"]["description"] == "now described" and r.json()["service"]["name"] == "alpha"

    # Endpoint validation: interface, url, service and region must be right.
    good = {"service_id": a["id"], "interface": "internal", "url": "http://a.example/"}
    assert "interface" in _error(api("POST", "/endpoints", json={"endpoint": {**good, "interface": "pub"}}),
                                 400)
    _error(api("POST", "/endpoints", json={"endpoint": {**good, "url": None}}), 400)
    _error(api("POST", "/endpoints", json={"endpoint": {**good, "url": "no scheme here"}}), 400)
    _error(api("POST", "/endpoints", json={"endpoint": {k: v for k, v in good.items() if k != "url"}}), 400)
    assert "service" in _error(api("POST", "/endpoints", json={"endpoint": {**good, "service_id": "nope"}}),
                               400)
    assert "region" in _error(api("POST", "/endpoints", json={"endpoint": {**good, "region_id": "nope"}}),
                              400)
    ep1 = api.create("endpoint", **good, region_id="RegionOne")
    assert ep1["region"] == "RegionOne" and ep1["enabled"] is True
    # The v2-era `region` attribute still works and creates a missing region, as in Keystone.
    legacy = _name("Legacy")
    ep2 = api.create("endpoint", service_id=a["id"], interface="public", url="http://a.example/p",
                     region=legacy)
    assert ep2["region_id"] == legacy
    assert api("GET", f"/regions/{legacy}").status_code == 200
    ep3 = api.create("endpoint", service_id=b["id"], interface="public", url="http://b.example/")

    def ids(query: str) -> set[str]:
        return {e["id"] for e in api("GET", f"/endpoints?{query}").json()["endpoints"]}

    assert ids(f"service_id={a['id']}") == {ep1["id"], ep2["id"]}
    assert ids(f"service_id={a['id']}&interface=public") == {ep2["id"]}
    assert ids(f"region_id={legacy}") == {ep2["id"]}
    r = api("PATCH", f"/endpoints/{ep1['id']}", json={"endpoint": {"url": "http://a2.example/",
                                                                   "enabled": False}})
    assert r.status_code == 200 and r.json()["endpoint"]["url"] == "http://a2.example/"
    _error(api("PATCH", f"/endpoints/{ep1['id']}", json={"endpoint": {"interface": "nope"}}), 400)

    # The token catalog: disabled services and endpoints are left out.
    catalog = api("GET", "/auth/catalog").json()["catalog"]
    entry = next(c for c in catalog if c["id"] == a["id"])
    assert [e["id"] for e in entry["endpoints"]] == [ep2["id"]]
    assert b["id"] not in {c["id"] for c in catalog}

    # Reading needs a reader on the system or an admin; writing needs an admin.
    member = _member_token(cloud, api)
    _error(api("POST", "/services", token=member, json={"service": {"type": "x"}}), 403)
    _error(api("GET", "/endpoints", token=member), 403)
    assert api("GET", "/regions", token=member).status_code == 200

    # Deleting a service takes its endpoints with it.
    assert api("DELETE", f"/services/{a['id']}").status_code == 204
    _error(api("GET", f"/endpoints/{ep1['id']}"), 404)
    _error(api("GET", f"/endpoints/{ep2['id']}"), 404)
    assert api("DELETE", f"/endpoints/{ep3['id']}").status_code == 204
    assert api("DELETE", f"/services/{b['id']}").status_code == 204
    _error(api("DELETE", f"/services/{b['id']}"), 404)
    assert api("DELETE", f"/regions/{legacy}").status_code == 204


ENABLED_AS_STRING = [
    pytest.param("service", "True", id="service-True"),
    pytest.param("service", "false", id="service-false"),
    pytest.param("endpoint", "True", id="endpoint-True"),
    pytest.param("endpoint", "1", id="endpoint-1"),
]


@pytest.mark.parametrize(("kind", "value"), ENABLED_AS_STRING)
def test_enabled_must_be_a_json_boolean(api, kind, value):
    """Keystone's schema types ``enabled`` as boolean: the string "True" is a 400, on create and
    on update, and nothing is written."""
    svc = api.create("service", type=_name("strict"))
    body = {"service_id": svc["id"], "interface": "public", "url": "http://strict.example/"}
    msg = _error(api("POST", f"/{kind}s", json={kind: {**({"type": _name("s")} if kind == "service" else body),
                                                     "enabled": value}}), 400)
    assert "enabled" in msg and "boolean" in msg
    ep = api.create("endpoint", **body)
    target = svc if kind == "service" else ep
    msg = _error(api("PATCH", f"/{kind}s/{target['id']}", json={kind: {"enabled": value}}), 400)
    assert "enabled" in msg
    assert api("GET", f"/{kind}s/{target['id']}").json()[kind]["enabled"] is True
    assert api("DELETE", f"/endpoints/{ep['id']}").status_code == 204
    assert api("DELETE", f"/services/{svc['id']}").status_code == 204
