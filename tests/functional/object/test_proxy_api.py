"""The object storage proxy through real clients: the `openstack` CLI and plain HTTP
(python-swiftclient in test_proxy_large_objects.py), on one all-in-one cloud (identity and object storage) for the module."""

from __future__ import annotations

import socket
import uuid
from urllib.parse import urlsplit

import httpx
import pytest

from tests.cloud import new_user


@pytest.fixture(scope="module")
def api(cloud, owner):
    """HTTP to the owner's account: ``api(method, "/container/object", ...)``."""
    base = cloud.url("object", f"/v1/AUTH_{owner.project_id}")

    def call(method: str, path: str = "", token: str | None = owner.token, **kw):
        headers = {**({"x-auth-token": token} if token else {}), **kw.pop("headers", {})}
        return httpx.request(method, base + path, headers=headers, timeout=30, **kw)

    return call


def uniq(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def test_catalog_points_at_the_projects_account(cloud, owner):
    url = owner.osc("catalog", "show", "object-store")["endpoints"]
    assert f"/v1/AUTH_{owner.project_id}" in str(url)


def test_cli_container_and_object_round_trip(owner, tmp_path):
    container = uniq("c")
    made = owner.osc("container", "create", container)
    assert made[0]["container"] == container
    src = tmp_path / "hello.txt"
    src.write_bytes(b"hello, object storage\n" * 100)
    created = owner.osc("object", "create", container, str(src), "--name", "docs/hello.txt")
    assert created[0]["object"] == "docs/hello.txt"
    listed = owner.osc("object", "list", container)
    assert [o["Name"] for o in listed] == ["docs/hello.txt"]
    shown = owner.osc("object", "show", container, "docs/hello.txt")
    assert shown["content-length"] == str(len(src.read_bytes()))
    assert shown["content-type"] == "text/plain"
    owner.osc("object", "set", "--property", "color=blue", container, "docs/hello.txt",
              json_out=False)
    assert "color" in str(owner.osc("object", "show", container, "docs/hello.txt")["properties"])
    out = tmp_path / "out.txt"
    owner.osc("object", "save", container, "docs/hello.txt", "--file", str(out), json_out=False)
    assert out.read_bytes() == src.read_bytes()
    assert container in [c["Name"] for c in owner.osc("container", "list")]
    info = owner.osc("container", "show", container)
    assert info["object_count"] == "1"
    owner.osc("object", "delete", container, "docs/hello.txt", json_out=False)
    assert owner.osc("object", "list", container) == []
    owner.osc("container", "delete", container, json_out=False)
    assert container not in [c["Name"] for c in owner.osc("container", "list")]


def test_cli_account_properties(owner):
    owner.osc("object", "store", "account", "set", "--property", "team=blue", json_out=False)
    shown = owner.osc("object", "store", "account", "show")
    assert "team" in str(shown["properties"])


def test_put_get_head_with_metadata_etag_and_range(api):
    c = uniq("c")
    assert api("PUT", f"/{c}").status_code == 201
    assert api("PUT", f"/{c}").status_code == 202          # already there
    body = bytes(range(256)) * 40
    r = api("PUT", f"/{c}/blob", content=body, headers={
        "content-type": "application/x-test", "x-object-meta-owner": "alice",
        "etag": "0" * 32})
    assert r.status_code == 422                            # the ETag was not the body's MD5
    import hashlib
    md5 = hashlib.md5(body).hexdigest()
    r = api("PUT", f"/{c}/blob", content=body, headers={
        "content-type": "application/x-test", "x-object-meta-owner": "alice", "etag": md5})
    assert r.status_code == 201 and r.headers["etag"] == md5
    r = api("GET", f"/{c}/blob")
    assert r.content == body and r.headers["content-type"] == "application/x-test"
    assert r.headers["x-object-meta-owner"] == "alice"
    r = api("GET", f"/{c}/blob", headers={"range": "bytes=10-19"})
    assert r.status_code == 206 and r.content == body[10:20]
    assert api("GET", f"/{c}/blob", headers={"if-none-match": md5}).status_code == 304
    assert api("GET", f"/{c}/blob", headers={"if-match": "nope"}).status_code == 412
    r = api("HEAD", f"/{c}/blob")
    assert r.status_code == 200 and r.headers["content-length"] == str(len(body))
    r = api("POST", f"/{c}/blob", headers={"x-object-meta-color": "red"})
    assert r.status_code == 202
    r = api("HEAD", f"/{c}/blob")
    assert r.headers["x-object-meta-color"] == "red" and "x-object-meta-owner" not in r.headers


def test_remove_metadata_and_if_none_match(api):
    c = uniq("c")
    api("PUT", f"/{c}", headers={"x-container-meta-keep": "1", "x-container-meta-drop": "2"})
    assert api("POST", f"/{c}", headers={"x-remove-container-meta-drop": "x"}).status_code == 204
    head = api("HEAD", f"/{c}").headers
    assert head["x-container-meta-keep"] == "1" and "x-container-meta-drop" not in head
    assert api("PUT", f"/{c}/once", content=b"1", headers={"if-none-match": "*"}).status_code == 201
    assert api("PUT", f"/{c}/once", content=b"2", headers={"if-none-match": "*"}).status_code == 412
    assert api("GET", f"/{c}/once").content == b"1"


def test_chunked_upload_is_streamed(api):
    c = uniq("c")
    api("PUT", f"/{c}")

    def chunks():
        for i in range(50):
            yield bytes([i]) * 10000

    r = api("PUT", f"/{c}/big", content=chunks())
    assert r.status_code == 201
    got = api("GET", f"/{c}/big")
    assert got.content == b"".join(chunks())
    assert api("HEAD", f"/{c}").headers["x-container-bytes-used"] == "500000"


def test_copy_and_copy_from(api):
    c = uniq("c")
    api("PUT", f"/{c}")
    api("PUT", f"/{c}/src", content=b"source", headers={"x-object-meta-a": "1",
                                                          "content-type": "text/x-src"})
    r = api("COPY", f"/{c}/src", headers={"destination": f"{c}/dst"})
    assert r.status_code == 201 and r.headers["x-copied-from"] == f"{c}/src"
    r = api("GET", f"/{c}/dst")
    assert r.content == b"source" and r.headers["x-object-meta-a"] == "1"
    assert r.headers["content-type"] == "text/x-src"
    r = api("PUT", f"/{c}/dst2", headers={"x-copy-from": f"/{c}/src", "x-object-meta-b": "2",
                                          "content-length": "0"})
    assert r.status_code == 201
    r = api("HEAD", f"/{c}/dst2")
    assert r.headers["x-object-meta-a"] == "1" and r.headers["x-object-meta-b"] == "2"
    assert api("COPY", f"/{c}/missing", headers={"destination": f"{c}/x"}).status_code == 404


def test_delete_after_and_expiry_headers(api):
    c = uniq("c")
    api("PUT", f"/{c}")
    r = api("PUT", f"/{c}/tmp", content=b"x", headers={"x-delete-after": "3600"})
    assert r.status_code == 201
    assert int(api("HEAD", f"/{c}/tmp").headers["x-delete-at"]) > 0
    r = api("PUT", f"/{c}/tmp", content=b"x", headers={"x-delete-at": "1000"})
    assert r.status_code == 400 and r.text == "X-Delete-At in past"
    r = api("PUT", f"/{c}/tmp", content=b"x", headers={"x-delete-after": "soon"})
    assert r.status_code == 400 and r.text == "Non-integer X-Delete-After"


def test_listings(api):
    c = uniq("c")
    api("PUT", f"/{c}")
    for name in ("a/1", "a/2", "b/1", "c"):
        assert api("PUT", f"/{c}/{name}", content=name.encode()).status_code == 201
    plain = api("GET", f"/{c}")
    assert plain.text.split() == ["a/1", "a/2", "b/1", "c"]
    js = api("GET", f"/{c}", params={"format": "json", "prefix": "a/"}).json()
    assert [o["name"] for o in js] == ["a/1", "a/2"]
    dirs = api("GET", f"/{c}", params={"format": "json", "delimiter": "/"}).json()
    assert [o.get("subdir", o.get("name")) for o in dirs] == ["a/", "b/", "c"]
    assert api("GET", f"/{c}", params={"marker": "a/2", "end_marker": "c"}).text.split() == ["b/1"]
    assert api("GET", f"/{c}", params={"limit": "2", "reverse": "true"}).text.split() == ["c", "b/1"]
    xml = api("GET", f"/{c}", params={"format": "xml", "limit": "1"})
    assert xml.headers["content-type"].startswith("application/xml") and "<name>a/1</name>" in xml.text
    r = api("GET", f"/{c}", params={"limit": "10001"})
    assert r.status_code == 412 and r.text == "Maximum limit is 10000"
    assert c in api("GET", "", params={"prefix": c}).text
    assert api("DELETE", f"/{c}").status_code == 409            # not empty
    assert api("GET", f"/{uniq('none')}").status_code == 404


def test_constraints(api):
    c = uniq("c")
    api("PUT", f"/{c}")
    long_name = "o" * 1025
    r = api("PUT", f"/{c}/{long_name}", content=b"x")
    assert r.status_code == 400 and r.text == "Object name length of 1025 longer than 1024"
    r = api("PUT", "/" + "c" * 257)
    assert r.status_code == 400 and r.text == "Container name length of 257 longer than 256"
    r = api("POST", f"/{c}", headers={"x-container-meta-" + "k" * 129: "v"})
    assert r.status_code == 400 and r.text.startswith("Metadata name too long: x-container-meta-kkk")
    r = api("PUT", f"/{c}/o", content=b"x", headers={"x-object-meta-k": "v" * 257})
    assert r.status_code == 400 and r.text == "Metadata value longer than 256: x-object-meta-k"
    r = api("POST", "", headers={f"x-account-meta-k{i}": "v" for i in range(91)})
    assert r.status_code == 400 and r.text == "Too many metadata items; max 90"
    r = api("POST", f"/{c}", headers={f"x-container-meta-k{i}": "v" * 250 for i in range(17)})
    assert r.status_code == 400 and r.text == "Total metadata too large; max 4096"


def test_too_large_and_length_required(cloud, owner):
    """A declared body past 5 GiB is refused before any byte of it is read (raw HTTP: clients
    will not declare a length they do not send)."""
    url = urlsplit(cloud.url("object"))
    path = f"/v1/AUTH_{owner.project_id}/{uniq('c')}/o"
    for extra, want in ((f"Content-Length: {5 * 2**30 + 3}\r\n", b" 413 "), ("", b" 411 ")):
        with socket.create_connection((url.hostname, url.port), timeout=30) as s:
            s.sendall((f"PUT {path} HTTP/1.1\r\nHost: x\r\nX-Auth-Token: {owner.token}\r\n{extra}"
                       "Connection: close\r\n\r\n").encode())
            head = s.recv(200)
        assert want in head.split(b"\r\n")[0], head


def test_object_put_needs_its_container(api):
    assert api("PUT", f"/{uniq('none')}/o", content=b"x").status_code == 404


def test_container_info_cache_follows_this_proxys_container_writes(api):
    """Object writes reuse the container's info; the container's DELETE and PUT through this
    proxy are seen at once."""
    container = uniq("cached")
    assert api("PUT", f"/{container}").status_code == 201
    assert api("PUT", f"/{container}/a", content=b"1").status_code == 201
    assert api("DELETE", f"/{container}/a").status_code == 204
    assert api("DELETE", f"/{container}").status_code == 204
    assert api("PUT", f"/{container}/b", content=b"2").status_code == 404
    assert api("PUT", f"/{container}").status_code == 201
    assert api("PUT", f"/{container}/b", content=b"2").status_code == 201
    assert api("GET", f"/{container}", params={"format": "json"}).json()[0]["name"] == "b"


def test_auth(cloud, owner, api, tmp_path):
    c = uniq("c")
    api("PUT", f"/{c}")
    api("PUT", f"/{c}/o", content=b"data")
    assert api("GET", f"/{c}/o", token=None).status_code == 401
    r = api("GET", f"/{c}/o", token="bogus")
    assert r.status_code == 401 and "keystone uri=" in r.headers["www-authenticate"].lower()
    stranger = new_user(cloud, tmp_path, "member")
    assert api("GET", f"/{c}/o", token=stranger.token).status_code == 403
    assert api("PUT", f"/{c}/x", token=stranger.token, content=b"x").status_code == 403
    assert api("GET", "", token=stranger.token).status_code == 403
    # a reader on the owner's project reads but does not write
    suffix = uuid.uuid4().hex[:8]
    cloud.osc("user", "create", "--password", "pw-" + suffix, "reader-" + suffix)
    cloud.osc("role", "add", "--project", owner.project_id, "--user", "reader-" + suffix, "reader",
              json_out=False)
    r = httpx.post(f"{cloud.auth_url}/auth/tokens", json={"auth": {"identity": {
        "methods": ["password"], "password": {"user": {"name": "reader-" + suffix,
                                                       "domain": {"id": "default"},
                                                       "password": "pw-" + suffix}}},
        "scope": {"project": {"id": owner.project_id}}}})
    reader = r.headers["x-subject-token"]
    assert api("GET", f"/{c}/o", token=reader).content == b"data"
    assert api("HEAD", f"/{c}", token=reader).status_code == 204
    assert api("PUT", f"/{c}/y", token=reader, content=b"y").status_code == 403
    assert api("DELETE", f"/{c}/o", token=reader).status_code == 403
    # an account that is not AUTH_<project>
    r = httpx.get(cloud.url("object", "/v1/SOMEONE/c"), headers={"x-auth-token": owner.token})
    assert r.status_code == 403


def test_info_and_healthcheck(cloud, owner):
    info = httpx.get(cloud.url("object", "/info")).json()
    assert info["swift"]["max_file_size"] == 5368709122
    assert info["swift"]["container_listing_limit"] == 10000
    assert info["swift"]["max_meta_count"] == 90
    assert httpx.get(cloud.url("object", "/healthcheck")).text == "OK"
    # accounts are made on first use, never through the API (allow_account_management off)
    r = httpx.request("PUT", cloud.url("object", f"/v1/AUTH_{owner.project_id}"),
                      headers={"x-auth-token": owner.token})
    assert r.status_code == 405
    r = httpx.request("DELETE", cloud.url("object", f"/v1/AUTH_{owner.project_id}"),
                      headers={"x-auth-token": owner.token})
    assert r.status_code == 405
    assert {"bulk_delete", "bulk_upload", "slo"} <= set(info)


def _tar(files: dict[str, bytes], mode: str = "w:gz") -> bytes:
    import io
    import tarfile

    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode=mode) as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        folder = tarfile.TarInfo("adir")
        folder.type = tarfile.DIRTYPE
        tar.addfile(folder)                              # a directory: skipped
    return out.getvalue()


