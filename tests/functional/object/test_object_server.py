import hashlib
import json
import os

import httpx

from nubes.object.hashing import hash_path
from nubes.object.server.backend import Devices, read_async_pending
from nubes.object.server.container_server import ContainerServer
from nubes.object.server.object_server import ObjectServer
from tests.functional.object.conftest import SECRET, client, free_port

T1, T2, T3 = "1700000001.00000", "1700000002.00000", "1700000003.00000"
OBJ = "/sda/7/AUTH_a/c/dir/o"


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def obj_dir(devices, name="dir/o"):
    h = hash_path(SECRET, "AUTH_a", "c", name).hex()
    return devices.root / "sda/objects/7" / h[-3:] / h


async def test_put_get_head_delete_with_timestamps(objects, devices):
    body = b"hello world"
    r = await objects.put(OBJ, content=body, headers={
        "X-Timestamp": T1, "Content-Type": "text/plain", "X-Object-Meta-Color": "blue",
        "X-Object-Sysmeta-Owner": "me"})
    assert r.status_code == 201 and r.headers["etag"] == md5(body)
    assert os.listdir(obj_dir(devices)) == [f"{T1}.data"]
    r = await objects.get(OBJ)
    assert r.status_code == 200 and r.content == body
    assert r.headers["x-object-meta-color"] == "blue" and r.headers["content-type"] == "text/plain"
    assert r.headers["x-timestamp"] == T1
    r = await objects.head(OBJ)
    assert r.status_code == 200 and r.headers["content-length"] == str(len(body))
    # Older writes lose, with the timestamp on disk.
    r = await objects.put(OBJ, content=b"old", headers={"X-Timestamp": "1700000000.5"})
    assert r.status_code == 409 and r.headers["x-backend-timestamp"] == T1
    r = await objects.delete(OBJ, headers={"X-Timestamp": "1700000000.5"})
    assert r.status_code == 409
    # POST replaces user metadata, keeps sysmeta.
    r = await objects.post(OBJ, headers={"X-Timestamp": T2, "X-Object-Meta-Size": "big"})
    assert r.status_code == 202
    r = await objects.head(OBJ)
    assert "x-object-meta-color" not in r.headers and r.headers["x-object-meta-size"] == "big"
    assert r.headers["x-object-sysmeta-owner"] == "me" and r.headers["content-type"] == "text/plain"
    r = await objects.delete(OBJ, headers={"X-Timestamp": T3})
    assert r.status_code == 204
    assert os.listdir(obj_dir(devices)) == [f"{T3}.ts"]
    r = await objects.get(OBJ)
    assert r.status_code == 404 and r.headers["x-backend-timestamp"] == T3


async def test_bad_requests(objects):
    assert (await objects.put(OBJ, content=b"x")).status_code == 400          # no X-Timestamp
    assert (await objects.put(OBJ, content=b"x", headers={"X-Timestamp": "soon"})).status_code == 400
    assert (await objects.get("/sda/notnum/AUTH_a/c/o")).status_code == 400
    assert (await objects.get("/sda/7/AUTH_a/c")).status_code == 400
    assert (await objects.get("/sdz/7/AUTH_a/c/o")).status_code == 507
    r = await objects.put(OBJ, content=b"x", headers={"X-Timestamp": T1, "X-Delete-At": "5"})
    assert r.status_code == 400
    r = await objects.put(OBJ, content=b"x", headers={
        "X-Timestamp": T1, "X-Container-Host": "127.0.0.1:1,127.0.0.1:2",
        "X-Container-Device": "sda", "X-Container-Partition": "3"})
    assert r.status_code == 400
    assert (await objects.head(OBJ)).status_code == 404


async def test_etag_mismatch_keeps_nothing(objects, devices):
    r = await objects.put(OBJ, content=b"abc", headers={"X-Timestamp": T1, "ETag": md5(b"xyz")})
    assert r.status_code == 422
    assert not obj_dir(devices).exists() and os.listdir(devices.root / "sda/tmp") == []
    r = await objects.put(OBJ, content=b"abc", headers={"X-Timestamp": T1, "ETag": md5(b"abc")})
    assert r.status_code == 201


async def test_chunked_body_and_large_metadata(objects):
    async def chunks():
        for i in range(40):
            yield bytes([i]) * 10000

    big = "v" * (100 * 1024)
    r = await objects.put(OBJ, content=chunks(), headers={"X-Timestamp": T1,
                                                          "X-Object-Meta-Big": big})
    assert r.status_code == 201
    r = await objects.get(OBJ)
    assert r.content == b"".join(bytes([i]) * 10000 for i in range(40))
    assert r.headers["x-object-meta-big"] == big


async def test_ranges(objects):
    body = bytes(range(100))
    await objects.put(OBJ, content=body, headers={"X-Timestamp": T1, "Content-Type": "a/b"})
    r = await objects.get(OBJ, headers={"Range": "bytes=10-19"})
    assert r.status_code == 206 and r.content == body[10:20]
    assert r.headers["content-range"] == "bytes 10-19/100"
    r = await objects.get(OBJ, headers={"Range": "bytes=-5"})
    assert r.content == body[-5:]
    r = await objects.get(OBJ, headers={"Range": "bytes=200-"})
    assert r.status_code == 416 and r.headers["content-range"] == "bytes */100"
    r = await objects.get(OBJ, headers={"Range": "bytes=0-1,50-52"})
    assert r.status_code == 206
    ctype = r.headers["content-type"]
    assert ctype.startswith("multipart/byteranges;boundary=")
    boundary = ctype.split("=", 1)[1].encode()
    parts = [p for p in r.content.split(b"--" + boundary) if p.strip(b"-\r\n")]
    assert len(parts) == 2 and len(r.content) == int(r.headers["content-length"])
    head, data = parts[1].split(b"\r\n\r\n", 1)
    assert b"Content-Range: bytes 50-52/100" in head and data == body[50:53] + b"\r\n"


