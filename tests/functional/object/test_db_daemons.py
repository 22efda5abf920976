"""The container and account replicators, the object and container updaters and the expirer,
one pass at a time, over a cluster of four device directories served by real object, container
and account servers on loopback ports (rings of three replicas made here); and the expirer after
an X-Delete-After through the proxy and python-swiftclient."""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn
from swiftclient.client import Connection

from nubes.core.config import load
from nubes.object.daemons.db_replicator import DbReplicator, replicate_once
from nubes.object.daemons.expirer import expire_once
from nubes.object.daemons.updater import update_once
from nubes.object.hashing import hash_path
from nubes.object.proxy.conf import ProxyConfig
from nubes.object.ring import Ring
from nubes.object.ring.builder import RingBuilder
from nubes.object.ring.device import Device, NewDevice
from nubes.object.server.account_server import AccountServer
from nubes.object.server.backend import (Devices, UpdateTarget, read_async_pending,
                                         save_async_pending)
from nubes.object.server.container_server import ContainerServer
from nubes.object.server.db import AccountBroker, ContainerBroker
from nubes.object.server.object_server import ObjectServer
from nubes.object.timestamps import Timestamp
from tests.functional.object.conftest import SECRET, free_port

A = "AUTH_a"


# A day ago: recent enough for the replicators' reclaim_age (7 days) to keep every tombstone.
BASE = int(time.time()) - 86400


def ts(n: int) -> str:
    return f"{BASE + n}.00000"


def old(n: int) -> str:
    """A timestamp older than the reclaim age (by ``n`` seconds less than a day)."""
    return f"{BASE - 7 * 86400 + n}.00000"


@dataclass
class Cluster:
    conf: ProxyConfig
    state_dir: Path
    root: Path
    rings: dict[str, Ring]
    http: httpx.AsyncClient

    def nodes(self, kind: str, *names: str) -> tuple[int, list[Device]]:
        return self.rings[kind].get_nodes(*names)

    def handoff(self, kind: str, *names: str) -> Device:
        part, _ = self.nodes(kind, *names)
        return next(self.rings[kind].handoffs(part))

    def url(self, dev: Device, part: int, path: str) -> str:
        return f"http://{dev.ip}:{dev.port}/{dev.device}/{part}{path}"

    def account_headers(self) -> list[dict[str, str]]:
        part, nodes = self.nodes("account", A)
        return [{"X-Account-Host": f"{n.ip}:{n.port}", "X-Account-Device": n.device,
                 "X-Account-Partition": str(part)} for n in nodes]

    async def make_account(self) -> None:
        part, nodes = self.nodes("account", A)
        for node in nodes:
            r = await self.http.put(self.url(node, part, f"/{A}"), headers={"X-Timestamp": ts(0)})
            assert r.status_code == 201

    async def make_container(self, container: str, devices: list[Device] | None = None) -> None:
        """The container on its primaries (or ``devices``), each telling one account replica."""
        part, nodes = self.nodes("container", A, container)
        for node, update in zip(devices or nodes, self.account_headers(), strict=False):
            r = await self.http.put(self.url(node, part, f"/{A}/{container}"),
                                    headers={"X-Timestamp": ts(1), **update})
            assert r.status_code == 201

    async def put_row(self, container: str, obj: str, n: int, devices: list[Device] | None = None,
                      size: int = 10) -> None:
        part, nodes = self.nodes("container", A, container)
        for node in devices or nodes:
            r = await self.http.put(self.url(node, part, f"/{A}/{container}/{obj}"), headers={
                "X-Timestamp": ts(n), "X-Size": str(size), "X-Content-Type": "text/plain",
                "X-Etag": "e" * 32})
            assert r.status_code == 201

    async def listing(self, kind: str, dev: Device, *names: str) -> list[dict]:
        part, _ = self.nodes(kind, *names)
        r = await self.http.get(self.url(dev, part, "/" + "/".join(names)) + "?format=json")
        assert r.status_code in (200, 204), r.text
        return r.json() if r.status_code == 200 else []

    def db_path(self, kind: str, dev: Device, *names: str) -> Path:
        part, _ = self.nodes(kind, *names)
        digest = hash_path(SECRET, *names).hex()
        return self.root / dev.device / f"{kind}s" / str(part) / digest[-3:] / digest / f"{digest}.db"


