"""The object replicator and auditor over four storage nodes in process: one object server per node
(its own devices directory, its own address in a ring of 3 replicas), reached through a transport
that can take a node down. Each test calls the one-pass functions, so none waits for an interval."""

from __future__ import annotations

import hashlib
import os
import shutil
import time
from pathlib import Path

import httpx
import pytest

from nubes.object.daemons.auditor import ObjectAuditor
from nubes.object.daemons.replicator import ObjectReplicator, ReplicationStats
from nubes.object.hashing import hash_path
from nubes.object.ring import Device, Ring, RingBuilder
from nubes.object.ring.device import NewDevice
from nubes.object.server.backend import Devices
from nubes.object.server.object_server import ObjectServer
from nubes.object.timestamps import Timestamp
from tests.functional.object.conftest import SECRET

ACCOUNT, CONTAINER = "AUTH_test", "c"
DAY = 24 * 3600


class Router(httpx.AsyncBaseTransport):
    """Each ``ip:port`` to its node's app; a node in ``down`` refuses connections."""

    def __init__(self, apps: dict[str, object]):
        self.transports = {host: httpx.ASGITransport(app=app) for host, app in apps.items()}
        self.down: set[str] = set()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        host = f"{request.url.host}:{request.url.port}"
        if host in self.down or host not in self.transports:
            raise httpx.ConnectError(f"{host} is down", request=request)
        return await self.transports[host].handle_async_request(request)


class Cluster:
    def __init__(self, tmp: Path):
        builder = RingBuilder(4, 3, 1)
        self.roots: dict[str, Path] = {}
        for i, name in enumerate(("sda", "sdb", "sdc", "sdd")):
            builder.add_device(NewDevice(1, i + 1, "127.0.0.1", 6100 + i, name, 100.0))
            self.roots[name] = tmp / f"node{i + 1}"
            (self.roots[name] / name).mkdir(parents=True)
        builder.rebalance()
        self.ring = Ring.from_bytes(builder.ring().to_bytes(), SECRET)
        self.router = Router({f"127.0.0.1:{6100 + i}": ObjectServer(
            Devices(self.roots[name], reserve="0"), SECRET).app()
            for i, name in enumerate(self.roots)})
        self.http = httpx.AsyncClient(transport=self.router)

    def device(self, name: str) -> Device:
        return next(d for d in self.ring.devs if d is not None and d.device == name)

    def replicator(self, name: str, clock=time.time) -> ObjectReplicator:
        dev = self.device(name)
        return ObjectReplicator(Devices(self.roots[name], reserve="0"), self.ring, {(dev.ip, dev.port)},
                                client=self.http, clock=clock)

    def auditor(self, name: str, **kw) -> ObjectAuditor:
        return ObjectAuditor(Devices(self.roots[name], reserve="0"), SECRET, **kw)

    async def replicate_all(self, clock=time.time) -> ReplicationStats:
        total = ReplicationStats()
        for name in self.roots:
            stats = await self.replicator(name, clock).replicate_once()
            for field in ("partitions", "suffixes_synced", "objects_pushed", "handoffs_reverted",
                          "reclaimed", "quarantined", "failures"):
                setattr(total, field, getattr(total, field) + getattr(stats, field))
        return total

    def down(self, dev: Device) -> None:
        self.router.down.add(dev.server)

    def up(self, dev: Device) -> None:
        self.router.down.discard(dev.server)

    async def request(self, method: str, dev: Device, part: int, obj: str, **kw) -> httpx.Response:
        url = f"http://{dev.server}/{dev.device}/{part}/{ACCOUNT}/{CONTAINER}/{obj}"
        return await self.http.request(method, url, **kw)

    def object_dir(self, dev: Device, part: int, obj: str) -> Path:
        name = hash_path(SECRET, ACCOUNT, CONTAINER, obj).hex()
        return self.roots[dev.device] / dev.device / "objects" / str(part) / name[-3:] / name

    def files(self, dev: Device, part: int, obj: str) -> list[str]:
        path = self.object_dir(dev, part, obj)
        return sorted(os.listdir(path)) if path.is_dir() else []

    def quarantined(self, dev: Device) -> list[str]:
        path = self.roots[dev.device] / dev.device / "quarantined" / "objects"
        return sorted(os.listdir(path)) if path.is_dir() else []


