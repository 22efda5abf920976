"""Projects through the CLI, openstacksdk and raw HTTP: CRUD, hierarchy, tags, filters, errors."""

from __future__ import annotations

import uuid

import httpx
import openstack
import pytest


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


class Api:
    """Raw HTTP to the identity API with one token."""

    def __init__(self, cloud, token: str) -> None:
        self.url = cloud.auth_url
        self.h = {"X-Auth-Token": token}

    def __call__(self, method: str, path: str, headers: dict | None = None, **kw) -> httpx.Response:
        return httpx.request(method, self.url + path, headers={**self.h, **(headers or {})},
                             timeout=30, **kw)

    def create(self, kind: str, **body) -> dict:
        r = self("POST", f"/{kind}s", json={kind: body})
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


def test_project_cli_lifecycle(cloud, api):
    name, child = _name("p"), _name("c")
    p = cloud.osc("project", "create", "--description", "first", "--tag", "blue", name)
    assert p["name"] == name and p["domain_id"] == "default" and p["parent_id"] == "default"
    assert p["enabled"] is True and p["is_domain"] is False and p["tags"] == ["blue"]
    c = cloud.osc("project", "create", "--parent", name, child)
    assert c["parent_id"] == p["id"] and c["domain_id"] == "default"
    names = {row["Name"] for row in cloud.osc("project", "list")}
    assert {name, child} <= names
    cloud.osc("project", "set", "--description", "second", "--disable", child, json_out=False)
    shown = api("GET", f"/projects/{c['id']}").json()["project"]
    assert shown["description"] == "second" and shown["enabled"] is False
    cloud.osc("project", "delete", child, name, json_out=False)
    _error(api("GET", f"/projects/{p['id']}"), 404)


def test_project_sdk(cloud, monkeypatch):
    monkeypatch.setenv("OS_CLIENT_CONFIG_FILE", str(cloud.state_dir / "clouds.yaml"))
    conn = openstack.connect(cloud="nubes")
    name = _name("sdk")
    p = conn.identity.create_project(name=name, description="via sdk", tags=["k1"])
    assert p.domain_id == "default" and p.parent_id == "default" and p.tags == ["k1"]
    assert name in {x.name for x in conn.identity.projects(tags="k1")}
    assert conn.identity.find_project(name).id == p.id
    p = conn.identity.update_project(p, description="changed", is_enabled=False)
    assert p.description == "changed" and p.is_enabled is False
    conn.identity.delete_project(p)
    assert conn.identity.find_project(name) is None


def test_project_hierarchy_views(api):
    a = api.create("project", name=_name("a"))
    b = api.create("project", name=_name("b"), parent_id=a["id"])
    c = api.create("project", name=_name("c"), parent_id=b["id"])
    d = api.create("project", name=_name("d"), parent_id=b["id"])
    r = api("GET", f"/projects/{c['id']}?parents_as_ids")
    assert r.json()["project"]["parents"] == {b["id"]: {a["id"]: {"default": None}}}
    r = api("GET", f"/projects/{a['id']}?subtree_as_ids")
    assert r.json()["project"]["subtree"] == {b["id"]: {c["id"]: None, d["id"]: None}}
    r = api("GET", f"/projects/{c['id']}?parents_as_list&subtree_as_list")
    body = r.json()["project"]
    # Lists only show projects the caller has a role on (Keystone): admin has none here.
    assert body["parents"] == [] and body["subtree"] == []
    msg = _error(api("GET", f"/projects/{c['id']}?parents_as_list&parents_as_ids"), 400)
    assert "at the same time" in msg
    # parent_id filter; a domain as parent means its top-level projects.
    kids = {p["id"] for p in api("GET", f"/projects?parent_id={b['id']}").json()["projects"]}
    assert kids == {c["id"], d["id"]}
    tops = {p["id"] for p in api("GET", "/projects?parent_id=default").json()["projects"]}
    assert a["id"] in tops and b["id"] not in tops
    # parent_id cannot change; a subtree with enabled projects cannot be disabled.
    assert "parent_id" in _error(api("PATCH", f"/projects/{c['id']}",
                                     json={"project": {"parent_id": a["id"]}}), 403)
    msg = _error(api("PATCH", f"/projects/{b['id']}", json={"project": {"enabled": False}}), 403)
    assert "subtree contains enabled projects" in msg
    for p in (c, d, b):
        assert api("PATCH", f"/projects/{p['id']}", json={"project": {"enabled": False}}).status_code == 200
    # No new project under a disabled branch; no enabling below a disabled parent.
    assert "disabled" in _error(api("POST", "/projects", json={"project": {
        "name": _name("e"), "parent_id": c["id"]}}), 400)
    msg = _error(api("PATCH", f"/projects/{c['id']}", json={"project": {"enabled": True}}), 403)
    assert "disabled parents" in msg
    msg = _error(api("DELETE", f"/projects/{a['id']}"), 403)
    assert "not a leaf" in msg
    for p in (c, d, b, a):
        assert api("DELETE", f"/projects/{p['id']}").status_code == 204


