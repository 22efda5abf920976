"""The identity service on MariaDB and PostgreSQL, driven by the real CLI."""

from __future__ import annotations

import uuid

import httpx
import pytest

from tests.cloud import start_cloud, stop_cloud
from tests.dbservers import scratch_database


@pytest.mark.parametrize("kind", [pytest.param("mariadb", marks=pytest.mark.mariadb),
                                  pytest.param("postgres", marks=pytest.mark.postgres)])
def test_identity_on_database_server(kind, tmp_path):
    with scratch_database(kind) as url:
        cloud = start_cloud(tmp_path, extra_env={"NUBES_IDENTITY__DATABASE_URL": url})
        try:
            suffix = uuid.uuid4().hex[:8]
            assert cloud.osc("token", "issue")["project_id"]
            project = cloud.osc("project", "create", f"p-{suffix}")
            user = cloud.osc("user", "create", "--password", "s3cret-pass", f"u-{suffix}")
            cloud.osc("role", "add", "--user", user["id"], "--project", project["id"], "member",
                      json_out=False)
            rows = cloud.osc("role", "assignment", "list", "--names", "--effective",
                             "--user", user["id"])
            assert {r["Role"] for r in rows} >= {"member", "reader"}
            dup = cloud.osc("project", "create", f"p-{suffix}", check=False, json_out=False)
            assert dup.returncode != 0 and "409" in dup.stderr
            _trusts_and_access_rules(cloud, user["id"], project["id"])
        finally:
            stop_cloud(cloud)
        # A restart on the same database keeps everything and migrations are a no-op.
        cloud = start_cloud(tmp_path, extra_env={"NUBES_IDENTITY__DATABASE_URL": url})
        try:
            names = {p["Name"] for p in cloud.osc("project", "list")}
            assert f"p-{suffix}" in names
        finally:
            stop_cloud(cloud)


def _trusts_and_access_rules(cloud, user_id: str, project_id: str) -> None:
    """The tables of trusts and access rules on this server: a redelegated trust goes with its
    parent, a use is consumed atomically, a rule is shared and refused deletion while used."""
    def token(scope, uid=user_id, password="s3cret-pass"):
        r = httpx.post(f"{cloud.auth_url}/auth/tokens", timeout=30, json={"auth": {"identity": {
            "methods": ["password"], "password": {"user": {"id": uid, "password": password}}},
            "scope": scope}})
        assert r.status_code == 201, r.text
        return r.headers["x-subject-token"]

    mine = token({"project": {"id": project_id}})
    trustee = cloud.osc("user", "create", "--password", "trustee-pass", f"t-{uuid.uuid4().hex[:8]}")
    h = {"X-Auth-Token": mine}
    r = httpx.post(f"{cloud.auth_url}/OS-TRUST/trusts", headers=h, timeout=30, json={"trust": {
        "trustor_user_id": user_id, "trustee_user_id": trustee["id"], "impersonation": True,
        "project_id": project_id, "roles": [{"name": "member"}], "allow_redelegation": True}})
    assert r.status_code == 201, r.text
    parent = r.json()["trust"]
    trust_token = token({"OS-TRUST:trust": {"id": parent["id"]}}, trustee["id"], "trustee-pass")
    r = httpx.post(f"{cloud.auth_url}/OS-TRUST/trusts", headers={"X-Auth-Token": trust_token}, timeout=30,
                   json={"trust": {"trustor_user_id": user_id, "trustee_user_id": trustee["id"],
                                   "impersonation": True, "project_id": project_id,
                                   "roles": [{"name": "member"}]}})
    assert r.status_code == 201, r.text
    child = r.json()["trust"]
    assert child["redelegated_trust_id"] == parent["id"]
    r = httpx.post(f"{cloud.auth_url}/OS-TRUST/trusts", headers=h, timeout=30, json={"trust": {
        "trustor_user_id": user_id, "trustee_user_id": trustee["id"], "impersonation": False,
        "project_id": project_id, "roles": [{"name": "member"}], "remaining_uses": 1}})
    once = r.json()["trust"]
    token({"OS-TRUST:trust": {"id": once["id"]}}, trustee["id"], "trustee-pass")
    r = httpx.post(f"{cloud.auth_url}/auth/tokens", timeout=30, json={"auth": {"identity": {
        "methods": ["password"], "password": {"user": {"id": trustee["id"], "password": "trustee-pass"}}},
        "scope": {"OS-TRUST:trust": {"id": once["id"]}}}})
    assert r.status_code == 404, r.text
    assert httpx.delete(f"{cloud.auth_url}/OS-TRUST/trusts/{parent['id']}", headers=h,
                        timeout=30).status_code == 204
    assert httpx.get(f"{cloud.auth_url}/OS-TRUST/trusts/{child['id']}", headers=h,
                     timeout=30).status_code == 404

    base = f"{cloud.auth_url}/users/{user_id}"
    rule = {"service": "compute", "method": "GET", "path": "/v2.1/servers/*"}
    ids = []
    for n in (1, 2):
        r = httpx.post(f"{base}/application_credentials", headers=h, timeout=30, json={
            "application_credential": {"name": f"ar-{n}-{uuid.uuid4().hex[:6]}", "access_rules": [rule]}})
        assert r.status_code == 201, r.text
        ids.append(r.json()["application_credential"]["access_rules"][0]["id"])
    assert ids[0] == ids[1]
    assert httpx.delete(f"{base}/access_rules/{ids[0]}", headers=h, timeout=30).status_code == 403