@pytest.fixture
async def cluster(tmp_path, served):
    root = tmp_path / "devices"
    for i in range(1, 5):
        (root / f"d{i}").mkdir(parents=True)
    devices = Devices(root, mount_check=False, reserve="0")
    hosts = {"object": served(ObjectServer(devices, SECRET, node_timeout=2).app()),
             "container": served(ContainerServer(devices, SECRET, node_timeout=2).app()),
             "account": served(AccountServer(devices, SECRET).app())}
    ports = {kind: int(host.rsplit(":", 1)[1]) for kind, host in hosts.items()}
    rings_dir = tmp_path / "rings"
    rings_dir.mkdir()
    rings = {}
    for kind, port in ports.items():
        builder = RingBuilder(4, 3, 1)
        for i in range(1, 5):
            builder.add_device(NewDevice(region=1, zone=i, ip="127.0.0.1", port=port,
                                         device=f"d{i}", weight=100.0))
        builder.rebalance()
        builder.write_ring(rings_dir / f"{kind}.ring.gz")
        rings[kind] = Ring.load(rings_dir / f"{kind}.ring.gz", SECRET)
    conf = ProxyConfig(devices=str(root), rings=str(rings_dir), storage_ip="127.0.0.1",
                       object_port=ports["object"], container_port=ports["container"],
                       account_port=ports["account"], hash_path_prefix="pre",
                       hash_path_suffix="suf", node_timeout=2, fallocate_reserve="0")
    async with httpx.AsyncClient(timeout=10) as http:
        yield Cluster(conf, tmp_path, root, rings, http)


async def test_a_container_replica_deleted_from_disk_is_restored(cluster):
    await cluster.make_account()
    await cluster.make_container("c")
    for i in range(3):
        await cluster.put_row("c", f"o{i}", 10 + i)
    _, nodes = cluster.nodes("container", A, "c")
    await cluster.http.post(cluster.url(nodes[0], cluster.nodes("container", A, "c")[0], f"/{A}/c"),
                            headers={"X-Timestamp": ts(20), "X-Container-Meta-Color": "blue"})
    lost = cluster.db_path("container", nodes[1], A, "c")
    shutil.rmtree(lost.parent)
    stats = await replicate_once(cluster.conf, cluster.state_dir)
    assert stats["container"].copied == 1 and stats["container"].failures == 0
    assert lost.exists()
    assert [e["name"] for e in await cluster.listing("container", nodes[1], A, "c")] == \
        ["o0", "o1", "o2"]
    part, _ = cluster.nodes("container", A, "c")
    for node in nodes:        # the metadata set on one replica reached the others
        head = await cluster.http.head(cluster.url(node, part, f"/{A}/c"))
        assert head.headers["x-container-meta-color"] == "blue"
        assert head.headers["x-container-object-count"] == "3"
    # The restored copy is a database of its own, in step with the others.
    ids = {ContainerBroker(cluster.db_path("container", n, A, "c")).replication_info()["id"]
           for n in nodes}
    assert len(ids) == 3
    again = await replicate_once(cluster.conf, cluster.state_dir)
    assert again["container"].copied == 0 and again["container"].rows_sent == 0
    assert again["container"].in_sync == 6 and again["account"].in_sync == 6