def test_bulk_delete_through_swiftclient_and_http(cloud, owner, api):
    from swiftclient.service import SwiftService

    c = uniq("bulk")
    assert api("PUT", f"/{c}").status_code in (201, 202)
    names = [f"o{i}" for i in range(24)]     # the client bulk-deletes more than 2 x its 10 threads
    for n in names:
        assert api("PUT", f"/{c}/{n}", content=n.encode()).status_code == 201
    options = {"auth_version": "3", "os_auth_url": cloud.auth_url, "os_username": owner.name,
               "os_password": owner.password, "os_project_name": owner.project_name,
               "os_user_domain_name": "Default", "os_project_domain_name": "Default"}
    with SwiftService(options=options) as svc:
        results = list(svc.delete(c, names[:22]))
    assert all(r["success"] for r in results), results
    assert any(r["action"] == "bulk_delete" for r in results), results   # the client saw bulk_delete in /info
    body = "\n".join([f"/{c}/{names[22]}", f"/{c}/{names[23]}", f"/{c}/missing", f"/{c}"]).encode()
    r = api("POST", "?bulk-delete", content=body, headers={"accept": "application/json",
                                                          "content-type": "text/plain"})
    assert r.status_code == 200, r.text
    report = r.json()
    assert report["Number Deleted"] == 3 and report["Number Not Found"] == 1, report
    assert report["Response Status"] == "200 OK" and report["Errors"] == []
    assert api("HEAD", f"/{c}").status_code == 404
    # a container that is not empty is an error in the report, the rest still done
    c2 = uniq("bulk")
    api("PUT", f"/{c2}")
    api("PUT", f"/{c2}/keep", content=b"x")
    r = api("DELETE", "?bulk-delete", content=f"/{c2}\n".encode())
    assert r.status_code == 200 and "409 Conflict" in r.text and "Response Status: 400 Bad Request" in r.text
    assert api("HEAD", f"/{c2}/keep").status_code == 200
    r = api("POST", "?bulk-delete", content=f"/{c2}/keep".encode(), headers={"accept": "application/xml"})
    assert r.status_code == 200 and b"<number_deleted>1</number_deleted>" in r.content


