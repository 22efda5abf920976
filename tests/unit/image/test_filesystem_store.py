"""The filesystem store: hashes while streaming, atomic publish, nothing left behind on failure."""

import asyncio
import hashlib
import os
from pathlib import Path

import pytest

from nubes.image.drivers.base import DataNotFound, ImageStore
from nubes.image.drivers.filesystem import FilesystemStore


def _store(tmp_path, **kw):
    return FilesystemStore("s1", tmp_path / "s1", "test store", write_chunk_size=64 << 10,
                           read_chunk_size=64 << 10, **kw)


async def _chunks(data: bytes, size: int = 10_000):
    for i in range(0, len(data), size):
        yield data[i:i + size]
        await asyncio.sleep(0)


async def test_write_read_and_hashes(tmp_path):
    store = _store(tmp_path)
    assert isinstance(store, ImageStore)
    data = os.urandom(300_000)
    res = await store.write("img", _chunks(data))
    assert res.size == len(data) and res.md5 == hashlib.md5(data).hexdigest()
    assert res.sha512 == hashlib.sha512(data).hexdigest()
    assert b"".join([c async for c in store.read(res.location)]) == data
    assert b"".join([c async for c in store.read(res.location, 1000, 5000)]) == data[1000:6000]
    assert b"".join([c async for c in store.read(res.location, 299_990)]) == data[299_990:]
    assert await store.size(res.location) == len(data)
    assert await store.locations() == [res.location]
    await store.delete(res.location)
    await store.delete(res.location)            # deleting twice is fine
    with pytest.raises(DataNotFound):
        [c async for c in store.read(res.location)]


async def test_empty_image(tmp_path):
    res = await _store(tmp_path).write("empty", _chunks(b""))
    assert res.size == 0 and res.md5 == hashlib.md5(b"").hexdigest()


async def test_failed_stream_leaves_nothing(tmp_path):
    store = _store(tmp_path)

    async def broken():
        yield b"x" * 200_000
        raise RuntimeError("client went away")

    with pytest.raises(RuntimeError):
        await store.write("img", broken())
    assert list((tmp_path / "s1").iterdir()) == []


async def test_cancelled_write_leaves_nothing(tmp_path):
    store = _store(tmp_path)
    started = asyncio.Event()

    async def slow():
        yield b"x" * 100_000
        started.set()
        await asyncio.sleep(60)
        yield b"never"

    task = asyncio.create_task(store.write("img", slow()))
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert list((tmp_path / "s1").iterdir()) == []


async def test_existing_image_is_replaced_atomically(tmp_path):
    store = _store(tmp_path)
    first = await store.write("img", _chunks(b"a" * 1000))
    second = await store.write("img", _chunks(b"b" * 10))
    assert first.location == second.location
    assert b"".join([c async for c in store.read(second.location)]) == b"b" * 10


async def test_discard_partial_and_foreign_locations(tmp_path):
    store = _store(tmp_path)
    (tmp_path / "s1").mkdir()
    (tmp_path / "s1" / ".abc.123.part").write_bytes(b"half")
    assert await store.discard_partial() == 1
    assert await store.locations() == []
    with pytest.raises(Exception, match="outside"):
        [c async for c in store.read((tmp_path / "elsewhere").as_uri())]


@pytest.mark.parametrize("direct", [True, False])
async def test_direct_and_buffered_writes_agree(tmp_path, direct):
    store = FilesystemStore("s", tmp_path / "s", write_chunk_size=128 << 10, direct_io=direct)
    data = os.urandom((1 << 20) + 4097)          # whole chunks, then a tail that is not whole blocks
    res = await store.write("img", _chunks(data, 50_000))
    assert (tmp_path / "s" / "img").read_bytes() == data
    assert res.sha512 == hashlib.sha512(data).hexdigest()


SHM = Path("/dev/shm")


@pytest.mark.skipif(not SHM.is_dir(), reason="no tmpfs at /dev/shm")
async def test_filesystem_without_o_direct():
    store = FilesystemStore("s", SHM / f"nubes-test-{os.getpid()}", write_chunk_size=64 << 10)
    try:
        res = await store.write("img", _chunks(b"tmpfs" * 30_000))
        assert res.size == 150_000 and (store.root / "img").read_bytes() == b"tmpfs" * 30_000
    finally:
        for p in store.root.glob("*"):
            p.unlink()
        store.root.rmdir()