async def test_rows_missing_on_one_replica_are_merged_newest_wins(cluster):
    await cluster.make_account()
    await cluster.make_container("c")
    _, nodes = cluster.nodes("container", A, "c")
    await cluster.put_row("c", "both", 10)
    await cluster.put_row("c", "late", 11, devices=nodes[:2])          # nodes[2] was down
    await cluster.put_row("c", "both", 12, devices=nodes[2:], size=99)  # newer, only there
    part, _ = cluster.nodes("container", A, "c")
    r = await cluster.http.delete(cluster.url(nodes[0], part, f"/{A}/c/late"),
                                  headers={"X-Timestamp": ts(13)})
    assert r.status_code == 204                                         # a tombstone row
    stats = await replicate_once(cluster.conf, cluster.state_dir)
    assert stats["container"].rows_sent > 0 and stats["container"].failures == 0
    for node in nodes:
        listing = await cluster.listing("container", node, A, "c")
        assert [(e["name"], e["bytes"]) for e in listing] == [("both", 99)]
    hashes = {ContainerBroker(cluster.db_path("container", n, A, "c")).replication_info()["hash"]
              for n in nodes}
    assert len(hashes) == 1


async def test_a_handoff_database_reverts_to_the_primaries(cluster):
    await cluster.make_account()
    _, nodes = cluster.nodes("container", A, "h")
    handoff = cluster.handoff("container", A, "h")
    # nodes[2] was down when the container was made: a handoff took its place.
    await cluster.make_container("h", devices=[nodes[0], nodes[1], handoff])
    await cluster.put_row("h", "o", 10, devices=[nodes[0], nodes[1], handoff])
    await cluster.put_row("h", "only-on-handoff", 11, devices=[handoff])
    assert not cluster.db_path("container", nodes[2], A, "h").exists()
    for _ in range(2):
        await replicate_once(cluster.conf, cluster.state_dir, kinds=("container",))
    assert not cluster.db_path("container", handoff, A, "h").exists()
    for node in nodes:
        assert [e["name"] for e in await cluster.listing("container", node, A, "h")] == \
            ["o", "only-on-handoff"]


@pytest.fixture
def serve_at():
    """Start an app on a given loopback port (a server coming back): ``serve_at(app, port)``."""
    servers = []

    def start(app, port: int) -> None:
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                               log_level="warning", lifespan="off"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        servers.append((server, thread))
        while not server.started:
            time.sleep(0.01)

    yield start
    for server, thread in servers:
        server.should_exit = True
        thread.join(10)


async def test_updater_delivers_what_a_down_server_missed(cluster, serve_at):
    await cluster.make_account()
    await cluster.make_container("c")
    cpart, cnodes = cluster.nodes("container", A, "c")
    opart, onodes = cluster.nodes("object", A, "c", "o")
    # The container server of the third replica is down (nothing listens on its port yet).
    down_c, down_a = free_port(), free_port()
    targets = [f"{n.ip}:{n.port}" for n in cnodes[:2]] + [f"127.0.0.1:{down_c}"]
    for onode, cnode, host in zip(onodes, cnodes, targets, strict=True):
        r = await cluster.http.put(cluster.url(onode, opart, f"/{A}/c/o"), content=b"hello",
                                   headers={"X-Timestamp": ts(10), "Content-Type": "text/plain",
                                            "X-Container-Host": host,
                                            "X-Container-Device": cnode.device,
                                            "X-Container-Partition": str(cpart)})
        assert r.status_code == 201
    # A container PUT whose account server is down leaves a report pending too.
    apart, anodes = cluster.nodes("account", A)
    dpart, dnodes = cluster.nodes("container", A, "d")
    r = await cluster.http.put(cluster.url(dnodes[0], dpart, f"/{A}/d"), headers={
        "X-Timestamp": ts(11), "X-Account-Host": f"127.0.0.1:{down_a}",
        "X-Account-Device": anodes[0].device, "X-Account-Partition": str(apart)})
    assert r.status_code == 201
    stats = await update_once(cluster.conf, cluster.state_dir)
    assert (stats.pending, stats.delivered, stats.kept) == (2, 0, 2)      # still down: kept
    assert await cluster.listing("container", cnodes[2], A, "c") == []
    # The container updater, in the same pass, reported "d" to every account replica anyway.
    assert stats.reported >= 1
    assert "d" in [e["name"] for e in await cluster.listing("account", anodes[0], A)]
    devices = Devices(cluster.root, mount_check=False, reserve="0")
    serve_at(ContainerServer(devices, SECRET).app(), down_c)                 # back up
    serve_at(AccountServer(devices, SECRET).app(), down_a)
    stats = await update_once(cluster.conf, cluster.state_dir)
    assert (stats.pending, stats.delivered, stats.kept) == (2, 2, 0)
    assert not list(cluster.root.glob("*/async_pending/*/*"))
    listing = await cluster.listing("container", cnodes[2], A, "c")
    assert [(e["name"], e["bytes"], e["content_type"]) for e in listing] == [("o", 5, "text/plain")]


