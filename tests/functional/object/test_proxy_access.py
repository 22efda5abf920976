"""Who else may use an account: container ACLs and public containers (set with python-swiftclient's
`swift post -r/-w`), account ACLs, TempURL (URLs made by `swift tempurl`), FormPost, container and
account quotas and CORS, on one all-in-one cloud for the module: the owner, a member of another
project, and a reseller admin."""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import json
import time
import uuid

import httpx
import pytest
from swiftclient.utils import generate_temp_url

from tests.cloud import new_user
from tests.functional.object.swift_cli import swift


@pytest.fixture(scope="module")
def other(cloud, tmp_path_factory):
    return new_user(cloud, tmp_path_factory.mktemp("other"), "member")


@pytest.fixture(scope="module")
def reseller(cloud, tmp_path_factory):
    # identity's bootstrap makes the role (its service user holds it, for volume backups)
    assert cloud.osc("role", "show", "ResellerAdmin")["name"] == "ResellerAdmin"
    return new_user(cloud, tmp_path_factory.mktemp("reseller"), "ResellerAdmin")


def uniq(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def http(cloud):
    def call(method: str, path: str, token: str | None = None, **kw):
        headers = {**({"x-auth-token": token} if token else {}), **kw.pop("headers", {})}
        return httpx.request(method, cloud.url("object", path), headers=headers, timeout=30, **kw)

    return call


def account(user) -> str:
    return f"/v1/AUTH_{user.project_id}"


def test_info_lists_the_middlewares(cloud, owner, http):
    listed = swift(cloud, owner, "capabilities")
    assert all(f"{name}\n" in listed for name in ("tempurl", "formpost", "container_quotas",
                                                  "account_quotas"))
    info = http("GET", "/info").json()
    assert set(info["tempurl"]["methods"]) == {"GET", "HEAD", "PUT", "POST", "DELETE"}
    assert info["tempurl"]["allowed_digests"] == ["sha1", "sha256", "sha512"]
    assert "x-timestamp" in info["tempurl"]["incoming_remove_headers"]
    assert info["container_quotas"] == {} and info["account_quotas"] == {}
    assert "formpost" in info


def test_public_container_through_swiftclient(cloud, owner, http):
    c = uniq("pub")
    swift(cloud, owner, "post", "-r", ".r:*,.rlistings", c)
    swift(cloud, owner, "upload", "--object-name", "hello.txt", c, __file__)
    base = f"{account(owner)}/{c}"
    r = http("GET", f"{base}/hello.txt")
    assert r.status_code == 200 and r.content.startswith(b'"""Who else')
    assert http("HEAD", f"{base}/hello.txt").status_code == 200
    listing = http("GET", base, params={"format": "json"})
    assert listing.status_code == 200 and [o["name"] for o in listing.json()] == ["hello.txt"]
    # anonymous clients can neither write, nor see the ACL, nor list the account
    assert http("PUT", f"{base}/x", content=b"x").status_code == 401
    assert "x-container-read" not in {k.lower() for k in http("HEAD", base).headers}
    r = http("GET", account(owner))
    assert r.status_code == 401 and "www-authenticate" in r.headers
    # the owner sees the ACL as Swift stores it
    assert http("HEAD", base, owner.token).headers["x-container-read"] == ".r:*,.rlistings"
    # without .rlistings the objects stay public but the listing is refused
    swift(cloud, owner, "post", "-r", ".r:*", c)
    assert http("GET", base).status_code == 401
    assert http("GET", f"{base}/hello.txt").status_code == 200
    # referrer ACLs: only pages of that host
    swift(cloud, owner, "post", "-r", ".r:.example.com,.r:-bad.example.com", c)
    assert http("GET", f"{base}/hello.txt", headers={"referer": "http://www.example.com/p"}
                ).status_code == 200
    assert http("GET", f"{base}/hello.txt", headers={"referer": "http://bad.example.com/"}
                ).status_code == 401
    assert http("GET", f"{base}/hello.txt").status_code == 401
    swift(cloud, owner, "post", "-r", "", c)
    assert http("GET", f"{base}/hello.txt").status_code == 401


def test_acl_grants_another_project(cloud, owner, other, http):
    c = uniq("shared")
    base = f"{account(owner)}/{c}"
    swift(cloud, owner, "post", c)
    assert http("PUT", f"{base}/doc", owner.token, content=b"shared").status_code == 201
    assert http("GET", f"{base}/doc", other.token).status_code == 403      # no ACL yet
    swift(cloud, owner, "post", "-r", f"{other.project_id}:{other.user_id}", c)
    assert http("GET", f"{base}/doc", other.token).content == b"shared"
    listed = http("GET", base, other.token, params={"format": "json"})
    assert listed.status_code == 200 and [o["name"] for o in listed.json()] == ["doc"]
    head = http("HEAD", base, other.token)
    assert head.status_code == 204 and "x-container-read" not in head.headers
    theirs = ("--os-storage-url", cloud.url("object", account(owner)))   # swiftclient, their token
    assert swift(cloud, other, *theirs, "list", c).split() == ["doc"]
    # a reader may neither write objects nor change the container
    assert http("PUT", f"{base}/mine", other.token, content=b"x").status_code == 403
    assert http("POST", base, other.token, headers={"x-container-meta-a": "b"}).status_code == 403
    assert http("DELETE", base, other.token).status_code == 403
    # a write ACL by project and by names (default domain) lets them write, not read
    swift(cloud, owner, "post", "-r", "", "-w", f"{other.project_id}:*", c)
    assert http("PUT", f"{base}/mine", other.token, content=b"theirs").status_code == 201
    assert http("GET", f"{base}/mine", other.token).status_code == 403
    swift(cloud, owner, "post", "-r", f"{other.project_name}:{other.name}", c)
    assert http("GET", f"{base}/mine", other.token).content == b"theirs"
    assert http("DELETE", f"{base}/mine", other.token).status_code == 204
    # the written copy of an object needs a read ACL on the source too
    r = http("PUT", f"{base}/copy", other.token, headers={"x-copy-from": f"{c}/doc",
                                                          "content-length": "0"})
    assert r.status_code == 201
    # a manifest they may write does not open a container they may not read
    private = uniq("private")
    assert http("PUT", f"{account(owner)}/{private}", owner.token).status_code == 201
    assert http("PUT", f"{account(owner)}/{private}/seg", owner.token, content=b"hidden"
                ).status_code == 201
    assert http("PUT", f"{base}/dlo", other.token, content=b"",
                headers={"x-object-manifest": f"{private}/seg"}).status_code == 201
    assert http("GET", f"{base}/dlo", other.token).status_code == 403
    assert http("GET", f"{base}/dlo", owner.token).content == b"hidden"
    # nor does a link, a copy through one, or a static large object
    link = {"x-symlink-target": f"{private}/seg", "content-length": "0"}
    assert http("PUT", f"{base}/link", other.token, headers=link).status_code == 201
    assert http("GET", f"{base}/link", other.token).status_code == 403
    assert http("HEAD", f"{base}/link", other.token).status_code == 403
    assert http("GET", f"{base}/link", owner.token).content == b"hidden"
    assert http("PUT", f"{base}/via-link", other.token, headers={
        "x-copy-from": f"{c}/link", "content-length": "0"}).status_code == 403
    manifest = json.dumps([{"path": f"/{private}/seg"}])
    assert http("PUT", f"{base}/slo", owner.token, params={"multipart-manifest": "put"},
                content=manifest).status_code == 201
    assert http("GET", f"{base}/slo", other.token).status_code == 403
    assert http("GET", f"{base}/slo", owner.token).content == b"hidden"
    assert http("DELETE", f"{base}/slo", other.token, params={"multipart-manifest": "delete"}
                ).status_code == 403
    assert http("HEAD", f"{account(owner)}/{private}/seg", owner.token).status_code == 200
    # a versioned container archives into a container they must be able to write
    assert http("POST", base, owner.token, headers={"x-versions-location": private}).status_code == 204
    assert http("PUT", f"{base}/versioned", other.token, content=b"v1").status_code == 403
    swift(cloud, owner, "post", "-w", f"{other.project_id}:*", private)
    assert http("PUT", f"{base}/versioned", other.token, content=b"v1").status_code == 201
    assert http("POST", base, owner.token, headers={"x-remove-versions-location": "x"}
                ).status_code == 204
    # they cannot set an ACL even where they may write
    assert http("POST", base, other.token, headers={"x-container-read": "*:*"}).status_code == 403
    assert http("HEAD", base, owner.token).headers["x-container-read"] == \
        f"{other.project_name}:{other.name}"


def test_bad_acls_are_refused(owner, http):
    c = uniq("bad")
    base = f"{account(owner)}/{c}"
    r = http("PUT", base, owner.token, headers={"x-container-write": ".r:*"})
    assert r.status_code == 400 and r.text == "Referrers not allowed in write ACL: '.r:*'"
    r = http("PUT", base, owner.token, headers={"x-container-read": ".x:y"})
    assert r.status_code == 400 and "Unknown designator" in r.text
    r = http("PUT", base, owner.token, headers={"x-container-read": ".r:"})
    assert r.status_code == 400 and "No host/domain value" in r.text
    r = http("PUT", base, owner.token, headers={"x-container-read": ".referrer : * , .rlistings"})
    assert r.status_code == 201
    assert http("HEAD", base, owner.token).headers["x-container-read"] == ".r:*,.rlistings"


def test_account_acl_levels(cloud, owner, other, http):
    acct = account(owner)
    c = uniq("acct")
    assert http("PUT", f"{acct}/{c}", owner.token).status_code == 201
    who = f"{other.project_id}:{other.user_id}"
    for bad, message in (("[1]", "Syntax error in input"), ('{"boss": []}', 'Key "boss" not recognized'),
                         ('{"admin": "x"}', 'Value for key "admin" must be a list'),
                         ('{"admin": [1]}', 'Elements of "admin" list must be strings')):
        r = http("POST", acct, owner.token, headers={"x-account-access-control": bad})
        assert r.status_code == 400 and r.text.startswith("X-Account-Access-Control invalid: ")
        assert message in r.text

    def grant(level: str) -> None:
        r = http("POST", acct, owner.token,
                 headers={"x-account-access-control": json.dumps({level: [who]})})
        assert r.status_code == 204

    grant("read-only")
    assert http("HEAD", acct, owner.token).headers["x-account-access-control"] == \
        json.dumps({"read-only": [who]}, separators=(",", ":"))
    assert http("GET", acct, other.token).status_code == 200
    assert http("PUT", f"{acct}/{c}/o", other.token, content=b"x").status_code == 403
    grant("read-write")
    assert http("PUT", f"{acct}/{c}/o", other.token, content=b"x").status_code == 201
    assert http("PUT", f"{acct}/{uniq('theirs')}", other.token).status_code == 201
    assert http("POST", acct, other.token, headers={"x-account-meta-a": "b"}).status_code == 403
    assert "x-account-access-control" not in http("HEAD", acct, other.token).headers
    grant("admin")
    assert http("POST", acct, other.token, headers={"x-account-meta-a": "b"}).status_code == 204
    assert "x-account-access-control" in http("HEAD", acct, other.token).headers
    assert http("POST", acct, owner.token, headers={"x-account-access-control": ""}).status_code == 204
    assert http("GET", acct, other.token).status_code == 403
    assert "x-account-access-control" not in http("HEAD", acct, owner.token).headers


def _temp_url(cloud, owner, method: str, path: str, key: str, *options: str) -> str:
    out = swift(cloud, owner, "tempurl", *options, method, "60", path, key).strip()
    return cloud.url("object", out)


def test_tempurl_made_by_swiftclient(cloud, owner, other, http):
    key = uuid.uuid4().hex
    c = uniq("tmp")
    acct = account(owner)
    swift(cloud, owner, "post", "-m", f"Temp-URL-Key:{key}")
    assert http("PUT", f"{acct}/{c}", owner.token).status_code == 201
    assert http("PUT", f"{acct}/{c}/report.txt", owner.token, content=b"secret",
                headers={"x-object-meta-private": "1", "x-object-meta-public-tag": "t"}
                ).status_code == 201
    path = f"{acct}/{c}/report.txt"
    url = _temp_url(cloud, owner, "GET", path, key)
    r = httpx.get(url, timeout=30)
    assert r.status_code == 200 and r.content == b"secret"
    assert r.headers["content-disposition"] == \
        "attachment; filename=\"report.txt\"; filename*=UTF-8''report.txt"
    assert "x-object-meta-private" not in r.headers and r.headers["x-object-meta-public-tag"] == "t"
    assert httpx.head(url, timeout=30).status_code == 200           # HEAD with a GET signature
    assert httpx.put(url, content=b"no", timeout=30).status_code == 401
    assert httpx.get(url + "&inline", timeout=30).headers["content-disposition"] == "inline"
    named = httpx.get(url + "&filename=a%20b.txt", timeout=30).headers["content-disposition"]
    assert named == "attachment; filename=\"a b.txt\"; filename*=UTF-8''a%20b.txt"
    tampered = httpx.get(url.replace("temp_url_sig=", "temp_url_sig=0"), timeout=30)
    assert tampered.status_code == 401 and tampered.text == "401 Unauthorized: Temp URL invalid\n"
    expired = generate_temp_url(path, int(time.time()) - 10, key, "GET", absolute=True)
    assert httpx.get(cloud.url("object", expired), timeout=30).status_code == 401
    other_object = url.replace("report.txt", "other.txt")
    assert httpx.get(other_object, timeout=30).status_code == 401
    for options in (("--digest", "sha512"), ("--digest", "sha1"), ("--iso8601",),
                    ("--ip-range", "127.0.0.0/8")):
        assert httpx.get(_temp_url(cloud, owner, "GET", path, key, *options), timeout=30
                         ).content == b"secret", options
    assert httpx.get(_temp_url(cloud, owner, "GET", path, key, "--ip-range", "10.0.0.0/8"),
                     timeout=30).status_code == 401
    prefixed = _temp_url(cloud, owner, "GET", f"{acct}/{c}/rep", key, "--prefix-based")
    assert httpx.get(prefixed.replace(f"/{c}/rep?", f"/{c}/report.txt?"), timeout=30
                     ).content == b"secret"
    assert httpx.get(prefixed.replace(f"/{c}/rep?", f"/{c}/x?"), timeout=30).status_code == 401
    put = _temp_url(cloud, owner, "PUT", f"{acct}/{c}/upload.bin", key)
    assert httpx.put(put, content=b"from a browser", timeout=30).status_code == 201
    assert http("GET", f"{acct}/{c}/upload.bin", owner.token).content == b"from a browser"
    r = httpx.put(put, content=b"", headers={"x-object-manifest": f"{c}/"}, timeout=30)
    assert r.status_code == 400 and r.text == "The header 'X-Object-Manifest' is not allowed in this tempurl"
    assert "expires" in httpx.head(url, timeout=30).headers
    # SHA-512 also in hex; an unknown digest name is refused
    expires = int(time.time()) + 60
    hex512 = hmac.new(key.encode(), f"GET\n{expires}\n{path}".encode(), hashlib.sha512).hexdigest()
    signed = cloud.url("object", f"{path}?temp_url_sig={hex512}&temp_url_expires={expires}")
    assert httpx.get(signed, timeout=30).content == b"secret"
    assert httpx.get(signed.replace("temp_url_sig=", "temp_url_sig=md5:"), timeout=30
                     ).status_code == 401
    # a container's key, kept from everyone but the owners
    ckey = uuid.uuid4().hex
    swift(cloud, owner, "post", "-m", f"Temp-URL-Key:{ckey}", "-r", f"{other.project_id}:*", c)
    assert httpx.get(_temp_url(cloud, owner, "GET", path, ckey), timeout=30).status_code == 200
    # a container's key reaches nothing outside it; the account's key reaches the account
    elsewhere = uniq("else")
    assert http("PUT", f"{acct}/{elsewhere}", owner.token).status_code == 201
    assert http("PUT", f"{acct}/{elsewhere}/x", owner.token, content=b"x").status_code == 201
    copy = {"x-copy-from": f"{elsewhere}/x", "content-length": "0"}
    assert httpx.put(_temp_url(cloud, owner, "PUT", f"{acct}/{c}/copied", ckey), headers=copy,
                     timeout=30).status_code == 401
    assert httpx.put(_temp_url(cloud, owner, "PUT", f"{acct}/{c}/copied", key), headers=copy,
                     timeout=30).status_code == 201
    assert http("HEAD", f"{acct}/{c}", owner.token).headers["x-container-meta-temp-url-key"] == ckey
    assert "x-container-meta-temp-url-key" not in http("HEAD", f"{acct}/{c}", other.token).headers
    assert "x-account-meta-temp-url-key" not in http("HEAD", acct, other.token).headers


def _form(fields: list[tuple[str, str]], files: list[tuple[str, bytes]]) -> tuple[bytes, str]:
    boundary = "----nubesform" + uuid.uuid4().hex
    out = io.BytesIO()
    for name, value in fields:
        out.write(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
                  f"{value}\r\n".encode())
    for i, (filename, data) in enumerate(files):
        out.write(f'--{boundary}\r\nContent-Disposition: form-data; name="file{i}"; '
                  f'filename="{filename}"\r\nContent-Type: text/plain\r\n\r\n'.encode())
        out.write(data + b"\r\n")
    out.write(f"--{boundary}--\r\n".encode())
    return out.getvalue(), f"multipart/form-data; boundary={boundary}"


def _signed_form(path: str, key: str, redirect: str = "", max_size: int = 1024,
                 max_count: int = 5, expires: int | None = None, digest=hashlib.sha256,
                 b64: bool = False) -> list[tuple[str, str]]:
    expires = expires or int(time.time() + 600)
    body = f"{path}\n{redirect}\n{max_size}\n{max_count}\n{expires}"
    mac = hmac.new(key.encode(), body.encode(), digest)
    sig = f"{mac.name[5:]}:" + base64.urlsafe_b64encode(mac.digest()).decode().rstrip("=") \
        if b64 else mac.hexdigest()
    return [("redirect", redirect), ("max_file_size", str(max_size)),
            ("max_file_count", str(max_count)), ("expires", str(expires)), ("signature", sig)]


def test_formpost(cloud, owner, http):
    key = uuid.uuid4().hex
    c = uniq("form")
    acct = account(owner)
    assert http("PUT", f"{acct}/{c}", owner.token,
                headers={"x-container-meta-temp-url-key": key}).status_code == 201
    path = f"{acct}/{c}/up/"
    fields = _signed_form(path, key, redirect="https://example.com/done")
    body, ctype = _form([*fields, ("x_delete_after", "3600")], [("a.txt", b"A" * 10),
                                                                ("b.txt", b"B" * 20)])
    r = http("POST", path, content=body, headers={"content-type": ctype})
    assert r.status_code == 303
    assert r.headers["location"] == "https://example.com/done?status=201&message="
    listing = http("GET", f"{acct}/{c}", owner.token, params={"format": "json"}).json()
    assert [(o["name"], o["bytes"]) for o in listing] == [("up/a.txt", 10), ("up/b.txt", 20)]
    assert "x-delete-at" in http("HEAD", f"{acct}/{c}/up/a.txt", owner.token).headers
    # no redirect: the status as text; SHA-512 signatures, hex or sha512:<base64>
    body, ctype = _form(_signed_form(path, key, digest=hashlib.sha512), [("c.txt", b"C")])
    r = http("POST", path, content=body, headers={"content-type": ctype})
    assert r.status_code == 201 and r.text == "201 Created"
    body, ctype = _form(_signed_form(path, key, digest=hashlib.sha512, b64=True), [("c2.txt", b"C")])
    assert http("POST", path, content=body, headers={"content-type": ctype}).status_code == 201
    # a form field's content type applies to every file
    body, ctype = _form([*_signed_form(path, key), ("content-type", "image/png")], [("p", b"P")])
    assert http("POST", path, content=body, headers={"content-type": ctype}).status_code == 201
    assert http("HEAD", f"{acct}/{c}/up/p", owner.token).headers["content-type"] == "image/png"
    # a failed store: its answer (an account's key signs for any container)
    akey = uuid.uuid4().hex
    assert http("POST", acct, owner.token, headers={"x-account-meta-temp-url-key-2": akey}
                ).status_code == 204
    gone = f"{acct}/{uniq('nocontainer')}/"
    body, ctype = _form(_signed_form(gone, akey), [("x", b"x")])
    r = http("POST", gone, content=body, headers={"content-type": ctype})
    assert r.status_code == 404 and r.text.startswith("<html><h1>Not Found</h1>")
    body, ctype = _form(_signed_form(path, key, max_size=5), [("big.txt", b"x" * 6)])
    r = http("POST", path, content=body, headers={"content-type": ctype})
    assert r.status_code == 400 and r.text == "FormPost: max_file_size exceeded"
    assert http("HEAD", f"{acct}/{c}/up/big.txt", owner.token).status_code == 404
    body, ctype = _form(_signed_form(path, key, max_count=1), [("d.txt", b"d"), ("e.txt", b"e")])
    r = http("POST", path, content=body, headers={"content-type": ctype})
    assert r.status_code == 400 and r.text == "400 Bad Request\r\nFormPost: Max File Count Exceeded"
    body, ctype = _form(_signed_form(path, "wrong"), [("f.txt", b"f")])
    r = http("POST", path, content=body, headers={"content-type": ctype})
    assert r.status_code == 401 and r.text == "FormPost: Invalid Signature"
    body, ctype = _form(_signed_form(path, key, expires=int(time.time()) - 5), [("g.txt", b"g")])
    r = http("POST", path, content=body, headers={"content-type": ctype})
    assert r.status_code == 401 and r.text == "FormPost: Form Expired"
    r = http("POST", path, content=b"garbage", headers={"content-type": "multipart/form-data; boundary=zz"})
    assert r.status_code == 400 and r.text == "FormPost: invalid starting boundary"


def test_container_quotas(owner, http):
    c = f"{account(owner)}/{uniq('quota')}"
    r = http("PUT", c, owner.token, headers={"x-container-meta-quota-bytes": "ten"})
    assert r.status_code == 400 and r.text == "Invalid bytes quota."
    assert http("PUT", c, owner.token, headers={"x-container-meta-quota-bytes": "10",
                                                "x-container-meta-quota-count": "2"}).status_code == 201
    assert http("PUT", f"{c}/a", owner.token, content=b"12345").status_code == 201
    r = http("PUT", f"{c}/b", owner.token, content=b"123456")
    assert r.status_code == 413 and r.text == "Upload exceeds quota."
    assert http("PUT", f"{c}/b", owner.token, content=b"12345").status_code == 201
    assert http("PUT", f"{c}/c", owner.token, content=b"").status_code == 413       # the count
    assert http("POST", c, owner.token, headers={"x-remove-container-meta-quota-count": "x"}
                ).status_code == 204
    assert http("PUT", f"{c}/c", owner.token, content=b"").status_code == 201


def test_account_quota_is_the_resellers(owner, reseller, http):
    acct = account(owner)
    r = http("POST", acct, owner.token, headers={"x-account-meta-quota-bytes": "1"})
    assert r.status_code == 403
    used = int(http("HEAD", acct, owner.token).headers["x-account-bytes-used"])
    assert http("POST", acct, reseller.token, headers={"x-account-meta-quota-bytes": str(used + 4)}
                ).status_code == 204
    c = f"{acct}/{uniq('aq')}"
    assert http("PUT", c, owner.token).status_code == 201
    r = http("PUT", f"{c}/big", owner.token, content=b"12345")
    assert r.status_code == 413 and r.text == "Upload exceeds quota."
    assert http("PUT", f"{c}/small", owner.token, content=b"1234").status_code == 201
    assert http("POST", acct, owner.token, headers={"x-remove-account-meta-quota-bytes": "x"}
                ).status_code == 403
    assert http("POST", acct, reseller.token, headers={"x-remove-account-meta-quota-bytes": "x"}
                ).status_code == 204
    assert http("PUT", f"{c}/big", owner.token, content=b"12345").status_code == 201


def test_cors(owner, http):
    c = f"{account(owner)}/{uniq('cors')}"
    assert http("PUT", c, owner.token, headers={
        "x-container-meta-access-control-allow-origin": "http://a.example http://b.example",
        "x-container-meta-access-control-max-age": "600",
        "x-container-meta-access-control-expose-headers": "X-Custom"}).status_code == 201
    assert http("PUT", f"{c}/o", owner.token, content=b"x",
                headers={"x-object-meta-color": "red"}).status_code == 201
    plain = http("OPTIONS", f"{c}/o")
    assert plain.status_code == 200 and "GET" in plain.headers["allow"]
    pre = http("OPTIONS", f"{c}/o", headers={"origin": "http://a.example",
                                             "access-control-request-method": "PUT",
                                             "access-control-request-headers": "x-auth-token"})
    assert pre.status_code == 200
    assert pre.headers["access-control-allow-origin"] == "http://a.example"
    assert pre.headers["access-control-max-age"] == "600"
    assert "PUT" in pre.headers["access-control-allow-methods"]
    assert pre.headers["access-control-allow-headers"] == "x-auth-token"
    assert http("OPTIONS", f"{c}/o", headers={"origin": "http://evil.example",
                                              "access-control-request-method": "GET"}
                ).status_code == 401
    got = http("GET", f"{c}/o", owner.token, headers={"origin": "http://b.example"})
    assert got.headers["access-control-allow-origin"] == "http://b.example"
    exposed = got.headers["access-control-expose-headers"].split(", ")
    assert {"etag", "x-object-meta-color", "x-custom", "x-trans-id"} <= set(exposed)
    assert "access-control-allow-origin" not in http(
        "GET", f"{c}/o", owner.token, headers={"origin": "http://evil.example"}).headers
    refused = http("GET", f"{c}/o", headers={"origin": "http://a.example"})
    assert refused.status_code == 401 and refused.headers["access-control-allow-origin"] == \
        "http://a.example"
