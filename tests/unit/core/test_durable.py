import pytest

from nubes.core.durable import fsync_dir, write_atomically


def test_replaces_the_file_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "ring.gz"
    write_atomically(target, b"one")
    write_atomically(target, b"two", tmp_prefix=".tmp-")
    assert target.read_bytes() == b"two"
    assert [p.name for p in tmp_path.iterdir()] == ["ring.gz"]
    fsync_dir(tmp_path)


def test_a_failed_write_keeps_the_old_file(tmp_path):
    target = tmp_path / "record.json"
    write_atomically(target, b"old")
    with pytest.raises(TypeError):
        write_atomically(target, "not bytes")        # type: ignore[arg-type]
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["record.json"]
