"""One object's files on one device, and the suffix hashes the replicator compares.

An object lives in ``<device>/objects/<partition>/<suffix>/<hash>/`` as files named by timestamp:
``<t>.data`` (a version's body), ``<t>.ts`` (a tombstone) and ``<t>.meta`` (a later POST's
metadata). The newest ``.data`` or ``.ts`` is the object's state; a ``.meta`` newer than it
replaces its user metadata. Older files are removed once a newer one is durable.

Metadata is not kept in xattrs (their size is limited by the filesystem): every file ends with a
trailer ``<metadata JSON> <8-byte big-endian JSON length> <8-byte magic NUBESMD1>``, so the body
starts at offset 0 and ends at ``Content-Length``, and reading the metadata is two seeks from the
end, never a read of the whole file."""

from __future__ import annotations

import hashlib
import json
import os
import struct
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nubes.core.durable import fsync_dir
from nubes.object.server.backend import hash_dir, make_dirs
from nubes.object.timestamps import InvalidTimestamp, Timestamp

MAGIC = b"NUBESMD1"
TRAILER = struct.Struct(">Q8s")
EXTENSIONS = (".data", ".ts", ".meta")
# A GET's reads: each chunk is a thread hop and a send; 64 KiB chunks held the object server to
# 185 MB/s per GET, 1 MiB ones let it serve 1.6 GB/s from the page cache.
READ_CHUNK = 1024 * 1024


class CorruptFile(Exception):
    pass


def read_metadata(path: Path) -> dict[str, Any]:
    with open(path, "rb") as f:
        f.seek(0, os.SEEK_END)
        end = f.tell()
        if end < TRAILER.size:
            raise CorruptFile(f"{path}: too short for a metadata trailer")
        f.seek(end - TRAILER.size)
        length, magic = TRAILER.unpack(f.read(TRAILER.size))
        if magic != MAGIC or length > end - TRAILER.size:
            raise CorruptFile(f"{path}: no metadata trailer")
        f.seek(end - TRAILER.size - length)
        return json.loads(f.read(length))


def trailer(metadata: dict[str, Any]) -> bytes:
    blob = json.dumps(metadata, sort_keys=True).encode()
    return blob + TRAILER.pack(len(blob), MAGIC)


def _timestamp_of(filename: str) -> Timestamp | None:
    stem, ext = os.path.splitext(filename)
    if ext not in EXTENSIONS:
        return None
    try:
        return Timestamp.parse(stem)
    except InvalidTimestamp:
        return None


@dataclass
class ObjectState:
    """What the files of one hash directory say: ``kind`` is "data", "ts" or None (nothing)."""

    kind: str | None = None
    timestamp: Timestamp | None = None
    data_path: Path | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    meta_timestamp: Timestamp | None = None     # of the .meta applied, if any

    @property
    def content_length(self) -> int:
        return int(self.metadata.get("Content-Length", 0))


def _newest_files(directory: Path) -> tuple[tuple[Timestamp, str] | None,
                                            tuple[Timestamp, str] | None, list[str]]:
    """The newest .data/.ts, the newest .meta newer than it, and the obsolete files."""
    try:
        names = os.listdir(directory)
    except FileNotFoundError:
        return None, None, []
    stamped = sorted(((ts, n) for n in names if (ts := _timestamp_of(n)) is not None),
                     reverse=True)
    main = next(((ts, n) for ts, n in stamped if not n.endswith(".meta")), None)
    meta = next(((ts, n) for ts, n in stamped
                 if n.endswith(".meta") and (main is None or ts > main[0])), None)
    keep = {x[1] for x in (main, meta) if x}
    return main, meta, [n for _, n in stamped if n not in keep]


class DiskFile:
    """One object (by its path hash) on one device's partition."""

    def __init__(self, device_path: Path, partition: str, digest: bytes):
        self.device_path = device_path
        self.dir = hash_dir(device_path / "objects", partition, digest)
        self.tmp_dir = device_path / "tmp"

    def state(self) -> ObjectState:
        """The object's state; a directory whose newest files cannot be read (a torn or damaged
        trailer) is moved to ``<device>/quarantined/objects/`` and counts as empty, so that a
        replica elsewhere is served and the replicator puts a good copy back."""
        try:
            return self._read_state()
        except (CorruptFile, ValueError, UnicodeDecodeError):
            self.quarantine()
            return ObjectState()

    def quarantine(self) -> None:
        target = self.device_path / "quarantined" / "objects" / self.dir.name
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.exists():
            target = target.with_name(f"{self.dir.name}-{os.urandom(4).hex()}")
        try:
            os.replace(self.dir, target)
        except FileNotFoundError:
            pass

    def _read_state(self) -> ObjectState:
        main, meta, _ = _newest_files(self.dir)
        if main is None:
            return ObjectState()
        ts, name = main
        path = self.dir / name
        metadata = read_metadata(path)
        state = ObjectState("data" if name.endswith(".data") else "ts", ts,
                            path if name.endswith(".data") else None, metadata)
        if meta is not None and state.kind == "data":
            update = read_metadata(self.dir / meta[1])
            state.metadata = merge_post(metadata, update)
            state.meta_timestamp = meta[0]
        return state

    def writer(self) -> Writer:
        self.tmp_dir.mkdir(parents=True, exist_ok=True)
        return Writer(self)

    def put_marker(self, timestamp: Timestamp, ext: str, metadata: dict[str, Any]) -> Path:
        """A tombstone (``.ts``) or metadata update (``.meta``): an empty body and a trailer."""
        writer = self.writer()
        return writer.commit(timestamp, ext, metadata)

    def cleanup(self) -> None:
        """Remove the files a newer one has made obsolete (and the directory, when empty)."""
        _, _, obsolete = _newest_files(self.dir)
        for name in obsolete:
            try:
                os.unlink(self.dir / name)
            except FileNotFoundError:
                pass
        if obsolete:
            fsync_dir(self.dir)


