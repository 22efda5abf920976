from collections import Counter

import pytest

from nubes.object.ring import RingBuilder, RingError
from nubes.object.ring.device import NewDevice


def dev(zone, server, name, weight=100.0, region=1):
    return NewDevice(region, zone, f"10.{region}.{zone}.{server}", 6200, name, weight)


def grid(builder, zones, servers, disks, weight=100.0):
    for z in range(zones):
        for s in range(servers):
            for d in range(disks):
                builder.add_device(dev(z, s, f"d{d}", weight))


def placements(builder):
    return [tuple(row[p] for row in builder.table) for p in range(builder.parts)]


def test_equal_weights_balance_within_one_partition_and_distinct_zones():
    b = RingBuilder(10, 3, 1)
    grid(b, 4, 2, 2)
    b.rebalance(now=1)
    counts = b.assigned()
    assert sum(counts.values()) == 1024 * 3
    assert max(counts.values()) - min(counts.values()) <= 1
    assert b.overall_balance() < 1.0
    for ids in placements(b):
        assert len({(b.devs[i].region, b.devs[i].zone) for i in ids}) == 3
    report = b.dispersion()
    assert report["zone"] == report["server"] == report["device"] == report["unassigned"] == 0


def test_weights_are_respected():
    b = RingBuilder(10, 3, 1)
    for z in range(3):
        b.add_device(dev(z, 0, "small", 100))
        b.add_device(dev(z, 1, "big", 300))
    b.rebalance(now=1)
    counts = b.assigned()
    by_name = Counter()
    for dev_id, n in counts.items():
        by_name[b.devs[dev_id].device] += n
    assert by_name["big"] == pytest.approx(3 * by_name["small"], rel=0.02)
    assert all(abs(v) < 1.0 for v in b.balance().values())


def test_fewer_zones_than_replicas_shares_zones_never_devices():
    b = RingBuilder(9, 3, 1)
    grid(b, 2, 1, 2)
    b.rebalance(now=1)
    for ids in placements(b):
        assert len(set(ids)) == 3
        assert len({b.devs[i].zone for i in ids}) == 2      # both zones, one holds two replicas
    assert b.dispersion()["device"] == 0


def test_one_server_four_disks_three_replicas():
    b = RingBuilder(8, 3, 1)
    grid(b, 1, 1, 4)
    b.rebalance(now=1)
    assert all(len(set(ids)) == 3 for ids in placements(b))
    assert set(b.assigned().values()) == {192}


def test_adding_a_device_moves_about_its_share_and_only_onto_it():
    b = RingBuilder(10, 3, 1)
    grid(b, 4, 2, 2)
    b.rebalance(now=1)
    before = placements(b)
    new = b.add_device(dev(1, 9, "new"))
    b.rebalance(now=10)
    after = placements(b)
    moved = [(x, y) for x, y in zip(before, after) if x != y]
    changed_replicas = sum(sum(a != c for a, c in zip(x, y)) for x, y in moved)
    share = 1024 * 3 / 17
    assert share * 0.9 <= changed_replicas <= share * 1.2
    assert all(sum(a != c for a, c in zip(x, y)) == 1 for x, y in moved)   # one replica per partition
    onto_new = sum(c == new.id for x, y in moved for a, c in zip(x, y) if a != c)
    assert onto_new >= 0.9 * changed_replicas
    assert b.assigned()[new.id] >= share * 0.9
    assert b.overall_balance() < 5
    assert b.dispersion()["zone"] == 0              # the new disk's zone had room: no sharing


def test_min_part_hours_holds_moves_back():
    b = RingBuilder(9, 3, 2)
    grid(b, 3, 1, 2)
    b.rebalance(now=100)
    before = placements(b)
    b.add_device(dev(0, 5, "new"))
    result = b.rebalance(now=101)               # 1 hour later: every partition moved at 100
    assert placements(b) == before
    assert result["blocked"] > 0
    b.rebalance(now=102)                        # 2 hours: free to move
    assert placements(b) != before
    assert b.assigned()[6] > 0


