"""Unified limits: registered limits and project limits through the CLI and raw HTTP (flat model)."""

from __future__ import annotations

import uuid

import httpx
import pytest

from nubes.identity.service.limits import effective_limit, within_limit


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def _error(r: httpx.Response, status: int) -> str:
    assert r.status_code == status, r.text
    err = r.json()["error"]
    assert err["code"] == status and err["title"] and err["message"]
    return err["message"]


class Api:
    def __init__(self, cloud, token: str) -> None:
        self.url = cloud.auth_url
        self.token = token

    def __call__(self, method: str, path: str, token: str | None = None, **kw) -> httpx.Response:
        return httpx.request(method, self.url + path, headers={"X-Auth-Token": token or self.token},
                             timeout=30, **kw)

    def create(self, kind: str, **body) -> dict:
        r = self("POST", f"/{kind}s", json={kind: body})
        assert r.status_code == 201, r.text
        return r.json()[kind]

    def create_many(self, key: str, *items: dict) -> list[dict]:
        r = self("POST", f"/{key}", json={key: list(items)})
        assert r.status_code == 201, r.text
        return r.json()[key]


@pytest.fixture(scope="module")
def api(cloud, admin_token) -> Api:
    return Api(cloud, admin_token)


@pytest.fixture(scope="module")
def service(api) -> dict:
    svc = api.create("service", type=_name("quota"), name=_name("quota"))
    yield svc
    for lim in api("GET", f"/limits?service_id={svc['id']}").json()["limits"]:
        api("DELETE", f"/limits/{lim['id']}")
    for reg in api("GET", f"/registered_limits?service_id={svc['id']}").json()["registered_limits"]:
        api("DELETE", f"/registered_limits/{reg['id']}")
    api("DELETE", f"/services/{svc['id']}")


def test_limits_cli(cloud, api):
    resource, project = _name("widgets"), api.create("project", name=_name("lp"))
    reg = cloud.osc("registered", "limit", "create", "--service", "identity", "--default-limit", "5",
                    "--region", "RegionOne", "--description", "widgets per project", resource)
    assert reg["default_limit"] == 5 and reg["region_id"] == "RegionOne"
    assert reg["resource_name"] == resource and reg["description"] == "widgets per project"
    rows = cloud.osc("registered", "limit", "list", "--service", "identity")
    assert [r["Default Limit"] for r in rows if r["Resource Name"] == resource] == [5]
    lim = cloud.osc("limit", "create", "--project", project["id"], "--service", "identity",
                    "--region", "RegionOne", "--resource-limit", "9", resource)
    assert lim["resource_limit"] == 9 and lim["project_id"] == project["id"]
    rows = cloud.osc("limit", "list", "--project", project["id"])
    assert [(r["Resource Name"], r["Resource Limit"]) for r in rows] == [(resource, 9)]
    # A limit needs a registered limit to override (403, as Keystone).
    res = cloud.osc("limit", "create", "--project", project["id"], "--service", "identity",
                    "--resource-limit", "1", _name("unregistered"), check=False)
    assert res.returncode != 0 and "no corresponding registered limit" in res.stderr
    assert api("DELETE", f"/limits/{lim['id']}").status_code == 204
    assert api("DELETE", f"/registered_limits/{reg['id']}").status_code == 204


