"""The proxy when storage fails: quorum writes with a device gone, reads falling back to other
replicas, error limiting and handoffs taking a write; and the quorum arithmetic itself."""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx
import pytest

from nubes.object.hashing import HashSecret
from nubes.object.proxy.backend import ErrorLimiter, best_status, quorum_size
from nubes.object.ring import Ring
from tests.cloud import start_cloud, stop_cloud

MiB = 2**20


def test_quorum_size_is_a_majority():
    assert [quorum_size(n) for n in (1, 2, 3, 4, 5)] == [1, 2, 2, 3, 3]


def test_best_status_takes_the_first_class_with_a_quorum():
    assert best_status([201, 201, 503], 3) == 201
    assert best_status([201, None, None], 3) == 503       # no answer counts as a 503
    assert best_status([404, 404, 201], 3) == 404
    assert best_status([201, 404, 503], 3) is None        # no class has two
    assert best_status([202, 201, 202], 3) == 202


def test_error_limiter_skips_a_node_after_its_limit():
    class Node:
        ip, port, device = "127.0.0.1", 1, "d1"

    limiter = ErrorLimiter(limit=3, interval=60)
    for _ in range(2):
        limiter.error(Node, "boom")
    assert not limiter.limited(Node)
    limiter.error(Node, "boom")
    assert limiter.limited(Node)
    other = type("Other", (), {"ip": "127.0.0.1", "port": 1, "device": "d2"})
    limiter.limit_now(other, "507")
    assert limiter.limited(other)


@pytest.fixture(scope="module")
def cloud(tmp_path_factory):
    # objects up to 1 MiB here, so that a body streamed past the limit is quick to send
    c = start_cloud(tmp_path_factory.mktemp("object-failures"), services="identity,object",
                    names=("identity", "object"), extra_env={"NUBES_OBJECT__MAX_FILE_SIZE": str(MiB)})
    yield c
    stop_cloud(c)


def _api(cloud, owner):
    base = cloud.url("object", f"/v1/AUTH_{owner.project_id}")
    return lambda method, path, **kw: httpx.request(method, base + path, timeout=30, headers={
        "x-auth-token": owner.token, **kw.pop("headers", {})}, **kw)


def _object_ring(cloud) -> Ring:
    return Ring.load(cloud.state_dir / "object" / "rings" / "object.ring.gz", HashSecret())


def _named_on(ring: Ring, account: str, container: str, devices: list[str]) -> str:
    """An object name whose first primaries are ``devices``, in that order."""
    for i in range(100000):
        name = f"o-{i}"
        _, nodes = ring.get_nodes(account, container, name)
        if [n.device for n in nodes[:len(devices)]] == devices:
            return name
    raise AssertionError(f"no name on {devices}")


class _Gone:
    """Device directories moved away (a failed disk: the servers answer 507) and back."""

    def __init__(self, cloud, names: list[str]) -> None:
        self.root = cloud.state_dir / "object" / "devices"
        self.names = names

    def __enter__(self):
        for n in self.names:
            (self.root / n).rename(self.root / f"{n}.gone")
        return self

    def __exit__(self, *exc):
        for n in self.names:
            Path(self.root / f"{n}.gone").rename(self.root / n)


def test_write_with_a_device_gone_reaches_quorum_and_reads_fall_back(cloud, owner):
    api = _api(cloud, owner)
    account, container = f"AUTH_{owner.project_id}", f"c-{uuid.uuid4().hex[:8]}"
    assert api("PUT", f"/{container}").status_code == 201
    # d2: the next test fails d2 and d3, and needs d1 and d4 not set aside by the error limiter
    name = _named_on(_object_ring(cloud), account, container, ["d2"])
    with _Gone(cloud, ["d2"]):
        r = api("PUT", f"/{container}/{name}", content=b"two of three")
        assert r.status_code == 201, r.text
        got = api("GET", f"/{container}/{name}")        # the first primary has no disk
        assert got.status_code == 200 and got.content == b"two of three"
        assert api("HEAD", f"/{container}/{name}").status_code == 200


def test_two_devices_gone_then_a_handoff_takes_the_write(cloud, owner):
    api = _api(cloud, owner)
    account, container = f"AUTH_{owner.project_id}", f"c-{uuid.uuid4().hex[:8]}"
    assert api("PUT", f"/{container}").status_code == 201
    ring = _object_ring(cloud)
    name = _named_on(ring, account, container, ["d2", "d3"])
    with _Gone(cloud, ["d2", "d3"]):
        # the failed disks answer 507 to a first request and the error limiter sets them aside
        assert api("HEAD", f"/{container}/{name}").status_code == 404
        # so a write goes to the one healthy primary and a handoff: two replicas, a quorum
        r = api("PUT", f"/{container}/{name}", content=b"second")
        assert r.status_code == 201, r.text
        got = api("GET", f"/{container}/{name}")
        assert got.status_code == 200 and got.content == b"second"
    part, _ = ring.get_nodes(account, container, name)
    handoff = next(ring.handoffs(part)).device
    objects = cloud.state_dir / "object" / "devices" / handoff / "objects" / str(part)
    assert objects.is_dir() and any(objects.rglob("*.data"))


def test_a_chunked_body_past_the_limit_is_refused_and_not_stored(cloud, owner):
    api = _api(cloud, owner)
    container = f"c-{uuid.uuid4().hex[:8]}"
    assert api("PUT", f"/{container}").status_code == 201

    def chunks():
        for _ in range(3):
            yield b"x" * (MiB // 2)

    r = api("PUT", f"/{container}/big", content=chunks())
    assert r.status_code == 413 and r.text == "Your request is too large."
    assert api("GET", f"/{container}/big").status_code == 404
    assert api("PUT", f"/{container}/big", content=b"x" * MiB).status_code == 201
    r = api("PUT", f"/{container}/big", content=b"x" * (MiB + 1))
    assert r.status_code == 413
