"""Segmented uploads through python-swiftclient (`swift upload -S`): as a dynamic large object (a
manifest naming its segments' prefix, `--use-dlo`) and a static one (the manifest lists them; the
client's default when /info offers `slo`); a download, a range across two segments, the manifest
itself and its removal with the segments, through the client and plain HTTP. Bad manifests are
refused and leave nothing."""

from __future__ import annotations

import hashlib
import os
import uuid

import httpx
from swiftclient.service import SwiftService, SwiftUploadObject


SEGMENT = 1 << 20


def _service(cloud, owner) -> SwiftService:
    return SwiftService(options={
        "auth_version": "3", "os_auth_url": cloud.auth_url, "os_username": owner.name,
        "os_password": owner.password, "os_project_name": owner.project_name,
        "os_user_domain_name": "Default", "os_project_domain_name": "Default"})


def test_segmented_upload_download_range_and_delete(cloud, owner, tmp_path):
    container = f"big-{uuid.uuid4().hex[:6]}"
    data = os.urandom(3 * SEGMENT + 12345)
    src = tmp_path / "big.bin"
    src.write_bytes(data)
    with _service(cloud, owner) as svc:
        results = list(svc.upload(container, [SwiftUploadObject(str(src), object_name="big.bin")],
                                  options={"segment_size": SEGMENT, "use_slo": False}))
        assert all(r["success"] for r in results), [r for r in results if not r["success"]]
        assert sum(1 for r in results if r["action"] == "upload_segment") == 4
        (stat,) = list(svc.stat(container, ["big.bin"]))
        assert stat["success"], stat
        headers = stat["headers"]
        assert int(headers["content-length"]) == len(data)
        assert headers["x-object-manifest"].startswith(f"{container}_segments/big.bin/")
        out = tmp_path / "out"
        (got,) = list(svc.download(container, ["big.bin"], options={"out_file": str(out)}))
        assert got["success"], got
        assert hashlib.sha256(out.read_bytes()).digest() == hashlib.sha256(data).digest()

        base = cloud.url("object", f"/v1/AUTH_{owner.project_id}/{container}/big.bin")
        auth = {"x-auth-token": owner.token}
        r = httpx.get(base, headers={**auth, "range": f"bytes={SEGMENT - 10}-{SEGMENT + 9}"}, timeout=30)
        assert r.status_code == 206 and r.content == data[SEGMENT - 10:SEGMENT + 10]
        assert r.headers["content-range"] == f"bytes {SEGMENT - 10}-{SEGMENT + 9}/{len(data)}"
        r = httpx.get(base, headers={**auth, "range": "bytes=-5"}, timeout=30)
        assert r.status_code == 206 and r.content == data[-5:]
        r = httpx.get(base, headers={**auth, "range": f"bytes={len(data)}-"}, timeout=30)
        assert r.status_code == 416
        etag = httpx.head(base, headers=auth, timeout=30).headers["etag"]
        assert etag.startswith('"') and httpx.get(base, headers={**auth, "if-none-match": etag},
                                                  timeout=30).status_code == 304
        manifest = httpx.get(base + "?multipart-manifest=get", headers=auth, timeout=30)
        assert manifest.status_code == 200 and manifest.content == b""

        gone = list(svc.delete(container, ["big.bin"]))     # the manifest and its segments
        assert gone and all(r["success"] for r in gone), gone
        listed = list(svc.list(f"{container}_segments"))
        assert all(page["success"] for page in listed)
        assert [o for page in listed for o in page["listing"]] == []


def test_bad_manifests_are_refused(cloud, owner):
    container = f"bad-{uuid.uuid4().hex[:6]}"
    base = cloud.url("object", f"/v1/AUTH_{owner.project_id}/{container}")
    auth = {"x-auth-token": owner.token}
    assert httpx.put(base, headers=auth, timeout=30).status_code in (201, 202)
    for value in ("no-slash", "/leading/slash", "/"):
        r = httpx.put(base + "/m", headers={**auth, "x-object-manifest": value}, content=b"", timeout=30)
        assert r.status_code == 400, (value, r.text)
        assert b"X-Object-Manifest must be in the format container/prefix" in r.content
    assert httpx.head(base + "/m", headers=auth, timeout=30).status_code == 404
    r = httpx.put(base + "/slo?multipart-manifest=put", headers=auth, content=b"[]", timeout=30)
    assert r.status_code == 400
    assert httpx.head(base + "/slo", headers=auth, timeout=30).status_code == 404
    # a manifest whose segments do not exist yet is an empty object
    r = httpx.put(base + "/m", headers={**auth, "x-object-manifest": f"{container}/seg/"}, content=b"", timeout=30)
    assert r.status_code == 201
    r = httpx.get(base + "/m", headers=auth, timeout=30)
    assert r.status_code == 200 and r.content == b"" and r.headers["etag"] == '"d41d8cd98f00b204e9800998ecf8427e"'
    httpx.put(base + "/seg/2", headers=auth, content=b"world", timeout=30)
    httpx.put(base + "/seg/1", headers=auth, content=b"hello ", timeout=30)
    assert httpx.get(base + "/m", headers=auth, timeout=30).content == b"hello world"