def test_extract_archive_at_account_and_container(api):
    c = uniq("tar")
    archive = _tar({f"{c}/a.txt": b"alpha", f"{c}/sub/b.bin": b"beta"})
    r = api("PUT", "?extract-archive=tar.gz", content=archive, headers={"accept": "application/json"})
    assert r.status_code == 200, r.text
    assert r.json()["Number Files Created"] == 2 and r.json()["Response Status"] == "201 Created", r.text
    assert api("GET", f"/{c}/sub/b.bin").content == b"beta"
    assert api("GET", f"/{c}/a.txt").headers["content-type"].startswith("text/plain")
    # into a container under a prefix, plain tar
    r = api("PUT", f"/{c}/pre?extract-archive=tar", content=_tar({"x": b"1", "y/z": b"2"}, "w"))
    assert r.status_code == 200 and "Number Files Created: 2" in r.text, r.text
    assert api("GET", f"/{c}/pre/y/z").content == b"2"
    # bad input: another format, not an archive, a name too long (reported, the others made)
    assert api("PUT", f"/{c}?extract-archive=zip", content=b"PK").status_code == 400
    assert api("PUT", f"/{c}?extract-archive=tar.gz", content=b"not a tar").status_code == 400
    r = api("PUT", f"/{c}?extract-archive=tar", headers={"accept": "application/json"},
            content=_tar({"ok": b"fine", "n" * 1100: b"long"}, "w"))
    assert r.status_code == 200 and r.json()["Number Files Created"] == 1
    assert r.json()["Response Status"] == "400 Bad Request" and r.json()["Errors"][0][1] == "400 Bad Request"


