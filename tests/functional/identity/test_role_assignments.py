"""Grants and /v3/role_assignments through the CLI and raw HTTP: effective mode, revocation, errors."""

from __future__ import annotations

import uuid

import httpx
import pytest


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


class Api:
    """Raw HTTP to the identity API with one token."""

    def __init__(self, cloud, token: str) -> None:
        self.url = cloud.auth_url
        self.base = cloud.auth_url  # .../v3
        self.h = {"X-Auth-Token": token}

    def __call__(self, method: str, path: str, headers: dict | None = None, **kw) -> httpx.Response:
        return httpx.request(method, self.url + path, headers={**self.h, **(headers or {})},
                             timeout=30, **kw)

    def create(self, kind: str, **body) -> dict:
        r = self("POST", f"/{kind}s", json={kind: body})
        assert r.status_code == 201, r.text
        return r.json()[kind]

    def role_id(self, name: str) -> str:
        roles = self("GET", f"/roles?name={name}").json()["roles"]
        assert len(roles) == 1, roles
        return roles[0]["id"]

    def assignments(self, query: str) -> list[dict]:
        r = self("GET", f"/role_assignments?{query}")
        assert r.status_code == 200, r.text
        return r.json()["role_assignments"]


@pytest.fixture(scope="module")
def api(cloud, admin_token) -> Api:
    return Api(cloud, admin_token)


def _error(r: httpx.Response, status: int) -> str:
    assert r.status_code == status, r.text
    err = r.json()["error"]
    assert err["code"] == status and err["title"] and err["message"]
    return err["message"]


def _password_token(cloud, user_id: str, password: str, **scope) -> str:
    auth: dict = {"identity": {"methods": ["password"],
                               "password": {"user": {"id": user_id, "password": password}}}}
    if "project_id" in scope:
        auth["scope"] = {"project": {"id": scope["project_id"]}}
    elif scope.get("system"):
        auth["scope"] = {"system": {"all": True}}
    r = httpx.post(f"{cloud.auth_url}/auth/tokens", json={"auth": auth}, timeout=30)
    assert r.status_code == 201, r.text
    return r.headers["x-subject-token"]


def _token_roles(api: Api, token: str) -> list[str] | None:
    r = api("GET", "/auth/tokens", headers={"X-Subject-Token": token})
    if r.status_code == 404:
        return None
    assert r.status_code == 200, r.text
    return sorted(x["name"] for x in r.json()["token"]["roles"])


def test_grant_cli_list_and_revocation(cloud, api):
    user, project = _name("u"), _name("p")
    u = cloud.osc("user", "create", "--password", "pw-grant-123", user)
    p = cloud.osc("project", "create", project)
    cloud.osc("role", "add", "--user", user, "--project", project, "member", json_out=False)
    rows = cloud.osc("role", "assignment", "list", "--user", user, "--project", project)
    assert rows == [{"Role": api.role_id("member"), "User": u["id"], "Group": "", "Project": p["id"],
                     "Domain": "", "System": "", "Inherited": False}]
    named = cloud.osc("role", "assignment", "list", "--user", user, "--project", project, "--names",
                      "--effective")
    assert sorted(r["Role"] for r in named) == ["member", "reader"]  # member implies reader
    assert all(r["User"] == f"{user}@Default" and r["Project"] == f"{project}@Default" for r in named)
    token = _password_token(cloud, u["id"], "pw-grant-123", project_id=p["id"])
    assert _token_roles(api, token) == ["member", "reader"]
    cloud.osc("role", "remove", "--user", user, "--project", project, "member", json_out=False)
    # The removed grant was the user's only role there: the token issued before no longer validates.
    assert api("GET", "/auth/tokens", headers={"X-Subject-Token": token}).status_code == 404
    assert cloud.osc("role", "assignment", "list", "--user", user, "--project", project) == []
    cloud.osc("user", "delete", user, json_out=False)
    cloud.osc("project", "delete", project, json_out=False)