async def test_conditionals(objects):
    body = b"cond"
    await objects.put(OBJ, content=body, headers={"X-Timestamp": T1})
    etag = md5(body)
    assert (await objects.get(OBJ, headers={"If-Match": f'"{etag}"'})).status_code == 200
    assert (await objects.get(OBJ, headers={"If-Match": "nope"})).status_code == 412
    assert (await objects.get(OBJ, headers={"If-None-Match": etag})).status_code == 304
    assert (await objects.get(OBJ, headers={"If-None-Match": "*"})).status_code == 304
    old, new = "Mon, 01 Jan 2001 00:00:00 GMT", "Fri, 01 Jan 2100 00:00:00 GMT"
    assert (await objects.get(OBJ, headers={"If-Modified-Since": new})).status_code == 304
    assert (await objects.get(OBJ, headers={"If-Modified-Since": old})).status_code == 200
    assert (await objects.get(OBJ, headers={"If-Unmodified-Since": old})).status_code == 412
    r = await objects.put(OBJ, content=b"x", headers={"X-Timestamp": T2, "If-None-Match": "*"})
    assert r.status_code == 412


async def test_delete_at_hides_the_object(devices):
    now = [1700000000.0]
    async with client(ObjectServer(devices, SECRET, clock=lambda: now[0]).app()) as objects:
        r = await objects.put(OBJ, content=b"x", headers={"X-Timestamp": T1,
                                                          "X-Delete-At": "1700000100"})
        assert r.status_code == 201
        assert (await objects.get(OBJ)).status_code == 200
        r = await objects.post(OBJ, headers={"X-Timestamp": T2, "X-Delete-At": "1"})
        assert r.status_code == 400
        now[0] = 1700000100.0
        r = await objects.get(OBJ)
        assert r.status_code == 404 and r.headers["x-backend-timestamp"] == T1
        assert (await objects.post(OBJ, headers={"X-Timestamp": T2})).status_code == 404


async def test_full_device_is_507(tmp_path):
    (tmp_path / "sda").mkdir()
    full = Devices(tmp_path, reserve="100%")
    async with client(ObjectServer(full, SECRET).app()) as objects:
        r = await objects.put(OBJ, content=b"x", headers={"X-Timestamp": T1})
        assert r.status_code == 507
    assert not (tmp_path / "sda/objects").exists()


async def test_over_real_http(devices, served):
    """uvicorn in front: streaming both ways, and error answers whose lengths add up."""
    host = served(ObjectServer(devices, SECRET).app())
    body = os.urandom(300 * 1024)

    async def chunks():
        for i in range(0, len(body), 50000):
            yield body[i:i + 50000]

    async with httpx.AsyncClient(base_url=f"http://{host}") as http:
        r = await http.put(OBJ, content=chunks(), headers={"X-Timestamp": T1})
        assert r.status_code == 201 and r.headers["etag"] == md5(body)
        async with http.stream("GET", OBJ) as r:
            got = b"".join([c async for c in r.aiter_bytes()])
        assert got == body
        r = await http.get(OBJ, headers={"If-Match": "other"})
        assert r.status_code == 412
        r = await http.get(OBJ, headers={"If-None-Match": md5(body)})
        assert r.status_code == 304 and r.headers["etag"] == md5(body)
        r = await http.head(OBJ)
        assert r.headers["content-length"] == str(len(body))
        r = await http.get(OBJ, headers={"Range": "bytes=1-2,-1"})
        assert r.status_code == 206 and body[-1:] in r.content


async def test_replicate_hashes_follow_the_disk(objects, devices):
    await objects.put(OBJ, content=b"x", headers={"X-Timestamp": T1})
    first = json.loads((await objects.request("REPLICATE", "/sda/7")).content)
    assert list(first) == [obj_dir(devices).parent.name]
    os.unlink(obj_dir(devices) / f"{T1}.data")
    assert json.loads((await objects.request("REPLICATE", "/sda/7")).content) == {}
    await objects.put(OBJ, content=b"x", headers={"X-Timestamp": T2})
    again = json.loads((await objects.request("REPLICATE", "/sda/7/abc-def")).content)
    assert again and again != first


async def test_container_update_delivered_or_left_pending(objects, containers, devices, served):
    host = served(ContainerServer(devices, SECRET).app())
    assert (await containers.put("/sda/3/AUTH_a/c", headers={"X-Timestamp": T1})).status_code == 201
    update = {"X-Container-Host": host, "X-Container-Device": "sda", "X-Container-Partition": "3"}
    r = await objects.put(OBJ, content=b"12345", headers={"X-Timestamp": T2,
                                                            "Content-Type": "text/x", **update})
    assert r.status_code == 201
    listing = (await containers.get("/sda/3/AUTH_a/c?format=json")).json()
    assert listing[0]["name"] == "dir/o" and listing[0]["bytes"] == 5
    assert listing[0]["hash"] == md5(b"12345") and listing[0]["content_type"] == "text/x"
    # The container server down: the object is stored and the update left for the updater.
    update["X-Container-Host"] = f"127.0.0.1:{free_port()}"
    r = await objects.delete(OBJ, headers={"X-Timestamp": T3, **update})
    assert r.status_code == 204
    pending = list((devices.root / "sda/async_pending").rglob("*"))
    files = [p for p in pending if p.is_file()]
    assert len(files) == 1 and files[0].name.endswith(f"-{T3}")
    record = read_async_pending(files[0])
    assert record["op"] == "DELETE" and record["obj"] == "dir/o"
    assert record["headers"]["X-Timestamp"] == T3 and record["targets"][0]["partition"] == "3"
