"""Restarts: an upload cut off by a killed server is repaired at the next start, an import whose
process died is taken over; other databases work."""

from __future__ import annotations

import hashlib
import json
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import uuid
from datetime import datetime, timezone

import pytest

from tests.cloud import start_cloud, stop_cloud
from tests.dbservers import scratch_database
from tests.functional.image.conftest import ImageApi, store_files

MIB = 1024 * 1024


def _wait_status(api: ImageApi, image_id: str, status: str, timeout: float = 4.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if api("GET", f"/v2/images/{image_id}").json()["status"] == status:
            return
        time.sleep(0.02)
    raise AssertionError(f"image {image_id} never reached {status}")


def test_killed_during_upload_is_repaired_on_restart(tmp_path):
    names = ("identity", "image")
    cloud = start_cloud(tmp_path, services="identity,image", names=names)
    try:
        api = ImageApi(cloud, cloud.token())
        img = api.create(disk_format="raw", container_format="bare")
        port = cloud.ports["image"]
        sock = socket.create_connection(("127.0.0.1", port))
        sock.sendall((f"PUT /v2/images/{img['id']}/file HTTP/1.1\r\nHost: x\r\n"
                      f"X-Auth-Token: {api.token}\r\nContent-Type: application/octet-stream\r\n"
                      f"Content-Length: {64 * MIB}\r\n\r\n").encode())
        for _ in range(12):
            sock.sendall(b"\5" * MIB)
        _wait_status(api, img["id"], "saving")
        for _ in range(200):                          # the partial file is on disk
            if any(p.name.endswith(".part") for p in store_files(cloud)):
                break
            time.sleep(0.02)
        cloud.proc.send_signal(signal.SIGKILL)       # no chance to clean up
        cloud.proc.wait()
        sock.close()
        assert any(p.name.endswith(".part") for p in store_files(cloud))
    finally:
        stop_cloud(cloud)
    cloud = start_cloud(tmp_path, services="identity,image", names=names)
    try:
        api = ImageApi(cloud, cloud.token())
        assert api("GET", f"/v2/images/{img['id']}").json()["status"] == "queued"
        assert not any(img["id"] in p.name for p in store_files(cloud))
        assert api.upload(img["id"], b"complete").status_code == 204
    finally:
        stop_cloud(cloud)


@pytest.mark.parametrize("kind", [pytest.param("mariadb", marks=pytest.mark.mariadb),
                                  pytest.param("postgres", marks=pytest.mark.postgres)])
def test_image_on_database_server(kind, tmp_path):
    with scratch_database(kind) as url:
        cloud = start_cloud(tmp_path, services="identity,image", names=("identity", "image"),
                            extra_env={"NUBES_IMAGE__DATABASE_URL": url})
        try:
            api = ImageApi(cloud, cloud.token())
            tag = uuid.uuid4().hex
            data = b"on a real database" * 1000
            made = [api.active(data, name=f"db{i}", tags=[tag], prop=str(i)) for i in range(4)]
            assert made[0]["checksum"] == hashlib.md5(data).hexdigest()
            api.create(name="db-queued", tags=[tag])          # name/size NULLs sort and page too
            seen, url_ = [], f"/v2/images?tag={tag}&limit=2&sort=size:asc,name:desc"
            while url_:
                page = api("GET", url_).json()
                seen += [i["name"] for i in page["images"]]
                url_ = page.get("next")
            assert seen == ["db-queued", "db3", "db2", "db1", "db0"]
            r = api.patch(made[0]["id"], [{"op": "add", "path": "/tags/-", "value": "more"},
                                          {"op": "remove", "path": "/prop"}])
            assert r.status_code == 200 and r.json()["tags"] == [tag, "more"] and "prop" not in r.json()
            assert api("GET", f"/v2/images/{made[1]['id']}/file").content == data
            assert api("DELETE", f"/v2/images/{made[1]['id']}").status_code == 204
            out = cloud.osc("image", "list", "--sort", "name:asc", "--tag", tag)
            assert [r["Name"] for r in out] == ["db-queued", "db0", "db2", "db3"]
            # Metadata definitions (the shipped ones, loaded by the migration) and tasks.
            listed = api("GET", "/v2/metadefs/namespaces?resource_types=OS::Nova::Flavor").json()
            assert "NUBES::Compute::CPUTopology" in {n["namespace"] for n in listed["namespaces"]}
            ns = f"DB::{tag[:8]}"
            assert api("POST", "/v2/metadefs/namespaces", json={
                "namespace": ns, "tags": [{"name": "Web"}],
                "resource_type_associations": [{"name": "OS::Glance::Image", "prefix": "x_"}],
                "properties": {"p": {"title": "P", "type": "string"}}}).status_code == 201
            assert api("POST", f"/v2/metadefs/namespaces/{ns}/tags/web").status_code == 409
            shown = api("GET", f"/v2/metadefs/namespaces/{ns}?resource_type=OS::Glance::Image").json()
            assert list(shown["properties"]) == ["x_p"]
            assert api("DELETE", f"/v2/metadefs/namespaces/{ns}").status_code == 204
            staged = api.create(disk_format="raw", container_format="bare")
            api("PUT", f"/v2/images/{staged['id']}/stage", content=data,
                headers={"Content-Type": "application/octet-stream"})
            api("POST", f"/v2/images/{staged['id']}/import", json={"method": {"name": "glance-direct"}})
            for _ in range(200):
                tasks = api("GET", f"/v2/images/{staged['id']}/tasks").json()["tasks"]
                if tasks and tasks[0]["status"] == "success":
                    break
                time.sleep(0.05)
            assert tasks[0]["status"] == "success" and tasks[0]["result"] == {"image_id": staged["id"]}
        finally:
            stop_cloud(cloud)


def test_an_import_whose_process_died_is_taken_over_while_the_service_runs(tmp_path):
    """As a sibling worker (`nubes serve image --workers N`) killed mid-import leaves it: locked,
    importing, owned by a process that is gone. The periodic recovery takes it over and finishes it."""
    names = ("identity", "image")
    cloud = start_cloud(tmp_path, services="identity,image", names=names,
                        extra_env={"NUBES_IMAGE__RECOVERY_INTERVAL": "0.5"})
    try:
        api = ImageApi(cloud, cloud.token())
        img = api.create(disk_format="raw", container_format="bare")
        data = b"staged before the worker died" * 1000
        assert api("PUT", f"/v2/images/{img['id']}/stage", content=data,
                   headers={"Content-Type": "application/octet-stream"}).status_code == 204
        dead = subprocess.Popen([sys.executable, "-c", "pass"])
        dead.wait()
        job = {"image_id": img["id"], "method": "glance-direct", "stores": ["local"], "all_must_succeed": True,
               "uri": None, "task_id": str(uuid.uuid4()),
               "owner": {"host": socket.gethostname(), "pid": dead.pid, "token": "the-dead-worker"},
               "beat": datetime.now(timezone.utc).isoformat()}
        con = sqlite3.connect(tmp_path / "image.sqlite", timeout=30)
        with con:
            con.execute("UPDATE images SET status = 'importing' WHERE id = ?", (img["id"],))
            con.executemany("INSERT INTO image_properties (image_id, name, value) VALUES (?, ?, ?)", [
                (img["id"], "os_glance_import_task", job["task_id"]),
                (img["id"], "os_glance_importing_to_stores", "local"),
                (img["id"], "os_glance_import_job", json.dumps(job))])
        con.close()
        _wait_status(api, img["id"], "active", timeout=30)
        body = api("GET", f"/v2/images/{img['id']}").json()
        assert body["checksum"] == hashlib.md5(data).hexdigest() and body["stores"] == "local"
        assert "os_glance_import_task" not in body and "os_glance_import_job" not in body
        assert api("GET", f"/v2/images/{img['id']}/file").content == data
        assert not [p for p in store_files(cloud) if "staging" in str(p)]     # the staged copy is gone
    finally:
        stop_cloud(cloud)
