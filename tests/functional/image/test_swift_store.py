"""The image service's object-storage store: an all-in-one with identity, image and object storage.

Stores: ``local`` (filesystem), ``swift`` (the default; 128 KiB large-object size and 100 KiB
segments, so small images exercise segmenting) and ``big`` (a swift store whose large-object size
is over object storage's largest object, to see its 413). The objects are looked at with
python-swiftclient in the image service's account, as an operator would.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Iterator

import pytest
import swiftclient

from tests.cloud import start_cloud, stop_cloud
from tests.functional.image.conftest import ImageApi, qcow2_bytes

LARGE, SEGMENT = 128 * 1024, 100 * 1024
MAX_OBJECT = 1024 * 1024
JSON = {"Accept": "application/json"}
SWIFT_SIZES = f"large_object_size = {LARGE}, large_object_chunk_size = {SEGMENT}"

# (A TOML inline table is one line.)
CONFIG = f"""
[image]
default_store = "swift"
write_chunk_size = 65536
stores = [
  {{id = "local", type = "filesystem", description = "local disk"}},
  {{id = "swift", type = "swift", description = "object storage", {SWIFT_SIZES}}},
  {{id = "big", type = "swift", container = "big", large_object_size = {4 * MAX_OBJECT}}},
]
"""


@pytest.fixture(scope="module")
def cloud(tmp_path_factory):
    state = tmp_path_factory.mktemp("image-swift")
    (state / "nubes.toml").write_text(CONFIG)
    c = start_cloud(state, services="identity,image,object", names=("identity", "image", "object"),
                    extra_env={"NUBES_CONFIG": str(state / "nubes.toml"),
                               "NUBES_OBJECT__MAX_FILE_SIZE": str(MAX_OBJECT)})
    yield c
    stop_cloud(c)


@pytest.fixture(scope="module")
def api(cloud) -> ImageApi:
    return ImageApi(cloud, cloud.token())


def _connection(cloud) -> swiftclient.Connection:
    auth = cloud.clouds["nubes"]["auth"]
    return swiftclient.Connection(authurl=cloud.auth_url, user=auth["username"], key=auth["password"],
                                  auth_version="3", retries=0, os_options={
                                      "project_name": "service", "project_domain_id": "default",
                                      "user_domain_id": "default"})


@pytest.fixture(scope="module")
def swift(cloud) -> swiftclient.Connection:
    """The image service's account (the service project's), through the admin given a role there."""
    auth = cloud.clouds["nubes"]["auth"]
    cloud.osc("role", "add", "--project", "service", "--user", auth["username"], "admin", json_out=False)
    conn = _connection(cloud)
    service = cloud.osc("project", "show", "service")
    assert conn.get_auth()[0].endswith(f"/v1/AUTH_{service['id']}")
    return conn


def _file(tmp_path, size: int) -> tuple[str, bytes]:
    data = b"\xa5" + os.urandom(size - 1)
    path = tmp_path / "image.raw"
    path.write_bytes(data)
    return str(path), data


def _create(cloud, path: str, *extra: str) -> dict:
    name = f"img-{os.urandom(4).hex()}"
    return cloud.osc("image", "create", "--file", path, "--disk-format", "raw", "--container-format",
                     "bare", *extra, name)


def _segments(swift, image_id: str, container: str = "glance_segments") -> list[dict]:
    try:
        return swift.get_container(container, prefix=f"{image_id}/", full_listing=True)[1]
    except swiftclient.ClientException as exc:
        assert exc.http_status == 404
        return []


def _gone(swift, container: str, name: str) -> bool:
    try:
        swift.head_object(container, name)
    except swiftclient.ClientException as exc:
        return exc.http_status == 404
    return False


def _wait(api, image_id: str, until) -> dict:
    for _ in range(400):
        img = api("GET", f"/v2/images/{image_id}").json()
        if until(img):
            return img
        time.sleep(0.05)
    raise AssertionError(f"image {image_id} never got there: {img}")


def test_stores_are_listed(api):
    stores = api("GET", "/v2/info/stores").json()["stores"]
    assert [(s["id"], s.get("default", False)) for s in stores] == [
        ("local", False), ("swift", True), ("big", False)]
    detail = {s["id"]: s for s in api("GET", "/v2/info/stores/detail").json()["stores"]}
    assert detail["local"]["type"] == "file" and detail["swift"]["type"] == "swift"
    assert detail["swift"]["properties"] == {"container": "glance", "large_object_size": LARGE,
                                             "large_object_chunk_size": SEGMENT}


def test_cli_upload_into_the_default_swift_store(cloud, api, swift, tmp_path):
    path, data = _file(tmp_path, 40_000)
    img = _create(cloud, path)
    shown = api("GET", f"/v2/images/{img['id']}").json()
    assert shown["status"] == "active" and shown["stores"] == "swift"
    assert shown["checksum"] == hashlib.md5(data).hexdigest() and shown["os_hash_algo"] == "sha512"
    assert shown["os_hash_value"] == hashlib.sha512(data).hexdigest() and shown["size"] == len(data)
    head, body = swift.get_object("glance", img["id"])
    assert body == data and head["etag"] == shown["checksum"] and "x-object-manifest" not in head
    assert _segments(swift, img["id"]) == []
    # Locations (for services and admins) name the store, never a host or credentials.
    locs = api("GET", f"/v2/images/{img['id']}/locations").json()
    assert locs == [{"url": f"swift+config://swift/glance/{img['id']}", "metadata": {"store": "swift"}}]
    out = tmp_path / "saved"
    cloud.osc("image", "save", "--file", str(out), img["id"], json_out=False)
    assert out.read_bytes() == data
    cloud.osc("image", "delete", img["id"], json_out=False)
    assert _gone(swift, "glance", img["id"])


def test_large_image_is_segments_and_a_manifest(cloud, api, swift, tmp_path):
    path, data = _file(tmp_path, 350 * 1024)
    img = _create(cloud, path)
    head = swift.head_object("glance", img["id"])
    manifest = head["x-object-manifest"]
    assert manifest.startswith(f"glance_segments/{img['id']}/") and int(head["content-length"]) == len(data)
    segments = _segments(swift, img["id"])
    assert [s["bytes"] for s in segments] == [SEGMENT, SEGMENT, SEGMENT, len(data) - 3 * SEGMENT]
    assert all(f"glance_segments/{s['name']}".startswith(manifest) for s in segments)
    r = api("GET", f"/v2/images/{img['id']}/file")
    assert r.status_code == 200 and r.content == data
    assert r.headers["content-md5"] == hashlib.md5(data).hexdigest()
    # A range across a segment boundary.
    r = api("GET", f"/v2/images/{img['id']}/file", headers={"Range": f"bytes={SEGMENT - 10}-{SEGMENT + 9}"})
    assert r.status_code == 206 and r.content == data[SEGMENT - 10:SEGMENT + 10]
    assert r.headers["content-range"] == f"bytes {SEGMENT - 10}-{SEGMENT + 9}/{len(data)}"
    out = tmp_path / "saved"
    cloud.osc("image", "save", "--file", str(out), img["id"], json_out=False)
    assert out.read_bytes() == data
    cloud.osc("image", "delete", img["id"], json_out=False)
    assert _gone(swift, "glance", img["id"]) and _segments(swift, img["id"]) == []


@pytest.mark.parametrize("size, segmented", [(10_000, False), (300_000, True)])
def test_upload_of_unknown_size(api, swift, size, segmented):
    """A chunked upload (no Content-Length): one object when it ends within the first buffers,
    else segments, as the store cannot know its size in advance."""
    data = os.urandom(size)

    def chunks() -> Iterator[bytes]:
        for i in range(0, size, 7000):
            yield data[i:i + 7000]

    img = api.create(disk_format="raw", container_format="bare")
    r = api("PUT", f"/v2/images/{img['id']}/file", content=chunks(),
            headers={"Content-Type": "application/octet-stream"})
    assert r.status_code == 204, r.text
    shown = api("GET", f"/v2/images/{img['id']}").json()
    assert shown["size"] == size and shown["checksum"] == hashlib.md5(data).hexdigest()
    head, body = swift.get_object("glance", img["id"])
    assert body == data and ("x-object-manifest" in head) == segmented
    assert api("DELETE", f"/v2/images/{img['id']}").status_code == 204
    assert _gone(swift, "glance", img["id"]) and _segments(swift, img["id"]) == []


def test_store_header_and_copy_image_from_filesystem_to_swift(cloud, api, swift):
    data = os.urandom(200_000)
    img = api.create(disk_format="raw", container_format="bare")
    r = api.upload(img["id"], data, **{"X-Image-Meta-Store": "local"})
    assert r.status_code == 204, r.text
    assert api("GET", f"/v2/images/{img['id']}").json()["stores"] == "local"
    assert _gone(swift, "glance", img["id"])
    cloud.osc("image", "import", img["id"], "--method", "copy-image", "--store", "swift", json_out=False)
    shown = _wait(api, img["id"], lambda i: i.get("os_glance_importing_to_stores") == "")
    assert shown["stores"] == "local,swift" and shown["os_glance_failed_import"] == ""
    head, body = swift.get_object("glance", img["id"])
    assert body == data and "x-object-manifest" in head          # 200 KB: over the large-object size
    # The swift copy alone goes (`openstack image delete --store`, DELETE /v2/stores/swift/{id}).
    cloud.osc("image", "delete", "--store", "swift", img["id"], json_out=False)
    assert _gone(swift, "glance", img["id"]) and _segments(swift, img["id"]) == []
    assert api("GET", f"/v2/images/{img['id']}").json()["stores"] == "local"
    assert api("GET", f"/v2/images/{img['id']}/file").content == data
    assert api("DELETE", f"/v2/images/{img['id']}").status_code == 204


def test_glance_direct_import_into_swift(cloud, api, swift, tmp_path):
    path, data = _file(tmp_path, 150_000)
    img = _create(cloud, path, "--import")
    shown = _wait(api, img["id"], lambda i: i["status"] == "active")
    assert shown["stores"] == "swift" and shown["checksum"] == hashlib.md5(data).hexdigest()
    assert swift.get_object("glance", img["id"])[1] == data
    cloud.osc("image", "delete", img["id"], json_out=False)
    assert _gone(swift, "glance", img["id"])


def test_object_storage_refusing_the_data_leaves_the_image_queued(api, swift):
    """Object storage's 413 (an object over its max_file_size) is the image service's 413, and the
    image is back to queued with nothing stored."""
    img = api.create(disk_format="raw", container_format="bare")
    r = api("PUT", f"/v2/images/{img['id']}/file", content=os.urandom(MAX_OBJECT + 4096),
            headers={**JSON, "Content-Type": "application/octet-stream", "X-Image-Meta-Store": "big"})
    assert r.status_code == 413, r.text
    assert "store big refused the data" in r.json()["message"]
    shown = api("GET", f"/v2/images/{img['id']}").json()
    assert shown["status"] == "queued" and shown["size"] is None and not shown.get("stores")
    assert _gone(swift, "big", img["id"])
    assert api("DELETE", f"/v2/images/{img['id']}").status_code == 204


def test_missing_object_is_no_content(api, swift):
    """Data gone from object storage behind the image service's back: Glance's 204, not a 500."""
    img = api.active(b"\xa5" * 5000)
    swift.delete_object("glance", img["id"])
    r = api("GET", f"/v2/images/{img['id']}/file")
    assert r.status_code == 204 and r.content == b""
    assert api("DELETE", f"/v2/images/{img['id']}").status_code == 204


def test_refused_data_leaves_no_object(api, swift):
    """Data the format inspection refuses at the end of the stream (a qcow2 labelled raw) is not
    published: the PUT to object storage is cut off and what it wrote removed."""
    img = api.create(disk_format="raw", container_format="bare")
    r = api.upload(img["id"], qcow2_bytes(1 << 30, payload=300_000), **JSON)
    assert r.status_code == 400, r.text
    assert api("GET", f"/v2/images/{img['id']}").json()["status"] == "queued"
    assert _gone(swift, "glance", img["id"]) and _segments(swift, img["id"]) == []
    assert api("DELETE", f"/v2/images/{img['id']}").status_code == 204


def test_restart_removes_what_no_image_refers_to(cloud, api, swift):
    """Last in the module: it restarts the cloud. Objects no image refers to and segments no manifest
    joins (what a crash in the middle of a write or a delete leaves) go at the next start; the data of
    images stays."""
    kept = api.active(b"\xa5" * 300_000)
    kept_manifest = swift.head_object("glance", kept["id"])["x-object-manifest"]
    swift.put_object("glance", "0" * 36, b"orphan")
    swift.put_object("glance_segments", f"{'1' * 36}/abc/00000001", b"cut short")
    swift.put_object("glance_segments", f"{kept['id']}/old/00000001", b"an earlier write's")
    stop_cloud(cloud)
    # The rings made at the first start name the storage servers' ports: they stay.
    servers = {f"NUBES_OBJECT__{k.split('-')[0].upper()}_PORT": str(cloud.ports[k])
               for k in ("object-server", "container-server", "account-server")}
    again = start_cloud(cloud.state_dir, services="identity,image,object",
                        names=("identity", "image", "object"), extra_env={
                            "NUBES_CONFIG": str(cloud.state_dir / "nubes.toml"),
                            "NUBES_OBJECT__MAX_FILE_SIZE": str(MAX_OBJECT), **servers})
    try:
        conn = _connection(again)
        for _ in range(100):
            if _gone(conn, "glance", "0" * 36):
                break
            time.sleep(0.1)
        assert _gone(conn, "glance", "0" * 36)
        assert _segments(conn, "1" * 36) == []
        left = [s["name"] for s in _segments(conn, kept["id"])]
        assert left and all(f"glance_segments/{n}".startswith(kept_manifest) for n in left)
        data = ImageApi(again, again.token())("GET", f"/v2/images/{kept['id']}/file").content
        assert data == b"\xa5" * 300_000
    finally:
        stop_cloud(again)