async def test_updater_keeps_only_the_targets_that_failed(cluster):
    await cluster.make_account()
    await cluster.make_container("c")
    cpart, cnodes = cluster.nodes("container", A, "c")
    opart, onodes = cluster.nodes("object", A, "c", "o")
    hosts = ",".join(f"{n.ip}:{n.port}" for n in cnodes)
    # The second target names a device that is not there: 507 there, now and on every replay.
    names = ",".join([cnodes[0].device, "gone", cnodes[2].device])
    # A pending made by hand as the object server writes them, with all three targets.
    save_async_pending(cluster.root / onodes[0].device, "PUT", A, "c", "o", {
        "X-Timestamp": ts(10), "X-Size": "3", "X-Etag": "e" * 32, "X-Content-Type": "a/b"},
        Timestamp.parse(ts(10)), hash_path(SECRET, A, "c", "o"),
        [UpdateTarget(h, d, str(cpart)) for h, d in zip(hosts.split(","), names.split(","),
                                                         strict=True)])
    stats = await update_once(cluster.conf, cluster.state_dir)
    assert (stats.delivered, stats.kept) == (0, 1)
    [path] = cluster.root.glob("*/async_pending/*/*")
    assert [t["device"] for t in read_async_pending(path)["targets"]] == ["gone"]
    for node in (cnodes[0], cnodes[2]):
        assert [e["name"] for e in await cluster.listing("container", node, A, "c")] == ["o"]
    # A damaged file is moved aside, not retried forever.
    path.write_bytes(b"{not json")
    stats = await update_once(cluster.conf, cluster.state_dir)
    assert stats.damaged == 1
    assert list(cluster.root.glob("*/quarantined/async_pending/*"))


async def test_account_counts_converge(cluster):
    await cluster.make_account()
    await cluster.make_container("c")
    await cluster.make_container("e")
    for i in range(3):
        await cluster.put_row("c", f"o{i}", 10 + i, size=7)
    _, anodes = cluster.nodes("account", A)
    # The container servers told the accounts of the new containers, not of their objects.
    assert [(e["name"], e["count"]) for e in await cluster.listing("account", anodes[0], A)] == \
        [("c", 0), ("e", 0)]
    stats = await update_once(cluster.conf, cluster.state_dir)
    # Every container replica reports (three each, the same figures).
    assert stats.reported == 6 and stats.report_failures == 0
    for node in anodes:
        listing = await cluster.listing("account", node, A)
        assert [(e["name"], e["count"], e["bytes"]) for e in listing] == [("c", 3, 21), ("e", 0, 0)]
        apart, _ = cluster.nodes("account", A)
        head = await cluster.http.head(cluster.url(node, apart, f"/{A}"))
        assert (head.headers["x-account-object-count"], head.headers["x-account-bytes-used"]) == \
            ("3", "21")
    assert (await update_once(cluster.conf, cluster.state_dir)).reported == 0    # nothing new
    # An account replica lost is restored with its rows.
    lost = cluster.db_path("account", anodes[2], A)
    shutil.rmtree(lost.parent)
    stats = await replicate_once(cluster.conf, cluster.state_dir, kinds=("account",))
    assert stats["account"].copied == 1
    listing = await cluster.listing("account", anodes[2], A)
    assert [(e["name"], e["count"], e["bytes"]) for e in listing] == [("c", 3, 21), ("e", 0, 0)]


