import os

import pytest

from nubes.object.server.backend import Devices, HTTPError
from nubes.object.server.diskfile import DiskFile, read_metadata, read_range, suffix_hashes
from nubes.object.timestamps import Timestamp

DIGEST = bytes.fromhex("0123456789abcdef0123456789abcabc")


def _put(df, ts, body, meta=None):
    w = df.writer()
    w.write(body)
    return w.commit(Timestamp.parse(ts), ".data", {"Content-Length": str(len(body)),
                                                   "ETag": w.md5.hexdigest(), **(meta or {})})


def test_layout_trailer_and_large_metadata(tmp_path):
    df = DiskFile(tmp_path, "7", DIGEST)
    big = "x" * (300 * 1024)
    path = _put(df, "1700000000.00001", b"hello", {"X-Object-Meta-Big": big})
    assert path == tmp_path / "objects/7/abc" / DIGEST.hex() / "1700000000.00001.data"
    assert read_metadata(path)["X-Object-Meta-Big"] == big
    assert b"".join(read_range(path, 1, 4)) == b"ell"
    state = df.state()
    assert state.kind == "data" and state.content_length == 5
    assert os.listdir(tmp_path / "tmp") == []


def test_newest_wins_and_cleanup(tmp_path):
    df = DiskFile(tmp_path, "7", DIGEST)
    _put(df, "1700000000.00001", b"one")
    df.put_marker(Timestamp.parse("1700000000.00003"), ".meta", {"X-Object-Meta-A": "b"})
    _put(df, "1700000000.00002", b"two")
    state = df.state()
    assert state.metadata["X-Object-Meta-A"] == "b" and state.timestamp.normal.endswith("02")
    df.cleanup()
    assert sorted(os.listdir(df.dir)) == ["1700000000.00002.data", "1700000000.00003.meta"]
    df.put_marker(Timestamp.parse("1700000000.00004"), ".ts", {})
    df.cleanup()
    assert os.listdir(df.dir) == ["1700000000.00004.ts"]
    assert df.state().kind == "ts"


def test_suffix_hashes_follow_the_files(tmp_path):
    df = DiskFile(tmp_path, "7", DIGEST)
    path = _put(df, "1700000000.00001", b"one")
    before = suffix_hashes(tmp_path / "objects/7")
    assert list(before) == ["abc"]
    assert suffix_hashes(tmp_path / "objects/7") == before
    os.unlink(path)
    assert suffix_hashes(tmp_path / "objects/7") == {}
    _put(df, "1700000000.00002", b"two")
    assert suffix_hashes(tmp_path / "objects/7") != before


def test_device_checks(tmp_path):
    (tmp_path / "sda").mkdir()
    assert Devices(tmp_path).path("sda") == tmp_path / "sda"
    for devices, name in ((Devices(tmp_path), "sdb"), (Devices(tmp_path, mount_check=True), "sda")):
        with pytest.raises(HTTPError) as err:
            devices.path(name)
        assert err.value.status == 507
    Devices(tmp_path, reserve="0").check_space(tmp_path / "sda", 1)
    with pytest.raises(HTTPError) as err:
        Devices(tmp_path, reserve="100%").check_space(tmp_path / "sda")
    assert err.value.status == 507


def test_a_damaged_file_is_quarantined(tmp_path):
    df = DiskFile(tmp_path, "7", DIGEST)
    path = _put(df, "1700000000.00001", b"hello")
    with open(path, "r+b") as f:
        f.truncate(path.stat().st_size - 3)
    assert df.state().kind is None
    assert not df.dir.exists()
    assert (tmp_path / "quarantined/objects" / DIGEST.hex() / path.name).exists()
