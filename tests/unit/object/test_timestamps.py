import pytest

from nubes.object.timestamps import InvalidTimestamp, Timestamp, parse_header


def test_normal_form_and_ordering():
    t = Timestamp.parse("1700000000.12345")
    assert t.normal == "1700000000.12345" and str(t) == "1700000000.12345"
    assert Timestamp.parse("1700000000.1").normal == "1700000000.10000"
    assert Timestamp.parse("1700000000.123456789").normal == "1700000000.12345"
    assert Timestamp.parse(5).normal == "0000000005.00000"
    assert Timestamp.parse("1700000000.00001") > t.parse("1700000000")
    assert Timestamp.parse("1.5") < Timestamp.parse("10.0")


def test_offsets_order_equal_times():
    t = Timestamp.parse("1700000000.12345")
    later = t.with_offset(10)
    assert later.internal == "1700000000.12345_000000000000000a"
    assert Timestamp.parse(later.internal) == later and later > t
    assert later.normal == t.normal


@pytest.mark.parametrize("bad", ["", "abc", "-1", "1.2.3", "12345678901.0", "1_zz"])
def test_bad_timestamps(bad):
    with pytest.raises(InvalidTimestamp):
        parse_header(bad)
