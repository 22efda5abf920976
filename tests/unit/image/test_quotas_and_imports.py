"""Quota arithmetic, unified-limits lookups against a fake identity, web-download allow-list, stores."""

import json
from pathlib import Path

import httpx
import pytest

from nubes.core.config import ConfigError
from nubes.image.conf import ImageConfig
from nubes.image.drivers.swift import SwiftStore
from nubes.image.exceptions import QuotaExceeded
from nubes.image.service import quotas
from nubes.image.service.imports import allowed_url
from nubes.image.service.stores import Stores, parse_stores


async def _usage(n):
    return n


async def test_enforce_counts_and_sizes():
    limits = {("p", quotas.COUNT_TOTAL): 2, ("p", quotas.SIZE_TOTAL): 1}

    async def source(project, resource):
        return limits.get((project, resource))

    q = quotas.Quotas(source)
    await q.enforce("p", quotas.COUNT_TOTAL, lambda: _usage(1), 1)
    with pytest.raises(QuotaExceeded, match="image_count_total is over limit of 2"):
        await q.enforce("p", quotas.COUNT_TOTAL, lambda: _usage(2), 1)
    await q.enforce("p", quotas.STAGE_TOTAL, lambda: _usage(10**9), 1)      # no limit registered
    assert await q.remaining_bytes("p", quotas.SIZE_TOTAL, lambda: _usage(1000)) == quotas.MIB - 1000
    assert await q.remaining_bytes("other", quotas.SIZE_TOTAL, lambda: _usage(5)) is None
    with pytest.raises(QuotaExceeded):
        await q.remaining_bytes("p", quotas.SIZE_TOTAL, lambda: _usage(2 * quotas.MIB))


class FakeTokens:
    identity_url = "http://identity"

    async def service_token(self):
        return "svc"


async def test_unified_limits_project_over_registered_and_cache():
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path)
        assert request.headers["x-auth-token"] == "svc"
        params = dict(request.url.params)
        if request.url.path == "/v3/services":
            return httpx.Response(200, json={"services": [{"id": "sid", "type": "image"}]})
        if request.url.path == "/v3/limits":
            hit = params["project_id"] == "p1" and params["resource_name"] == "image_count_total"
            lims = [{"project_id": "p1", "resource_name": "image_count_total", "resource_limit": 7}]
            return httpx.Response(200, json={"limits": lims if hit else []})
        if request.url.path == "/v3/registered_limits":
            regs = [{"resource_name": "image_count_total", "default_limit": 3}]
            return httpx.Response(200, json={"registered_limits": regs
                                             if params["resource_name"] == "image_count_total" else []})
        return httpx.Response(404)

    ul = quotas.UnifiedLimits(FakeTokens(), ttl=60,
                              http=httpx.AsyncClient(transport=httpx.MockTransport(handler)))
    assert await ul("p1", "image_count_total") == 7
    assert await ul("p2", "image_count_total") == 3
    assert await ul("p2", "image_size_total") is None
    n = len(calls)
    assert await ul("p1", "image_count_total") == 7 and len(calls) == n   # cached
    await ul.http.aclose()


async def test_unified_limits_absent_api_means_no_quota():
    ul = quotas.UnifiedLimits(FakeTokens(), http=httpx.AsyncClient(
        transport=httpx.MockTransport(lambda r: httpx.Response(501, json={}))))
    assert await ul("p", "image_count_total") is None
    await ul.http.aclose()


def test_web_download_allow_list():
    allow = ["https://mirror.example/images/", "cloud-images.example"]
    assert allowed_url("https://mirror.example/images/cirros.img", allow)
    assert not allowed_url("https://mirror.example/other/x.img", allow)
    assert allowed_url("http://cloud-images.example/a.qcow2", allow)
    assert not allowed_url("http://evil.example/a", allow)
    assert not allowed_url("file:///etc/passwd", ["file:///"])
    assert not allowed_url("https://mirror.example/images/x", [])


def test_store_configuration(tmp_path):
    conf = ImageConfig(stores=["fast", "cheap=/srv/cheap", {"id": "x", "description": "d"}])
    stores = Stores(conf, tmp_path)
    assert list(stores.by_id) == ["fast", "cheap", "x"]
    assert stores.get("fast").root == (tmp_path / "images" / "fast").resolve()
    assert stores.get("cheap").root == Path("/srv/cheap")
    assert stores.get("x").description == "d" and stores.get("x").store_type == "file"
    for bad in (["a", "a"], ["bad id"], [], ["os_glance_staging_store"], ["a:nosuch"]):
        with pytest.raises(ConfigError):
            parse_stores(bad)
    with pytest.raises(ConfigError):
        Stores(ImageConfig(stores=[{"id": "a", "container": "c"}]), tmp_path)   # not a filesystem key
    conf = ImageConfig(stores=["a", "b"], default_store="b")
    stores = Stores(conf, tmp_path)
    assert stores.default.store_id == "b" and stores.get("zzz") is None
    with pytest.raises(ConfigError):
        Stores(ImageConfig(stores=["a"], default_store="c"), tmp_path)
    json.dumps(stores.default_id)


def test_swift_store_configuration(tmp_path):
    clients = object()
    stores = Stores(ImageConfig(stores=["local", "swift:swift"], default_store="swift"), tmp_path, clients)
    swift = stores.default
    assert isinstance(swift, SwiftStore) and swift.store_type == "swift"
    assert (swift.container, swift.segments) == ("glance", "glance_segments")
    assert swift.large_object_size == 5 << 30 and swift.large_object_chunk_size == 200 << 20
    assert swift.location_for("abc") == "swift+config://swift/glance/abc"
    table = {"id": "obj", "type": "swift", "container": "images", "large_object_size": 1024,
             "large_object_chunk_size": 512, "description": "in object storage"}
    obj = Stores(ImageConfig(stores=[table]), tmp_path, clients).get("obj")
    assert obj.properties() == {"container": "images", "large_object_size": 1024,
                                "large_object_chunk_size": 512}
    assert obj.description == "in object storage"
    for bad in ({"path": "/x"}, {"container": "a/b"}, {"large_object_size": 0},
                {"large_object_chunk_size": "big"}):
        with pytest.raises(ConfigError):
            Stores(ImageConfig(stores=[{"id": "s", "type": "swift", **bad}]), tmp_path, clients)
    segments_of_s = {"id": "t", "type": "swift", "container": "glance_segments"}
    for shared in (["a=/srv/x", "b=/srv/x"], [{"id": "s", "type": "swift"}, segments_of_s]):
        with pytest.raises(ConfigError, match="each store needs its own"):
            Stores(ImageConfig(stores=shared), tmp_path, clients)
    with pytest.raises(ConfigError):                 # no catalog to find object storage in
        Stores(ImageConfig(stores=["swift:swift"]), tmp_path, None)
