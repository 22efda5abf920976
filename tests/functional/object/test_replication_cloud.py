"""The replicator and auditor on the all-in-one (`nubes up`, identity and object storage), with
reads through the proxy by python-swiftclient: a damaged replica is quarantined by the auditor
and put back by the replicator while every read returns the object's bytes. The cloud's own
daemons are off here ([object] replicator_interval and auditor_interval = 0) so that the test
drives the passes; one test runs the daemons' loops as `nubes up` does."""

from __future__ import annotations

import asyncio
import hashlib
import os
import types
import uuid
from pathlib import Path

import pytest
from swiftclient.client import Connection

from nubes.core.config import Config
from nubes.object import SPEC, run_storage_daemons
from nubes.object.daemons.auditor import ObjectAuditor
from nubes.object.daemons.replicator import ObjectReplicator
from nubes.object.hashing import HashSecret, hash_path
from nubes.object.proxy.conf import ProxyConfig
from nubes.object.ring import Ring
from tests.cloud import new_user, start_cloud, stop_cloud


@pytest.fixture(scope="module")
def cloud(tmp_path_factory):
    c = start_cloud(tmp_path_factory.mktemp("object-replication"), services="identity,object",
                    names=("identity", "object"), extra_env={"NUBES_OBJECT__REPLICATOR_INTERVAL": "0",
                                                             "NUBES_OBJECT__AUDITOR_INTERVAL": "0"})
    yield c
    stop_cloud(c)


@pytest.fixture(scope="module")
def swift(cloud, tmp_path_factory):
    owner = new_user(cloud, tmp_path_factory.mktemp("owner"), "member")
    conn = Connection(authurl=cloud.auth_url, user=owner.name, key=owner.password, auth_version="3",
                      os_options={"project_name": owner.project_name, "user_domain_name": "Default",
                                  "project_domain_name": "Default"}, retries=0)
    yield conn
    conn.close()


def _conf(cloud, **kw) -> ProxyConfig:
    return ProxyConfig(object_port=cloud.ports["object-server"], **kw)


class Node:
    """The cloud's devices and object ring, seen from the test."""

    def __init__(self, cloud):
        self.state_dir = cloud.state_dir
        self.devices = cloud.state_dir / "object" / "devices"
        self.ring = Ring.load(cloud.state_dir / "object" / "rings" / "object.ring.gz", HashSecret())
        self.conf = _conf(cloud)

    def data_file(self, account: str, container: str, obj: str, replica: int) -> Path:
        part, nodes = self.ring.get_nodes(account, container, obj)
        name = hash_path(HashSecret(), account, container, obj).hex()
        directory = self.devices / nodes[replica].device / "objects" / str(part) / name[-3:] / name
        [data] = [p for p in directory.iterdir() if p.suffix == ".data"]
        return data

    async def replicate(self):
        replicator = ObjectReplicator.from_config(self.conf, self.state_dir)
        try:
            return await replicator.replicate_once()
        finally:
            await replicator.close()

    async def audit(self):
        return await ObjectAuditor.from_config(self.conf, self.state_dir).audit_once()


def _read(swift, container: str, obj: str) -> bytes:
    _, body = swift.get_object(container, obj)
    return body


@pytest.mark.parametrize("damage", ["body", "trailer"])
def test_a_damaged_replica_is_quarantined_restored_and_never_served(cloud, swift, damage):
    node = Node(cloud)
    container, obj = f"c-{uuid.uuid4().hex[:8]}", f"o-{damage}"
    body = os.urandom(200_000)
    swift.put_container(container)
    swift.put_object(container, obj, body)
    account = swift.url.rsplit("/", 1)[-1]
    path = node.data_file(account, container, obj, 0)       # the replica reads are served from
    raw = bytearray(path.read_bytes())
    if damage == "body":
        raw[1000] ^= 0xFF                       # same length: only reading it all tells
    else:
        raw = raw[:-4]                          # the metadata trailer torn: seen by any read
    path.write_bytes(bytes(raw))
    if damage == "trailer":
        assert _read(swift, container, obj) == body

    stats = asyncio.run(node.audit())
    assert stats.quarantined == (1 if damage == "body" else 0)   # a read moved a torn one already
    assert not path.parent.exists()
    assert (node.devices / path.parts[-6] / "quarantined" / "objects" / path.parent.name).is_dir()
    assert _read(swift, container, obj) == body                 # from another replica

    stats = asyncio.run(node.replicate())
    assert stats.objects_pushed == 1 and stats.failures == 0
    restored = node.data_file(account, container, obj, 0)
    assert hashlib.md5(restored.read_bytes()[:len(body)]).digest() == hashlib.md5(body).digest()
    assert _read(swift, container, obj) == body
    assert asyncio.run(node.audit()).quarantined == 0


def test_the_daemons_run_as_the_services_agents(cloud, swift):
    """The loops nubes up runs (SPEC.agents), at a short interval: a lost replica comes back."""
    assert SPEC.agents == (run_storage_daemons,)
    node = Node(cloud)
    container = f"c-{uuid.uuid4().hex[:8]}"
    swift.put_container(container)
    swift.put_object(container, "lost", b"come back")
    account = swift.url.rsplit("/", 1)[-1]
    lost = node.data_file(account, container, "lost", 2)
    lost.unlink()
    conf = Config()
    conf.core.state_dir = cloud.state_dir
    conf.services["object"] = _conf(cloud, replicator_interval=0.2, auditor_interval=0.2)
    rt = types.SimpleNamespace(conf=conf, service_conf=conf.services["object"])

    async def run_until_restored() -> bool:
        task = asyncio.create_task(run_storage_daemons(rt))
        try:
            for _ in range(100):
                await asyncio.sleep(0.1)
                if lost.exists():
                    return True
            return False
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    assert asyncio.run(run_until_restored())
    assert _read(swift, container, "lost") == b"come back"