@pytest.fixture
async def cluster(tmp_path):
    c = Cluster(tmp_path)
    yield c
    await c.http.aclose()


def _ts(offset: float = 0.0) -> str:
    return Timestamp.parse(time.time() + offset).internal


async def _put(cluster: Cluster, devs: list[Device], part: int, obj: str, body: bytes, ts: str,
               **headers: str) -> None:
    for dev in devs:
        resp = await cluster.request("PUT", dev, part, obj, content=body, headers={
            "X-Timestamp": ts, "Content-Type": "text/plain", **headers})
        assert resp.status_code == 201, resp.text


async def _get(cluster: Cluster, dev: Device, part: int, obj: str) -> httpx.Response:
    return await cluster.request("GET", dev, part, obj)


def _nodes(cluster: Cluster, obj: str) -> tuple[int, list[Device], Device]:
    part, primaries = cluster.ring.get_nodes(ACCOUNT, CONTAINER, obj)
    return part, primaries, next(cluster.ring.handoffs(part))


async def test_a_replica_file_removed_from_disk_is_restored_by_one_pass(cluster):
    part, primaries, _ = _nodes(cluster, "removed")
    ts = _ts()
    await _put(cluster, primaries, part, "removed", b"hello world", ts, **{"X-Object-Meta-Color": "blue"})
    lost = primaries[1]
    [data] = cluster.files(lost, part, "removed")
    os.unlink(cluster.object_dir(lost, part, "removed") / data)      # behind the server's back
    assert (await _get(cluster, lost, part, "removed")).status_code == 404

    stats = await cluster.replicate_all()
    assert stats.objects_pushed == 1 and stats.suffixes_synced >= 1 and stats.failures == 0
    resp = await _get(cluster, lost, part, "removed")
    assert resp.status_code == 200 and resp.content == b"hello world"
    assert resp.headers["x-backend-timestamp"] == ts                  # the original version
    assert resp.headers["x-object-meta-color"] == "blue"
    assert resp.headers["etag"] == hashlib.md5(b"hello world").hexdigest()
    assert resp.headers["content-type"] == "text/plain"

    again = await cluster.replicate_all()                              # in step: nothing to do
    assert (again.objects_pushed, again.suffixes_synced, again.failures) == (0, 0, 0)
    assert again.partitions == stats.partitions


async def test_a_write_to_a_handoff_goes_to_the_primary_and_leaves_the_handoff(cluster):
    part, primaries, handoff = _nodes(cluster, "handed")
    missing = primaries[2]
    cluster.down(missing)
    await _put(cluster, [primaries[0], primaries[1], handoff], part, "handed", b"while down", _ts())

    stats = await cluster.replicate_all()               # the primary still down: the handoff keeps it
    assert stats.failures > 0 and stats.handoffs_reverted == 0
    assert cluster.files(handoff, part, "handed")

    cluster.up(missing)
    stats = await cluster.replicate_all()
    assert stats.handoffs_reverted == 1 and stats.failures == 0
    assert (await _get(cluster, missing, part, "handed")).content == b"while down"
    assert not (cluster.roots[handoff.device] / handoff.device / "objects" / str(part)).exists()
    for dev in primaries:
        assert len(cluster.files(dev, part, "handed")) == 1


