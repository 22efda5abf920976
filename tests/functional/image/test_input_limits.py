"""Numbers past Glance's columns, unusable JSON, NUL and odd tokens: Glance's 4xx, nothing stored."""

from __future__ import annotations

import json
import uuid

import httpx

JSON_ACCEPT = {"Accept": "application/json"}


def _glance_400(r: httpx.Response) -> str:
    assert r.status_code == 400, r.text
    body = r.json()
    assert body["code"] == "400 Bad Request" and body["title"] == "Bad Request"
    return body["message"]


def _named(api, name: str) -> list:
    r = api("GET", f"/v2/images?name={name}")
    assert r.status_code == 200, r.text
    return r.json()["images"]


def test_min_ram_and_min_disk_past_a_4_byte_integer_are_refused_on_create(api):
    for key in ("min_ram", "min_disk"):
        name = f"big-{uuid.uuid4().hex[:8]}"
        r = api("POST", "/v2/images", json={"name": name, key: 2**31}, headers=JSON_ACCEPT)
        assert _glance_400(r).startswith(f"'{key}' value out of range, must not exceed 2147483647.")
        assert _named(api, name) == []
    img = api.create(min_ram=2**31 - 1, min_disk=2**31 - 1)
    assert img["min_ram"] == img["min_disk"] == 2**31 - 1


def test_min_disk_past_a_4_byte_integer_is_refused_on_patch(api):
    img = api.create(min_disk=1)
    r = api("PATCH", f"/v2/images/{img['id']}", json=[{"op": "replace", "path": "/min_disk", "value": 2**40}],
            headers={"Content-Type": "application/openstack-images-v2.1-json-patch", **JSON_ACCEPT})
    assert "'min_disk' value out of range" in _glance_400(r)
    assert api("GET", f"/v2/images/{img['id']}").json()["min_disk"] == 1


def test_size_filters_past_64_bits_are_refused(api):
    for key in ("size_max", "size_min"):
        r = api("GET", f"/v2/images?{key}=18446744073709551616", headers=JSON_ACCEPT)
        assert f"'{key}' value out of range" in _glance_400(r)
    assert api("GET", "/v2/images?size_max=9223372036854775807").status_code == 200


def test_unusable_json_answers_glance_400(api):
    deep = b"[" * 50000 + b"]" * 50000
    r = api("POST", "/v2/images", content=deep, headers={"Content-Type": "application/json", **JSON_ACCEPT})
    assert "nested more than 64 levels" in _glance_400(r)
    r = api("POST", "/v2/images", content=b'{"name": ', headers={"Content-Type": "application/json",
                                                                 **JSON_ACCEPT})
    assert _glance_400(r).startswith("Malformed JSON in request body.")


def test_nul_in_a_name_is_refused(api):
    name = f"nul-{uuid.uuid4().hex[:8]}"
    r = api("POST", "/v2/images", content=json.dumps({"name": name + "\u0000"}).encode(),
            headers={"Content-Type": "application/json", **JSON_ACCEPT})
    assert "NUL character" in _glance_400(r)
    assert not [i for i in api("GET", "/v2/images").json()["images"] if (i["name"] or "").startswith(name)]


def test_a_token_that_is_not_ascii_is_a_401_not_a_500(api):
    r = httpx.get(f"{api.url}/v2/images", headers={"X-Auth-Token": "t\u00e9t\u00e9".encode("latin-1")},
                  timeout=30)
    assert r.status_code == 401, r.text
    assert r.json()["error"]["code"] == 401
