"""The people the access tests act as: two projects with a member and a reader each, a manager and a
service user of the first, a domain-scoped member, an unscoped user, and the cloud's admin with a
project and a system scope; and a raw HTTP helper that talks to every service with one of them.

Used by ``test_isolation`` and ``test_policy_matrix`` on the shared all-in-one cloud; everything is
made through identity's API with unique names, so the tests can share the cloud with others.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.cloud import Cloud

SERVICES = ("identity", "image", "placement", "network", "compute", "volume", "object")
# Path prefixes and version headers: routes in the tables are written as each API documents them.
PREFIX = {"identity": "", "image": "", "placement": "", "network": "", "compute": "/v2.1", "volume": "/v3",
          "object": ""}
HEADERS = {"compute": {"OpenStack-API-Version": "compute 2.96"},
           "volume": {"OpenStack-API-Version": "volume 3.71"},
           "placement": {"OpenStack-API-Version": "placement 1.39"}}


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@dataclass
class Person:
    """A token and who it belongs to (``project_id`` None for domain-scoped and unscoped tokens)."""

    name: str
    token: str
    user_id: str
    project_id: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class Http:
    def __init__(self, cloud: Cloud) -> None:
        self.cloud = cloud

    def __call__(self, who: Person, service: str, method: str, path: str, json: Any = None,
                 headers: dict[str, str] | None = None, content: bytes | None = None) -> httpx.Response:
        h = {"X-Auth-Token": who.token, **HEADERS.get(service, {}), **(headers or {})}
        url = self.cloud.url(service, PREFIX[service] + path)
        return httpx.request(method, url, json=json, content=content, headers=h, timeout=60)


def wait_services(cloud: Cloud, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    pending = list(SERVICES)
    while pending and time.monotonic() < deadline:
        try:
            pending = [s for s in pending if httpx.get(cloud.url(s, "/healthcheck"), timeout=2).status_code != 200]
        except httpx.HTTPError:
            pass
        if pending:
            time.sleep(0.2)
    assert not pending, f"services not up: {pending}"


class People:
    """Makes the projects, users and tokens (through identity's API, as the cloud's admin)."""

    def __init__(self, cloud: Cloud) -> None:
        self.cloud = cloud
        self.admin_token = cloud.token()
        self.roles = {r["name"]: r["id"] for r in self._admin("GET", "/v3/roles").json()["roles"]}

    def _admin(self, method: str, path: str, json: Any = None) -> httpx.Response:
        r = httpx.request(method, self.cloud.url("identity", path), json=json, timeout=30,
                          headers={"X-Auth-Token": self.admin_token})
        assert r.status_code < 300, f"{method} {path}: {r.status_code} {r.text}"
        return r

    def project(self, prefix: str) -> str:
        return self._admin("POST", "/v3/projects", {"project": {"name": unique(prefix)}}).json()["project"]["id"]

    def user(self, prefix: str) -> tuple[str, str]:
        password = "pw-" + uuid.uuid4().hex
        uid = self._admin("POST", "/v3/users", {"user": {"name": unique(prefix), "password": password}}).json()
        return uid["user"]["id"], password

    def grant(self, role: str, user_id: str, *, project: str | None = None, domain: str | None = None) -> None:
        where = f"projects/{project}" if project else f"domains/{domain}"
        self._admin("PUT", f"/v3/{where}/users/{user_id}/roles/{self.roles[role]}")

    def token(self, user_id: str, password: str, scope: dict[str, Any] | None) -> str:
        auth: dict[str, Any] = {"identity": {"methods": ["password"], "password": {
            "user": {"id": user_id, "password": password}}}}
        if scope is not None:
            auth["scope"] = scope
        r = httpx.post(self.cloud.url("identity", "/v3/auth/tokens"), json={"auth": auth}, timeout=30)
        assert r.status_code == 201, r.text
        return r.headers["x-subject-token"]

    def member_of(self, name: str, project: str, *roles: str) -> Person:
        uid, password = self.user(name)
        for role in roles:
            self.grant(role, uid, project=project)
        return Person(name, self.token(uid, password, {"project": {"id": project}}), uid, project)

    def domain_member(self, role: str = "member") -> Person:
        """A user holding ``role`` on the Default domain, with a domain-scoped token."""
        uid, password = self.user(f"domain-{role}")
        self.grant(role, uid, domain="default")
        return Person(f"domain {role}", self.token(uid, password, {"domain": {"id": "default"}}), uid)

    def unscoped(self, name: str = "unscoped", project: str | None = None) -> Person:
        """A user without a default project (its token stays unscoped), with a role somewhere."""
        uid, password = self.user(name)
        if project:
            self.grant("member", uid, project=project)
        token = self.token(uid, password, None)
        r = httpx.get(self.cloud.url("identity", "/v3/auth/tokens"), timeout=30,
                      headers={"X-Auth-Token": token, "X-Subject-Token": token})
        body = r.json()["token"]
        assert "project" not in body and "domain" not in body and "system" not in body, body
        return Person(name, token, uid)

    def admin(self) -> Person:
        admin_project = self.cloud.clouds["nubes"]["auth"]["project_name"]
        pid = self._admin("GET", f"/v3/projects?name={admin_project}").json()["projects"][0]["id"]
        uid = httpx.get(self.cloud.url("identity", "/v3/auth/tokens"), timeout=30,
                        headers={"X-Auth-Token": self.admin_token, "X-Subject-Token": self.admin_token}
                        ).json()["token"]["user"]["id"]
        return Person("admin", self.admin_token, uid, pid)

    def system_admin(self) -> Person:
        token = self.cloud.token("nubes-system")
        me = httpx.get(self.cloud.url("identity", "/v3/auth/tokens"), timeout=30,
                       headers={"X-Auth-Token": token, "X-Subject-Token": token}).json()["token"]
        assert me.get("system", {}).get("all"), me
        return Person("system-admin", token, me["user"]["id"])
