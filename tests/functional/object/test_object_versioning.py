"""Object versioning (Swift's ``object_versioning``: ``X-Versions-Enabled``) through plain HTTP,
on the module's all-in-one cloud (identity and object storage)."""

from __future__ import annotations

import uuid

import httpx
import pytest

DELETE_MARKER = "application/x-deleted;swift_versions_deleted=1"


@pytest.fixture(scope="module")
def api(cloud, owner):
    """HTTP to the owner's account: ``api(method, "/container/object", ...)``."""
    base = cloud.url("object", f"/v1/AUTH_{owner.project_id}")

    def call(method: str, path: str = "", **kw):
        headers = {"x-auth-token": owner.token, **kw.pop("headers", {})}
        return httpx.request(method, base + path, headers=headers, timeout=30, **kw)

    return call


def uniq(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def versioned(api) -> str:
    c = uniq("v")
    assert api("PUT", f"/{c}", headers={"x-versions-enabled": "true"}).status_code == 201
    return c


def versions(api, c: str, **params) -> list[dict]:
    r = api("GET", f"/{c}", params={"versions": "", "format": "json", **params})
    assert r.status_code == 200, r.text
    return r.json()


def test_enable_shows_header_and_info_lists_it(api, cloud):
    c = versioned(api)
    assert api("HEAD", f"/{c}").headers["x-versions-enabled"] == "True"
    assert api("GET", f"/{c}").headers["x-versions-enabled"] == "True"
    assert api("POST", f"/{c}", headers={"x-versions-enabled": "false"}).status_code == 204
    assert api("HEAD", f"/{c}").headers["x-versions-enabled"] == "False"
    plain = uniq("p")
    api("PUT", f"/{plain}")
    assert "x-versions-enabled" not in api("HEAD", f"/{plain}").headers
    assert "object_versioning" in httpx.get(cloud.url("object", "/info"), timeout=10).json()


def test_put_twice_lists_both_and_each_version_reads(api):
    c = versioned(api)
    first = api("PUT", f"/{c}/doc", content=b"one")
    assert first.status_code == 201
    v1 = first.headers["x-object-version-id"]
    second = api("PUT", f"/{c}/doc", content=b"two", headers={"x-object-meta-n": "2"})
    v2 = second.headers["x-object-version-id"]
    assert v2 > v1
    r = api("GET", f"/{c}/doc")
    assert r.content == b"two" and r.headers["x-object-version-id"] == v2
    assert r.headers["x-object-meta-n"] == "2"
    old = api("GET", f"/{c}/doc", params={"version-id": v1})
    assert old.status_code == 200 and old.content == b"one"
    assert old.headers["x-object-version-id"] == v1
    assert api("HEAD", f"/{c}/doc", params={"version-id": v2}).headers["content-length"] == "3"
    listed = versions(api, c)
    assert [(e["name"], e["version_id"], e["is_latest"]) for e in listed] == [
        ("doc", v2, True), ("doc", v1, False)]
    assert listed[0]["bytes"] == 3 and listed[0]["hash"]
    # the plain listing shows the current object once
    assert [o["name"] for o in api("GET", f"/{c}", params={"format": "json"}).json()] == ["doc"]
    # a POST changes the current object's metadata and makes no version
    assert api("POST", f"/{c}/doc", headers={"x-object-meta-n": "3"}).status_code == 202
    assert len(versions(api, c)) == 2


def test_delete_writes_a_marker_and_older_versions_stay(api):
    c = versioned(api)
    v1 = api("PUT", f"/{c}/o", content=b"kept").headers["x-object-version-id"]
    r = api("DELETE", f"/{c}/o")
    assert r.status_code == 204
    marker = r.headers["x-object-version-id"]
    assert api("GET", f"/{c}/o").status_code == 404
    assert api("GET", f"/{c}", params={"format": "json"}).json() == []
    assert api("GET", f"/{c}/o", params={"version-id": v1}).content == b"kept"
    gone = api("HEAD", f"/{c}/o", params={"version-id": marker})
    assert gone.status_code == 404 and gone.headers["x-object-version-id"] == marker
    listed = versions(api, c)
    assert [(e["version_id"], e["is_latest"], e["content_type"]) for e in listed] == [
        (marker, True, DELETE_MARKER), (v1, False, "application/octet-stream")]
    # a DELETE of what is not there still writes a marker, and answers 404
    again = api("DELETE", f"/{c}/o")
    assert again.status_code == 404 and again.headers["x-object-version-id"] > marker


def test_delete_a_version_id(api):
    c = versioned(api)
    v1 = api("PUT", f"/{c}/o", content=b"1").headers["x-object-version-id"]
    v2 = api("PUT", f"/{c}/o", content=b"2").headers["x-object-version-id"]
    r = api("DELETE", f"/{c}/o", params={"version-id": v1})       # an older one: current stays
    assert r.status_code == 204 and r.headers["x-object-current-version-id"] == v2
    assert api("GET", f"/{c}/o").content == b"2"
    assert api("GET", f"/{c}/o", params={"version-id": v1}).status_code == 404
    v3 = api("PUT", f"/{c}/o", content=b"3").headers["x-object-version-id"]
    r = api("DELETE", f"/{c}/o", params={"version-id": v3})       # the current one
    assert r.status_code == 204 and r.headers["x-object-current-version-id"] == "null"
    assert api("GET", f"/{c}/o").status_code == 404               # v2 is not put back (Swift)
    assert api("GET", f"/{c}/o", params={"version-id": v2}).content == b"2"
    assert [e["version_id"] for e in versions(api, c)] == [v2]
    assert api("DELETE", f"/{c}/o", params={"version-id": v3}).status_code == 404


def test_null_version_and_disable(api):
    c = uniq("n")
    api("PUT", f"/{c}")
    api("PUT", f"/{c}/o", content=b"before")
    assert api("POST", f"/{c}", headers={"x-versions-enabled": "true"}).status_code == 204
    r = api("GET", f"/{c}/o", params={"version-id": "null"})
    assert r.content == b"before" and r.headers["x-object-version-id"] == "null"
    assert api("GET", f"/{c}/o").headers["x-object-version-id"] == "null"
    assert [(e["version_id"], e["is_latest"]) for e in versions(api, c)] == [("null", True)]
    v1 = api("PUT", f"/{c}/o", content=b"after").headers["x-object-version-id"]
    # the null object was kept as a version under its own timestamp; no null is left
    assert api("GET", f"/{c}/o", params={"version-id": "null"}).status_code == 404
    listed = versions(api, c)
    assert [e["is_latest"] for e in listed] == [True, False] and listed[0]["version_id"] == v1
    assert api("GET", f"/{c}/o", params={"version-id": listed[1]["version_id"]}).content == b"before"
    # disabled: writes are no longer versioned, the versions stay
    api("POST", f"/{c}", headers={"x-versions-enabled": "false"})
    r = api("PUT", f"/{c}/o", content=b"unversioned")
    assert r.status_code == 201 and "x-object-version-id" not in r.headers
    assert api("GET", f"/{c}/o", params={"version-id": "null"}).content == b"unversioned"
    assert api("GET", f"/{c}/o", params={"version-id": v1}).content == b"after"
    assert len(versions(api, c)) == 3


def test_listing_prefix_marker_limit_and_formats(api):
    c = versioned(api)
    ids = {}
    for name in ("a", "a-x", "b"):
        ids[name] = [api("PUT", f"/{c}/{name}", content=name.encode()).headers["x-object-version-id"]
                     for _ in range(2)]
    names = [(e["name"], e["version_id"]) for e in versions(api, c)]
    assert names == [("a", ids["a"][1]), ("a", ids["a"][0]), ("a-x", ids["a-x"][1]),
                     ("a-x", ids["a-x"][0]), ("b", ids["b"][1]), ("b", ids["b"][0])]
    assert [e["name"] for e in versions(api, c, prefix="a-")] == ["a-x", "a-x"]
    assert [e["name"] for e in versions(api, c, marker="a")] == ["a-x", "a-x", "b", "b"]
    assert [e["version_id"] for e in versions(api, c, marker="a", version_marker=ids["a"][1])
            ] == [ids["a"][0], *reversed(ids["a-x"]), *reversed(ids["b"])]
    assert len(versions(api, c, limit="3")) == 3
    plain = api("GET", f"/{c}", params={"versions": ""})
    assert plain.text.split() == ["a", "a", "a-x", "a-x", "b", "b"]
    xml = api("GET", f"/{c}", params={"versions": "", "format": "xml"})
    assert xml.text.count("<version_id>") == 6 and "<is_latest>True</is_latest>" in xml.text


def test_errors(api):
    plain = uniq("p")
    api("PUT", f"/{plain}")
    api("PUT", f"/{plain}/o", content=b"x")
    r = api("GET", f"/{plain}/o", params={"version-id": "1700000000.00000"})
    assert r.status_code == 400 and b"require that the container is versioned" in r.content
    assert api("GET", f"/{plain}/o", params={"version-id": "null"}).content == b"x"
    c = versioned(api)
    api("PUT", f"/{c}/o", content=b"x")
    r = api("GET", f"/{c}/o", params={"version-id": "nope"})
    assert r.status_code == 400 and r.content == b"Invalid version parameter"
    assert api("GET", f"/{c}/o", params={"version-id": "1500000000.00000"}).status_code == 404
    r = api("POST", f"/{c}/o", params={"version-id": "1500000000.00000"})
    assert r.status_code == 400 and b"not allowed" in r.content
    assert api("GET", f"/{c}", params={"versions": "", "version_marker": "1"}).status_code == 400
    legacy = uniq("l")
    api("PUT", f"/{legacy}-archive")
    api("PUT", f"/{legacy}", headers={"x-versions-location": f"{legacy}-archive"})
    r = api("POST", f"/{legacy}", headers={"x-versions-enabled": "true"})
    assert r.status_code == 400 and b"legacy versioned writes" in r.content
    # no client names the hidden container: a NUL in the path (the core: 400) or in a listing's
    # parameters (412, Swift's sentence)
    assert api("GET", f"/%00versions%00{c}").status_code == 400
    r = api("GET", "", params={"prefix": "\x00"})
    assert r.status_code == 412 and r.content == b"Invalid UTF8 or contains NULL"


def test_hidden_container_is_not_listed_and_delete_needs_no_versions(api):
    c = versioned(api)
    listed = [x["name"] for x in api("GET", "", params={"format": "json"}).json()]
    assert c in listed and not any("\x00" in n for n in listed)
    reverse = api("GET", "", params={"format": "json", "reverse": "true"}).json()
    assert not any("\x00" in x["name"] for x in reverse)
    vid = api("PUT", f"/{c}/o", content=b"x").headers["x-object-version-id"]
    api("DELETE", f"/{c}/o")
    r = api("DELETE", f"/{c}")
    assert r.status_code == 409 and b"Delete all versions" in r.content
    for e in versions(api, c):
        assert api("DELETE", f"/{c}/o", params={"version-id": e["version_id"]}).status_code == 204
    assert vid
    assert api("DELETE", f"/{c}").status_code == 204
    assert api("HEAD", f"/{c}").status_code == 404
    # made again, it starts with no versions (its versions container went with it)
    c2 = api("PUT", f"/{c}", headers={"x-versions-enabled": "true"})
    assert c2.status_code == 201 and versions(api, c) == []


def test_copy_into_a_versioned_container_is_a_version(api):
    c = versioned(api)
    src = uniq("s")
    api("PUT", f"/{src}")
    api("PUT", f"/{src}/from", content=b"copied")
    r = api("COPY", f"/{src}/from", headers={"destination": f"{c}/to"})
    assert r.status_code == 201 and r.headers["x-object-version-id"]
    assert api("GET", f"/{c}/to", params={"version-id": r.headers["x-object-version-id"]}
               ).content == b"copied"


def test_manifests_and_links_are_versioned_as_stored(api):
    c = versioned(api)
    segs = uniq("segs")
    api("PUT", f"/{segs}")
    api("PUT", f"/{segs}/big/1", content=b"aa")
    api("PUT", f"/{segs}/big/2", content=b"bb")
    api("PUT", f"/{segs}/target", content=b"pointed at")
    dlo = api("PUT", f"/{c}/joined", content=b"", headers={"x-object-manifest": f"{segs}/big/"})
    assert dlo.status_code == 201
    vid = dlo.headers["x-object-version-id"]
    assert api("GET", f"/{c}/joined").content == b"aabb"
    assert api("GET", f"/{c}/joined", params={"version-id": vid}).content == b"aabb"
    link = api("PUT", f"/{c}/link", content=b"", headers={"x-symlink-target": f"{segs}/target"})
    assert link.status_code == 201
    assert api("GET", f"/{c}/link").content == b"pointed at"
    old = api("GET", f"/{c}/link", params={"version-id": link.headers["x-object-version-id"]})
    assert old.content == b"pointed at"
    api("PUT", f"/{c}/link", content=b"plain now")
    assert api("GET", f"/{c}/link").content == b"plain now"
    assert [e["is_latest"] for e in versions(api, c, prefix="link")] == [True, False]


def test_copy_of_one_version(api):
    c = versioned(api)
    v1 = api("PUT", f"/{c}/o", content=b"first", headers={"x-object-meta-k": "1"}
             ).headers["x-object-version-id"]
    api("PUT", f"/{c}/o", content=b"second")
    out = uniq("out")
    api("PUT", f"/{out}")
    r = api("COPY", f"/{c}/o", params={"version-id": v1}, headers={"destination": f"{out}/restored"})
    assert r.status_code == 201 and r.headers["x-copied-from"] == f"{c}/o"
    got = api("GET", f"/{out}/restored")
    assert got.content == b"first" and got.headers["x-object-meta-k"] == "1"
    # back over the object itself: a new version with the old content
    r = api("COPY", f"/{c}/o", params={"version-id": v1}, headers={"destination": f"{c}/o"})
    assert r.status_code == 201 and r.headers["x-object-version-id"] > v1
    assert api("GET", f"/{c}/o").content == b"first"
    marker = api("DELETE", f"/{c}/o").headers["x-object-version-id"]
    r = api("COPY", f"/{c}/o", params={"version-id": marker}, headers={"destination": f"{out}/x"})
    assert r.status_code == 404
    assert api("COPY", f"/{c}/o", params={"version-id": "bad"},
               headers={"destination": f"{out}/x"}).status_code == 400