def rows(path: Path, table: str) -> list[tuple]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(f"SELECT name, deleted FROM {table} ORDER BY name").fetchall()
    finally:
        conn.close()


async def make_account_at(cluster, stamp: str) -> None:
    part, nodes = cluster.nodes("account", A)
    for node in nodes:
        r = await cluster.http.put(cluster.url(node, part, f"/{A}"), headers={"X-Timestamp": stamp})
        assert r.status_code == 201


async def container_request(cluster, method: str, name: str, stamp: str, tell: bool = True
                            ) -> None:
    """A container PUT or DELETE on its primaries, each telling one account replica."""
    part, nodes = cluster.nodes("container", A, name)
    updates = cluster.account_headers() if tell else [{}] * len(nodes)
    for node, update in zip(nodes, updates, strict=True):
        r = await cluster.http.request(method, cluster.url(node, part, f"/{A}/{name}"),
                                       headers={"X-Timestamp": stamp, **update})
        assert r.status_code == (201 if method == "PUT" else 204), r.text


async def test_deleted_rows_older_than_reclaim_age_are_forgotten(cluster):
    await make_account_at(cluster, old(0))
    await container_request(cluster, "PUT", "c", old(0))
    part, nodes = cluster.nodes("container", A, "c")
    for name, put, delete in (("long-gone", old(1), old(2)), ("recent-tombstone", ts(5), ts(6)),
                              ("live", old(3), None)):
        for node in nodes:
            r = await cluster.http.put(cluster.url(node, part, f"/{A}/c/{name}"), headers={
                "X-Timestamp": put, "X-Size": "1", "X-Content-Type": "a/b", "X-Etag": "e" * 32})
            assert r.status_code == 201
            if delete:
                r = await cluster.http.delete(cluster.url(node, part, f"/{A}/c/{name}"),
                                              headers={"X-Timestamp": delete})
                assert r.status_code == 204
    # A container deleted long ago, as its account recorded it.
    await container_request(cluster, "PUT", "old", old(0))
    await container_request(cluster, "DELETE", "old", old(4))
    _, anodes = cluster.nodes("account", A)
    assert ("old", 1) in rows(cluster.db_path("account", anodes[0], A), "containers")
    stats = await replicate_once(cluster.conf, cluster.state_dir)
    assert stats["container"].rows_reclaimed == 3 and stats["account"].rows_reclaimed == 3
    assert stats["container"].failures == stats["account"].failures == 0
    for node in nodes:
        assert rows(cluster.db_path("container", node, A, "c"), "objects") == \
            [("live", 0), ("recent-tombstone", 1)]
    for node in anodes:
        assert rows(cluster.db_path("account", node, A), "containers") == [("c", 0)]
    # Forgotten everywhere: nothing comes back at the next pass.
    again = await replicate_once(cluster.conf, cluster.state_dir)
    assert again["container"].rows_reclaimed == again["account"].rows_reclaimed == 0
    assert again["container"].rows_sent == again["account"].rows_sent == 0


