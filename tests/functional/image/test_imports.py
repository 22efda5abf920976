"""Interoperable import (glance-direct, web-download, copy-image) and several stores."""

from __future__ import annotations

import hashlib
import os
import time
import uuid

from tests.functional.image.conftest import store_files

JSON = {"Accept": "application/json"}


def _wait(api, image_id: str, until) -> dict:
    for _ in range(400):
        img = api("GET", f"/v2/images/{image_id}").json()
        if until(img):
            return img
        time.sleep(0.05)
    raise AssertionError(f"image {image_id} never got there: {img}")


def _import(api, image_id: str, method: dict, **extra):
    return api("POST", f"/v2/images/{image_id}/import", json={"method": method, **extra}, headers=JSON)


def test_upload_to_a_chosen_store(api, image_cloud):
    img = api.create(disk_format="raw", container_format="bare")
    r = api.upload(img["id"], b"slow data", **{"X-Image-Meta-Store": "slow"})
    assert r.status_code == 204
    assert api("GET", f"/v2/images/{img['id']}").json()["stores"] == "slow"
    assert (image_cloud.state_dir / "images" / "slow" / img["id"]).read_bytes() == b"slow data"
    bad = api.create(disk_format="raw", container_format="bare")
    r = api("PUT", f"/v2/images/{bad['id']}/file", content=b"x",
            headers={**JSON, "Content-Type": "application/octet-stream", "X-Image-Meta-Store": "nope"})
    assert r.status_code == 400 and api("GET", f"/v2/images/{bad['id']}").json()["status"] == "queued"


def test_glance_direct(api, image_cloud):
    data = os.urandom(200_000)
    img = api.create(disk_format="raw", container_format="bare")
    r = _import(api, img["id"], {"name": "glance-direct"})
    assert "needs to be staged" in r.json()["message"] and r.status_code == 409
    r = api("PUT", f"/v2/images/{img['id']}/stage", content=data,
            headers={"Content-Type": "application/octet-stream"})
    assert r.status_code == 204
    staged = api("GET", f"/v2/images/{img['id']}").json()
    assert staged["status"] == "uploading" and staged["size"] == len(data)
    r = _import(api, img["id"], {"name": "glance-direct"}, stores=["fast", "slow"])
    assert r.status_code == 202, r.text
    done = _wait(api, img["id"], lambda i: i["status"] == "active")
    assert done["stores"] == "fast,slow" and done["checksum"] == hashlib.md5(data).hexdigest()
    assert "os_glance_import_task" not in done
    assert done["os_glance_failed_import"] == "" and done["os_glance_importing_to_stores"] == ""
    assert api("GET", f"/v2/images/{img['id']}/file").content == data
    assert not (image_cloud.state_dir / "image-staging" / img["id"]).exists()


def test_import_errors(api):
    img = api.create(disk_format="raw", container_format="bare")
    assert "Unknown import method" in _import(api, img["id"], {"name": "carrier-pigeon"}).json()["message"]
    assert _import(api, img["id"], {"name": "glance-download"}).status_code == 400
    assert "requires a 'method'" in api("POST", f"/v2/images/{img['id']}/import", json={},
                                        headers=JSON).json()["message"]
    r = _import(api, img["id"], {"name": "web-download", "uri": "http://x/"}, stores=["nowhere"])
    assert r.status_code in (400, 409)
    no_format = api.create()
    r = _import(api, no_format["id"], {"name": "web-download", "uri": "http://127.0.0.1/allowed/x"})
    assert r.status_code in (400, 409)


def test_web_download_allowed_and_refused(api, web_server, web_root):
    data = os.urandom(300_000)
    (web_root / "allowed" / "cirros.raw").write_bytes(data)
    (web_root / "denied" / "cirros.raw").write_bytes(data)
    img = api.create(disk_format="raw", container_format="bare")
    r = _import(api, img["id"], {"name": "web-download", "uri": f"{web_server}/denied/cirros.raw"})
    assert r.status_code == 400 and "does not pass filtering" in r.json()["message"]
    assert "web_download_allowed" in r.json()["message"]
    r = _import(api, img["id"], {"name": "web-download", "uri": f"{web_server}/allowed/cirros.raw"})
    assert r.status_code == 202, r.text
    done = _wait(api, img["id"], lambda i: i["status"] == "active")
    assert done["checksum"] == hashlib.md5(data).hexdigest() and done["stores"] == "fast"
    # A URL that fails: the image goes back to queued and says which store failed.
    img2 = api.create(disk_format="raw", container_format="bare")
    r = _import(api, img2["id"], {"name": "web-download", "uri": f"{web_server}/allowed/missing.raw"})
    assert r.status_code == 202
    back = _wait(api, img2["id"], lambda i: i["status"] == "queued" and "os_glance_import_task" not in i)
    assert back["os_glance_failed_import"] == "fast"


