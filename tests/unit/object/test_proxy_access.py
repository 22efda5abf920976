"""The proxy's access rules without a cloud: ACL syntax and matching, TempURL signatures and
expiry forms, the FormPost multipart reader."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac

import pytest

from nubes.core.context import RequestContext
from nubes.object.proxy import acl, formpost, tempurl
from nubes.object.proxy.errors import SwiftError


def test_clean_stores_swifts_form_and_refuses_what_it_does_not_know():
    assert acl.clean("x-container-read", " .referrer : *.example.com , .rlistings,p:u ") == \
        ".r:.example.com,.rlistings,p:u"
    assert acl.clean("x-container-read", ".r:-bad.example.com") == ".r:-bad.example.com"
    for header, value, sentence in (
            ("x-container-write", ".r:*", "Referrers not allowed in write ACL: '.r:*'"),
            ("x-container-read", ".x:y", "Unknown designator '.x' in ACL: '.x:y'"),
            ("x-container-read", ".r:.", "No host/domain value after referrer designation in ACL: '.r:.'")):
        with pytest.raises(SwiftError) as err:
            acl.clean(header, value)
        assert err.value.status == 400 and err.value.message == sentence


def test_referrers_last_match_decides():
    referrers, groups = acl.parse(".r:.example.com,.r:-bad.example.com,.rlistings,p:*")
    assert groups == [".rlistings", "p:*"]
    assert acl.referrer_allowed("http://www.example.com/x", referrers)
    assert not acl.referrer_allowed("http://bad.example.com/", referrers)
    assert not acl.referrer_allowed(None, referrers)
    assert acl.referrer_allowed(None, ["*"])
    assert not acl.referrer_allowed("http://a/", [])


def _ctx(domain: str = "default") -> RequestContext:
    return RequestContext(user_id="uid", user_name="alice", project_id="pid", project_name="proj",
                          user_domain_id=domain, project_domain_id=domain, roles=["member"])


@pytest.mark.parametrize("element", ["pid:uid", "pid:*", "*:uid", "*:*", "proj:alice", "proj:*"])
def test_identities_match(element):
    assert acl.identity_matches(_ctx(), [element])


def test_names_only_in_the_default_domain_and_no_anonymous():
    assert not acl.identity_matches(_ctx("other"), ["proj:alice"])
    assert acl.identity_matches(_ctx("other"), ["pid:uid"])
    assert not acl.identity_matches(RequestContext(), ["*:*"])
    assert not acl.identity_matches(_ctx(), ["pid:someone", "other:*"])
    assert acl.role_matches(_ctx(), ["Member"]) and not acl.role_matches(_ctx(), ["pid:uid"])


def test_account_acl_validation_and_levels():
    assert acl.check_account_acl('{"read-only": ["a:b"], "admin": []}') == \
        '{"admin":[],"read-only":["a:b"]}'
    assert acl.check_account_acl("") == ""
    with pytest.raises(SwiftError) as err:
        acl.check_account_acl("nope")
    assert err.value.message == "X-Account-Access-Control invalid: Syntax error in input ('nope')"
    assert acl.account_level(_ctx(), {"read-only": ["*:*"], "admin": ["pid:uid"]}) == "admin"
    assert acl.account_level(_ctx(), {"read-write": ["pid:other"]}) is None


def test_signature_forms():
    mac = hmac.new(b"k", b"body", hashlib.sha512)
    b64 = base64.urlsafe_b64encode(mac.digest()).decode().strip("=")
    assert tempurl.split_signature("sha512:" + b64) == ("sha512", mac.hexdigest())
    assert tempurl.split_signature("a" * 40) == ("sha1", "a" * 40)
    assert tempurl.split_signature("A" * 64) == ("sha256", "a" * 64)
    assert tempurl.split_signature("b" * 128) == ("sha512", "b" * 128)
    for bad in ("md5:xx", "abc", "sha256:%%%"):
        with pytest.raises(ValueError):
            tempurl.split_signature(bad)


def test_expires_unix_or_iso8601():
    assert tempurl.parse_expires("1700000000") == 1700000000
    assert tempurl.parse_expires("2023-11-14T22:13:20Z") == 1700000000
    assert tempurl.parse_expires("tomorrow") == 0


async def _chunks(data: bytes, size: int):
    for i in range(0, len(data), size):
        yield data[i:i + size]


@pytest.mark.parametrize("size", [1, 7, 1000])
def test_multipart_reader_across_chunk_edges(size):
    body = (b"--XX\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nvalue\r\n"
            b"--XX\r\nContent-Disposition: form-data; name=\"f\"; filename=\"x\"\r\n\r\n"
            b"line1\r\n--X not yet\r\n--XX--\r\n")

    async def read():
        parts = formpost._Parts(_chunks(body, size), "XX")
        await parts.start()
        out = []
        while True:
            headers = await parts.headers()
            out.append((headers["content-disposition"], b"".join([c async for c in parts.body()])))
            if parts.last:
                return out

    assert asyncio.run(read()) == [('form-data; name="a"', b"value"),
                                   ('form-data; name="f"; filename="x"', b"line1\r\n--X not yet")]