async def test_a_database_deleted_longer_ago_than_reclaim_age_is_removed(cluster):
    await make_account_at(cluster, old(0))
    for name, stamp in (("gone", old(5)), ("recent", ts(5)), ("unreported", old(6))):
        await container_request(cluster, "PUT", name, old(1))
        await container_request(cluster, "DELETE", name, stamp)
    # The container servers told the account; the updater's report of the deleted figures was
    # taken for "gone" and "recent", not (an account unreachable, say) for "unreported".
    unreported = [ContainerBroker(cluster.db_path("container", n, A, "unreported"))
                  for n in cluster.nodes("container", A, "unreported")[1]]
    await update_once(cluster.conf, cluster.state_dir)
    for broker in unreported:
        broker.set_reported({})
    stats = await replicate_once(cluster.conf, cluster.state_dir, kinds=("container",))
    assert stats["container"].reclaimed == 3 and stats["container"].copied == 0
    for name, there in (("gone", False), ("recent", True), ("unreported", True)):
        _, nodes = cluster.nodes("container", A, name)
        assert [cluster.db_path("container", n, A, name).exists() for n in nodes] == [there] * 3
    # Nor is it sent back by a replica that still had it: each removes its own before syncing.
    again = await replicate_once(cluster.conf, cluster.state_dir, kinds=("container",))
    assert again["container"].reclaimed == 0 and again["container"].copied == 0
    # An account deleted long ago goes once it lists no live container.
    apart, anodes = cluster.nodes("account", A)
    brokers = [AccountBroker(cluster.db_path("account", n, A)) for n in anodes]
    for broker in brokers:
        broker.put_container("live", Timestamp.parse(old(2)), Timestamp(0), 1, 1)
    for node in anodes:
        r = await cluster.http.delete(cluster.url(node, apart, f"/{A}"),
                                      headers={"X-Timestamp": old(7)})
        assert r.status_code == 204
    stats = await replicate_once(cluster.conf, cluster.state_dir, kinds=("account",))
    assert stats["account"].reclaimed == 0
    for broker in brokers:
        broker.put_container("live", Timestamp.parse(old(2)), Timestamp.parse(old(8)), 0, 0)
    stats = await replicate_once(cluster.conf, cluster.state_dir, kinds=("account",))
    assert stats["account"].reclaimed == 3 and stats["account"].copied == 0
    assert not any(cluster.db_path("account", n, A).exists() for n in anodes)


def damage(path: Path, at: int = 0) -> None:
    """Overwrite 4 KiB of the file at ``at`` (0: its header, "file is not a database")."""
    with open(path, "r+b") as f:
        f.seek(at)
        f.write(b"\xff" * 4096)


async def test_a_damaged_database_is_quarantined_and_restored(cluster):
    await cluster.make_account()
    await cluster.make_container("c")
    for i in range(3):
        await cluster.put_row("c", f"o{i}", 10 + i)
    part, nodes = cluster.nodes("container", A, "c")
    bad = cluster.db_path("container", nodes[1], A, "c")
    damage(bad)
    # The replicator of the damaged replica's device finds it first (here: that device alone).
    ring = cluster.rings["container"]
    stats = await DbReplicator("container", ring, cluster.root, [nodes[1]], cluster.http).run()
    assert stats.quarantined == 1 and stats.failures == 0
    assert not bad.exists()
    moved = cluster.root / nodes[1].device / "quarantined" / "containers" / bad.parent.name
    assert (moved / bad.name).read_bytes()[:16] == b"\xff" * 16
    # The other replicas' replicators send it whole.
    stats = await replicate_once(cluster.conf, cluster.state_dir, kinds=("container",))
    assert stats["container"].copied == 1
    assert [e["name"] for e in await cluster.listing("container", nodes[1], A, "c")] == \
        ["o0", "o1", "o2"]


