"""The backup engine and store on temp files: chunks, incrementals, restores into raw and qcow2."""

from __future__ import annotations

import hashlib
import os
import subprocess

import pytest

from nubes.volume.backup import engine
from nubes.volume.backup.store import DirectoryStore, Location

MiB = 1 << 20
C = Location("c")


def _backup(store, path, fmt, backup_id, parent=None, tmp=None):
    return engine.backup_image(path, fmt, store.begin(C, backup_id), backup_id=backup_id, volume_id="v",
                               where=C, chunk_size=MiB, scratch=tmp / "scratch", parent=parent)


def _sha(path, size=None):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read(size) if size else f.read()).hexdigest()


def test_full_then_incremental_stores_only_changed_chunks_and_restores(tmp_path):
    img = tmp_path / "v.raw"
    with open(img, "wb") as f:
        f.truncate(64 * MiB)
        f.seek(5 * MiB)
        f.write(os.urandom(3 * MiB))
        f.seek(40 * MiB)
        f.write(b"x" * 100)
    store = DirectoryStore(tmp_path / "b")
    full = _backup(store, img, "raw", "b1", tmp=tmp_path)
    assert full["object_count"] == 4 and full["size"] == 64 * MiB
    with open(img, "r+b") as f:
        f.seek(6 * MiB + 10)
        f.write(b"y" * 10)
    inc = _backup(store, img, "raw", "b2", parent=full, tmp=tmp_path)
    assert inc["object_count"] == 1
    assert sorted(os.listdir(store.path(C, "b2") / "chunks")) == ["0000000006"]
    assert {c[2] for c in inc["chunks"]} == {"b1", "b2"}
    meta, raw = store.read_metadata(C, "b2")
    assert hashlib.sha256(raw).hexdigest() == inc["metadata_sha256"]
    out = tmp_path / "o.raw"
    with open(out, "wb") as f:
        f.truncate(80 * MiB)
        f.write(os.urandom(MiB))            # old contents are replaced, also where the backup has zeros
    engine.restore_image(store, meta, out, "raw", scratch=tmp_path / "scratch", where=C)
    assert _sha(out, 64 * MiB) == _sha(img)
    assert not store.partials()


def test_qcow2_images_are_read_and_written(tmp_path):
    store = DirectoryStore(tmp_path / "b")
    src = tmp_path / "src.raw"
    with open(src, "wb") as f:
        f.truncate(16 * MiB)
        f.seek(3 * MiB)
        f.write(os.urandom(2 * MiB))
    meta = _backup(store, src, "raw", "b1", tmp=tmp_path)
    q = tmp_path / "q.qcow2"
    subprocess.run(["qemu-img", "create", "-f", "qcow2", str(q), "16M"], check=True, capture_output=True)
    engine.restore_image(store, store.read_metadata(C, "b1")[0], q, "qcow2", scratch=tmp_path / "scratch",
                         where=C)
    again = _backup(store, q, "qcow2", "b2", parent=meta, tmp=tmp_path)
    assert again["object_count"] == 0 and [c[1] for c in again["chunks"]] == [c[1] for c in meta["chunks"]]
    assert not list((tmp_path / "scratch").iterdir())


def test_a_corrupt_chunk_fails_the_restore(tmp_path):
    store = DirectoryStore(tmp_path / "b")
    src = tmp_path / "src.raw"
    with open(src, "wb") as f:
        f.write(os.urandom(2 * MiB))
    _backup(store, src, "raw", "b1", tmp=tmp_path)
    chunk = store.chunk_file(C, "b1", 1)
    chunk.write_bytes(chunk.read_bytes()[:-1] + b"\0")
    out = tmp_path / "o.raw"
    with open(out, "wb") as f:
        f.truncate(2 * MiB)
    with pytest.raises(engine.ChecksumMismatch, match="chunk 1 of backup b1"):
        engine.restore_image(store, store.read_metadata(C, "b1")[0], out, "raw", scratch=tmp_path / "s",
                             where=C)


def test_an_aborted_backup_leaves_no_files_and_delete_is_whole(tmp_path):
    store = DirectoryStore(tmp_path / "b")
    w = store.begin(C, "b1")
    w.put_chunk(0, b"abc")
    assert store.partials() == [(C, "b1")]
    w.abort()
    assert store.partials() == [] and not store.exists(C, "b1")
    src = tmp_path / "src.raw"
    src.write_bytes(os.urandom(MiB))
    _backup(store, src, "raw", "b2", tmp=tmp_path)
    assert store.exists(C, "b2")
    store.delete(C, "b2")
    assert not store.path(C, "b2").exists() and store.partials() == []


def _qemu(*argv: str, cwd=None) -> None:
    subprocess.run(list(argv), check=True, capture_output=True, cwd=cwd)


@pytest.mark.parametrize("compressed", [False, True])
def test_a_qcow2_chain_is_read_from_its_files(tmp_path, compressed):
    """Data in the overlay, in its (bare-named) backing file, unaligned to chunks and zeroed
    over; read straight from the files without a scratch copy, or, with a compressed cluster,
    through one; either way the backup holds the guest's bytes."""
    base = tmp_path / "base.raw"
    _qemu("qemu-img", "create", "-q", "-f", "raw", str(base), "24M")
    _qemu("qemu-io", "-f", "raw", "-c", "write -P 0xaa 0 3M", "-c", "write -P 0xab 9M 512k", str(base))
    top = tmp_path / "top.qcow2"
    _qemu("qemu-img", "create", "-q", "-f", "qcow2", "-b", "base.raw", "-F", "raw", "top.qcow2", cwd=tmp_path)
    _qemu("qemu-io", "-f", "qcow2", "-c", "write -P 0xbb 1536k 64k", "-c", "write -z 2M 64k",
          "-c", "write -P 0xcc 20M 1M", str(top))
    if compressed:
        _qemu("qemu-io", "-f", "qcow2", "-c", "write -c -P 0xdd 12M 64k", str(top))
    assert (engine.data_layout(top, "qcow2") is None) == compressed
    expected = tmp_path / "expected.raw"
    _qemu("qemu-img", "convert", "-f", "qcow2", "-O", "raw", str(top), str(expected))
    store = DirectoryStore(tmp_path / "b")
    meta = _backup(store, top, "qcow2", "b1", tmp=tmp_path)
    out = tmp_path / "out.raw"
    with open(out, "wb") as f:
        f.truncate(24 * MiB)
    engine.restore_image(store, store.read_metadata(C, "b1")[0], out, "raw", scratch=tmp_path / "scratch",
                         where=C)
    assert _sha(out) == _sha(expected) and meta["size"] == 24 * MiB
    scratch = tmp_path / "scratch"
    assert scratch.exists() == compressed and not any(scratch.glob("*"))