def test_copy_image_between_stores(api, image_cloud, member):
    img = api.active(b"copy me" * 1000)
    assert img["stores"] == "fast"
    r = _import(api, img["id"], {"name": "copy-image"}, stores=["fast"])
    assert "already present" in r.json()["message"] and r.status_code == 400
    r = _import(api, img["id"], {"name": "copy-image"}, stores=["slow"])
    assert r.status_code == 202, r.text
    # How clients wait for a copy (tempest's wait_for_image_copied_to_stores): until
    # os_glance_importing_to_stores is there and empty; then the failed stores are read, and a
    # store that left the list is already in `stores`.
    done = _wait(api, img["id"], lambda i: i.get("os_glance_importing_to_stores") == "")
    assert done["os_glance_failed_import"] == "" and done["stores"] == "fast,slow"
    assert done["status"] == "active"
    # A copy that fails (a directory sits where the store would put the file) is reported the
    # same way.
    again = api.active(b"fail me" * 100)
    blocker = image_cloud.state_dir / "images" / "slow" / again["id"]
    (blocker / "in-the-way").parent.mkdir(parents=True)
    (blocker / "in-the-way").write_bytes(b"")
    try:
        assert _import(api, again["id"], {"name": "copy-image"}, stores=["slow"]).status_code == 202
        failed = _wait(api, again["id"], lambda i: i.get("os_glance_importing_to_stores") == ""
                       and "os_glance_import_task" not in i)
    finally:
        (blocker / "in-the-way").unlink()
        blocker.rmdir()
    assert failed["os_glance_failed_import"] == "slow" and failed["stores"] == "fast"
    assert (image_cloud.state_dir / "images" / "slow" / img["id"]).read_bytes() == b"copy me" * 1000
    shared = member.api.active()
    assert _import(member.api, shared["id"], {"name": "copy-image"}, stores=["slow"]).status_code == 403
    queued = api.create(disk_format="raw", container_format="bare")
    r = _import(api, queued["id"], {"name": "copy-image"}, all_stores=True)
    assert r.status_code == 409
    api("DELETE", f"/v2/images/{img['id']}")
    assert not any(img["id"] in p.name for p in store_files(image_cloud))


def test_delete_removes_data_everywhere(api, image_cloud):
    img = api.create(disk_format="raw", container_format="bare")
    api("PUT", f"/v2/images/{img['id']}/stage", content=b"staged",
        headers={"Content-Type": "application/octet-stream"})
    assert any(img["id"] in p.name for p in store_files(image_cloud))
    assert api("DELETE", f"/v2/images/{img['id']}").status_code == 204
    assert not any(img["id"] in p.name for p in store_files(image_cloud))
    assert api("GET", f"/v2/images/{uuid.uuid4()}").status_code == 404


def test_delete_one_stores_copy(api, image_cloud, member):
    img = api.active(b"two copies" * 100)
    assert _import(api, img["id"], {"name": "copy-image"}, stores=["slow"]).status_code == 202
    _wait(api, img["id"], lambda i: i.get("os_glance_importing_to_stores") == "")
    slow_copy = image_cloud.state_dir / "images" / "slow" / img["id"]
    assert slow_copy.exists()
    # Only admins (delete_image_location); the store must exist and hold the image.
    assert member.api("DELETE", f"/v2/stores/slow/{img['id']}", headers=JSON).status_code == 404
    r = api("DELETE", f"/v2/stores/nowhere/{img['id']}", headers=JSON)
    assert r.status_code == 409 and "not available" in r.json()["message"]
    assert api("DELETE", f"/v2/stores/slow/{uuid.uuid4()}", headers=JSON).status_code == 404
    assert api("DELETE", f"/v2/stores/slow/{img['id']}").status_code == 204
    shown = api("GET", f"/v2/images/{img['id']}").json()
    assert shown["stores"] == "fast" and not slow_copy.exists()
    assert api("DELETE", f"/v2/stores/slow/{img['id']}", headers=JSON).status_code == 404
    r = api("DELETE", f"/v2/stores/fast/{img['id']}", headers=JSON)
    assert r.status_code == 403 and "only store" in r.json()["message"]
    assert api("GET", f"/v2/images/{img['id']}/file").content == b"two copies" * 100
    queued = api.create(disk_format="raw", container_format="bare")
    assert api("DELETE", f"/v2/stores/fast/{queued['id']}", headers=JSON).status_code == 409


def test_locations_for_service_users(api, member):
    img = api.active(b"located")
    locs = api("GET", f"/v2/images/{img['id']}/locations").json()
    assert locs == [{"url": locs[0]["url"], "metadata": {"store": "fast"}}]
    assert locs[0]["url"].startswith("file://") and locs[0]["url"].endswith(img["id"])
    own = member.api.active()
    # A project member is no service user: its own image's locations are refused.
    assert member.api("GET", f"/v2/images/{own['id']}/locations", headers=JSON).status_code == 403
    queued = api.create(disk_format="raw", container_format="bare")
    r = api("POST", f"/v2/images/{queued['id']}/locations", json={"url": "http://x/y"}, headers=JSON)
    assert r.status_code == 501 and "not implemented" in r.json()["message"]


def test_import_to_the_store_the_header_names(api, image_cloud):
    img = api.create(disk_format="raw", container_format="bare")
    api("PUT", f"/v2/images/{img['id']}/stage", content=b"to slow",
        headers={"Content-Type": "application/octet-stream"})
    r = api("POST", f"/v2/images/{img['id']}/import", json={"method": {"name": "glance-direct"}},
            headers={**JSON, "X-Image-Meta-Store": "slow"})
    assert r.status_code == 202, r.text
    done = _wait(api, img["id"], lambda i: i["status"] == "active")
    assert done["stores"] == "slow" and done["os_glance_importing_to_stores"] == ""
    assert (image_cloud.state_dir / "images" / "slow" / img["id"]).read_bytes() == b"to slow"
