"""Where backups live: the interface every backup store satisfies, and the directory store.

A store keeps each backup at a ``Location`` (its container, and for object storage the account
that holds the container) as the chunks the engine gives it plus a ``metadata.json`` written
last, whose presence means the backup is complete. The engine (engine.py) sees only the
interface below; ``object_store.py`` keeps backups in object storage.

The directory store's layout under its root (``[volume] backup_path``)::

    <container>/<backup id>/metadata.json      what the backup holds (see engine.py)
    <container>/<backup id>/chunks/<index>     the bytes of one chunk (only chunks this backup stores)
    <container>/.partial-<backup id>/          a backup being written

A backup is written in its ``.partial-`` directory (every file fsynced), then renamed into
place in one step and the container fsynced, so a backup directory either holds a complete
backup or does not exist; a crash leaves only a ``.partial-`` directory, which the worker's
reconcile removes.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from nubes.core.durable import fsync_dir

CONTAINER_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,254}$")
DEFAULT_CONTAINER = "volumebackups"
PARTIAL = ".partial-"
# A backup record's ``service`` names its store, as Cinder's name the backup driver that made them.
SERVICES = {"directory": "nubes.volume.backup.directory", "object": "nubes.volume.backup.swift"}
STORE_CHOICES = ("auto", "object", "directory")     # [volume] backup_store


def store_kind(service: str | None) -> str:
    """The store a backup record's ``service`` names (records without one: the directory)."""
    return next((kind for kind, name in SERVICES.items() if name == service), "directory")


class StoreError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def chunk_name(index: int) -> str:
    return f"{index:010d}"


@dataclass(frozen=True)
class Location:
    """Where one backup lives: its container, in ``account`` for object storage (None for a
    directory)."""

    container: str
    account: str | None = None


class BackupWriter(Protocol):
    """One backup being written: chunks in any order, then ``finish`` with the metadata (after
    which the backup is complete) or ``abort`` (after which nothing of it is left)."""

    def put_chunk(self, index: int, data: bytes) -> None: ...
    def finish(self, metadata_bytes: bytes) -> None: ...
    def abort(self) -> None: ...


class BackupStore(Protocol):
    kind: str              # "directory" or "object", as the backup records name their store
    read_ahead: int        # chunks a restore keeps in flight while it checks and writes one

    def begin(self, where: Location, backup_id: str) -> BackupWriter: ...

    def read_metadata(self, where: Location, backup_id: str) -> tuple[dict[str, Any], bytes]:
        """The backup's metadata and its bytes (whose SHA-256 the database keeps); StoreError
        when the backup is not complete there."""

    def read_chunk(self, where: Location, backup_id: str, index: int) -> bytes:
        """One chunk's bytes as stored (unchecked: the engine checks them); StoreError if missing."""

    def delete(self, where: Location, backup_id: str) -> None:
        """Everything of the backup, complete or not; nothing there is no error."""

    def remove_partial(self, where: Location, backup_id: str) -> None:
        """What a create that did not finish left (a worker's reconcile of a ``creating`` backup)."""

    def partials(self) -> list[tuple[Location, str]]:
        """Partial backups the store can find by itself, for the reconcile to remove."""


class DirectoryStore:
    kind = "directory"
    read_ahead = 1          # a local read is quicker than the checksum and the write

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def _container(self, container: str) -> Path:
        if not CONTAINER_RE.match(container or ""):
            raise StoreError(f"invalid backup container {container!r}")
        return self.root / container

    def path(self, where: Location, backup_id: str) -> Path:
        return self._container(where.container) / backup_id

    def exists(self, where: Location, backup_id: str) -> bool:
        return (self.path(where, backup_id) / "metadata.json").is_file()

    def begin(self, where: Location, backup_id: str) -> DirectoryWriter:
        base = self._container(where.container)
        base.mkdir(parents=True, exist_ok=True)
        partial = base / f"{PARTIAL}{backup_id}"
        shutil.rmtree(partial, ignore_errors=True)
        (partial / "chunks").mkdir(parents=True)
        return DirectoryWriter(partial, base / backup_id)

    def read_metadata(self, where: Location, backup_id: str) -> tuple[dict[str, Any], bytes]:
        try:
            raw = (self.path(where, backup_id) / "metadata.json").read_bytes()
        except FileNotFoundError:
            raise StoreError(f"backup {backup_id} has no files in container {where.container}") from None
        try:
            return json.loads(raw), raw
        except ValueError:
            raise StoreError(f"the metadata of backup {backup_id} is not valid JSON") from None

    def chunk_file(self, where: Location, backup_id: str, index: int) -> Path:
        return self.path(where, backup_id) / "chunks" / chunk_name(index)

    def read_chunk(self, where: Location, backup_id: str, index: int) -> bytes:
        try:
            return self.chunk_file(where, backup_id, index).read_bytes()
        except FileNotFoundError:
            raise StoreError(f"chunk {index} of backup {backup_id} is missing from the backup store") \
                from None

    def delete(self, where: Location, backup_id: str) -> None:
        path = self.path(where, backup_id)
        if path.exists():
            # rename first so a crash mid-delete leaves a partial (removed later), not half a backup
            doomed = path.parent / f"{PARTIAL}{backup_id}"
            shutil.rmtree(doomed, ignore_errors=True)
            os.rename(path, doomed)
            fsync_dir(path.parent)
            shutil.rmtree(doomed, ignore_errors=True)
        self.remove_partial(where, backup_id)

    def remove_partial(self, where: Location, backup_id: str) -> None:
        shutil.rmtree(self._container(where.container) / f"{PARTIAL}{backup_id}", ignore_errors=True)

    def partials(self) -> list[tuple[Location, str]]:
        """Every partial directory under the root (the root may be shared by several nodes)."""
        out = []
        if self.root.is_dir():
            for container in self.root.iterdir():
                if container.is_dir():
                    out.extend((Location(container.name), p.name[len(PARTIAL):])
                               for p in container.glob(f"{PARTIAL}*"))
        return out


class DirectoryWriter:
    def __init__(self, partial: Path, final: Path) -> None:
        self.partial = partial
        self.final = final
        # each chunk is fsynced by a thread while the next ones are read and hashed
        self._syncer = ThreadPoolExecutor(2, thread_name_prefix="backup-fsync")
        self._synced: list[Future] = []

    def put_chunk(self, index: int, data: bytes | memoryview) -> None:
        path = self.partial / "chunks" / chunk_name(index)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
        except BaseException:
            os.close(fd)
            raise
        self._synced.append(self._syncer.submit(_sync_close, fd))

    def finish(self, metadata_bytes: bytes) -> None:
        self._drain()
        meta = self.partial / "metadata.json"
        with open(meta, "wb") as f:
            f.write(metadata_bytes)
            f.flush()
            os.fsync(f.fileno())
        fsync_dir(self.partial / "chunks")
        fsync_dir(self.partial)
        if self.final.exists():         # a second delivery of the same create: replace it whole
            shutil.rmtree(self.final)
        os.rename(self.partial, self.final)
        fsync_dir(self.final.parent)

    def _drain(self) -> None:
        try:
            for fut in self._synced:
                fut.result()
        finally:
            self._syncer.shutdown(wait=True)

    def abort(self) -> None:
        try:
            self._drain()
        except OSError:
            pass
        shutil.rmtree(self.partial, ignore_errors=True)


def _sync_close(fd: int) -> None:
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