async def test_a_request_to_a_damaged_database_answers_500_then_404(cluster):
    await cluster.make_account()
    await cluster.make_container("c")
    for i in range(200):                  # several pages, one of which is damaged
        await cluster.put_row("c", f"object-with-a-longer-name-{i:04d}", 10)
    part, nodes = cluster.nodes("container", A, "c")
    bad = cluster.db_path("container", nodes[2], A, "c")
    damage(bad, at=bad.stat().st_size // 2)
    url = cluster.url(nodes[2], part, f"/{A}/c")
    r = await cluster.http.get(url + "?format=json")
    assert r.status_code == 500 and "database error" in r.text
    assert not bad.exists()
    assert list((cluster.root / nodes[2].device / "quarantined" / "containers").iterdir())
    assert (await cluster.http.head(url)).status_code == 404
    # A peer's pass finds no replica there and sends it whole.
    stats = await replicate_once(cluster.conf, cluster.state_dir, kinds=("container",))
    assert stats["container"].copied == 1
    head = await cluster.http.head(url)
    assert head.status_code == 204 and head.headers["x-container-object-count"] == "200"


async def replicate(cluster, url, headers=None, **kw):
    headers = {"X-Backend-Method": "REPLICATE", **(headers or {})}
    return await cluster.http.post(url, headers=headers, **kw)


async def test_replicate_rejects_bad_requests(cluster):
    await cluster.make_account()
    await cluster.make_container("c")
    part, nodes = cluster.nodes("container", A, "c")
    digest = hash_path(SECRET, A, "c").hex()
    url = cluster.url(nodes[0], part, f"/{digest}")
    assert (await replicate(cluster, url, content=b"{")).status_code == 400
    assert (await replicate(cluster, url, json={"op": "nope"})).status_code == 400
    r = await replicate(cluster, url, json={"op": "sync", "id": "x"})
    assert r.status_code == 400
    r = await replicate(cluster, url, json={"op": "sync", "id": "x", "created_at": ts(0),
                                            "put_timestamp": ts(0), "delete_timestamp": "0",
                                            "metadata": ["not", "a", "dict"]})
    assert r.status_code == 400
    for items in ([["o", "never", 1, "a/b", "e", 0]], [["o", ts(1)]], [[{"x": 1}, ts(1), 1, "", "", 0]]):
        r = await replicate(cluster, url, json={"op": "merge_items", "id": "x", "items": items,
                                                "point": 1})
        assert r.status_code == 400, items
    assert await cluster.listing("container", nodes[0], A, "c") == []
    bad = cluster.url(nodes[0], part, "/not-a-hash")
    assert (await replicate(cluster, bad, json={"op": "sync"})).status_code == 400
    # A whole database under another record's hash is refused, and nothing is kept.
    other = hash_path(SECRET, A, "other").hex()
    body = cluster.db_path("container", nodes[0], A, "c").read_bytes()
    r = await replicate(cluster, cluster.url(nodes[1], part, f"/{other}"),
                                   content=body, headers={"Content-Type": "application/vnd.sqlite3"})
    assert r.status_code == 400
    r = await replicate(cluster, cluster.url(nodes[1], part, f"/{digest}"),
                                   content=b"not sqlite", headers={"Content-Type": "application/vnd.sqlite3"})
    assert r.status_code == 409                       # it has one: sync it instead
    missing = hash_path(SECRET, A, "missing").hex()
    r = await replicate(cluster, cluster.url(nodes[1], part, f"/{missing}"),
                                   json={"op": "sync"})
    assert r.status_code == 404


async def test_expirer_deletes_only_the_version_queued(cluster):
    await cluster.make_account()
    await cluster.make_container("c")
    cpart, cnodes = cluster.nodes("container", A, "c")
    opart, onodes = cluster.nodes("object", A, "c", "o")
    now = int(time.time())

    async def put(name: str, stamp: float, delete_at: int | None):
        part, nodes = cluster.nodes("object", A, "c", name)
        for onode, cnode in zip(nodes, cnodes, strict=True):
            headers = {"X-Timestamp": Timestamp.parse(stamp).internal,
                       "X-Container-Host": f"{cnode.ip}:{cnode.port}",
                       "X-Container-Device": cnode.device, "X-Container-Partition": str(cpart)}
            if delete_at is not None:
                headers["X-Delete-At"] = str(delete_at)
            r = await cluster.http.put(cluster.url(onode, part, f"/{A}/c/{name}"), content=b"x",
                                       headers=headers)
            assert r.status_code == 201

    await put("o", now - 1, now + 100)
    await put("kept", now - 1, now + 100)
    # "kept" is given a later X-Delete-At by a POST: its first entry no longer applies.
    kpart, knodes = cluster.nodes("object", A, "c", "kept")
    for node in knodes:
        r = await cluster.http.post(cluster.url(node, kpart, f"/{A}/c/kept"), headers={
            "X-Timestamp": Timestamp.parse(now).internal, "X-Delete-At": str(now + 1000)})
        assert r.status_code == 202
    assert (await expire_once(cluster.conf, cluster.state_dir, now=now)).due == 0
    stats = await expire_once(cluster.conf, cluster.state_dir, now=now + 100)
    assert stats.due == 6 and stats.expired == 6 and stats.kept == 0
    for node in cnodes:
        assert [e["name"] for e in await cluster.listing("container", node, A, "c")] == ["kept"]
    for node in onodes:
        r = await cluster.http.head(cluster.url(node, opart, f"/{A}/c/o"))
        assert r.status_code == 404 and r.headers["x-backend-timestamp"] == \
            Timestamp.parse(now + 100).internal
    for node in knodes:
        assert (await cluster.http.head(cluster.url(node, kpart, f"/{A}/c/kept"))).status_code == 200
    left = sorted(p.name.split("-")[0] for p in cluster.root.glob("*/expiring/*/*"))
    assert left == [str(now + 1000)] * 3
    r = await cluster.http.delete(cluster.url(knodes[0], kpart, f"/{A}/c/kept"), headers={
        "X-Timestamp": Timestamp.parse(now + 1).internal, "X-If-Delete-At": "soon"})
    assert r.status_code == 400


# -- through the proxy


def _conf_of(cloud) -> ProxyConfig:
    env = {k: v for k, v in cloud.env.items() if k.startswith("NUBES_OBJECT__")}
    return load(None, {"object": ProxyConfig}, env=env).services["object"]


def test_x_delete_after_object_leaves_the_listing_after_a_pass(cloud, owner):
    conn = Connection(preauthurl=cloud.url("object", f"/v1/AUTH_{owner.project_id}"),
                      preauthtoken=owner.token, retries=0)
    conn.put_container("expiring")
    conn.put_object("expiring", "soon", b"bye", headers={"X-Delete-After": "1"})
    conn.put_object("expiring", "stays", b"hi")
    time.sleep(2.1)             # X-Delete-After: 1 is the next whole second at least 1 s away
    with pytest.raises(Exception) as err:
        conn.get_object("expiring", "soon")
    assert getattr(err.value, "http_status", None) == 404
    # Gone for a GET at once; still listed until the expirer has run.
    assert [o["name"] for o in conn.get_container("expiring")[1]] == ["soon", "stays"]
    stats = asyncio.run(expire_once(_conf_of(cloud), cloud.state_dir))
    assert stats.expired >= 1 and stats.kept == 0
    assert [o["name"] for o in conn.get_container("expiring")[1]] == ["stays"]


async def test_the_agents_repeat_their_passes(cluster):
    """What ``nubes up`` runs: the agents of the spec, here with intervals of a tenth of a second."""
    from nubes.core.config import Config
    from nubes.core.service import Runtime
    from nubes.object import SPEC

    await cluster.make_account()
    await cluster.make_container("c")
    _, nodes = cluster.nodes("container", A, "c")
    lost = cluster.db_path("container", nodes[0], A, "c")
    shutil.rmtree(lost.parent)
    await cluster.put_row("c", "o", 10, devices=nodes[1:])
    conf = Config(path=None)
    conf.core.state_dir = str(cluster.state_dir)
    cluster.conf.db_replicator_interval = cluster.conf.updater_interval = 0.1
    cluster.conf.expirer_interval = cluster.conf.replicator_interval = cluster.conf.auditor_interval = 0
    conf.services["object"] = cluster.conf
    rt = Runtime(name="object", conf=conf)
    tasks = [asyncio.create_task(agent(rt)) for agent in SPEC.agents]
    _, anodes = cluster.nodes("account", A)
    try:
        for _ in range(100):
            listing = await cluster.listing("account", anodes[0], A)
            if lost.exists() and listing and listing[0]["count"] == 1:
                break
            await asyncio.sleep(0.1)
        assert lost.exists() and [e["name"] for e in await cluster.listing(
            "container", nodes[0], A, "c")] == ["o"]
        assert [(e["name"], e["count"]) for e in listing] == [("c", 1)]
        assert len(tasks) == 1 and not tasks[0].done()      # one agent; the daemons turned off stay off
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
