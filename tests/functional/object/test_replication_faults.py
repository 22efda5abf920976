"""A storage node killed during a stream of PUTs: four storage nodes in processes of their own
(object, container and account servers each, rings of 3 replicas over them), the proxy of a
`nubes up` with identity in front, python-swiftclient writing. Every object the proxy
acknowledged is readable, and after the node's restart one replication pass leaves each on its
three primaries and none on a handoff."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest
from swiftclient.client import ClientException, Connection

from nubes.object.daemons.replicator import ObjectReplicator
from nubes.object.hashing import HashSecret, hash_path
from nubes.object.ring import Ring, RingBuilder
from nubes.object.ring.device import NewDevice
from nubes.object.server.backend import Devices
from tests.cloud import REPO, new_user, start_cloud, stop_cloud

KINDS = ("object", "container", "account")


class StorageNode:
    """A node's process, on ports the test holds from start to end: while the node is down they are
    bound but not listening (a connection is refused, as by a dead node), and no other process on
    this machine can take them before the restart."""

    def __init__(self, root: Path, device: str):
        self.root, self.device = root, device
        (root / device).mkdir(parents=True)
        self.socks = {kind: self._bind(0) for kind in KINDS}
        self.ports = {kind: s.getsockname()[1] for kind, s in self.socks.items()}
        self.proc: subprocess.Popen | None = None

    @staticmethod
    def _bind(port: int) -> socket.socket:
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", port))
        return sock

    def start(self) -> None:
        for sock in self.socks.values():
            sock.listen(128)
        fds = [self.socks[k].fileno() for k in KINDS]
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.functional.object.storage_node", str(self.root),
             *map(str, fds)], cwd=REPO, env=dict(os.environ), pass_fds=fds)
        for sock in self.socks.values():
            sock.close()            # the node's now: its death frees them, kill() takes them back
        deadline = time.monotonic() + 20
        for port in self.ports.values():
            while True:
                try:
                    urllib.request.urlopen(f"http://127.0.0.1:{port}/healthcheck", timeout=1)
                except urllib.error.HTTPError:
                    break           # it answers (400: not a backend path)
                except OSError:
                    assert self.proc.poll() is None and time.monotonic() < deadline, "no storage node"
                    time.sleep(0.05)

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)
        self.socks = {kind: self._bind(self.ports[kind]) for kind in KINDS}

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("object-faults")
    state = tmp / "state"
    rings = state / "object" / "rings"
    rings.mkdir(parents=True)
    nodes = [StorageNode(tmp / f"node{i}", f"d{i}") for i in range(1, 5)]
    for kind in KINDS:
        builder = RingBuilder(6, 3, 1)
        for zone, node in enumerate(nodes, start=1):
            builder.add_device(NewDevice(1, zone, "127.0.0.1", node.ports[kind], node.device, 100.0))
        builder.rebalance()
        builder.write_ring(rings / f"{kind}.ring.gz")
    for node in nodes:
        node.start()
    # the cloud's own storage servers off: its proxy reaches the nodes above through the rings
    cloud = start_cloud(state, services="identity,object", names=("identity", "object"), extra_env={
        "NUBES_OBJECT__OBJECT_PORT": "0", "NUBES_OBJECT__CONTAINER_PORT": "0",
        "NUBES_OBJECT__ACCOUNT_PORT": "0", "NUBES_OBJECT__REPLICATOR_INTERVAL": "0",
        "NUBES_OBJECT__AUDITOR_INTERVAL": "0"})
    yield cloud, nodes, Ring.load(rings / "object.ring.gz", HashSecret())
    stop_cloud(cloud)
    for node in nodes:
        node.stop()


def _connection(cloud, tmp: Path) -> Connection:
    owner = new_user(cloud, tmp, "member")
    return Connection(authurl=cloud.auth_url, user=owner.name, key=owner.password, auth_version="3",
                      os_options={"project_name": owner.project_name, "user_domain_name": "Default",
                                  "project_domain_name": "Default"}, retries=0, timeout=30)


async def _replicate(nodes: list[StorageNode], ring: Ring) -> tuple[int, int]:
    pushed = failures = 0
    for node in nodes:
        replicator = ObjectReplicator(Devices(node.root, reserve="0"), ring,
                                      {("127.0.0.1", node.ports["object"])})
        try:
            stats = await replicator.replicate_once()
        finally:
            await replicator.close()
        pushed, failures = pushed + stats.objects_pushed, failures + stats.failures
    return pushed, failures


def _held_by(nodes: list[StorageNode], ring: Ring, account: str, container: str, obj: str) -> set[str]:
    part = ring.partition(account, container, obj)
    name = hash_path(HashSecret(), account, container, obj).hex()
    return {n.device for n in nodes
            if any((n.root / n.device / "objects" / str(part) / name[-3:] / name).glob("*.data"))}


@pytest.mark.slow
def test_every_acknowledged_object_survives_a_node_killed_mid_stream(cluster, tmp_path):
    cloud, nodes, ring = cluster
    swift = _connection(cloud, tmp_path)
    container = f"c-{uuid.uuid4().hex[:8]}"
    swift.put_container(container)
    account = swift.url.rsplit("/", 1)[-1]
    victim = nodes[1]
    killer = threading.Timer(0.05, victim.kill)     # while the tenth PUT is on its way
    acked: dict[str, bytes] = {}
    refused = []
    try:
        for i in range(30):
            if i == 9:
                killer.start()
            body = os.urandom(256 * 1024 + i)
            try:
                swift.put_object(container, f"o-{i:03d}", body)
                acked[f"o-{i:03d}"] = body
            except (ClientException, OSError) as exc:
                refused.append(exc)     # not acknowledged: it may or may not be stored
    finally:
        killer.join()
    assert victim.proc.poll() is not None, "the node was not killed during the stream"
    # three of four nodes up: a quorum of every partition's primaries and handoffs is there
    assert len(acked) >= 27, f"only {len(acked)} acknowledged: {refused}"
    for name, body in acked.items():                 # readable with the node still down
        assert swift.get_object(container, name)[1] == body

    victim.start()
    asyncio.run(_replicate(nodes, ring))
    pushed, failures = asyncio.run(_replicate(nodes, ring))
    assert (pushed, failures) == (0, 0)              # one pass was enough: nothing left to do
    for name, body in acked.items():
        assert swift.get_object(container, name)[1] == body
        primaries = {d.device for d in ring.get_nodes(account, container, name)[1]}
        assert _held_by(nodes, ring, account, container, name) == primaries, name
