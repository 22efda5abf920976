"""openstacksdk: create_image with wait=True by upload and by import, downloads with checksum checks."""

from __future__ import annotations

import hashlib
import io
import os
import time
import uuid

import openstack
import pytest


@pytest.fixture(scope="module")
def conn(image_cloud):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("OS_CLIENT_CONFIG_FILE", str(image_cloud.state_dir / "clouds.yaml"))
        c = openstack.connect(cloud="nubes")
    yield c
    c.close()


def _wait_active(conn, image_id: str) -> openstack.image.v2.image.Image:
    for _ in range(300):
        img = conn.image.get_image(image_id)
        if img.status in ("active", "queued"):
            return img
        time.sleep(0.05)
    raise AssertionError(f"image {image_id} stuck in {img.status}")


@pytest.mark.parametrize("use_import", [False, True], ids=["put", "import"])
def test_create_image_wait_and_download(conn, tmp_path, use_import):
    data = os.urandom(3 * 1024 * 1024 + 17)
    src = tmp_path / "disk.raw"
    src.write_bytes(data)
    img = conn.create_image(f"sdk-{uuid.uuid4().hex[:8]}", filename=str(src), disk_format="raw",
                            container_format="bare", wait=True, use_import=use_import,
                            validate_checksum=True)
    img = _wait_active(conn, img.id)
    assert img.status == "active" and img.size == len(data)
    assert img.checksum == hashlib.md5(data).hexdigest()
    assert img.hash_algo == "sha512" and img.hash_value == hashlib.sha512(data).hexdigest()
    assert img.virtual_size == len(data)
    out = tmp_path / "out"
    conn.image.download_image(img, output=str(out))           # verifies the sha512 while writing
    assert out.read_bytes() == data
    resp = conn.image.download_image(img, stream=True)
    assert resp.headers["Content-MD5"] == img.checksum
    assert b"".join(resp.iter_content(1 << 20)) == data
    buf = io.BytesIO()
    conn.image.download_image(img, output=buf)
    assert buf.getvalue() == data
    conn.image.delete_image(img)


def test_properties_tags_and_members_through_sdk(conn, member):
    img = conn.image.create_image(name=f"sdk-{uuid.uuid4().hex[:8]}", disk_format="qcow2",
                                  container_format="bare", visibility="shared", hw_rng_model="virtio",
                                  nubes_note="free-form")
    assert img.status == "queued" and img.hw_rng_model == "virtio"
    assert img.properties["nubes_note"] == "free-form"
    conn.image.add_tag(img, "t1")
    conn.image.update_image(img, min_disk=3, hw_rng_model="none", architecture="x86_64",
                            nubes_note="changed")
    got = conn.image.get_image(img)
    assert got.tags == ["t1"] and got.min_disk == 3 and got.architecture == "x86_64"
    assert got.hw_rng_model == "none" and got.properties["nubes_note"] == "changed"
    conn.image.remove_tag(img, "t1")
    m = conn.image.add_member(img, member_id=member.project_id)
    assert m.status == "pending"
    assert [x.id for x in conn.image.members(img)] == [member.project_id]
    conn.image.remove_member(member.project_id, img)
    assert list(conn.image.members(img)) == []
    found = list(conn.image.images(name=img.name))
    assert [i.id for i in found] == [img.id]
    assert conn.image.find_image(img.name).id == img.id
    conn.image.delete_image(img)


def test_stores_and_import_info(conn):
    stores = {s.id: s for s in conn.image.stores()}
    assert set(stores) == {"fast", "slow"} and stores["fast"].is_default
    info = conn.image.get_import_info()
    assert set(info.import_methods["value"]) == {"glance-direct", "web-download", "copy-image"}
