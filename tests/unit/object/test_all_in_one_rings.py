"""The all-in-one's own rings: made on first start, and following a change of the servers'
ports (a restart on other ports must not leave rings that point at the old ones)."""

from __future__ import annotations

from nubes.object.proxy import cluster
from nubes.object.proxy.conf import ProxyConfig
from nubes.object.ring import Ring
from nubes.object.ring.builder import RingBuilder
from nubes.object.ring.device import NewDevice


def test_rings_follow_the_configured_ports_without_moving_partitions(tmp_path):
    conf = ProxyConfig(object_port=16200, container_port=16201, account_port=16202, part_power=6)
    rings = cluster.ensure_rings(conf, tmp_path)
    before = Ring.load(rings / "object.ring.gz", conf.hash_secret())
    assert {d.port for d in before.devs if d is not None} == {16200}
    moved = ProxyConfig(object_port=26200, container_port=26201, account_port=26202, part_power=6)
    cluster.ensure_rings(moved, tmp_path)
    after = Ring.load(rings / "object.ring.gz", conf.hash_secret())
    assert {d.port for d in after.devs if d is not None} == {26200}
    assert [list(r) for r in after.table] == [list(r) for r in before.table]
    assert after.version > before.version
    assert {d.port for d in RingBuilder.load(rings / "account.builder").devs if d} == {26202}


def test_an_operators_ring_of_another_shape_is_left_alone(tmp_path):
    conf = ProxyConfig(object_port=16200, container_port=16201, account_port=16202, part_power=6)
    rings = cluster.ensure_rings(conf, tmp_path)
    builder = RingBuilder.load(rings / "object.builder")
    builder.add_device(NewDevice(region=1, zone=9, ip="192.0.2.7", port=6200, device="sdb", weight=100.0))
    builder.rebalance()
    builder.save(rings / "object.builder")
    builder.write_ring(rings / "object.ring.gz")
    cluster.ensure_rings(ProxyConfig(object_port=26200, container_port=16201, account_port=16202,
                                     part_power=6), tmp_path)
    ports = {d.port for d in Ring.load(rings / "object.ring.gz", conf.hash_secret()).devs if d is not None}
    assert ports == {16200, 6200}
