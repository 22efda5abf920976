"""The account reaper, one pass at a time, over test_db_daemons' in-process cluster (four device
directories, real object, container and account servers on loopback ports, rings of three), and
over objects written through the proxy of an all-in-one."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest
from swiftclient.client import ClientException, Connection

from nubes.object.daemons import load_ring
from nubes.object.daemons.reaper import reap_once
from nubes.object.daemons.updater import update_once
from nubes.object.hashing import hash_path
from nubes.object.server.db import AccountBroker
from nubes.object.timestamps import Timestamp
from tests.functional.object.test_db_daemons import (A, Cluster, _conf_of, cluster,  # noqa: F401
                                                     ts)


async def put_object(cluster: Cluster, container: str, name: str, n: int) -> None:
    """The object on its primaries, each telling one container replica (as the proxy does)."""
    cpart, cnodes = cluster.nodes("container", A, container)
    part, nodes = cluster.nodes("object", A, container, name)
    for onode, cnode in zip(nodes, cnodes, strict=True):
        r = await cluster.http.put(cluster.url(onode, part, f"/{A}/{container}/{name}"),
                                   content=b"data", headers={
                                       "X-Timestamp": ts(n), "Content-Type": "text/plain",
                                       "X-Container-Host": f"{cnode.ip}:{cnode.port}",
                                       "X-Container-Device": cnode.device,
                                       "X-Container-Partition": str(cpart)})
        assert r.status_code == 201


async def delete_account(cluster: Cluster, stamp: str) -> None:
    """What a reseller's DELETE of the account does on the account servers."""
    part, nodes = cluster.nodes("account", A)
    for node in nodes:
        r = await cluster.http.delete(cluster.url(node, part, f"/{A}"),
                                      headers={"X-Timestamp": stamp})
        assert r.status_code == 204


async def fill(cluster: Cluster) -> dict[str, list[str]]:
    await cluster.make_account()
    names = {"c1": ["a", "b/c", "d"], "c2": ["x"], "empty": []}
    for container, objects in names.items():
        await cluster.make_container(container)
        for i, name in enumerate(objects):
            await put_object(cluster, container, name, 10 + i)
    await update_once(cluster.conf, cluster.state_dir)        # the counts reach the account
    return names


def data_files(cluster: Cluster) -> list:
    return list(cluster.root.glob("*/objects/*/*/*/*.data"))


async def heads(cluster: Cluster, kind: str, *names: str) -> list[int]:
    part, nodes = cluster.nodes(kind, *names)
    return [(await cluster.http.head(cluster.url(n, part, "/" + "/".join(names)))).status_code
            for n in nodes]


async def test_a_deleted_account_is_emptied_by_its_first_primary(cluster):
    names = await fill(cluster)
    assert len(data_files(cluster)) == 4 * 3
    # Not deleted: nothing to reap.
    stats = await reap_once(cluster.conf, cluster.state_dir)
    assert (stats.databases, stats.accounts, stats.objects) == (3, 0, 0)
    await delete_account(cluster, Timestamp.now().internal)
    stats = await reap_once(cluster.conf, cluster.state_dir)
    # Three replicas of the account, one reaper: its first primary.
    assert stats.accounts == 1
    assert (stats.containers, stats.objects, stats.failures) == (3, 4, 0)
    assert data_files(cluster) == []
    for container, objects in names.items():
        assert await heads(cluster, "container", A, container) == [404] * 3
        for name in objects:
            assert await heads(cluster, "object", A, container, name) == [404] * 3
    # The container deletes reached the deleted account (X-Account-Override-Deleted): the first
    # replica, told by each container's first replica, lists none now.
    _, anodes = cluster.nodes("account", A)
    first = AccountBroker(cluster.db_path("account", anodes[0], A))
    assert first.is_deleted() and first.entry_count() == 0
    again = await reap_once(cluster.conf, cluster.state_dir)
    assert (again.accounts, again.emptied, again.containers, again.objects) == (1, 1, 0, 0)
    # The container updater's reports of the deleted containers are taken, not refused forever.
    assert (await update_once(cluster.conf, cluster.state_dir)).report_failures == 0