def merge_post(data_meta: dict[str, Any], post_meta: dict[str, Any]) -> dict[str, Any]:
    """A POST's metadata over a version's: the user metadata (and the POST-able headers) are
    replaced, the rest (size, ETag, sysmeta) kept."""
    merged = {k: v for k, v in data_meta.items() if not is_post_replaced(k)}
    merged.update({k: v for k, v in post_meta.items() if is_post_replaced(k)})
    if "Content-Type" in post_meta:     # a POST may change it; one without keeps the PUT's
        merged["Content-Type"] = post_meta["Content-Type"]
    return merged


POST_HEADERS = ("content-disposition", "content-encoding", "x-delete-at")


def is_post_replaced(key: str) -> bool:
    """Whether a POST replaces this metadata key (user metadata and a few headers; never the
    size, ETag, Content-Type of the PUT unless given again, or sysmeta)."""
    key = key.lower()
    return key.startswith("x-object-meta-") or key in POST_HEADERS


class Writer:
    """A new file streamed into ``<device>/tmp``, then renamed into the hash directory."""

    def __init__(self, diskfile: DiskFile):
        self.diskfile = diskfile
        fd, self.tmp_path = tempfile.mkstemp(dir=diskfile.tmp_dir)
        self.file = os.fdopen(fd, "wb")
        self.md5 = hashlib.md5(usedforsecurity=False)
        self.size = 0

    def write(self, chunk: bytes) -> None:
        self.file.write(chunk)
        self.md5.update(chunk)
        self.size += len(chunk)

    def commit(self, timestamp: Timestamp, ext: str, metadata: dict[str, Any]) -> Path:
        """Trailer, fsync, rename, fsync of the directory: the file is durable on return."""
        try:
            self.file.write(trailer(metadata))
            self.file.flush()
            os.fsync(self.file.fileno())
            self.file.close()
            directory = self.diskfile.dir
            make_dirs(directory)
            target = directory / f"{timestamp.internal}{ext}"
            os.replace(self.tmp_path, target)
            fsync_dir(directory)
        except BaseException:
            self.abort()
            raise
        return target

    def abort(self) -> None:
        if not self.file.closed:
            self.file.close()
        try:
            os.unlink(self.tmp_path)
        except FileNotFoundError:
            pass


def read_range(path: Path, start: int, end: int) -> Iterator[bytes]:
    """Bytes ``start`` to ``end`` (exclusive) of a data file, a chunk at a time."""
    with open(path, "rb") as f:
        f.seek(start)
        left = end - start
        while left > 0:
            chunk = f.read(min(READ_CHUNK, left))
            if not chunk:
                raise CorruptFile(f"{path}: shorter than its Content-Length")
            left -= len(chunk)
            yield chunk


def suffix_hashes(partition_dir: Path, suffixes: list[str] | None = None) -> dict[str, str]:
    """Each suffix's hash: the MD5 of the sorted ``<hash>/<file>`` names under it, computed from
    the directory listing every time (no cache that could miss a file removed behind our back).
    A suffix with no files is left out."""
    out: dict[str, str] = {}
    try:
        names = sorted(os.listdir(partition_dir))
    except FileNotFoundError:
        return out
    for suffix in names:
        if len(suffix) != 3 or (suffixes is not None and suffix not in suffixes):
            continue
        md5 = hashlib.md5(usedforsecurity=False)
        entries = 0
        for obj_hash in sorted(os.listdir(partition_dir / suffix)):
            try:
                files = sorted(os.listdir(partition_dir / suffix / obj_hash))
            except NotADirectoryError:
                continue
            for name in files:
                if _timestamp_of(name) is not None:
                    md5.update(f"{obj_hash}/{name}\n".encode())
                    entries += 1
        if entries:
            out[suffix] = md5.hexdigest()
    return out


def newest_files(directory: Path) -> tuple[tuple[Timestamp, str] | None,
                                           tuple[Timestamp, str] | None, list[str]]:
    """What decides an object's state, for the daemons: the newest ``.data`` or ``.ts``, the newest
    ``.meta`` newer than it (each as ``(timestamp, file name)``), and the obsolete file names."""
    return _newest_files(directory)


def is_object_hash(name: object) -> bool:
    """Whether ``name`` can be an object's directory: 32 lowercase hex digits."""
    return isinstance(name, str) and len(name) == 32 and all(c in "0123456789abcdef" for c in name)