async def test_a_handoff_keeps_a_file_that_no_primary_confirmed(cluster):
    part, primaries, handoff = _nodes(cluster, "kept")
    await _put(cluster, [handoff], part, "kept", b"only here", _ts())
    cluster.down(primaries[0])
    await cluster.replicator(handoff.device).replicate_once()
    assert cluster.files(handoff, part, "kept")         # two of three primaries have it: kept
    assert (await _get(cluster, primaries[1], part, "kept")).content == b"only here"
    cluster.up(primaries[0])
    stats = await cluster.replicator(handoff.device).replicate_once()
    assert stats.handoffs_reverted == 1 and not cluster.files(handoff, part, "kept")


async def test_a_failed_disk_s_replica_goes_to_a_handoff_until_the_disk_is_replaced(cluster):
    part, primaries, handoff = _nodes(cluster, "failed-disk")
    await _put(cluster, primaries, part, "failed-disk", b"keep three", _ts())
    failed = primaries[2]
    disk = cluster.roots[failed.device] / failed.device
    shutil.rmtree(disk)                           # its server answers 507 for it
    stats = await cluster.replicate_all()
    assert stats.failures > 0
    assert (await _get(cluster, handoff, part, "failed-disk")).content == b"keep three"

    disk.mkdir()                                  # a new, empty disk in its place
    stats = await cluster.replicate_all()
    assert stats.failures == 0 and stats.handoffs_reverted == 1
    assert (await _get(cluster, failed, part, "failed-disk")).content == b"keep three"
    assert not cluster.files(handoff, part, "failed-disk")


async def test_newest_wins_both_ways_a_tombstone_over_older_data_and_newer_data_kept(cluster):
    part, primaries, _ = _nodes(cluster, "deleted")
    await _put(cluster, primaries, part, "deleted", b"old", _ts(-10))
    deleted_at = _ts(-5)
    resp = await cluster.request("DELETE", primaries[0], part, "deleted",
                                 headers={"X-Timestamp": deleted_at})
    assert resp.status_code == 204

    part2, primaries2, _ = _nodes(cluster, "rewritten")
    await _put(cluster, primaries2, part2, "rewritten", b"first", _ts(-10))
    newer = _ts(-5)
    await _put(cluster, [primaries2[2]], part2, "rewritten", b"second", newer)

    await cluster.replicate_all()
    for dev in primaries:
        resp = await _get(cluster, dev, part, "deleted")
        assert resp.status_code == 404 and resp.headers["x-backend-timestamp"] == deleted_at
        assert cluster.files(dev, part, "deleted") == [f"{deleted_at}.ts"]
    for dev in primaries2:
        resp = await _get(cluster, dev, part2, "rewritten")
        assert resp.content == b"second" and resp.headers["x-backend-timestamp"] == newer


async def test_a_post_reaches_every_replica_and_an_older_one_does_not_undo_it(cluster):
    part, primaries, _ = _nodes(cluster, "posted")
    await _put(cluster, primaries, part, "posted", b"body", _ts(-10), **{"X-Object-Meta-A": "1"})
    older, newer = _ts(-6), _ts(-3)
    for dev, ts, value in ((primaries[0], newer, "new"), (primaries[1], older, "old")):
        resp = await cluster.request("POST", dev, part, "posted", headers={
            "X-Timestamp": ts, "X-Object-Meta-A": value, "Content-Type": "text/x-new"})
        assert resp.status_code == 202
    await cluster.replicate_all()
    for dev in primaries:
        resp = await _get(cluster, dev, part, "posted")
        assert resp.content == b"body" and resp.headers["x-object-meta-a"] == "new"
        assert resp.headers["content-type"] == "text/x-new"
        assert resp.headers["x-backend-meta-timestamp"] == newer