async def test_reaping_waits_for_the_delay(cluster):
    await fill(cluster)
    await delete_account(cluster, ts(100))
    cluster.conf.reaper_delay = 3600
    deleted_at = Timestamp.parse(ts(100)).seconds
    stats = await reap_once(cluster.conf, cluster.state_dir, now=deleted_at + 3599)
    assert (stats.accounts, stats.objects) == (0, 0)
    assert len(data_files(cluster)) == 12
    stats = await reap_once(cluster.conf, cluster.state_dir, now=deleted_at + 3600)
    assert (stats.accounts, stats.objects, stats.failures) == (1, 4, 0)
    assert data_files(cluster) == []


async def test_a_failed_delete_leaves_the_container_for_the_next_pass(cluster):
    await fill(cluster)
    await delete_account(cluster, Timestamp.now().internal)
    # An object primary of "c2/x" lost its disk: its servers answer 507 (a disk other than the
    # account's first replica's, which reaps).
    _, onodes = cluster.nodes("object", A, "c2", "x")
    _, anodes = cluster.nodes("account", A)
    lost = next(n for n in onodes if n.device != anodes[0].device)
    disk = cluster.root / lost.device
    away = disk.with_name("away")
    disk.rename(away)
    try:
        stats = await reap_once(cluster.conf, cluster.state_dir)
    finally:
        away.rename(disk)
    assert stats.failures >= 1 and stats.containers < 3
    assert await heads(cluster, "container", A, "c2") != [404] * 3       # still holds "x"
    time.sleep(0.01)                          # the next pass's timestamps are newer
    stats = await reap_once(cluster.conf, cluster.state_dir)
    assert stats.failures == 0 and stats.objects >= 1
    assert await heads(cluster, "container", A, "c2") == [404] * 3
    assert data_files(cluster) == []


# -- through the proxy


def test_objects_written_through_the_proxy_are_reaped(cloud, owner):
    account = f"AUTH_{owner.project_id}"
    url = cloud.url("object", f"/v1/{account}")
    conn = Connection(preauthurl=url, preauthtoken=owner.token, retries=0)
    conn.put_container("photos")
    conn.put_object("photos", "cat.jpg", b"meow")
    conn.put_object("photos", "dir/dog.jpg", b"woof")
    conn.put_container("empty")
    # The proxy takes no account DELETE (allow_account_management off): the account servers do.
    r = httpx.delete(url, headers={"X-Auth-Token": owner.token}, timeout=10)
    assert r.status_code == 405
    conf = _conf_of(cloud)
    rings = {kind: load_ring(conf, cloud.state_dir, kind) for kind in ("account", "object")}
    root = conf.devices_root(cloud.state_dir)

    def data(obj: str) -> list:
        digest = hash_path(conf.hash_secret(), account, "photos", obj).hex()
        return list(root.glob(f"*/objects/*/{digest[-3:]}/{digest}/*.data"))

    assert len(data("cat.jpg")) == len(data("dir/dog.jpg")) == 3
    part, nodes = rings["account"].get_nodes(account)
    for node in nodes:
        r = httpx.delete(f"http://{node.ip}:{node.port}/{node.device}/{part}/{account}",
                         headers={"X-Timestamp": Timestamp.now().internal}, timeout=10)
        assert r.status_code == 204
    stats = asyncio.run(reap_once(conf, cloud.state_dir))
    assert (stats.accounts, stats.containers, stats.objects, stats.failures) == (1, 2, 2, 0)
    assert data("cat.jpg") == data("dir/dog.jpg") == []
    with pytest.raises(ClientException) as err:
        conn.get_container("photos")
    assert err.value.http_status == 404