def test_symlinks_dynamic_static_chained_and_bad(api, owner):
    c = uniq("sym")
    api("PUT", f"/{c}")
    etag = api("PUT", f"/{c}/target", content=b"pointed at", headers={"x-object-meta-k": "v"}).headers["etag"]
    r = api("PUT", f"/{c}/link", content=b"", headers={"x-symlink-target": f"{c}/target"})
    assert r.status_code == 201, r.text
    got = api("GET", f"/{c}/link")
    assert got.status_code == 200 and got.content == b"pointed at"
    assert got.headers["content-location"] == f"/v1/AUTH_{owner.project_id}/{c}/target"
    assert got.headers["x-object-meta-k"] == "v"
    assert api("GET", f"/{c}/link", headers={"range": "bytes=0-6"}).content == b"pointed"
    assert api("HEAD", f"/{c}/link").headers["content-length"] == "10"
    itself = api("GET", f"/{c}/link?symlink=get")
    assert itself.status_code == 200 and itself.content == b""
    assert itself.headers["x-symlink-target"] == f"{c}/target"
    assert itself.headers["content-type"] == "application/symlink"
    assert "x-object-sysmeta-symlink-target" not in itself.headers
    assert api("HEAD", f"/{c}/link?symlink=get").headers["x-symlink-target"] == f"{c}/target"
    # a chain of two links is followed; a third hop is refused
    api("PUT", f"/{c}/link2", content=b"", headers={"x-symlink-target": f"{c}/link"})
    assert api("GET", f"/{c}/link2").content == b"pointed at"
    api("PUT", f"/{c}/link3", content=b"", headers={"x-symlink-target": f"{c}/link2"})
    r = api("GET", f"/{c}/link3")
    assert r.status_code == 409 and b"Too many levels of symbolic links" in r.content
    # COPY copies the target's bytes (the link itself with symlink=get); POST answers 307
    assert api("COPY", f"/{c}/link", headers={"destination": f"{c}/copied"}).status_code == 201
    assert api("GET", f"/{c}/copied?symlink=get").content == b"pointed at"
    r = api("POST", f"/{c}/link", headers={"x-object-meta-on-link": "1"})
    assert r.status_code == 307 and r.headers["location"].endswith(f"/{c}/target")
    # static links check the target's ETag now and on every read
    r = api("PUT", f"/{c}/static", content=b"", headers={"x-symlink-target": f"{c}/target",
                                                       "x-symlink-target-etag": etag})
    assert r.status_code == 201, r.text
    assert api("GET", f"/{c}/static").content == b"pointed at"
    api("PUT", f"/{c}/target", content=b"changed")
    assert api("GET", f"/{c}/link").content == b"changed"
    assert api("GET", f"/{c}/static").status_code == 409
    r = api("PUT", f"/{c}/bad", content=b"", headers={"x-symlink-target": f"{c}/target",
                                                    "x-symlink-target-etag": etag})
    assert r.status_code == 409 and b"does not match" in r.content
    # bad links: a body, no object part; a dangling dynamic link is a 404
    assert api("PUT", f"/{c}/bad", content=b"x", headers={"x-symlink-target": f"{c}/t"}).status_code == 400
    assert api("PUT", f"/{c}/bad", content=b"", headers={"x-symlink-target": "nocontainer"}).status_code == 412
    assert api("HEAD", f"/{c}/bad").status_code == 404
    api("PUT", f"/{c}/dangling", content=b"", headers={"x-symlink-target": f"{c}/nothing"})
    assert api("GET", f"/{c}/dangling").status_code == 404
    assert api("GET", f"/{c}/dangling?symlink=get").status_code == 200
    # listings show a link's target as Swift's do, the content type without it
    rows = {r["name"]: r for r in api("GET", f"/{c}?format=json").json()}
    acct = f"/v1/AUTH_{owner.project_id}"
    assert rows["link"]["symlink_path"] == f"{acct}/{c}/target"
    assert rows["link"]["content_type"] == "application/symlink" and rows["link"]["bytes"] == 0
    assert (rows["static"]["symlink_etag"], rows["static"]["symlink_bytes"]) == (etag, 10)
    assert "symlink_path" not in rows["target"] and "symlink_etag" not in rows["link"]
    xml = api("GET", f"/{c}?format=xml").text
    assert f"<name>link2</name>" in xml and f"<symlink_path>{acct}/{c}/link</symlink_path>" in xml
    assert "symlink_target=" not in xml and "symlink_target=" not in api("GET", f"/{c}?format=json").text


