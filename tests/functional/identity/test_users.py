"""Users through the CLI, openstacksdk and raw HTTP: CRUD, passwords, security compliance, access control."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import httpx
import openstack
import pytest

from tests.cloud import start_cloud, stop_cloud


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


class Api:
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

    def valid(self, token: str) -> bool:
        r = self("GET", "/auth/tokens", headers={"X-Subject-Token": token})
        assert r.status_code in (200, 404), r.text
        return r.status_code == 200

    def grant(self, project_id: str, actor: str, actor_id: str, role: str) -> None:
        r = self("GET", f"/roles?name={role}")
        assert r.status_code == 200, r.text
        role_id = r.json()["roles"][0]["id"]
        r = self("PUT", f"/projects/{project_id}/{actor}/{actor_id}/roles/{role_id}")
        assert r.status_code == 204, r.text


@pytest.fixture(scope="module")
def api(cloud, admin_token) -> Api:
    return Api(cloud, admin_token)


def _error(r: httpx.Response, status: int) -> str:
    assert r.status_code == status, r.text
    err = r.json()["error"]
    assert err["code"] == status and err["title"] and err["message"]
    return err["message"]


def _auth(cloud, user_id: str, password: str, project_id: str | None = None) -> httpx.Response:
    auth: dict = {"identity": {"methods": ["password"], "password": {"user": {
        "id": user_id, "password": password}}}}
    if project_id:
        auth["scope"] = {"project": {"id": project_id}}
    return httpx.post(f"{cloud.auth_url}/auth/tokens", json={"auth": auth}, timeout=30)


def _token(cloud, user_id: str, password: str, project_id: str | None = None) -> str:
    r = _auth(cloud, user_id, password, project_id)
    assert r.status_code == 201, r.text
    return r.headers["x-subject-token"]


def _change(cloud, user_id: str, original: str, new: str) -> httpx.Response:
    return httpx.post(f"{cloud.auth_url}/users/{user_id}/password", timeout=30,
                      json={"user": {"original_password": original, "password": new}})


# -- CRUD -------------------------------------------------------------------------------------------


def test_user_cli_lifecycle(cloud, api):
    name = _name("cli")
    u = cloud.osc("user", "create", "--password", "pw-cli-123", "--email", "cli@example.org",
                  "--description", "made by the CLI", name)
    assert u["name"] == name and u["domain_id"] == "default" and u["enabled"] is True
    assert u["email"] == "cli@example.org" and u["password_expires_at"] is None
    token = _token(cloud, u["id"], "pw-cli-123")
    assert name in {row["Name"] for row in cloud.osc("user", "list")}
    cloud.osc("user", "set", "--disable", "--email", "new@example.org", name, json_out=False)
    shown = api("GET", f"/users/{u['id']}").json()["user"]
    assert shown["enabled"] is False and shown["email"] == "new@example.org"
    assert _auth(cloud, u["id"], "pw-cli-123").status_code == 401
    assert not api.valid(token)
    cloud.osc("user", "delete", name, json_out=False)
    _error(api("GET", f"/users/{u['id']}"), 404)


def test_user_sdk(cloud, monkeypatch):
    monkeypatch.setenv("OS_CLIENT_CONFIG_FILE", str(cloud.state_dir / "clouds.yaml"))
    conn = openstack.connect(cloud="nubes")
    name = _name("sdk")
    u = conn.identity.create_user(name=name, password="pw-sdk-123", description="sdk user")
    assert u.domain_id == "default" and u.is_enabled is True and u.description == "sdk user"
    assert conn.identity.find_user(name).id == u.id
    u = conn.identity.update_user(u, email="sdk@example.org")
    assert u.email == "sdk@example.org"
    assert name in {x.name for x in conn.identity.users(name=name)}
    conn.identity.delete_user(u)
    assert conn.identity.find_user(name) is None


def test_user_attributes(api):
    p = api.create("project", name=_name("home"))
    u = api.create("user", name=_name("attr"), default_project_id=p["id"], shoe_size=44,
                   options={"ignore_password_expiry": True, "lock_password": "true"})
    assert u["default_project_id"] == p["id"] and u["shoe_size"] == 44
    assert u["options"] == {"ignore_password_expiry": True, "lock_password": True}
    assert "email" not in u and "description" not in u
    r = api("PATCH", f"/users/{u['id']}", json={"user": {"options": {"lock_password": None},
                                                         "description": "d"}})
    body = r.json()["user"]
    assert r.status_code == 200 and body["options"] == {"ignore_password_expiry": True}
    assert body["description"] == "d" and body["shoe_size"] == 44
    _error(api("PATCH", f"/users/{u['id']}", json={"user": {"options": {"made_up": True}}}), 400)
    _error(api("PATCH", f"/users/{u['id']}", json={"user": {"default_project_id": "default"}}), 400)
    _error(api("PATCH", f"/users/{u['id']}", json={"user": {"domain_id": "elsewhere"}}), 400)
    assert "Multi-factor" in _error(api("PATCH", f"/users/{u['id']}", json={"user": {
        "options": {"multi_factor_auth_enabled": True}}}), 501)
    # Deleting the default project clears it from the user.
    assert api("DELETE", f"/projects/{p['id']}").status_code == 204
    assert "default_project_id" not in api("GET", f"/users/{u['id']}").json()["user"]
    assert api("DELETE", f"/users/{u['id']}").status_code == 204


def test_user_list_filters(api):
    d = api.create("domain", name=_name("ud"))
    u1 = api.create("user", name=_name("one"), domain_id=d["id"])
    u2 = api.create("user", name=_name("two"), domain_id=d["id"], enabled=False)
    twin = api.create("user", name=u1["name"])  # same name, default domain

    def ids(query: str) -> set[str]:
        r = api("GET", f"/users?{query}")
        assert r.status_code == 200, r.text
        return {u["id"] for u in r.json()["users"]}

    assert ids(f"domain_id={d['id']}") == {u1["id"], u2["id"]}
    assert ids(f"domain_id={d['id']}&enabled=false") == {u2["id"]}
    assert ids(f"name={u1['name']}") == {u1["id"], twin["id"]}
    _error(api("GET", "/users?password_expires_at=soon:2030-01-01T00:00:00Z"), 400)
    _error(api("GET", "/users?password_expires_at=lt:tomorrow"), 400)
    api("PATCH", f"/domains/{d['id']}", json={"domain": {"enabled": False}})
    assert api("DELETE", f"/domains/{d['id']}").status_code == 204
    assert api("DELETE", f"/users/{twin['id']}").status_code == 204


@pytest.mark.parametrize("body,status,needle", [
    (b"{not json", 400, "Malformed JSON"),
    (b'{"user": {}}', 400, "'name' is a required property"),
    (b'{"user": {"name": "x", "password": 5}}', 400, "password"),
    (b'{"user": {"name": "x", "enabled": "yes please"}}', 400, "enabled"),
    (b'{"user": {"name": "x", "domain_id": "nope"}}', 404, "Could not find domain: nope"),
    (b'{"user": {"name": "admin"}}', 409, "Duplicate entry found with name admin at domain ID default"),
])
def test_user_create_errors(api, body, status, needle):
    r = api("POST", "/users", content=body, headers={"content-type": "application/json"})
    assert needle in _error(r, status)


def test_user_unknown_ids(api):
    assert _error(api("GET", "/users/nope"), 404) == "Could not find user: nope."
    _error(api("PATCH", "/users/nope", json={"user": {"enabled": False}}), 404)
    _error(api("DELETE", "/users/nope"), 404)
    _error(api("GET", "/users/nope/projects"), 404)


# -- passwords and revocation --------------------------------------------------------------------


def test_change_own_password(cloud, api):
    u = api.create("user", name=_name("self"), password="pw-old-123")
    old_token = _token(cloud, u["id"], "pw-old-123")
    msg = _error(_change(cloud, u["id"], "wrong", "pw-new-123"), 401)
    assert "Invalid user / password" in msg
    _error(_change(cloud, "nobody", "pw-old-123", "pw-new-123"), 401)
    _error(httpx.post(f"{cloud.auth_url}/users/{u['id']}/password", json={"user": {
        "password": "pw-new-123"}}), 400)
    assert _change(cloud, u["id"], "pw-old-123", "pw-new-123").status_code == 204
    assert not api.valid(old_token)
    assert _auth(cloud, u["id"], "pw-old-123").status_code == 401
    assert _auth(cloud, u["id"], "pw-new-123").status_code == 201
    # lock_password forbids self-service changes (Keystone: 400), not an administrator's.
    api("PATCH", f"/users/{u['id']}", json={"user": {"options": {"lock_password": True}}})
    msg = _error(_change(cloud, u["id"], "pw-new-123", "pw-third-123"), 400)
    assert "disallowing password changes" in msg
    assert api("PATCH", f"/users/{u['id']}", json={"user": {"password": "pw-admin-123"}}).status_code == 200
    assert _auth(cloud, u["id"], "pw-admin-123").status_code == 201
    api("DELETE", f"/users/{u['id']}")


def test_admin_changes_revoke_tokens(cloud, api):
    u = api.create("user", name=_name("rev"), password="pw-rev-123")
    token = _token(cloud, u["id"], "pw-rev-123")
    api("PATCH", f"/users/{u['id']}", json={"user": {"description": "harmless"}})
    assert api.valid(token)
    api("PATCH", f"/users/{u['id']}", json={"user": {"password": "pw-rev-456"}})
    assert not api.valid(token)
    token = _token(cloud, u["id"], "pw-rev-456")
    api("PATCH", f"/users/{u['id']}", json={"user": {"enabled": False}})
    assert not api.valid(token)
    api("PATCH", f"/users/{u['id']}", json={"user": {"enabled": True}})
    assert not api.valid(token)  # re-enabling does not bring old tokens back
    token = _token(cloud, u["id"], "pw-rev-456")
    assert api("DELETE", f"/users/{u['id']}").status_code == 204
    assert not api.valid(token)


# -- access control (needs role grants) -------------------------------------------------------


@pytest.fixture(scope="module")
def two_projects(api):
    a = api.create("project", name=_name("pa"))
    b = api.create("project", name=_name("pb"))
    member = api.create("user", name=_name("member"), password="pw-member-123")
    reader = api.create("user", name=_name("reader"), password="pw-reader-123")
    api.grant(a["id"], "users", member["id"], "member")
    api.grant(a["id"], "users", reader["id"], "reader")
    return a, b, member, reader


def test_member_access(cloud, two_projects):
    a, b, member, _ = two_projects
    m = Api(cloud, _token(cloud, member["id"], "pw-member-123", a["id"]))
    assert "identity:list_users" in _error(m("GET", "/users"), 403)
    _error(m("GET", f"/projects/{b['id']}"), 403)
    assert m("GET", f"/projects/{a['id']}").json()["project"]["id"] == a["id"]
    _error(m("GET", "/projects"), 403)
    _error(m("GET", "/groups"), 403)
    _error(m("GET", "/domains"), 403)
    assert m("GET", f"/users/{member['id']}").status_code == 200  # one's own user
    _error(m("PATCH", f"/users/{member['id']}", json={"user": {"enabled": False}}), 403)
    own = m("GET", f"/users/{member['id']}/projects")
    assert [p["id"] for p in own.json()["projects"]] == [a["id"]]


def test_reader_cannot_create_project(cloud, two_projects):
    a, _, _, reader = two_projects
    r = Api(cloud, _token(cloud, reader["id"], "pw-reader-123", a["id"]))
    _error(r("POST", "/projects", json={"project": {"name": _name("nope")}}), 403)
    _error(r("POST", "/users", json={"user": {"name": _name("nope")}}), 403)
    _error(r("POST", "/domains", json={"domain": {"name": _name("nope")}}), 403)


def test_system_admin_lists_everything(cloud, two_projects):
    a, b, member, _ = two_projects
    system = Api(cloud, cloud.token("nubes-system"))
    projects = {p["id"] for p in system("GET", "/projects").json()["projects"]}
    assert {a["id"], b["id"]} <= projects
    assert member["id"] in {u["id"] for u in system("GET", "/users").json()["users"]}
    assert "default" in {d["id"] for d in system("GET", "/domains").json()["domains"]}
    assert system("GET", "/groups").status_code == 200
    assert system("GET", f"/projects/{b['id']}").status_code == 200


def test_user_projects_through_groups_and_project_disable(cloud, api, two_projects):
    a, b, member, _ = two_projects
    g = api.create("group", name=_name("grp"))
    api.grant(b["id"], "groups", g["id"], "member")
    assert api("PUT", f"/groups/{g['id']}/users/{member['id']}").status_code == 204
    projects = api("GET", f"/users/{member['id']}/projects").json()["projects"]
    assert {p["id"] for p in projects} == {a["id"], b["id"]}
    token_b = _token(cloud, member["id"], "pw-member-123", b["id"])
    assert api.valid(token_b)
    # Disabling a project revokes the tokens scoped to it.
    api("PATCH", f"/projects/{b['id']}", json={"project": {"enabled": False}})
    assert not api.valid(token_b)
    api("PATCH", f"/projects/{b['id']}", json={"project": {"enabled": True}})
    assert not api.valid(token_b)
    # parents_as_list shows the parents the caller has a role on, wrapped as {"project": ...}.
    child = api.create("project", name=_name("child"), parent_id=a["id"])
    api.grant(child["id"], "users", member["id"], "member")
    in_child = Api(cloud, _token(cloud, member["id"], "pw-member-123", child["id"]))
    body = in_child("GET", f"/projects/{child['id']}?parents_as_list").json()["project"]
    assert [p["project"]["id"] for p in body["parents"]] == [a["id"]]
    # A token scoped to the parent does not let the member read the child.
    in_parent = Api(cloud, _token(cloud, member["id"], "pw-member-123", a["id"]))
    _error(in_parent("GET", f"/projects/{child['id']}"), 403)
    api("DELETE", f"/groups/{g['id']}")
    assert {p["id"] for p in api("GET", f"/users/{member['id']}/projects").json()["projects"]} == {
        a["id"], child["id"]}


# -- security compliance, in a cloud of its own ------------------------------------------------

REGEX_HELP = "at least 8 characters including a digit"


@pytest.fixture(scope="module")
def dedicated_strict_cloud(tmp_path_factory):
    """Its own identity with strict security-compliance settings: a configuration change."""
    cloud = start_cloud(tmp_path_factory.mktemp("strict-state"), services="identity", extra_env={
        "NUBES_IDENTITY__LOCKOUT_FAILURE_ATTEMPTS": "2",
        "NUBES_IDENTITY__LOCKOUT_DURATION": "600",
        "NUBES_IDENTITY__PASSWORD_REGEX": r"^(?=.*\d).{8,}$",
        "NUBES_IDENTITY__PASSWORD_REGEX_DESCRIPTION": REGEX_HELP,
        "NUBES_IDENTITY__UNIQUE_LAST_PASSWORD_COUNT": "3",
        "NUBES_IDENTITY__MINIMUM_PASSWORD_AGE": "1",
        "NUBES_IDENTITY__PASSWORD_EXPIRES_DAYS": "30",
        "NUBES_IDENTITY__CHANGE_PASSWORD_UPON_FIRST_USE": "true",
    })
    yield cloud, Api(cloud, cloud.token())
    stop_cloud(cloud)


def _expires(user: dict) -> datetime:
    return datetime.fromisoformat(user["password_expires_at"].rstrip("Z")).replace(tzinfo=UTC)


def test_password_regex(dedicated_strict_cloud):
    cloud, api = dedicated_strict_cloud
    msg = _error(api("POST", "/users", json={"user": {"name": _name("weak"), "password": "short"}}), 400)
    assert REGEX_HELP in msg
    u = api.create("user", name=_name("ok"), password="longer-1")
    assert REGEX_HELP in _error(api("PATCH", f"/users/{u['id']}", json={"user": {"password": "nodigits"}}), 400)
    assert REGEX_HELP in _error(_change(cloud, u["id"], "longer-1", "nodigits"), 400)


def test_first_use_history_min_age_and_expiry(dedicated_strict_cloud):
    cloud, api = dedicated_strict_cloud
    u = api.create("user", name=_name("first"), password="first-pass-1")
    # An administrator's password must be changed before first use: it is born expired.
    assert _expires(u) <= datetime.now(UTC)
    r = _auth(cloud, u["id"], "first-pass-1")
    assert r.status_code == 401 and "change" in r.json()["error"]["message"]
    # History: the new password must differ from the last 3.
    assert "previous password" in _error(_change(cloud, u["id"], "first-pass-1", "first-pass-1"), 400)
    assert _change(cloud, u["id"], "first-pass-1", "second-pass-2").status_code == 204
    assert _auth(cloud, u["id"], "second-pass-2").status_code == 201
    shown = api("GET", f"/users/{u['id']}").json()["user"]
    assert timedelta(days=29) < _expires(shown) - datetime.now(UTC) <= timedelta(days=30)
    # Minimum age: a self-service password must be kept for a day.
    assert "minimum password age" in _error(_change(cloud, u["id"], "second-pass-2", "third-pass-3"), 400)
    # An administrator's reset is not bound by it, and must be changed again on first use.
    assert api("PATCH", f"/users/{u['id']}", json={"user": {"password": "reset-pass-4"}}).status_code == 200
    assert _auth(cloud, u["id"], "reset-pass-4").status_code == 401
    assert "previous password" in _error(_change(cloud, u["id"], "reset-pass-4", "second-pass-2"), 400)
    assert _change(cloud, u["id"], "reset-pass-4", "fifth-pass-5").status_code == 204
    assert _auth(cloud, u["id"], "fifth-pass-5").status_code == 201


def test_lockout(dedicated_strict_cloud):
    cloud, api = dedicated_strict_cloud
    opts = {"ignore_change_password_upon_first_use": True}
    u = api.create("user", name=_name("lock"), password="lock-pass-1", options=opts)
    free = api.create("user", name=_name("free"), password="free-pass-1",
                      options={**opts, "ignore_lockout_failure_attempts": True})
    assert _auth(cloud, u["id"], "lock-pass-1").status_code == 201
    for _ in range(2):
        assert _auth(cloud, u["id"], "wrong").status_code == 401
        assert _auth(cloud, free["id"], "wrong").status_code == 401
    r = _auth(cloud, u["id"], "lock-pass-1")
    assert r.status_code == 401 and "locked" in r.json()["error"]["message"]
    assert "locked" in _error(_change(cloud, u["id"], "lock-pass-1", "other-pass-2"), 401)
    assert _auth(cloud, free["id"], "free-pass-1").status_code == 201


def test_password_expiry_filter_and_option(dedicated_strict_cloud):
    _, api = dedicated_strict_cloud
    opts = {"ignore_change_password_upon_first_use": True}
    soon = api.create("user", name=_name("exp"), password="expiry-pass-1", options=opts)
    never = api.create("user", name=_name("never"), password="expiry-pass-2",
                       options={**opts, "ignore_password_expiry": True})
    assert never["password_expires_at"] is None
    assert timedelta(days=29) < _expires(soon) - datetime.now(UTC)
    cut = (datetime.now(UTC) + timedelta(days=29)).strftime("%Y-%m-%dT%H:%M:%SZ")
    later = {u["id"] for u in api("GET", f"/users?password_expires_at=gt:{cut}").json()["users"]}
    sooner = {u["id"] for u in api("GET", f"/users?password_expires_at=lt:{cut}").json()["users"]}
    assert soon["id"] in later and soon["id"] not in sooner and never["id"] not in later | sooner
