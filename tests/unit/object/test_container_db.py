from nubes.object.server.db import AccountBroker, ContainerBroker
from nubes.object.timestamps import Timestamp


def ts(n):
    return Timestamp.parse(1700000000 + n)


def test_object_rows_newest_wins_and_stats(tmp_path):
    b = ContainerBroker.at(tmp_path, "3", bytes(16))
    assert b.initialize("a", "c", ts(0)) and not b.initialize("a", "c", ts(1))
    b.put_object("o", ts(2), 10, "text/plain", "e1", False)
    b.put_object("o", ts(1), 99, "text/plain", "old", False)
    assert b.stats() == (1, 10)
    b.put_object("o", ts(3), 0, "", "", True)
    assert b.stats() == (0, 0)
    b.mark_deleted(ts(4))
    assert b.is_deleted()
    b.mark_put(ts(5))
    assert not b.is_deleted()


def test_listing_with_delimiter_and_markers(tmp_path):
    b = ContainerBroker.at(tmp_path, "3", bytes(16))
    b.initialize("a", "c", ts(0))
    for name in ["a", "b/1", "b/2", "c", "d/x/y", "e"]:
        b.put_object(name, ts(1), 1, "t", "e", False)
    names = lambda rows: [r if isinstance(r, str) else r[0] for r in rows]  # noqa: E731
    assert names(b.listing("name", 100, delimiter="/")) == ["a", "b/", "c", "d/", "e"]
    assert names(b.listing("name", 100, delimiter="/", reverse=True)) == ["e", "d/", "c", "b/", "a"]
    assert names(b.listing("name", 2, marker="a", delimiter="/")) == ["b/", "c"]
    assert names(b.listing("name", 100, prefix="b/")) == ["b/1", "b/2"]
    assert names(b.listing("name", 100, marker="b/1", end_marker="d")) == ["b/2", "c"]
    assert names(b.listing("name", 100, marker="d", reverse=True)) == ["c", "b/2", "b/1", "a"]


def test_account_rows(tmp_path):
    b = AccountBroker.at(tmp_path, "3", bytes(16))
    b.initialize("a", None, ts(0))
    b.put_container("c1", ts(1), Timestamp(0), 3, 30)
    b.put_container("c2", ts(1), Timestamp(0), 1, 5)
    assert b.stats() == (2, 4, 35)
    b.put_container("c2", Timestamp(0), ts(2), 0, 0)
    assert b.stats() == (1, 3, 30)
    b.mark_deleted(ts(3))
    assert b.is_deleted()


def test_listing_last_modified_is_the_timestamp_in_utc():
    from nubes.object.server.listing import last_modified

    assert last_modified("1700000000.12345") == "2023-11-14T22:13:20.123450"
    assert last_modified("0000000000.00000") == "1970-01-01T00:00:00.000000"
    assert last_modified("1700000000.00001_000000000000000a") == "2023-11-14T22:13:20.000010"
    assert last_modified("1700000000.5") == "2023-11-14T22:13:20.500000"
