"""The directory backup store: one directory per backup, readable without the database.

Layout under the root (``[volume] backup_path``)::

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
from pathlib import Path
from typing import Any

from nubes.core.durable import fsync_dir

CONTAINER_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,254}$")
DEFAULT_CONTAINER = "volumebackups"
PARTIAL = ".partial-"


class StoreError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def chunk_name(index: int) -> str:
    return f"{index:010d}"


class DirectoryStore:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def _container(self, container: str) -> Path:
        if not CONTAINER_RE.match(container or ""):
            raise StoreError(f"invalid backup container {container!r}")
        return self.root / container

    def path(self, container: str, backup_id: str) -> Path:
        return self._container(container) / backup_id

    def exists(self, container: str, backup_id: str) -> bool:
        return (self.path(container, backup_id) / "metadata.json").is_file()

    def begin(self, container: str, backup_id: str) -> BackupWriter:
        base = self._container(container)
        base.mkdir(parents=True, exist_ok=True)
        partial = base / f"{PARTIAL}{backup_id}"
        shutil.rmtree(partial, ignore_errors=True)
        (partial / "chunks").mkdir(parents=True)
        return BackupWriter(partial, base / backup_id)

    def read_metadata(self, container: str, backup_id: str) -> tuple[dict[str, Any], bytes]:
        """The backup's metadata and the file's bytes (whose SHA-256 the database keeps)."""
        try:
            raw = (self.path(container, backup_id) / "metadata.json").read_bytes()
        except FileNotFoundError:
            raise StoreError(f"backup {backup_id} has no files in container {container}") from None
        try:
            return json.loads(raw), raw
        except ValueError:
            raise StoreError(f"the metadata of backup {backup_id} is not valid JSON") from None

    def chunk_file(self, container: str, backup_id: str, index: int) -> Path:
        return self.path(container, backup_id) / "chunks" / chunk_name(index)

    def delete(self, container: str, backup_id: str) -> None:
        path = self.path(container, backup_id)
        if path.exists():
            # rename first so a crash mid-delete leaves a partial (removed later), not half a backup
            doomed = path.parent / f"{PARTIAL}{backup_id}"
            shutil.rmtree(doomed, ignore_errors=True)
            os.rename(path, doomed)
            fsync_dir(path.parent)
            shutil.rmtree(doomed, ignore_errors=True)
        self.remove_partial(container, backup_id)

    def remove_partial(self, container: str, backup_id: str) -> None:
        shutil.rmtree(self._container(container) / f"{PARTIAL}{backup_id}", ignore_errors=True)

    def partials(self) -> list[tuple[str, str]]:
        """(container, backup id) of every partial directory under the root."""
        out = []
        if self.root.is_dir():
            for container in self.root.iterdir():
                if container.is_dir():
                    out.extend((container.name, p.name[len(PARTIAL):]) for p in container.glob(f"{PARTIAL}*"))
        return out


class BackupWriter:
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
