"""Images are what they claim: uploads and imports whose data is not their disk_format, or is unsafe,
are refused with Glance's 400, and leave the image queued with nothing stored."""

from __future__ import annotations

import time
import uuid

import pytest

from tests import disk_images as di
from tests.functional.image.conftest import qcow2_bytes, store_files

JSON = {"Accept": "application/json"}


def _upload(api, data: bytes, disk_format: str, container_format: str = "bare"):
    img = api.create(disk_format=disk_format, container_format=container_format)
    r = api("PUT", f"/v2/images/{img['id']}/file", content=data,
            headers={**JSON, "Content-Type": "application/octet-stream"})
    return img["id"], r


def _refused(api, cloud, data: bytes, disk_format: str, words: str, container_format: str = "bare") -> dict:
    image_id, r = _upload(api, data, disk_format, container_format)
    assert r.status_code == 400, r.text
    body = r.json()
    assert body["code"] == "400 Bad Request" and body["title"] == "Bad Request"
    assert words in body["message"], body
    img = api("GET", f"/v2/images/{image_id}").json()
    assert img["status"] == "queued" and img["size"] is None and img["checksum"] is None
    assert not [p for p in store_files(cloud) if image_id in p.name]
    return body


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    """Images made by qemu-img, by name."""
    tmp = tmp_path_factory.mktemp("made")
    sparse = di.make(tmp, "s.vmdk", "vmdk", "10M", "subformat=monolithicSparse")
    passwd = tmp / "passwd.vmdk"
    passwd.write_bytes(di.replace_in_descriptor(sparse.read_bytes(), b'"s.vmdk"', b'"/etc/passwd"'))
    return {
        "qcow2": di.make(tmp, "a.qcow2", "qcow2", "1G"),
        "backing": di.make(tmp, "b.qcow2", "qcow2", "1G", "backing_file=/etc/passwd", "backing_fmt=raw"),
        "data_file": di.make(tmp, "d.qcow2", "qcow2", "1G", f"data_file={tmp / 'd.raw'}", "data_file_raw=on"),
        "vmdk": sparse,
        "vmdk_passwd": passwd,
        "flat": di.make(tmp, "flat.vmdk", "vmdk", "10M", "subformat=monolithicFlat"),
        "vhd": di.make(tmp, "v.vhd", "vpc", "10M"),
        "vdi": di.make(tmp, "v.vdi", "vdi", "10M"),
    }


def test_qcow2_data_is_refused_as_vmdk_iso_and_raw(api, image_cloud, made):
    data = made["qcow2"].read_bytes()
    for claimed in ("vmdk", "iso", "raw", "vhd", "ami"):
        body = _refused(api, image_cloud, data, claimed, "Image content does not match disk_format")
        assert f"the data is qcow2, disk_format is {claimed}" in body["message"]
    _refused(api, image_cloud, b"\0" * 70000, "qcow2", "the data is raw, disk_format is qcow2")


def test_unsafe_images_are_refused(api, image_cloud, made):
    body = _refused(api, image_cloud, made["backing"].read_bytes(), "qcow2",
                    "Image does not pass safety check")
    assert "backing file ('/etc/passwd')" in body["message"]
    body = _refused(api, image_cloud, made["data_file"].read_bytes(), "qcow2", "external data file")
    body = _refused(api, image_cloud, made["vmdk_passwd"].read_bytes(), "vmdk", "safety check")
    assert "extent that names a path ('/etc/passwd')" in body["message"]
    _refused(api, image_cloud, made["flat"].read_bytes(), "vmdk", "descriptor without data of its own")
    # a backing file is refused whatever the image says it is
    _refused(api, image_cloud, made["backing"].read_bytes(), "vmdk", "backing file", container_format="ova")


def test_an_iso_holding_a_qcow2_header_is_refused(api, image_cloud, made):
    iso = di.iso()
    iso[:4096] = made["qcow2"].read_bytes()[:4096]
    _refused(api, image_cloud, bytes(iso), "iso", "Image format detection failed: the data reads as several "
                                                  "formats at once (iso, qcow2)")


def test_an_oversized_virtual_disk_is_refused(api, image_cloud):
    body = _refused(api, image_cloud, qcow2_bytes(virtual_size=17 << 40), "qcow2", "virtual size")
    assert "(18691697672192 bytes) is over this cloud's limit of 17592186044416 bytes" in body["message"]