def test_group_inherited_domain_grant_cli(cloud, api):
    domain, group, user = _name("d"), _name("g"), _name("u")
    d = cloud.osc("domain", "create", domain)
    g = cloud.osc("group", "create", "--domain", domain, group)
    u = cloud.osc("user", "create", "--domain", domain, "--password", "pw-inherit-1", user)
    p1 = api.create("project", name=_name("p"), domain_id=d["id"])
    p2 = api.create("project", name=_name("p"), domain_id=d["id"], parent_id=p1["id"])
    cloud.osc("group", "add", "user", g["id"], u["id"], json_out=False)
    cloud.osc("role", "add", "--group", group, "--group-domain", domain, "--domain", domain,
              "--inherited", "reader", json_out=False)
    direct = cloud.osc("role", "assignment", "list", "--group", g["id"], "--names")
    assert direct == [{"Role": "reader", "User": "", "Group": f"{group}@{domain}", "Project": "",
                       "Domain": domain, "System": "", "Inherited": True}]
    eff = cloud.osc("role", "assignment", "list", "--user", u["id"], "--names", "--effective")
    got = sorted((r["Role"], r["User"], r["Project"], r["Inherited"]) for r in eff)
    assert got == sorted([("reader", f"{user}@{domain}", f"{p1['name']}@{domain}", True),
                          ("reader", f"{user}@{domain}", f"{p2['name']}@{domain}", True)])
    # The inherited role reaches the projects' tokens, not the domain's.
    token = _password_token(cloud, u["id"], "pw-inherit-1", project_id=p2["id"])
    assert _token_roles(api, token) == ["reader"]
    entries = api.assignments(f"user.id={u['id']}&effective&scope.project.id={p2['id']}")
    assert len(entries) == 1
    e = entries[0]
    assert e["scope"] == {"project": {"id": p2["id"]}, "OS-INHERIT:inherited_to": "projects"}
    assert e["links"]["assignment"] == (f"{api.base}/OS-INHERIT/domains/{d['id']}/groups/{g['id']}/roles/"
                                        f"{api.role_id('reader')}/inherited_to_projects")
    assert e["links"]["membership"] == f"{api.base}/groups/{g['id']}/users/{u['id']}"
    # Removing the inherited grant takes the role out of the tokens.
    cloud.osc("role", "remove", "--group", g["id"], "--domain", domain, "--inherited", "reader",
              json_out=False)
    assert _token_roles(api, token) is None
    api("DELETE", f"/projects/{p2['id']}")
    api("DELETE", f"/projects/{p1['id']}")
    api("PATCH", f"/domains/{d['id']}", json={"domain": {"enabled": False}})
    assert api("DELETE", f"/domains/{d['id']}").status_code == 204


def test_system_grant_cli_and_http(cloud, api):
    user = _name("sys")
    u = cloud.osc("user", "create", "--password", "pw-system-12", user)
    cloud.osc("role", "add", "--user", user, "--system", "all", "reader", json_out=False)
    rows = cloud.osc("role", "assignment", "list", "--user", user, "--system", "all", "--names")
    assert rows == [{"Role": "reader", "User": f"{user}@Default", "Group": "", "Project": "",
                     "Domain": "", "System": "all", "Inherited": False}]
    reader = api.role_id("reader")
    grant = f"/system/users/{u['id']}/roles/{reader}"
    assert api("HEAD", grant).status_code == 204
    assert api("GET", grant).status_code == 204
    listed = api("GET", f"/system/users/{u['id']}/roles").json()["roles"]
    assert [r["id"] for r in listed] == [reader]
    entry = api.assignments(f"user.id={u['id']}&scope.system=all")[0]
    assert entry == {"scope": {"system": {"all": True}}, "user": {"id": u["id"]}, "role": {"id": reader},
                     "links": {"assignment": f"{api.base}{grant}"}}
    token = _password_token(cloud, u["id"], "pw-system-12", system=True)
    assert _token_roles(api, token) == ["reader"]
    # A domain-specific role never goes on the system.
    d = api.create("domain", name=_name("sd"))
    dr = api.create("role", name=_name("dr"), domain_id=d["id"])
    assert "domain-specific role" in _error(api("PUT", f"/system/users/{u['id']}/roles/{dr['id']}"), 400)
    _error(api("PUT", f"/system/users/nope/roles/{reader}"), 404)
    _error(api("PUT", f"/system/projects/{u['id']}/roles/{reader}"), 404)
    cloud.osc("role", "remove", "--user", user, "--system", "all", "reader", json_out=False)
    assert _token_roles(api, token) is None
    assert "Could not find role assignment" in _error(api("DELETE", grant), 404)
    group = api.create("group", name=_name("sg"))
    ggrant = f"/system/groups/{group['id']}/roles/{reader}"
    assert api("PUT", ggrant).status_code == 204
    assert [r["id"] for r in api("GET", f"/system/groups/{group['id']}/roles").json()["roles"]] == [reader]
    assert api("DELETE", ggrant).status_code == 204
    assert api("HEAD", ggrant).status_code == 404
    api("DELETE", f"/groups/{group['id']}")
    api("DELETE", f"/users/{u['id']}")