def test_static_large_object_through_the_client_and_http(cloud, owner, tmp_path):
    container = f"slo-{uuid.uuid4().hex[:6]}"
    data = os.urandom(2 * SEGMENT + 777)
    src = tmp_path / "big.bin"
    src.write_bytes(data)
    with _service(cloud, owner) as svc:
        results = list(svc.upload(container, [SwiftUploadObject(str(src), object_name="big.bin")],
                                  options={"segment_size": SEGMENT}))
        assert all(r["success"] for r in results), [r for r in results if not r["success"]]
        assert sum(1 for r in results if r["action"] == "upload_segment") == 3
        (stat,) = list(svc.stat(container, ["big.bin"]))
        assert stat["success"], stat
        assert stat["headers"]["x-static-large-object"] == "True"
        assert int(stat["headers"]["content-length"]) == len(data)
        out = tmp_path / "out"
        (got,) = list(svc.download(container, ["big.bin"], options={"out_file": str(out)}))
        assert got["success"], got
        assert out.read_bytes() == data
        (listing,) = [page for page in svc.list(container) if page["success"]]
        entry = next(o for o in listing["listing"] if o["name"] == "big.bin")
        assert entry["bytes"] == len(data) and "swift_bytes" not in entry["content_type"]

        base = cloud.url("object", f"/v1/AUTH_{owner.project_id}/{container}/big.bin")
        auth = {"x-auth-token": owner.token}
        r = httpx.get(base, headers={**auth, "range": f"bytes={SEGMENT - 3}-{SEGMENT + 2}"}, timeout=30)
        assert r.status_code == 206 and r.content == data[SEGMENT - 3:SEGMENT + 3]
        manifest = httpx.get(base + "?multipart-manifest=get", headers=auth, timeout=30).json()
        assert [m["bytes"] for m in manifest] == [SEGMENT, SEGMENT, 777]
        raw = httpx.get(base + "?multipart-manifest=get&format=raw", headers=auth, timeout=30).json()
        assert set(raw[0]) == {"path", "etag", "size_bytes"}
        segs = [hashlib.md5(data[i:i + SEGMENT]).hexdigest() for i in range(0, len(data), SEGMENT)]
        slo_etag = hashlib.md5("".join(segs).encode()).hexdigest()
        assert httpx.head(base, headers=auth, timeout=30).headers["etag"] == f'"{slo_etag}"'
        # a COPY of the SLO copies its content into a plain object
        r = httpx.request("COPY", base, headers={**auth, "destination": f"{container}/copy.bin"}, timeout=60)
        assert r.status_code == 201, r.text
        copied = httpx.get(base.replace("big.bin", "copy.bin"), headers=auth, timeout=30)
        assert copied.content == data and "x-static-large-object" not in copied.headers

        gone = list(svc.delete(container, ["big.bin"]))     # the manifest and its segments
        assert gone and all(r["success"] for r in gone), gone
        listed = list(svc.list(f"{container}_segments"))
        assert [o for page in listed if page["success"] for o in page["listing"]] == []


def test_slo_manifests_checked_and_nested(cloud, owner):
    container = f"slom-{uuid.uuid4().hex[:6]}"
    base = cloud.url("object", f"/v1/AUTH_{owner.project_id}/{container}")
    auth = {"x-auth-token": owner.token}
    assert httpx.put(base, headers=auth, timeout=30).status_code in (201, 202)
    one = httpx.put(base + "/a", headers=auth, content=b"hello ", timeout=30).headers["etag"]
    httpx.put(base + "/b", headers=auth, content=b"world", timeout=30)
    good = [{"path": f"/{container}/a", "etag": one, "size_bytes": 6},
            {"path": f"/{container}/b", "etag": None, "size_bytes": None, "range": "1-3"},
            {"data": "IQ=="}]
    r = httpx.put(base + "/m?multipart-manifest=put", headers=auth, json=good, timeout=30)
    assert r.status_code == 201, r.text
    assert httpx.get(base + "/m", headers=auth, timeout=30).content == b"hello orl!"
    # a manifest of manifests, ranged
    outer = [{"path": f"/{container}/m", "range": "6-"}, {"path": f"/{container}/a"}]
    assert httpx.put(base + "/outer?multipart-manifest=put", headers=auth, json=outer,
                     timeout=30).status_code == 201
    assert httpx.get(base + "/outer", headers=auth, timeout=30).content == b"orl!hello "
    bad = [{"path": f"/{container}/a", "etag": "0" * 32},
           {"path": f"/{container}/b", "size_bytes": 99},
           {"path": f"/{container}/missing"},
           {"path": f"/{container}/a", "range": "10-20"}]
    r = httpx.put(base + "/bad?multipart-manifest=put", headers=auth, json=bad, timeout=30)
    assert r.status_code == 400
    for why in ("Etag Mismatch", "Size Mismatch", "404 Not Found", "Unsatisfiable Range"):
        assert why in r.text, r.text
    for body in (b"not json", b"{}", b'[{"path": "nocontainer"}]', b'[{"path": "/c/o", "extra": 1}]'):
        r = httpx.put(base + "/bad?multipart-manifest=put", headers=auth, content=body, timeout=30)
        assert r.status_code == 400, (body, r.text)
    r = httpx.put(base + "/bad", headers={**auth, "x-static-large-object": "true"}, content=b"x", timeout=30)
    assert r.status_code == 400 and b"reserved header" in r.content
    assert httpx.head(base + "/bad", headers=auth, timeout=30).status_code == 404
    # delete with its segments, reported as bulk delete does
    r = httpx.delete(base + "/m?multipart-manifest=delete", headers={**auth, "accept": "application/json"},
                     timeout=30)
    assert r.status_code == 200 and r.json()["Number Deleted"] == 3, r.text
    for name in ("m", "a", "b"):
        assert httpx.head(base + f"/{name}", headers=auth, timeout=30).status_code == 404
    assert "slo" in httpx.get(cloud.url("object", "/info"), timeout=30).json()