def test_removing_a_device_moves_only_its_replicas_even_within_min_part_hours():
    b = RingBuilder(9, 3, 24)
    grid(b, 4, 1, 2)
    b.rebalance(now=100)
    before = placements(b)
    gone = b.remove_device(3).id
    b.rebalance(now=100)
    after = placements(b)
    for x, y in zip(before, after):
        for a, c in zip(x, y):
            assert a == c or a == gone
        assert gone not in y and len(set(y)) == 3
    assert gone >= len(b.devs) or b.devs[gone] is None
    with pytest.raises(RingError):
        b.device(gone)


def test_weight_zero_drains_and_version_counts_rebalances():
    b = RingBuilder(8, 2, 0)
    grid(b, 3, 1, 1)
    assert b.rebalance(now=1)["version"] == 1
    b.set_weight(0, 0)
    assert b.rebalance(now=2)["version"] == 2
    assert b.assigned()[0] == 0


def test_builder_file_round_trip(tmp_path):
    b = RingBuilder(8, 3, 1)
    grid(b, 3, 1, 2)
    b.rebalance(now=5)
    b.remove_device(1)
    b.save(tmp_path / "object.builder")
    again = RingBuilder.load(tmp_path / "object.builder")
    assert again.to_dict() == b.to_dict()
    assert placements(again) == placements(b) and again.removing == {1}


@pytest.mark.parametrize("args", [(-1, 3, 1), (25, 3, 1), (8, 0, 1), (8, 1.5, 1), (8, 3, -1)])
def test_bad_settings(args):
    with pytest.raises(RingError):
        RingBuilder(*args)


def test_bad_devices_and_too_few_devices():
    b = RingBuilder(8, 3, 1)
    b.add_device(dev(1, 1, "d1"))
    with pytest.raises(RingError, match="already in the ring"):
        b.add_device(dev(1, 1, "d1"))
    with pytest.raises(RingError, match="0 or more"):
        b.add_device(dev(1, 1, "d2", weight=-1))
    with pytest.raises(RingError, match="no device d7"):
        b.set_weight(7, 10)
    with pytest.raises(RingError, match="no device d7"):
        b.remove_device(7)
    with pytest.raises(RingError, match="0 or more"):
        b.set_weight(0, -5)
    b.add_device(dev(1, 1, "d2"))
    with pytest.raises(RingError, match="3 replicas need at least 3 devices"):
        b.rebalance()
    with pytest.raises(RingError, match="not been rebalanced"):
        b.ring()


def test_compact_form_and_search():
    from nubes.object.ring.device import parse_compact, search

    new = parse_compact("r2z3-192.0.2.1:6200R10.0.0.1:6300/sdb_ssd", "50.5")
    assert (new.region, new.zone, new.ip, new.port, new.device, new.weight) == \
        (2, 3, "192.0.2.1", 6200, "sdb", 50.5)
    assert (new.replication_ip, new.replication_port, new.meta) == ("10.0.0.1", 6300, "ssd")
    assert parse_compact("r1z1-[::1]:6200/d1", 1).ip == "::1"
    for bad in ("z1-127.0.0.1:6200/d1", "r1z1-127.0.0.1/d1", "r1z1-127.0.0.1:6200"):
        with pytest.raises(RingError):
            parse_compact(bad, 1)
    b = RingBuilder(4, 1, 0)
    grid(b, 2, 2, 2)
    assert [d.id for d in search(b.devs, "d5")] == [5]
    assert len(search(b.devs, "z1")) == 4
    assert [d.id for d in search(b.devs, "r1z1-10.1.1.0:6200/d1")] == [5]
    assert len(search(b.devs, "10.1.0.1:6200")) == 2
    assert len(search(b.devs, "/d0")) == 4
    with pytest.raises(RingError):
        search(b.devs, "")