def test_versioned_container_stack_and_history_modes(api):
    c, archive = uniq("ver"), uniq("archive")
    assert api("PUT", f"/{archive}").status_code in (201, 202)
    assert api("PUT", f"/{c}", headers={"x-versions-location": archive}).status_code in (201, 202)
    assert api("HEAD", f"/{c}").headers["x-versions-location"] == archive
    assert "x-container-sysmeta-versions-location" not in api("HEAD", f"/{c}").headers
    for body in (b"one", b"two", b"three"):
        assert api("PUT", f"/{c}/doc", content=body, headers={"x-object-meta-v": body.decode()}).status_code == 201
    names = api("GET", f"/{archive}?format=json").json()
    assert [n["name"].startswith("003doc/") for n in names] == [True, True]
    assert api("GET", f"/{archive}/{names[0]['name']}").content == b"one"
    # DELETE pops the newest version back into place, until none is left
    assert api("DELETE", f"/{c}/doc").status_code == 204
    back = api("GET", f"/{c}/doc")
    assert back.content == b"two" and back.headers["x-object-meta-v"] == "two"
    assert api("DELETE", f"/{c}/doc").status_code == 204
    assert api("GET", f"/{c}/doc").content == b"one"
    assert api("DELETE", f"/{c}/doc").status_code == 204
    assert api("GET", f"/{c}/doc").status_code == 404
    assert api("GET", f"/{archive}?format=json").json() == []
    # history mode: a delete archives the object and leaves a delete marker
    h = uniq("hist")
    api("PUT", f"/{h}", headers={"x-history-location": archive})
    assert api("GET", f"/{h}").headers["x-history-location"] == archive
    api("PUT", f"/{h}/log", content=b"first")
    api("PUT", f"/{h}/log", content=b"second")
    assert api("DELETE", f"/{h}/log").status_code == 204
    assert api("GET", f"/{h}/log").status_code == 404
    kept = api("GET", f"/{archive}?format=json").json()
    assert [k["content_type"] for k in kept][-1] == "application/x-deleted;swift_versions_deleted=1"
    assert [api("GET", f"/{archive}/{k['name']}").content for k in kept[:2]] == [b"first", b"second"]
    # bad input; switching versioning off
    r = api("POST", f"/{c}", headers={"x-versions-location": archive, "x-history-location": archive})
    assert r.status_code == 400
    assert api("POST", f"/{c}", headers={"x-versions-location": "a/b"}).status_code == 412
    nowhere = uniq("ver")
    api("PUT", f"/{nowhere}", headers={"x-versions-location": uniq("missing")})
    api("PUT", f"/{nowhere}/o", content=b"1")
    r = api("PUT", f"/{nowhere}/o", content=b"2")
    assert r.status_code == 412 and api("GET", f"/{nowhere}/o").content == b"1"
    assert api("POST", f"/{c}", headers={"x-remove-versions-location": "x"}).status_code == 204
    assert "x-versions-location" not in api("HEAD", f"/{c}").headers
    api("PUT", f"/{c}/plain", content=b"a")
    api("PUT", f"/{c}/plain", content=b"b")
    assert not any(n["name"].startswith("005plain") for n in api("GET", f"/{archive}?format=json").json())
