"""A filesystem image store: one file per image under the store's directory.

Writes copy the incoming stream into a few reused chunk-sized buffers; each full buffer
goes to three lanes (MD5, SHA-512, pwrite) that run in parallel with each other and with
the event loop receiving the next chunk (see ``_Lanes``). The data lands in
``.<image_id>.<random>.part`` in the store's directory and is fsync'd and renamed into
place, and the directory fsync'd, before ``write`` returns. Reads use ``pread`` in large
chunks with one chunk of read-ahead.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import fcntl
import hashlib
import logging
import mmap
import os
import queue
import threading
import uuid
from collections.abc import AsyncIterator, Awaitable
from pathlib import Path
from typing import Any

from nubes.core.concurrency import run_blocking
from nubes.core.config import ConfigError
from nubes.core.durable import fsync_dir
from nubes.image.drivers.base import DataNotFound, StoreError, StoreFull, WriteResult

LOG = logging.getLogger(__name__)

_PARTIAL = ".part"
_ALIGN = 4096          # O_DIRECT: buffer address, file offset and length in whole blocks


def _pwrite_all(fd: int, data: memoryview, offset: int) -> None:
    view = data
    while view:
        n = os.pwrite(fd, view, offset)
        view, offset = view[n:], offset + n


async def _settle(pending: Awaitable[Any] | None) -> None:
    """Wait for work already handed to a thread, whatever happened to us meanwhile."""
    if pending is None:
        return
    with contextlib.suppress(BaseException):
        await asyncio.shield(pending)


class _Lanes:
    """Three ordered lanes over the same chunks, each in a thread of its own: MD5, SHA-512, the write.

    hashlib and os.pwrite release the GIL on large buffers, so the lanes run in parallel
    with each other and with the event loop receiving the next chunk; each lane handles
    chunk N+1 after its own chunk N, but the lanes never wait for each other. At most
    ``depth`` chunks are in flight, so memory stays bounded whatever the client sends.

    These are threads of the upload rather than ``run_blocking`` calls on purpose: one
    executor round trip per chunk and lane (wake a pool thread, hand back a future across
    threads) costs more GIL hand-offs than the hashing itself and halved throughput in
    measurements (bench/image_bench.py); a thread that just blocks on its queue does not.
    """

    def __init__(self, fd: int, depth: int, chunk_size: int, direct: bool) -> None:
        self.fd = fd
        self.direct = direct
        self.loop = asyncio.get_running_loop()
        self.credits = asyncio.Semaphore(depth)
        self.depth = depth
        # Buffers are reused rather than allocated per chunk: fresh multi-MiB allocations
        # cost page faults and zeroing on every chunk (measured: ~1.5 CPU-s per GiB).
        self.chunk_size = chunk_size
        self.free: list[mmap.mmap] = []
        self.owner: dict[int, mmap.mmap] = {}
        self.md5 = hashlib.md5(usedforsecurity=False)
        self.sha512 = hashlib.sha512()
        self.offset = 0
        self.seq = 0
        self.remaining: dict[int, int] = {}
        self.error: BaseException | None = None
        self.abort = False
        self.queues: list[queue.SimpleQueue[tuple[int, memoryview, int] | None]] = [
            queue.SimpleQueue() for _ in range(3)]
        self.exited = asyncio.Event()
        self.alive = 3
        self.threads = [threading.Thread(target=self._lane, args=(i,), daemon=True,
                                         name=f"image-write-lane-{i}") for i in range(3)]
        for t in self.threads:
            t.start()

    def _lane(self, lane: int) -> None:
        work = (self.md5.update, self.sha512.update)
        q = self.queues[lane]
        try:
            while (item := q.get()) is not None:
                seq, data, offset = item
                err: BaseException | None = None
                if not self.abort:
                    try:
                        if lane == 2:
                            self._write(data, offset)
                        else:
                            work[lane](data)
                    except BaseException as exc:  # handed to the event loop, raised there
                        err = exc
                self.loop.call_soon_threadsafe(self._done, seq, err)
        finally:
            self.loop.call_soon_threadsafe(self._exited)

    def _write(self, data: memoryview, offset: int) -> None:
        if self.direct and len(data) % _ALIGN:
            # O_DIRECT needs whole blocks: the short last chunk goes through the page cache.
            flags = fcntl.fcntl(self.fd, fcntl.F_GETFL)
            fcntl.fcntl(self.fd, fcntl.F_SETFL, flags & ~os.O_DIRECT)
            self.direct = False
        _pwrite_all(self.fd, data, offset)

    def _done(self, seq: int, err: BaseException | None) -> None:
        if err is not None and self.error is None:
            self.error = err
        self.remaining[seq] -= 1
        if self.remaining[seq] == 0:
            del self.remaining[seq]
            self.free.append(self.owner.pop(seq))
            self.credits.release()

    def _exited(self) -> None:
        self.alive -= 1
        if self.alive == 0:
            self.exited.set()

    async def buffer(self) -> mmap.mmap:
        """A free buffer of chunk_size bytes (waits while ``depth`` chunks are in flight).

        Buffers are anonymous mappings: page-aligned, as O_DIRECT writes need.
        """
        await self.credits.acquire()
        if self.error is not None:
            self.credits.release()
            raise self.error
        return self.free.pop() if self.free else mmap.mmap(-1, self.chunk_size)

    def push(self, buf: mmap.mmap, length: int) -> None:
        """Hand the first ``length`` bytes of a buffer from ``buffer()`` to the three lanes."""
        self.seq += 1
        self.remaining[self.seq] = 3
        self.owner[self.seq] = buf
        data = memoryview(buf)[:length]
        offset, self.offset = self.offset, self.offset + length
        for q in self.queues:
            q.put((self.seq, data, offset))

    async def finish(self) -> tuple[str, str, int]:
        for _ in range(self.depth):
            await self.credits.acquire()
        await self._stop()
        if self.error is not None:
            raise self.error
        return self.md5.hexdigest(), self.sha512.hexdigest(), self.offset

    async def _stop(self) -> None:
        for q in self.queues:
            q.put(None)
        await asyncio.shield(self.exited.wait())

    async def settle(self) -> None:
        """After a failure: skip what is queued and wait until no thread touches the file."""
        self.abort = True
        with contextlib.suppress(BaseException):
            await self._stop()


class FilesystemStore:
    store_type = "file"

    def __init__(self, store_id: str, root: Path, description: str = "", *,
                 write_chunk_size: int = 4 << 20, read_chunk_size: int = 4 << 20,
                 write_depth: int = 3, fsync: bool = True, direct_io: bool = True) -> None:
        self.store_id = store_id
        self.root = Path(root)
        self.description = description
        self.write_chunk_size = max(64 << 10, write_chunk_size // _ALIGN * _ALIGN)
        self.read_chunk_size = max(64 << 10, read_chunk_size)
        self.write_depth = max(1, write_depth)
        self.fsync = fsync
        self.direct_io = direct_io
        self.places = (f"directory {self.root}",)      # what no other store may use

    @classmethod
    def from_config(cls, store_id: str, description: str, options: dict[str, Any], *, conf: Any,
                    state_dir: Path, **_: Any) -> FilesystemStore:
        """From an ``[image] stores`` entry: ``path`` (empty: ``<state_dir>/images/<id>``)."""
        unknown = set(options) - {"path"}
        if unknown:
            raise ConfigError(f"[image] stores: store {store_id!r}: unknown option(s) "
                              f"{', '.join(sorted(unknown))} for a filesystem store; known: path")
        path = str(options.get("path", "") or "").strip()
        root = Path(path).expanduser() if path else Path(state_dir) / "images" / store_id
        return cls(store_id, root.resolve(), description, write_chunk_size=conf.write_chunk_size,
                   read_chunk_size=conf.read_chunk_size, fsync=conf.fsync, direct_io=conf.direct_io)

    def properties(self) -> dict[str, Any]:
        return {"data_dir": str(self.root), "chunk_size": self.read_chunk_size, "thin_provisioning": False}

    # ------------------------------------------------------------------ locations

    def location_for(self, image_id: str) -> str:
        return (self.root / image_id).as_uri()

    def _path(self, location: str) -> Path:
        if not location.startswith("file://"):
            raise StoreError(f"store {self.store_id} cannot read location {location!r}")
        path = Path(location[len("file://"):])
        if path.parent != self.root:
            raise StoreError(f"location {location!r} is outside store {self.store_id}")
        return path

    # ------------------------------------------------------------------ writing

    async def write(self, image_id: str, stream: AsyncIterator[bytes],
                    size: int | None = None) -> WriteResult:
        await run_blocking(self.root.mkdir, parents=True, exist_ok=True)
        final = self.root / image_id
        tmp = self.root / f".{image_id}.{uuid.uuid4().hex}{_PARTIAL}"
        try:
            fd, direct = await run_blocking(self._open_for_write, tmp)
        except OSError as exc:
            raise self._error(exc) from None
        lanes = _Lanes(fd, depth=self.write_depth, chunk_size=self.write_chunk_size, direct=direct)
        try:
            await self._fill(lanes, stream)
            md5, sha512, size = await lanes.finish()
            if self.fsync:
                await run_blocking(os.fsync, fd)
        except BaseException as exc:
            await lanes.settle()
            os.close(fd)
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            if isinstance(exc, OSError):
                raise self._error(exc) from None
            raise
        os.close(fd)
        try:
            await run_blocking(os.replace, tmp, final)
            if self.fsync:
                await run_blocking(fsync_dir, self.root)
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise self._error(exc) from None
        return WriteResult(final.as_uri(), size, md5, sha512)

    def _open_for_write(self, path: Path) -> tuple[int, bool]:
        """Open a new file, with O_DIRECT where the filesystem supports it (not tmpfs)."""
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC
        if self.direct_io and hasattr(os, "O_DIRECT"):
            try:
                return os.open(path, flags | os.O_DIRECT, 0o600), True
            except OSError as exc:
                if exc.errno != errno.EINVAL:
                    raise
        return os.open(path, flags, 0o600), False

    async def _fill(self, lanes: _Lanes, stream: AsyncIterator[bytes]) -> None:
        """Copy the stream into chunk-sized buffers and hand each full one to the lanes."""
        size = self.write_chunk_size
        buf, fill = await lanes.buffer(), 0
        async for chunk in stream:
            view = memoryview(chunk)
            while view:
                n = min(len(view), size - fill)
                buf[fill:fill + n] = view[:n]
                fill += n
                view = view[n:]
                if fill == size:
                    lanes.push(buf, fill)
                    buf, fill = await lanes.buffer(), 0
        if fill:
            lanes.push(buf, fill)
        else:
            lanes.free.append(buf)
            lanes.credits.release()

    def _error(self, exc: OSError) -> StoreError:
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            return StoreFull(f"store {self.store_id} is full: {exc.strerror}")
        return StoreError(f"store {self.store_id} failed: {exc}")

    # ------------------------------------------------------------------ reading

    async def read(self, location: str, offset: int = 0,
                   length: int | None = None) -> AsyncIterator[bytes]:
        path = self._path(location)
        try:
            fd = await run_blocking(os.open, path, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            raise DataNotFound(f"no data at {location}") from None
        ahead: asyncio.Future[bytes] | None = None
        try:
            end = (await run_blocking(os.fstat, fd)).st_size
            if length is not None:
                end = min(end, offset + length)
            with contextlib.suppress(OSError, AttributeError):
                os.posix_fadvise(fd, offset, end - offset, os.POSIX_FADV_SEQUENTIAL)
            pos = offset

            def next_read() -> asyncio.Future[bytes] | None:
                n = min(self.read_chunk_size, end - pos)
                return asyncio.ensure_future(run_blocking(os.pread, fd, n, pos)) if n > 0 else None

            ahead = next_read()
            while ahead is not None:
                data = await ahead
                ahead = None
                if not data:
                    return
                pos += len(data)
                ahead = next_read()
                yield data
        finally:
            await _settle(ahead)
            os.close(fd)

    async def size(self, location: str) -> int:
        try:
            return (await run_blocking(os.stat, self._path(location))).st_size
        except FileNotFoundError:
            raise DataNotFound(f"no data at {location}") from None

    # ------------------------------------------------------------------ housekeeping

    async def delete(self, location: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            await run_blocking(os.unlink, self._path(location))

    async def locations(self) -> list[str]:
        def scan() -> list[str]:
            if not self.root.is_dir():
                return []
            return [p.as_uri() for p in self.root.iterdir()
                    if p.is_file() and not p.name.startswith(".")]
        return await run_blocking(scan)

    async def discard_partial(self) -> int:
        def scan() -> int:
            if not self.root.is_dir():
                return 0
            gone = 0
            for p in self.root.iterdir():
                if p.name.startswith(".") and p.name.endswith(_PARTIAL):
                    with contextlib.suppress(FileNotFoundError):
                        p.unlink()
                        gone += 1
            return gone
        return await run_blocking(scan)