async def test_tombstones_older_than_reclaim_age_are_removed_not_spread(cluster):
    part, primaries, _ = _nodes(cluster, "reclaimed")
    ancient = _ts(-8 * DAY)
    for dev in primaries[:2]:                    # the third never saw it: it must not get it
        resp = await cluster.request("DELETE", dev, part, "reclaimed",
                                     headers={"X-Timestamp": ancient})
        assert resp.status_code == 404
    recent = _ts(-DAY)
    stats = await cluster.replicate_all()
    assert stats.reclaimed == 2 and stats.objects_pushed == 0
    assert all(not cluster.files(dev, part, "reclaimed") for dev in primaries)
    # a tombstone younger than reclaim_age is kept and spread
    resp = await cluster.request("DELETE", primaries[0], part, "reclaimed",
                                 headers={"X-Timestamp": recent})
    assert resp.status_code == 404
    stats = await cluster.replicate_all()
    assert stats.reclaimed == 0
    assert all(cluster.files(dev, part, "reclaimed") == [f"{recent}.ts"] for dev in primaries)


async def test_the_auditor_quarantines_a_damaged_body_and_the_replicator_restores_it(cluster):
    part, primaries, _ = _nodes(cluster, "rotten")
    body = os.urandom(100_000)
    await _put(cluster, primaries, part, "rotten", body, _ts())
    bad = primaries[0]
    [data] = cluster.files(bad, part, "rotten")
    path = cluster.object_dir(bad, part, "rotten") / data
    with open(path, "r+b") as f:                  # one flipped byte, same length: only the MD5 tells
        f.seek(5000)
        byte = f.read(1)
        f.seek(5000)
        f.write(bytes([byte[0] ^ 0xFF]))

    stats = await cluster.auditor(bad.device).audit_once()
    assert stats.quarantined == 1 and stats.objects == 1 and stats.bytes == len(body)
    assert cluster.quarantined(bad) == [path.parent.name]
    assert (await _get(cluster, bad, part, "rotten")).status_code == 404
    for dev in primaries[1:]:                     # the good replicas pass
        assert (await cluster.auditor(dev.device).audit_once()).quarantined == 0

    await cluster.replicate_all()
    resp = await _get(cluster, bad, part, "rotten")
    assert resp.status_code == 200 and resp.content == body
    assert (await cluster.auditor(bad.device).audit_once()).quarantined == 0


@pytest.mark.parametrize("damage", ["truncated", "trailer", "wrong-name"])
async def test_the_auditor_quarantines_unreadable_or_misplaced_metadata(cluster, damage):
    part, primaries, _ = _nodes(cluster, "meta")
    await _put(cluster, primaries, part, "meta", b"0123456789", _ts())
    dev = primaries[1]
    path = cluster.object_dir(dev, part, "meta") / cluster.files(dev, part, "meta")[0]
    raw = path.read_bytes()
    if damage == "truncated":
        path.write_bytes(raw[:5] + raw[10:])      # the trailer readable, the body short
    elif damage == "trailer":
        path.write_bytes(raw[:-3])
    else:                                         # a file moved into another object's directory
        other = cluster.object_dir(dev, part, "meta").with_name("0" * 29 + path.parent.name[-3:])
        other.mkdir()
        os.replace(path, other / path.name)
    stats = await cluster.auditor(dev.device).audit_once()
    assert stats.quarantined == 1
    await cluster.replicate_all()
    assert (await _get(cluster, dev, part, "meta")).content == b"0123456789"


async def test_a_damaged_copy_is_never_spread(cluster):
    part, primaries, _ = _nodes(cluster, "spread")
    await _put(cluster, primaries, part, "spread", b"good bytes", _ts())
    source, target = primaries[0], primaries[1]
    path = cluster.object_dir(source, part, "spread") / cluster.files(source, part, "spread")[0]
    raw = bytearray(path.read_bytes())
    raw[0] ^= 0xFF
    path.write_bytes(bytes(raw))
    os.unlink(cluster.object_dir(target, part, "spread") / cluster.files(target, part, "spread")[0])
    stats = await cluster.replicator(source.device).replicate_once()
    assert stats.quarantined == 1                  # the peer refused its body (422): moved aside
    assert (await _get(cluster, target, part, "spread")).status_code == 404
    await cluster.replicate_all()
    for dev in primaries:
        assert (await _get(cluster, dev, part, "spread")).content == b"good bytes"


