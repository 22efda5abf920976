"""Tasks: every image import is a task /v2/images/{id}/tasks shows; the tasks API's import task
(admins only, as Glance's tasks_api_access) makes an image from an allowed URL."""

from __future__ import annotations

import hashlib
import os
import time

import openstack
import pytest

JSON = {"Accept": "application/json"}


def _until(fetch, done, what: str):
    for _ in range(400):
        value = fetch()
        if done(value):
            return value
        time.sleep(0.05)
    raise AssertionError(f"{what} never got there: {value}")


@pytest.fixture(scope="module")
def conn(image_cloud):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("OS_CLIENT_CONFIG_FILE", str(image_cloud.state_dir / "clouds.yaml"))
        c = openstack.connect(cloud="nubes")
    yield c
    c.close()


def test_imports_are_tasks_of_their_image(api, conn, member, web_server):
    img = api.create(disk_format="raw", container_format="bare")
    api("PUT", f"/v2/images/{img['id']}/stage", content=b"staged" * 100,
        headers={"Content-Type": "application/octet-stream"})
    assert api("POST", f"/v2/images/{img['id']}/import", json={"method": {"name": "glance-direct"}},
               headers=JSON).status_code == 202
    tasks = _until(lambda: api("GET", f"/v2/images/{img['id']}/tasks").json()["tasks"],
                   lambda t: t and t[0]["status"] == "success", "the import task")
    (task,) = tasks
    assert task["type"] == "api_image_import" and task["image_id"] == img["id"]
    assert task["input"]["import_req"]["method"]["name"] == "glance-direct"
    assert task["input"]["backend"] == ["fast"] and task["result"] == {"image_id": img["id"]}
    assert task["expires_at"] and task["user_id"] and task["request_id"]
    assert [t.id for t in conn.image.image_tasks(img["id"])] == [task["id"]]
    # A failed import says why.
    bad = api.create(disk_format="raw", container_format="bare")
    r = api("POST", f"/v2/images/{bad['id']}/import", headers=JSON, json={
        "method": {"name": "web-download", "uri": f"{web_server}/allowed/not-there.raw"}})
    assert r.status_code == 202
    failed = _until(lambda: api("GET", f"/v2/images/{bad['id']}/tasks").json()["tasks"],
                    lambda t: t and t[0]["status"] == "failure", "the failed import task")
    assert "404" in failed[0]["message"] and failed[0]["result"] is None
    # Whoever may get the image sees its tasks; another project's private image is 404.
    own = member.api.create(disk_format="raw", container_format="bare")
    assert member.api("GET", f"/v2/images/{own['id']}/tasks").json() == {"tasks": []}
    assert member.api("GET", f"/v2/images/{bad['id']}/tasks", headers=JSON).status_code == 404


def test_the_tasks_api_import_task(api, image_cloud, member, web_server, web_root):
    data = os.urandom(100_000)
    (web_root / "allowed" / "task.raw").write_bytes(data)
    props = {"name": "from-a-task", "container_format": "bare"}
    body = {"type": "import", "input": {"import_from": f"{web_server}/allowed/task.raw",
                                        "import_from_format": "raw", "image_properties": props}}
    r = api("POST", "/v2/tasks", json=body, headers=JSON)
    assert r.status_code == 201, r.text
    task = r.json()
    assert task["type"] == "import" and task["status"] in ("pending", "processing", "success")
    assert r.headers["location"].endswith(f"/v2/tasks/{task['id']}")
    done = _until(lambda: api("GET", f"/v2/tasks/{task['id']}").json(),
                  lambda t: t["status"] in ("success", "failure"), "the import task")
    assert done["status"] == "success", done
    image = api("GET", f"/v2/images/{done['result']['image_id']}").json()
    assert image["name"] == "from-a-task" and image["status"] == "active"
    assert image["checksum"] == hashlib.md5(data).hexdigest()
    listed = image_cloud.osc("image", "task", "list")
    assert task["id"] in {row["ID"] for row in listed}
    shown = image_cloud.osc("image", "task", "show", task["id"])
    assert shown["status"] == "success" and shown["type"] == "import"
    page = api("GET", "/v2/tasks?limit=1&type=import").json()
    assert len(page["tasks"]) == 1 and "input" not in page["tasks"][0] and "marker=" in page["next"]
    # A URL the operator does not allow fails the task, as Glance fails it.
    body["input"]["import_from"] = f"{web_server}/denied/task.raw"
    refused = api("POST", "/v2/tasks", json=body, headers=JSON).json()
    assert refused["status"] == "failure" and "does not pass filtering" in refused["message"]
    # Bad requests, and the API is the admins'.
    assert api("POST", "/v2/tasks", json={"input": {}}, headers=JSON).status_code == 400
    r = api("POST", "/v2/tasks", json={"type": "import", "input": {"import_from": "x"}}, headers=JSON)
    assert r.status_code == 400 and "import_from_format" in r.json()["message"]
    assert api("POST", "/v2/tasks", json={"type": "nap", "input": {}}, headers=JSON).status_code == 400
    assert api("GET", "/v2/tasks?status=asleep", headers=JSON).status_code == 400
    assert api("GET", "/v2/tasks/00000000-0000-0000-0000-000000000000", headers=JSON).status_code == 404
    assert member.api("GET", "/v2/tasks", headers=JSON).status_code == 403
    assert member.api("POST", "/v2/tasks", json=body, headers=JSON).status_code == 403
    assert member.api("GET", f"/v2/tasks/{task['id']}", headers=JSON).status_code == 403
    assert api("GET", "/v2/schemas/task").json()["name"] == "task"
    assert api("GET", "/v2/schemas/tasks").json()["name"] == "tasks"