def test_real_images_of_each_format_are_taken(api, made):
    cases = [(made["qcow2"], "qcow2", 1 << 30), (made["vmdk"], "vmdk", 10 << 20),
             (made["vhd"], "vhd", None), (made["vdi"], "vdi", 10 << 20)]
    for path, disk_format, vsize in cases:
        image_id, r = _upload(api, path.read_bytes(), disk_format)
        assert r.status_code == 204, (disk_format, r.text)
        img = api("GET", f"/v2/images/{image_id}").json()
        assert img["status"] == "active" and img["size"] == path.stat().st_size
        assert img["virtual_size"] == (vsize or di.virtual_size(path, "vpc"))
    iso = bytes(di.iso())
    image_id, r = _upload(api, iso, "iso")
    assert r.status_code == 204 and api("GET", f"/v2/images/{image_id}").json()["virtual_size"] == len(iso)
    image_id, r = _upload(api, b"\x7fELF" + bytes(5000), "aki", "aki")
    assert r.status_code == 204


def test_the_cli_refuses_qcow2_as_vmdk(image_cloud, made):
    name = f"lying-{uuid.uuid4().hex[:8]}"
    before = store_files(image_cloud)
    res = image_cloud.osc("image", "create", "--file", str(made["qcow2"]), "--disk-format", "vmdk",
                          "--container-format", "bare", name, check=False)
    assert res.returncode != 0
    assert "Image content does not match disk_format" in res.stderr, res.stderr
    # the client deletes the image whose upload failed; nothing of it is stored
    assert [i for i in image_cloud.osc("image", "list") if i["Name"] == name] == []
    assert store_files(image_cloud) == before


def _wait(api, image_id: str, until) -> dict:
    for _ in range(400):
        img = api("GET", f"/v2/images/{image_id}").json()
        if until(img):
            return img
        time.sleep(0.05)
    raise AssertionError(f"image {image_id} never got there: {img}")


def test_a_refused_import_fails_in_every_store_and_leaves_the_image_queued(api, image_cloud, made):
    img = api.create(disk_format="vmdk", container_format="bare")
    r = api("PUT", f"/v2/images/{img['id']}/stage", content=made["backing"].read_bytes(),
            headers={"Content-Type": "application/octet-stream"})
    assert r.status_code == 204                       # staging takes anything, as in Glance
    r = api("POST", f"/v2/images/{img['id']}/import", headers=JSON,
            json={"method": {"name": "glance-direct"}, "stores": ["fast", "slow"],
                  "all_stores_must_succeed": False})
    assert r.status_code == 202, r.text
    done = _wait(api, img["id"], lambda i: "os_glance_import_task" not in i)
    assert done["status"] == "queued" and done["size"] is None
    assert done["os_glance_failed_import"] == "fast,slow"
    assert not [p for p in store_files(image_cloud) if img["id"] in p.name]       # staging emptied too


def test_web_download_of_lying_data_fails(api, image_cloud, made, web_server, web_root):
    (web_root / "allowed" / "lie.vmdk").write_bytes(made["qcow2"].read_bytes())
    img = api.create(disk_format="vmdk", container_format="bare")
    r = api("POST", f"/v2/images/{img['id']}/import", headers=JSON,
            json={"method": {"name": "web-download", "uri": f"{web_server}/allowed/lie.vmdk"}})
    assert r.status_code == 202, r.text
    done = _wait(api, img["id"], lambda i: "os_glance_import_task" not in i)
    assert done["status"] == "queued" and done["os_glance_failed_import"] == "fast"
    assert not [p for p in store_files(image_cloud) if img["id"] in p.name]


def test_a_large_unsafe_upload_gets_its_400_though_refused_mid_stream(api, image_cloud, made):
    """The refusal comes with the first chunk while the client is still sending 64 MiB more: it
    still gets Glance's 400 (not a reset connection), and nothing is stored."""
    head = made["backing"].read_bytes()

    def body():
        yield head
        for _ in range(64):
            yield bytes(1 << 20)

    img = api.create(disk_format="qcow2", container_format="bare")
    r = api("PUT", f"/v2/images/{img['id']}/file", content=body(),
            headers={**JSON, "Content-Type": "application/octet-stream"})
    assert r.status_code == 400 and "backing file" in r.json()["message"]
    assert api("GET", f"/v2/images/{img['id']}").json()["status"] == "queued"
    assert not [p for p in store_files(image_cloud) if img["id"] in p.name]