async def test_the_auditor_keeps_to_its_pace(cluster):
    dev = cluster.device("sda")
    names = [f"p{i}" for i in range(40) if dev in cluster.ring.get_nodes(ACCOUNT, CONTAINER, f"p{i}")[1]]
    for name in names[:6]:
        await _put(cluster, [dev], cluster.ring.get_nodes(ACCOUNT, CONTAINER, name)[0], name, b"x", _ts())
    stats = await cluster.auditor(dev.device, files_per_second=30, bytes_per_second=0).audit_once()
    assert stats.objects == 6 and stats.seconds >= 6 / 30 * 0.9
    name = names[6]
    await _put(cluster, [dev], cluster.ring.get_nodes(ACCOUNT, CONTAINER, name)[0], name,
               b"y" * 400_000, _ts())
    stats = await cluster.auditor(dev.device, files_per_second=0, bytes_per_second=2_000_000).audit_once()
    assert stats.bytes == 400_006 and stats.seconds >= 0.2 * 0.9


async def test_ssync_missing_check_and_replication_writes(cluster):
    part, primaries, _ = _nodes(cluster, "checked")
    dev = primaries[0]
    ts, meta_ts = _ts(-10), _ts(-5)
    await _put(cluster, [dev], part, "checked", b"x", ts)
    name = hash_path(SECRET, ACCOUNT, CONTAINER, "checked").hex()
    url = f"http://{dev.server}/{dev.device}/{part}"
    older, newer = _ts(-20), _ts(-1)
    resp = await cluster.http.request("SSYNC", url, json={
        name: {"ts": older, "meta": None},
        "f" * 32: {"ts": older, "meta": None}})
    assert resp.status_code == 200 and resp.json() == {"f" * 32: ["data"]}
    resp = await cluster.http.request("SSYNC", url, json={name: {"ts": ts, "meta": meta_ts}})
    assert resp.json() == {name: ["meta"]}
    resp = await cluster.http.request("SSYNC", url, json={name: {"ts": newer, "meta": None}})
    assert resp.json() == {name: ["data"]}
    for bad in (b"not json", b"[]", b'{"xyz": {"ts": "1"}}', b'{"' + b"a" * 32 + b'": {"ts": "soon"}}',
                b'{"' + b"a" * 32 + b'": {}}'):
        resp = await cluster.http.request("SSYNC", url, content=bad)
        assert resp.status_code == 400, bad
    # a replicated copy keeps its X-Delete-At even once it is past (a client's would be refused)
    resp = await cluster.request("PUT", primaries[1], part, "checked", content=b"x", headers={
        "X-Timestamp": ts, "X-Delete-At": "1000", "X-Backend-Replication": "True"})
    assert resp.status_code == 201
    resp = await cluster.request("PUT", primaries[2], part, "checked", content=b"x", headers={
        "X-Timestamp": ts, "X-Delete-At": "1000"})
    assert resp.status_code == 400


async def test_stray_entries_in_a_partition_do_not_stop_the_daemons(cluster):
    part, primaries, _ = _nodes(cluster, "stray")
    await _put(cluster, primaries, part, "stray", b"fine", _ts())
    dev = primaries[0]
    suffix_dir = cluster.object_dir(dev, part, "stray").parent
    (suffix_dir / ("z" * 32)).mkdir()                    # not a hash: 32 characters, not hex
    (suffix_dir / ("z" * 32) / f"{_ts()}.data").write_bytes(b"junk")
    (suffix_dir / "notes.txt").write_bytes(b"left by someone")
    os.unlink(cluster.object_dir(primaries[1], part, "stray") / cluster.files(primaries[1], part, "stray")[0])
    stats = await cluster.replicate_all()
    assert stats.failures == 0 and stats.objects_pushed == 1
    assert (await _get(cluster, primaries[1], part, "stray")).content == b"fine"
    audit = await cluster.auditor(dev.device).audit_once()
    assert audit.quarantined == 0 and audit.errors == 0 and audit.objects == 1