def test_registered_limits_http(api, service):
    sid = service["id"]
    regs = api.create_many("registered_limits",
                           {"service_id": sid, "resource_name": "cores", "default_limit": 10},
                           {"service_id": sid, "resource_name": "ram", "default_limit": -1,
                            "region_id": "RegionOne", "description": "unlimited"})
    cores, ram = regs
    assert cores["region_id"] is None and cores["description"] is None
    assert cores["links"]["self"].endswith(f"/v3/registered_limits/{cores['id']}")
    assert ram["default_limit"] == -1 and ram["region_id"] == "RegionOne"

    def bad(item: dict, status: int = 400) -> str:
        return _error(api("POST", "/registered_limits", json={"registered_limits": [item]}), status)

    assert "Duplicate" in bad({"service_id": sid, "resource_name": "cores", "default_limit": 1}, 409)
    bad({"service_id": "nope", "resource_name": "x", "default_limit": 1})
    bad({"service_id": sid, "resource_name": "x", "default_limit": 1, "region_id": "nope"})
    bad({"service_id": sid, "resource_name": "x", "default_limit": -2})
    bad({"service_id": sid, "resource_name": "x", "default_limit": "5"})
    bad({"service_id": sid, "resource_name": "x"})
    bad({"service_id": sid, "resource_name": "x", "default_limit": 1, "colour": "red"})
    _error(api("POST", "/registered_limits", json={"registered_limits": []}), 400)
    _error(api("POST", "/registered_limits", json={"registered_limit": {}}), 400)
    # One bad item fails the whole batch: nothing is written.
    _error(api("POST", "/registered_limits", json={"registered_limits": [
        {"service_id": sid, "resource_name": "disks", "default_limit": 1},
        {"service_id": sid, "resource_name": "cores", "default_limit": 1}]}), 409)
    assert api("GET", f"/registered_limits?service_id={sid}&resource_name=disks").json()[
        "registered_limits"] == []

    listed = api("GET", f"/registered_limits?service_id={sid}").json()["registered_limits"]
    assert {r["id"] for r in listed} == {cores["id"], ram["id"]}
    listed = api("GET", f"/registered_limits?service_id={sid}&region_id=RegionOne").json()
    assert [r["id"] for r in listed["registered_limits"]] == [ram["id"]]
    r = api("PATCH", f"/registered_limits/{cores['id']}", json={"registered_limit": {
        "default_limit": 20, "description": "more"}})
    assert r.status_code == 200 and r.json()["registered_limit"]["default_limit"] == 20
    assert api("GET", f"/registered_limits/{cores['id']}").json()["registered_limit"]["description"] == "more"
    _error(api("PATCH", f"/registered_limits/{cores['id']}", json={"registered_limit": {
        "resource_name": "ram", "region_id": "RegionOne"}}), 409)
    _error(api("GET", f"/registered_limits/{uuid.uuid4().hex}"), 404)