def test_grants_http(api):
    d = api.create("domain", name=_name("gd"))
    p = api.create("project", name=_name("gp"), domain_id=d["id"])
    other = api.create("project", name=_name("op"))
    u = api.create("user", name=_name("gu"), domain_id=d["id"])
    member = api.role_id("member")
    grant = f"/projects/{p['id']}/users/{u['id']}/roles/{member}"
    inherited = f"/OS-INHERIT/projects/{p['id']}/users/{u['id']}/roles/{member}/inherited_to_projects"
    assert api("HEAD", grant).status_code == 404  # HEAD: the status only
    msg = _error(api("GET", grant), 404)
    assert msg == (f"Could not find role assignment with role: {member}, user or group: {u['id']}, "
                   f"project, domain, or system: {p['id']}.")
    assert api("PUT", grant).status_code == 204
    assert api("PUT", grant).status_code == 204  # idempotent
    assert api("HEAD", grant).status_code == 204 and api("GET", grant).status_code == 204
    roles = api("GET", f"/projects/{p['id']}/users/{u['id']}/roles").json()["roles"]
    assert [r["id"] for r in roles] == [member] and roles[0]["name"] == "member"
    # The inherited grant on the same project is another assignment.
    assert api("HEAD", inherited).status_code == 404
    assert api("PUT", inherited).status_code == 204
    listed = api("GET", f"/OS-INHERIT/projects/{p['id']}/users/{u['id']}/roles/inherited_to_projects")
    assert [r["id"] for r in listed.json()["roles"]] == [member]
    entries = api.assignments(f"user.id={u['id']}")
    links = sorted(e["links"]["assignment"] for e in entries)
    assert links == sorted([f"{api.base}{grant}", f"{api.base}{inherited}"])
    only_inherited = api.assignments(f"user.id={u['id']}&scope.OS-INHERIT:inherited_to=projects")
    assert [e["scope"] for e in only_inherited] == [{"project": {"id": p["id"]},
                                                     "OS-INHERIT:inherited_to": "projects"}]
    assert api("DELETE", inherited).status_code == 204
    assert api("DELETE", grant).status_code == 204
    _error(api("DELETE", grant), 404)
    assert api("GET", f"/projects/{p['id']}/users/{u['id']}/roles").json()["roles"] == []
    # Unknown things are named in Keystone's order: role, actor, target.
    assert _error(api("PUT", "/projects/nope/users/nope/roles/nope"), 404) == "Could not find role: nope."
    assert _error(api("PUT", f"/projects/nope/users/nope/roles/{member}"), 404) \
        == "Could not find user: nope."
    assert _error(api("PUT", f"/projects/nope/users/{u['id']}/roles/{member}"), 404) \
        == "Could not find project: nope."
    assert _error(api("PUT", f"/domains/nope/groups/nope/roles/{member}"), 404) \
        == "Could not find group: nope."
    assert _error(api("PUT", f"/domains/nope/users/{u['id']}/roles/{member}"), 404) \
        == "Could not find domain: nope."
    _error(api("PUT", f"/regions/x/users/{u['id']}/roles/{member}"), 404)
    _error(api("GET", f"/projects/{p['id']}/services/{u['id']}/roles"), 404)
    # Domain-specific roles stay inside their domain.
    dr = api.create("role", name=_name("dr"), domain_id=d["id"])
    assert api("PUT", f"/projects/{p['id']}/users/{u['id']}/roles/{dr['id']}").status_code == 204
    assert api("PUT", f"/domains/{d['id']}/users/{u['id']}/roles/{dr['id']}").status_code == 204
    msg = _error(api("PUT", f"/projects/{other['id']}/users/{u['id']}/roles/{dr['id']}"), 403)
    assert msg == (f"Project {other['id']} must be in the same domain as the role {dr['id']} "
                   "being assigned.")
    _error(api("PUT", f"/domains/default/users/{u['id']}/roles/{dr['id']}"), 403)
    # Domain grants.
    dgrant = f"/domains/{d['id']}/users/{u['id']}/roles/{member}"
    assert api("PUT", dgrant).status_code == 204
    assert {r["id"] for r in api("GET", f"/domains/{d['id']}/users/{u['id']}/roles").json()["roles"]} \
        == {member, dr["id"]}
    assert api("DELETE", dgrant).status_code == 204
    api("DELETE", f"/projects/{other['id']}")
    api("DELETE", f"/projects/{p['id']}")
    api("PATCH", f"/domains/{d['id']}", json={"domain": {"enabled": False}})
    assert api("DELETE", f"/domains/{d['id']}").status_code == 204


