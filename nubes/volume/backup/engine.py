"""A volume's bytes to and from a backup, in fixed-size chunks, each with its SHA-256.

A backup's ``metadata.json`` (store.py) says everything a restore needs::

    {"format": "nubes-volume-backup", "version": 1, "backup_id", "volume_id", "parent_id",
     "size": <bytes>, "chunk_size": <bytes>, "created_at",
     "containers": {<backup id>: <container>},      # where each backup the chunks name lives
     "accounts": {<backup id>: <account>},          # (object storage only) in which account
     "chunks": [[index, sha256, <backup id holding it>], ...]}

The engine knows stores only by their interface (store.py): it hands the writer chunks and the
metadata, and a restore asks the store for each chunk's bytes, keeping ``store.read_ahead`` of
them in flight (one for a directory, several for object storage, whose reads wait on the network).

Chunks not listed are zeros (never read from a hole of the image, never stored). An incremental
backup compares each chunk's SHA-256 with its parent's at the same index and stores only those
that changed; the unchanged ones name the backup that holds them (the parent's holder), so a
restore reads each chunk from exactly one file whatever the length of the chain. Restores check
every chunk's SHA-256 before writing it.

The volume is read where it lies: ``qemu-img map`` of the image says, for each range of guest
bytes, whether it holds data and in which file of the backing chain at which offset, and the
chunks are read from those files directly (a read-ahead thread keeping the disk busy while the
previous chunk is hashed and written), holes never read; so a qcow2 chain costs no copy. An image
whose data does not lie plainly in its files (compressed or encrypted clusters, an external data
file) is first converted to a sparse raw scratch file by ``qemu-img convert``.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import hashlib
import json
import os
import subprocess
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from nubes.volume.backup.store import BackupStore, BackupWriter, Location, StoreError

FORMAT = "nubes-volume-backup"
SYNC_EVERY = 32 << 20          # bytes a restore writes between two background fdatasyncs


class BackupError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ChecksumMismatch(BackupError):
    pass


def _run(cmd: list[str]) -> str:
    res = subprocess.run(cmd, capture_output=True, text=True)
    if res.returncode != 0:
        raise BackupError(f"{cmd[0]} {cmd[1]} failed: {res.stderr.strip() or res.returncode}")
    return res.stdout


# (guest start, guest end, file, offset in that file) of a range of data
Extent = tuple[int, int, Path, int]


def data_layout(path: Path, fmt: str) -> tuple[int, list[Extent]] | None:
    """The image's virtual size and where its data lies in the files of its chain; None when
    some of it cannot be read straight from a file (compressed or encrypted, a data file)."""
    chain = json.loads(_run(["qemu-img", "info", "-U", "--backing-chain", "--output=json", "-f", fmt, str(path)]))
    files: list[Path] = []
    for image in chain:
        data_file = ((image.get("format-specific") or {}).get("data") or {}).get("data-file")
        if image.get("encrypted") or data_file:
            return None
        name = Path(image["filename"])
        files.append(name if name.is_absolute() or not files else files[-1].parent / name)
    entries = json.loads(_run(["qemu-img", "map", "-U", "--output=json", "-f", fmt, str(path)]))
    size = max((e["start"] + e["length"] for e in entries), default=0)
    out: list[Extent] = []
    for e in entries:
        if not e.get("data") or e.get("zero"):
            continue
        if e.get("compressed") or "offset" not in e or e.get("depth", 0) >= len(files):
            return None
        out.append((e["start"], e["start"] + e["length"], files[e.get("depth", 0)], e["offset"]))
    return size, out


def _chunks_with_data(size: int, extents: list[Extent], chunk_size: int) -> list[int]:
    wanted: set[int] = set()
    for start, end, _file, _offset in extents:
        wanted.update(range(start // chunk_size, (min(end, size) - 1) // chunk_size + 1))
    return sorted(i for i in wanted if i * chunk_size < size)


def _read_chunks(size: int, extents: list[Extent], indexes: list[int],
                 chunk_size: int) -> Iterator[tuple[int, bytes]]:
    """(index, bytes) of each chunk, gathered from the extents it overlaps (zeros between
    them), the next one read by a thread while the caller works."""
    fds: dict[Path, int] = {}
    by_chunk: dict[int, list[Extent]] = {}
    for ext in extents:
        for index in range(ext[0] // chunk_size, (min(ext[1], size) - 1) // chunk_size + 1):
            by_chunk.setdefault(index, []).append(ext)
    try:
        for file in {e[2] for e in extents}:
            fds[file] = os.open(file, os.O_RDONLY)
            os.posix_fadvise(fds[file], 0, 0, os.POSIX_FADV_SEQUENTIAL)

        def read(index: int) -> bytes:
            start = index * chunk_size
            end = min(start + chunk_size, size)
            parts = by_chunk.get(index, [])
            if len(parts) == 1 and parts[0][0] <= start and parts[0][1] >= end:
                ext_start, _end, file, offset = parts[0]
                data = os.pread(fds[file], end - start, offset + start - ext_start)
                if len(data) == end - start:
                    return data
            buf = bytearray(end - start)
            for ext_start, ext_end, file, offset in parts:
                lo, hi = max(start, ext_start), min(end, ext_end)
                piece = os.pread(fds[file], hi - lo, offset + lo - ext_start)
                buf[lo - start:lo - start + len(piece)] = piece     # past a file's end: zeros
            return bytes(buf)

        with ThreadPoolExecutor(1, thread_name_prefix="backup-read") as pool:
            pending = pool.submit(read, indexes[0]) if indexes else None
            for n, index in enumerate(indexes):
                assert pending is not None
                data = pending.result()
                pending = pool.submit(read, indexes[n + 1]) if n + 1 < len(indexes) else None
                yield index, data
    finally:
        for fd in fds.values():
            os.close(fd)


def backup_image(path: Path, fmt: str, writer: BackupWriter, *, backup_id: str, volume_id: str,
                 where: Location, chunk_size: int, scratch: Path,
                 parent: dict[str, Any] | None) -> dict[str, Any]:
    """Write the image's chunks (those that differ from ``parent``'s, when given) and its
    metadata; answers the metadata plus ``object_count`` (chunks stored) and ``metadata_sha256``."""
    layout = data_layout(path, fmt)
    if layout is None:
        scratch.mkdir(parents=True, exist_ok=True)
        tmp = scratch / f"{backup_id}.raw"
        try:
            _run(["qemu-img", "convert", "-U", "-f", fmt, "-O", "raw", str(path), str(tmp)])
            return backup_image(tmp, "raw", writer, backup_id=backup_id, volume_id=volume_id, where=where,
                                chunk_size=chunk_size, scratch=scratch, parent=parent)
        finally:
            tmp.unlink(missing_ok=True)
    size, extents = layout
    inherit: dict[int, tuple[str, str]] = {}
    containers = {backup_id: where.container}
    accounts = {backup_id: where.account} if where.account else {}
    if parent is not None and parent.get("chunk_size") == chunk_size:
        for index, sha, holder in parent["chunks"]:
            inherit[index] = (sha, holder)
        containers.update(parent.get("containers", {}))
        if where.account:
            accounts.update(parent.get("accounts", {}))
    zeros = bytes(chunk_size)
    chunks: list[list[Any]] = []
    stored = 0
    for index, data in _read_chunks(size, extents, _chunks_with_data(size, extents, chunk_size), chunk_size):
        if data == zeros[:len(data)]:
            continue
        sha = hashlib.sha256(data).hexdigest()
        old = inherit.get(index)
        if old is not None and old[0] == sha:
            chunks.append([index, sha, old[1]])
            continue
        writer.put_chunk(index, data)
        stored += 1
        chunks.append([index, sha, backup_id])
    holders = {c[2] for c in chunks} | {backup_id}
    meta = {"format": FORMAT, "version": 1, "backup_id": backup_id, "volume_id": volume_id,
            "parent_id": parent["backup_id"] if parent else None, "size": size, "chunk_size": chunk_size,
            "created_at": datetime.now(timezone.utc).isoformat(),
            "containers": {k: v for k, v in containers.items() if k in holders}, "chunks": chunks}
    if accounts:
        meta["accounts"] = {k: v for k, v in accounts.items() if k in holders}
    raw = json.dumps(meta, separators=(",", ":")).encode()
    writer.finish(raw)
    return {**meta, "object_count": stored, "metadata_sha256": hashlib.sha256(raw).hexdigest()}


def check_metadata(meta: Any, backup_id: str) -> None:
    if not isinstance(meta, dict) or meta.get("format") != FORMAT or meta.get("backup_id") != backup_id:
        raise BackupError(f"the files of backup {backup_id} are not a nubes volume backup")


_LIBC = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
_PUNCH = 0x01 | 0x02            # FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE


def _zero_range(fd: int, offset: int, length: int) -> None:
    """Make [offset, offset+length) read as zeros, sparsely where the filesystem can."""
    if length <= 0:
        return
    if _LIBC.fallocate(fd, _PUNCH, ctypes.c_long(offset), ctypes.c_long(length)) == 0:
        return
    block = bytes(1 << 20)
    end = offset + length
    while offset < end:
        offset += os.pwrite(fd, block[:min(len(block), end - offset)], offset)


def restore_image(store: BackupStore, meta: dict[str, Any], path: Path, fmt: str, *,
                  scratch: Path, where: Location) -> None:
    """Write the backup (at ``where``) into the image at ``path`` (at least the backup's size);
    every chunk's SHA-256 is checked before it is written (ChecksumMismatch names the first that
    fails). A chunk held by another backup of the chain is read where the metadata says it is."""
    size, chunk_size = int(meta["size"]), int(meta["chunk_size"])
    if fmt != "raw":
        scratch.mkdir(parents=True, exist_ok=True)
        tmp = scratch / f"restore-{meta['backup_id']}-{os.getpid()}.raw"
        try:
            with open(tmp, "wb") as f:
                f.truncate(size)
            restore_image(store, meta, tmp, "raw", scratch=scratch, where=where)
            _run(["qemu-img", "convert", "-n", "-f", "raw", "-O", fmt, str(tmp), str(path)])
        finally:
            tmp.unlink(missing_ok=True)
        return
    if os.stat(path).st_size < size:
        raise BackupError(f"the volume ({os.stat(path).st_size} bytes) is smaller than the backup ({size} bytes)")
    containers, accounts = meta.get("containers", {}), meta.get("accounts", {})
    fd = os.open(path, os.O_RDWR)
    try:
        _zero_range(fd, 0, size)

        def load(entry: list[Any]) -> tuple[list[Any], bytes]:
            index, _sha, holder = entry
            container = containers.get(holder)
            if container is None:
                raise BackupError(f"backup {meta['backup_id']} names chunk {index} in backup {holder}, "
                                  "whose container it does not say")
            at = Location(container, accounts.get(holder, where.account))
            try:
                return entry, store.read_chunk(at, holder, index)
            except StoreError as err:
                raise BackupError(err.message) from None

        entries = meta["chunks"]
        depth = max(1, store.read_ahead)
        flushing = None
        unsynced = 0
        with ThreadPoolExecutor(depth, thread_name_prefix="restore-read") as pool, \
                ThreadPoolExecutor(1, thread_name_prefix="restore-sync") as syncer:
            pending: deque[Future] = deque(pool.submit(load, e) for e in entries[:depth])
            for n in range(len(entries)):
                if unsynced >= SYNC_EVERY and (flushing is None or flushing.done()):
                    # start the writeback of what is written while the next chunks are
                    if flushing is not None:
                        flushing.result()
                    flushing, unsynced = syncer.submit(os.fdatasync, fd), 0
                (index, sha, holder), data = pending.popleft().result()
                if n + depth < len(entries):
                    pending.append(pool.submit(load, entries[n + depth]))
                expected = min(chunk_size, size - index * chunk_size)
                if len(data) != expected or hashlib.sha256(data).hexdigest() != sha:
                    raise ChecksumMismatch(f"chunk {index} of backup {holder} does not match its checksum "
                                           "(the backup is corrupt)")
                view = memoryview(data)
                offset = index * chunk_size
                while view:
                    written = os.pwrite(fd, view, offset)
                    view, offset = view[written:], offset + written
                unsynced += len(data)
            if flushing is not None:
                flushing.result()
        os.fsync(fd)
    finally:
        os.close(fd)
