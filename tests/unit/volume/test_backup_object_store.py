"""The object-storage backup store against a small in-memory Swift (httpx.MockTransport): the
account URL, the objects of a backup, partial backups removed, a 401 answered with a new token,
a 5xx tried again."""

from __future__ import annotations

import hashlib
import json
import os
from urllib.parse import unquote

import httpx
import pytest

from nubes.volume.backup import engine
from nubes.volume.backup.object_store import ObjectStore, account_url
from nubes.volume.backup.store import Location, StoreError

MiB = 1 << 20
HERE = Location("volumebackups", "AUTH_p1")


class FakeSwift:
    """Accounts of containers of objects; a token is good until ``expire()``."""

    def __init__(self) -> None:
        self.objects: dict[tuple[str, str], dict[str, bytes]] = {}
        self.good: set[str] = set()
        self.issued = 0
        self.listing_limit = 3
        self.failing = 0            # answer 503 to this many next requests

    def issue(self) -> str:
        self.issued += 1
        self.good.add(f"t{self.issued}")
        return f"t{self.issued}"

    def expire(self) -> None:
        self.good.clear()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if self.failing:
            self.failing -= 1
            return httpx.Response(503)
        if request.headers.get("x-auth-token") not in self.good:
            return httpx.Response(401)
        _v1, account, container, *rest = unquote(request.url.path).lstrip("/").split("/", 3)
        key, name = (account, container), "/".join(rest)
        if not name:
            if request.method == "PUT":
                self.objects.setdefault(key, {})
                return httpx.Response(201)
            if key not in self.objects:
                return httpx.Response(404)
            prefix, marker = request.url.params.get("prefix", ""), request.url.params.get("marker", "")
            names = [n for n in sorted(self.objects[key]) if n.startswith(prefix) and n > marker]
            return httpx.Response(200, json=[{"name": n} for n in names[:self.listing_limit]])
        held = self.objects.get(key)
        if held is None:
            return httpx.Response(404)
        if request.method == "PUT":
            body = request.content
            if request.headers.get("etag") != hashlib.md5(body).hexdigest():
                return httpx.Response(422)
            held[name] = body
            return httpx.Response(201)
        if name not in held:
            return httpx.Response(404)
        if request.method == "DELETE":
            del held[name]
            return httpx.Response(204)
        return httpx.Response(200, content=held[name])


class Auth:
    """As LoopAuth: a cached service token, a new one when asked (``refused``: one swift refuses)."""

    def __init__(self, swift: FakeSwift) -> None:
        self.swift = swift
        self.cached: str | None = None
        self.refused = False

    def endpoint(self) -> str:
        return "http://swift/v1/AUTH_service"

    def token(self, fresh: bool = False) -> str:
        if fresh or self.cached is None:
            self.cached = "bad" if self.refused else self.swift.issue()
        return self.cached


@pytest.fixture
def swift():
    return FakeSwift()


@pytest.fixture
def auth(swift):
    return Auth(swift)


@pytest.fixture
def store(swift, auth):
    s = ObjectStore(auth, http=httpx.Client(transport=httpx.MockTransport(swift)), backoff=0)
    yield s
    s.close()


def test_the_account_url_is_the_catalogs_with_the_backups_account():
    assert account_url("http://h:8080/v1/AUTH_abc/", "AUTH_p1") == "http://h:8080/v1/AUTH_p1"
    assert account_url("http://h:8080/v1", "AUTH_p1") == "http://h:8080/v1/AUTH_p1"


def _image(tmp_path, size=10 * MiB):
    img = tmp_path / "v.raw"
    with open(img, "wb") as f:
        f.truncate(size)
        f.write(os.urandom(3 * MiB))
    return img


def test_a_backup_is_its_chunks_then_its_metadata_and_restores(store, swift, tmp_path):
    img = _image(tmp_path)
    meta = engine.backup_image(img, "raw", store.begin(HERE, "b1"), backup_id="b1", volume_id="v", where=HERE,
                               chunk_size=MiB, scratch=tmp_path / "s", parent=None)
    held = swift.objects[("AUTH_p1", "volumebackups")]
    assert sorted(held) == ["b1/chunks/0000000000", "b1/chunks/0000000001", "b1/chunks/0000000002",
                            "b1/metadata.json"]
    assert json.loads(held["b1/metadata.json"])["accounts"] == {"b1": "AUTH_p1"}
    got, raw = store.read_metadata(HERE, "b1")
    assert hashlib.sha256(raw).hexdigest() == meta["metadata_sha256"]
    out = tmp_path / "o.raw"
    with open(out, "wb") as f:
        f.truncate(10 * MiB)
    engine.restore_image(store, got, out, "raw", scratch=tmp_path / "s", where=HERE)
    assert out.read_bytes() == img.read_bytes()

    held["b1/chunks/0000000002"] = b"\0" + held["b1/chunks/0000000002"][1:]
    with pytest.raises(engine.ChecksumMismatch, match="chunk 2 of backup b1"):
        engine.restore_image(store, got, out, "raw", scratch=tmp_path / "s", where=HERE)
    del held["b1/chunks/0000000001"]
    with pytest.raises(engine.BackupError, match="chunk 1 of backup b1 is missing"):
        engine.restore_image(store, got, out, "raw", scratch=tmp_path / "s", where=HERE)

    store.delete(HERE, "b1")                            # listed in pages of 3
    assert held == {}
    with pytest.raises(StoreError, match="has no metadata object"):
        store.read_metadata(HERE, "b1")


def test_a_create_cut_short_leaves_objects_that_remove_partial_and_abort_remove(store, swift):
    w = store.begin(HERE, "b2")
    for i in range(5):
        w.put_chunk(i, b"x" * 100)
    w._drain()                                     # the uploads done, then the worker "crashes"
    held = swift.objects[("AUTH_p1", "volumebackups")]
    assert len(held) == 5 and "b2/metadata.json" not in held
    store.remove_partial(HERE, "b2")               # the reconcile of the backup left creating
    assert held == {}
    w = store.begin(HERE, "b3")
    w.put_chunk(0, b"y")
    w.abort()
    assert held == {}
    assert store.partials() == []


def test_a_refused_token_is_renewed_once(store, swift, auth):
    store.begin(HERE, "b4").finish(b"{}")
    swift.expire()
    assert store.read_metadata(HERE, "b4")[1] == b"{}"    # 401, a fresh token, then 200
    assert swift.issued == 2
    swift.expire()
    auth.refused = True
    with pytest.raises(StoreError, match="refused the backup service's token"):
        store.read_metadata(HERE, "b4")


def test_a_5xx_is_tried_again_and_the_last_answer_is_the_error(store, swift):
    swift.failing = 2
    store.begin(HERE, "b5").finish(b"{}")               # the container PUT answered 503 twice, then 201
    swift.failing = 3
    with pytest.raises(StoreError, match="answered 503 to reading b5/metadata.json"):
        store.read_metadata(HERE, "b5")
    assert store.read_metadata(HERE, "b5")[1] == b"{}"
