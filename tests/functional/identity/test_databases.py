"""The identity service on MariaDB and PostgreSQL, driven by the real CLI."""

from __future__ import annotations

import uuid

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
        finally:
            stop_cloud(cloud)
        # A restart on the same database keeps everything and migrations are a no-op.
        cloud = start_cloud(tmp_path, extra_env={"NUBES_IDENTITY__DATABASE_URL": url})
        try:
            names = {p["Name"] for p in cloud.osc("project", "list")}
            assert f"p-{suffix}" in names
        finally:
            stop_cloud(cloud)