def test_limits_http(cloud, api, service):
    sid = service["id"]
    project = api.create("project", name=_name("lp"))
    other = api.create("project", name=_name("lo"))
    api.create_many("registered_limits",
                    {"service_id": sid, "resource_name": "volumes", "default_limit": 10},
                    {"service_id": sid, "resource_name": "snapshots", "default_limit": 3})
    vol, snap_dom = api.create_many(
        "limits",
        {"project_id": project["id"], "service_id": sid, "resource_name": "volumes",
         "resource_limit": 11, "description": "more volumes"},
        {"domain_id": "default", "service_id": sid, "resource_name": "snapshots", "resource_limit": 5})
    assert vol["project_id"] == project["id"] and vol["domain_id"] is None and vol["region_id"] is None
    assert snap_dom["domain_id"] == "default" and snap_dom["project_id"] is None
    api.create_many("limits", {"project_id": other["id"], "service_id": sid, "resource_name": "volumes",
                               "resource_limit": 2})

    def bad(item: dict, status: int = 400) -> str:
        return _error(api("POST", "/limits", json={"limits": [item]}), status)

    base = {"project_id": project["id"], "service_id": sid, "resource_limit": 1}
    assert "registered limit" in bad({**base, "resource_name": "gpus"}, 403)
    assert "Duplicate" in bad({**base, "resource_name": "volumes"}, 409)
    bad({**base, "resource_name": "volumes", "domain_id": "default"})
    bad({"service_id": sid, "resource_name": "volumes", "resource_limit": 1})
    bad({**base, "resource_name": "volumes", "project_id": "nope"})
    bad({**base, "resource_name": "volumes", "resource_limit": 2**31})
    bad({**base, "resource_name": "volumes", "region_id": "nope"})

    # Updates change the value and description only.
    r = api("PATCH", f"/limits/{vol['id']}", json={"limit": {"resource_limit": 12}})
    assert r.status_code == 200 and r.json()["limit"]["resource_limit"] == 12
    assert r.json()["limit"]["description"] == "more volumes"
    _error(api("PATCH", f"/limits/{vol['id']}", json={"limit": {"resource_name": "snapshots"}}), 400)
    _error(api("PATCH", f"/limits/{vol['id']}", json={"limit": {"resource_limit": -5}}), 400)

    # A registered limit that project limits override cannot be renamed or deleted.
    reg = api("GET", f"/registered_limits?service_id={sid}&resource_name=volumes").json()[
        "registered_limits"][0]
    _error(api("PATCH", f"/registered_limits/{reg['id']}", json={"registered_limit": {
        "resource_name": "vols"}}), 403)
    _error(api("DELETE", f"/registered_limits/{reg['id']}"), 403)
    r = api("PATCH", f"/registered_limits/{reg['id']}", json={"registered_limit": {"default_limit": 4}})
    assert r.status_code == 200

    # Filters, and what a project member sees.
    def ids(query: str, token: str | None = None) -> set[str]:
        r = api("GET", f"/limits?{query}", token=token)
        assert r.status_code == 200, r.text
        return {lim["id"] for lim in r.json()["limits"]}

    assert ids(f"service_id={sid}&project_id={project['id']}") == {vol["id"]}
    assert ids(f"service_id={sid}&domain_id=default") == {snap_dom["id"]}
    assert len(ids(f"service_id={sid}&resource_name=volumes")) == 2
    user = api.create("user", name=_name("lu"), password="pw-limit-1")
    reader = api("GET", "/roles?name=reader").json()["roles"][0]["id"]
    assert api("PUT", f"/projects/{project['id']}/users/{user['id']}/roles/{reader}").status_code == 204
    r = httpx.post(f"{cloud.auth_url}/auth/tokens", timeout=30, json={"auth": {"identity": {
        "methods": ["password"], "password": {"user": {"id": user["id"], "password": "pw-limit-1"}}},
        "scope": {"project": {"id": project["id"]}}}})
    tok = r.headers["x-subject-token"]
    assert ids(f"service_id={sid}", token=tok) == {vol["id"]}
    assert ids(f"project_id={other['id']}", token=tok) == set()
    assert api("GET", f"/limits/{vol['id']}", token=tok).status_code == 200
    other_limit = next(iter(ids(f"service_id={sid}&project_id={other['id']}")))
    _error(api("GET", f"/limits/{other_limit}", token=tok), 403)
    _error(api("POST", "/limits", token=tok, json={"limits": [{**base, "resource_name": "snapshots"}]}), 403)
    _error(api("DELETE", f"/limits/{vol['id']}", token=tok), 403)
    assert api("GET", "/registered_limits", token=tok).status_code == 200
    model = api("GET", "/limits/model", token=tok)
    assert model.status_code == 200 and model.json()["model"]["name"] == "flat"
    assert "project hierarchy" in model.json()["model"]["description"]

    # The flat model as a function: a project's own limit wins over the registered default.
    registered = api("GET", f"/registered_limits?service_id={sid}").json()["registered_limits"]
    limits = api("GET", f"/limits?service_id={sid}").json()["limits"]
    assert effective_limit(registered, limits, project_id=project["id"], service_id=sid,
                           resource_name="volumes") == 12
    assert effective_limit(registered, limits, project_id=uuid.uuid4().hex, service_id=sid,
                           resource_name="volumes") == 4
    assert effective_limit(registered, limits, project_id=project["id"], service_id=sid,
                           resource_name="volumes", region_id="RegionOne") is None
    assert effective_limit(registered, limits, project_id=project["id"], service_id=sid,
                           resource_name="nothing") is None
    assert within_limit(12, 11) and not within_limit(12, 12) and within_limit(-1, 10**9)
    assert within_limit(None, 5)

    # Services and regions referenced by limits cannot be deleted from under them.
    _error(api("DELETE", f"/services/{sid}"), 409)
    assert api("DELETE", f"/limits/{vol['id']}").status_code == 204
    _error(api("GET", f"/limits/{vol['id']}"), 404)
    _error(api("DELETE", f"/limits/{vol['id']}"), 404)