def test_project_depth_and_domains(api):
    parent = None
    chain = []
    for _ in range(5):
        body = {"name": _name("deep")}
        if parent:
            body["parent_id"] = parent
        parent = api.create("project", **body)["id"]
        chain.append(parent)
    msg = _error(api("POST", "/projects", json={"project": {"name": _name("deep"),
                                                            "parent_id": parent}}), 403)
    assert "Max hierarchy depth" in msg
    other = api.create("domain", name=_name("dom"))
    msg = _error(api("POST", "/projects", json={"project": {
        "name": _name("x"), "domain_id": other["id"], "parent_id": chain[0]}}), 400)
    assert "different domain" in msg
    # Without domain_id the parent decides; the same name may exist in another domain.
    p = api.create("project", name=_name("in-other"), domain_id=other["id"])
    assert p["domain_id"] == other["id"] and p["parent_id"] == other["id"]
    q = api.create("project", name=p["name"])
    assert q["domain_id"] == "default"
    listed = api("GET", f"/projects?domain_id={other['id']}").json()["projects"]
    assert [x["id"] for x in listed] == [p["id"]]
    for pid in [*reversed(chain), p["id"], q["id"]]:
        assert api("DELETE", f"/projects/{pid}").status_code == 204
    api("PATCH", f"/domains/{other['id']}", json={"domain": {"enabled": False}})
    assert api("DELETE", f"/domains/{other['id']}").status_code == 204


def test_project_tags(api):
    p = api.create("project", name=_name("tags"), tags=["alpha", "beta"])
    base = f"/projects/{p['id']}/tags"
    r = api("GET", base)
    assert r.status_code == 200 and r.json()["tags"] == ["alpha", "beta"] and r.json()["links"]["self"]
    r = api("PUT", f"{base}/gamma ray")
    assert r.status_code == 201 and r.headers["location"].endswith("/tags/gamma%20ray")
    assert api("GET", f"{base}/gamma ray").status_code == 204
    assert "Could not find project tag" in _error(api("GET", f"{base}/nope"), 404)
    r = api("PUT", base, json={"tags": ["one", "two"]})
    assert r.status_code == 200 and r.json()["tags"] == ["one", "two"]
    assert api("DELETE", f"{base}/one").status_code == 204
    _error(api("DELETE", f"{base}/one"), 404)
    assert api("GET", base).json()["tags"] == ["two"]
    # Keystone's tag rules: no '/' or ',', at most 255 characters, at most 80 tags, unique.
    _error(api("PUT", base, json={"tags": ["a,b"]}), 400)
    _error(api("PUT", base, json={"tags": ["x" * 256]}), 400)
    _error(api("PUT", base, json={"tags": [f"t{i}" for i in range(81)]}), 400)
    _error(api("PUT", base, json={"tags": ["dup", "dup"]}), 400)
    _error(api("POST", "/projects", json={"project": {"name": _name("t"), "tags": ["a/b"]}}), 400)
    assert api("PUT", base, json={"tags": [f"t{i}" for i in range(80)]}).status_code == 200
    assert "80" in _error(api("PUT", f"{base}/one-more"), 400)
    assert api("DELETE", base).status_code == 204
    assert api("GET", base).json()["tags"] == []
    assert api("DELETE", f"/projects/{p['id']}").status_code == 204


