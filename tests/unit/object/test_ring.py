import gzip
import os
from itertools import islice

import pytest

from nubes.object.hashing import HashSecret, hash_path, partition_of
from nubes.object.ring import Ring, RingBuilder, RingError
from nubes.object.ring.ring import MAGIC
from nubes.object.ring.device import NewDevice


@pytest.fixture(scope="module")
def builder():
    b = RingBuilder(8, 3, 0)
    for region in (1, 2):
        for zone in range(3):
            for server in range(2):
                for disk in range(2):
                    b.add_device(NewDevice(region, zone, f"10.{region}.{zone}.{server}", 6200 + disk,
                                           f"sd{disk}", 100))
    b.rebalance(now=1)
    return b


def test_replicas_span_regions_then_zones(builder):
    for part in range(builder.parts):
        devs = [builder.devs[row[part]] for row in builder.table]
        assert {d.region for d in devs} == {1, 2}
        assert len({(d.region, d.zone) for d in devs}) == 3


def test_file_round_trip_and_lookups(builder, tmp_path):
    path = tmp_path / "object.ring.gz"
    written = builder.write_ring(path)
    secret = HashSecret(b"pre", b"suf")
    ring = Ring.load(path, secret)
    assert (ring.part_power, ring.replica_count, ring.version) == (8, 3, 1)
    assert ring.devs == written.devs and ring.table == written.table
    assert [f for f in os.listdir(tmp_path)] == ["object.ring.gz"]        # no temporary left behind
    part, nodes = ring.get_nodes("AUTH_a", "c", "o")
    assert part == partition_of(hash_path(secret, "AUTH_a", "c", "o"), 8)
    assert part == ring.partition("AUTH_a", "c", "o")
    assert ring.partition("AUTH_a", "c", "o", secret=HashSecret()) == \
        partition_of(hash_path(HashSecret(), "AUTH_a", "c", "o"), 8)
    assert [d.id for d in nodes] == [row[part] for row in builder.table]
    assert len({d.id for d in nodes}) == 3
    assert ring.to_bytes() == path.read_bytes()                           # same ring, same bytes


def test_handoffs_are_distinct_deterministic_and_spread(builder):
    ring = builder.ring()
    for part in (0, 17, 255):
        primaries = ring.primaries(part)
        first = list(ring.handoffs(part))
        assert first == list(ring.handoffs(part))
        ids = [d.id for d in first]
        assert len(ids) == len(set(ids)) == len(ring.devs) - 3
        assert not set(ids) & {d.id for d in primaries}
        used_regions = {d.region for d in primaries}
        if len(used_regions) < 2:
            assert first[0].region not in used_regions
        # before any zone repeats, every unused zone gets one
        used_zones = {(d.region, d.zone) for d in primaries}
        unused = 6 - len(used_zones)
        assert len({(d.region, d.zone) for d in first[:unused]} - used_zones) == unused
    assert [d.id for d in islice(ring.handoffs(3), 4)] != [d.id for d in islice(ring.handoffs(4), 4)]


def test_reload_if_changed_picks_up_a_new_version(tmp_path):
    b = RingBuilder(6, 2, 0)
    for i in range(3):
        b.add_device(NewDevice(1, i, "127.0.0.1", 6200 + i, "d", 1))
    b.rebalance(now=1)
    path = tmp_path / "account.ring.gz"
    b.write_ring(path)
    ring = Ring.load(path)
    assert ring.reload_if_changed() is False
    b.add_device(NewDevice(1, 3, "127.0.0.1", 6203, "d", 1))
    b.rebalance(now=2)
    b.write_ring(path)
    os.utime(path, ns=(1, 1))                 # make sure the stat differs even on coarse clocks
    assert ring.reload_if_changed() is True
    assert ring.version == 2 and len(ring.devs) == 4
    assert ring.reload_if_changed() is False


def test_bad_ring_files(tmp_path):
    with pytest.raises(RingError, match="no ring file"):
        Ring.load(tmp_path / "missing.ring.gz")
    (tmp_path / "junk.ring.gz").write_bytes(b"not gzip")
    with pytest.raises(RingError, match="not a ring file"):
        Ring.load(tmp_path / "junk.ring.gz")
    (tmp_path / "other.ring.gz").write_bytes(gzip.compress(b"hello"))
    with pytest.raises(RingError, match="bad magic"):
        Ring.load(tmp_path / "other.ring.gz")
    (tmp_path / "cut.ring.gz").write_bytes(gzip.compress(MAGIC + b"\0\0\0\x09{broken"))
    with pytest.raises(RingError, match="damaged"):
        Ring.load(tmp_path / "cut.ring.gz")