def test_effective_assignments_http(cloud, api):
    """Groups expand into members, inherited grants onto subprojects, implied roles with prior_role."""
    top = api.create("project", name=_name("top"))
    mid = api.create("project", name=_name("mid"), parent_id=top["id"])
    leaf = api.create("project", name=_name("leaf"), parent_id=mid["id"])
    u1 = api.create("user", name=_name("e1"), password="pw-effective-1")
    u2 = api.create("user", name=_name("e2"))
    g = api.create("group", name=_name("eg"))
    for u in (u1, u2):
        assert api("PUT", f"/groups/{g['id']}/users/{u['id']}").status_code == 204
    d = api.create("domain", name=_name("ed"))
    prior = api.create("role", name=_name("prior"))
    local = api.create("role", name=_name("local"), domain_id="default")
    reader, member = api.role_id("reader"), api.role_id("member")
    assert api("PUT", f"/roles/{prior['id']}/implies/{member}").status_code == 201
    assert api("PUT", f"/roles/{local['id']}/implies/{reader}").status_code == 201
    assert api("PUT", f"/projects/{top['id']}/groups/{g['id']}/roles/{prior['id']}").status_code == 204
    assert api("PUT", f"/OS-INHERIT/projects/{mid['id']}/users/{u1['id']}/roles/{reader}/"
                      "inherited_to_projects").status_code == 204
    assert api("PUT", f"/projects/{leaf['id']}/users/{u1['id']}/roles/{local['id']}").status_code == 204

    eff = api.assignments(f"effective&user.id={u1['id']}")
    seen = sorted((e["scope"]["project"]["id"], e["role"]["id"]) for e in eff)
    assert seen == sorted([(top["id"], prior["id"]), (top["id"], member), (top["id"], reader),
                           (leaf["id"], reader), (leaf["id"], reader)])  # inherited + implied by local
    by_role = {(e["scope"]["project"]["id"], e["role"]["id"]): e for e in eff}
    implied = by_role[(top["id"], member)]
    assert implied["links"]["prior_role"] == f"{api.base}/roles/{prior['id']}/implies/{member}"
    assert implied["links"]["assignment"] \
        == f"{api.base}/projects/{top['id']}/groups/{g['id']}/roles/{prior['id']}"
    assert implied["links"]["membership"] == f"{api.base}/groups/{g['id']}/users/{u1['id']}"
    assert "OS-INHERIT:inherited_to" not in implied["scope"]
    # Domain-specific roles never show in effective mode (tokens do not carry them).
    assert local["id"] not in {e["role"]["id"] for e in eff}
    token = _password_token(cloud, u1["id"], "pw-effective-1", project_id=leaf["id"])
    assert _token_roles(api, token) == ["reader"]
    # Without effective: the grants as stored.
    stored = api.assignments(f"user.id={u1['id']}")
    assert sorted(e["role"]["id"] for e in stored) == sorted([reader, local["id"]])
    assert [e["group"]["id"] for e in api.assignments(f"group.id={g['id']}")] == [g["id"]]
    # Group members all get the group's grant, and role.id filters after expansion.
    members = api.assignments(f"effective&scope.project.id={top['id']}&role.id={member}")
    assert {e["user"]["id"] for e in members} == {u1["id"], u2["id"]}
    assert {e["role"]["id"] for e in members} == {member}
    # include_subtree lists the grants on the project and below it.
    tree = api.assignments(f"scope.project.id={mid['id']}&include_subtree=true")
    assert sorted((e["scope"]["project"]["id"], e["role"]["id"]) for e in tree) \
        == sorted([(mid["id"], reader), (leaf["id"], local["id"])])
    tree = api.assignments(f"scope.project.id={top['id']}&include_subtree=1&effective&user.id={u1['id']}")
    assert len(tree) == 5
    # include_names, including a domain-specific role's domain.
    named = api.assignments(f"include_names&user.id={u1['id']}&scope.project.id={leaf['id']}")
    assert named == [{
        "scope": {"project": {"id": leaf["id"], "name": leaf["name"],
                              "domain": {"id": "default", "name": "Default"}}},
        "user": {"id": u1["id"], "name": u1["name"], "domain": {"id": "default", "name": "Default"}},
        "role": {"id": local["id"], "name": local["name"], "domain": {"id": "default", "name": "Default"}},
        "links": {"assignment": f"{api.base}/projects/{leaf['id']}/users/{u1['id']}/roles/{local['id']}"}}]
    # Filters Keystone refuses.
    for query, needle in [
        (f"scope.project.id={top['id']}&scope.domain.id={d['id']}", "domain or project"),
        (f"scope.system=all&scope.domain.id={d['id']}", "system or domain"),
        (f"scope.system=all&scope.project.id={top['id']}", "system or project"),
        (f"user.id={u1['id']}&group.id={g['id']}", "user or group"),
        (f"effective&group.id={g['id']}", "empty list"),
        (f"effective&scope.domain.id={d['id']}&scope.OS-INHERIT:inherited_to=projects", "empty list"),
        ("include_subtree=true", "scope.project.id must be specified"),
    ]:
        assert needle in _error(api("GET", f"/role_assignments?{query}"), 400)
    _error(api("GET", "/role_assignments?include_subtree=true&scope.project.id=nope"), 404)
    for path in (f"/roles/{prior['id']}", f"/roles/{local['id']}", f"/groups/{g['id']}",
                 f"/users/{u1['id']}", f"/users/{u2['id']}", f"/projects/{leaf['id']}",
                 f"/projects/{mid['id']}", f"/projects/{top['id']}"):
        assert api("DELETE", path).status_code == 204, path
    api("PATCH", f"/domains/{d['id']}", json={"domain": {"enabled": False}})
    api("DELETE", f"/domains/{d['id']}")


def test_reader_cannot_grant(cloud, api):
    project = api.create("project", name=_name("rp"))
    user = api.create("user", name=_name("rd"), password="pw-reader-34")
    reader_role, member = api.role_id("reader"), api.role_id("member")
    assert api("PUT", f"/projects/{project['id']}/users/{user['id']}/roles/{reader_role}").status_code == 204
    reader = Api(cloud, _password_token(cloud, user["id"], "pw-reader-34", project_id=project["id"]))
    grant = f"/projects/{project['id']}/users/{user['id']}/roles/{member}"
    _error(reader("PUT", grant), 403)
    _error(reader("DELETE", f"/projects/{project['id']}/users/{user['id']}/roles/{reader_role}"), 403)
    _error(reader("PUT", f"/system/users/{user['id']}/roles/{member}"), 403)
    _error(reader("GET", "/role_assignments"), 403)
    _error(reader("GET", f"/role_assignments?scope.project.id={project['id']}&include_subtree"), 403)
    api("DELETE", f"/users/{user['id']}")
    api("DELETE", f"/projects/{project['id']}")