def test_project_tag_filters(api):
    tag = uuid.uuid4().hex[:8]
    both = api.create("project", name=_name("both"), tags=[f"{tag}-a", f"{tag}-b"])
    only_a = api.create("project", name=_name("a"), tags=[f"{tag}-a"])
    none = api.create("project", name=_name("none"))

    def ids(query: str) -> set[str]:
        r = api("GET", f"/projects?{query}")
        assert r.status_code == 200, r.text
        return {p["id"] for p in r.json()["projects"]} & {both["id"], only_a["id"], none["id"]}

    assert ids(f"tags={tag}-a,{tag}-b") == {both["id"]}
    assert ids(f"tags-any={tag}-a,{tag}-b") == {both["id"], only_a["id"]}
    assert ids(f"not-tags={tag}-a,{tag}-b") == {only_a["id"], none["id"]}
    assert ids(f"not-tags-any={tag}-a,{tag}-b") == {none["id"]}
    assert ids(f"name={none['name']}") == {none["id"]}
    api("PATCH", f"/projects/{none['id']}", json={"project": {"enabled": False}})
    assert none["id"] in ids("enabled=false") and none["id"] not in ids("enabled=true")
    _error(api("GET", "/projects?enabled=maybe"), 400)
    for p in (both, only_a, none):
        api("DELETE", f"/projects/{p['id']}")


def test_project_update_rules_and_extra(api):
    p = api.create("project", name=_name("upd"), color="red")
    assert p["color"] == "red"
    r = api("PATCH", f"/projects/{p['id']}", json={"project": {"name": p["name"] + "x", "size": 3}})
    body = r.json()["project"]
    assert r.status_code == 200 and body["color"] == "red" and body["size"] == 3
    _error(api("PATCH", f"/projects/{p['id']}", json={"project": {}}), 400)
    _error(api("PATCH", f"/projects/{p['id']}", json={"project": {"domain_id": "other"}}), 400)
    _error(api("PATCH", f"/projects/{p['id']}", json={"project": {"is_domain": True}}), 400)
    assert "admin" in _error(api("PATCH", f"/projects/{p['id']}", json={"project": {"name": "admin"}}), 409)
    # An immutable project refuses changes and deletion until the option is cleared.
    api("PATCH", f"/projects/{p['id']}", json={"project": {"options": {"immutable": True}}})
    assert "immutable" in _error(api("PATCH", f"/projects/{p['id']}",
                                     json={"project": {"description": "no"}}), 403)
    _error(api("PUT", f"/projects/{p['id']}/tags/x"), 403)
    _error(api("DELETE", f"/projects/{p['id']}"), 403)
    _error(api("PATCH", f"/projects/{p['id']}", json={"project": {"options": {"bogus": True}}}), 403)
    r = api("PATCH", f"/projects/{p['id']}", json={"project": {"options": {"immutable": False}}})
    assert r.status_code == 200
    _error(api("PATCH", f"/projects/{p['id']}", json={"project": {"options": {"bogus": True}}}), 400)
    assert api("DELETE", f"/projects/{p['id']}").status_code == 204


@pytest.mark.parametrize("body,status,needle", [
    (b"{not json", 400, "Malformed JSON"),
    (b'{"project": {}}', 400, "'name' is a required property"),
    (b'{"project": {"name": ""}}', 400, "name"),
    (b'{"project": {"name": "x", "enabled": "maybe"}}', 400, "enabled"),
    (b'{"project": {"name": "x", "domain_id": "nope"}}', 400, "Could not find domain: nope"),
    (b'{"project": {"name": "x", "parent_id": "nope"}}', 400, "Could not find project: nope"),
    (b'{"project": {"name": "x", "is_domain": true}}', 501, "is_domain"),
    (b'{"project": {"name": "admin"}}', 409, "same name in the same domain"),
])
def test_project_create_errors(api, body, status, needle):
    r = api("POST", "/projects", content=body, headers={"content-type": "application/json"})
    assert needle in _error(r, status)


def test_project_unknown_ids(api):
    assert "Could not find project: nope" in _error(api("GET", "/projects/nope"), 404)
    _error(api("PATCH", "/projects/nope", json={"project": {"name": "x"}}), 404)
    _error(api("DELETE", "/projects/nope"), 404)
    _error(api("GET", "/projects/nope/tags"), 404)


def test_is_domain_listing(api):
    rows = api("GET", "/projects?is_domain=true").json()["projects"]
    default = next(r for r in rows if r["id"] == "default")
    assert default["is_domain"] is True and default["parent_id"] is None
    assert all(not r["is_domain"] for r in api("GET", "/projects").json()["projects"])
