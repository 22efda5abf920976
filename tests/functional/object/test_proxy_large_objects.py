"""Segmented uploads through python-swiftclient (`swift upload -S`): the cluster offers no SLO, so
the client makes a dynamic large object, a manifest naming its segments; a download, a range
across two segments, the manifest itself and its removal with the segments, through the client
and plain HTTP. Bad manifests are refused."""

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
                                  options={"segment_size": SEGMENT}))
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
    assert r.status_code == 501
    assert httpx.head(base + "/slo", headers=auth, timeout=30).status_code == 404
    # a manifest whose segments do not exist yet is an empty object
    r = httpx.put(base + "/m", headers={**auth, "x-object-manifest": f"{container}/seg/"}, content=b"", timeout=30)
    assert r.status_code == 201
    r = httpx.get(base + "/m", headers=auth, timeout=30)
    assert r.status_code == 200 and r.content == b"" and r.headers["etag"] == '"d41d8cd98f00b204e9800998ecf8427e"'
    httpx.put(base + "/seg/2", headers=auth, content=b"world", timeout=30)
    httpx.put(base + "/seg/1", headers=auth, content=b"hello ", timeout=30)
    assert httpx.get(base + "/m", headers=auth, timeout=30).content == b"hello world"
