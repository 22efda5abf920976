"""Writes that survive a crash: a file replaced atomically and durably, and a directory's entries
made durable. Every service that keeps state in files (rings, volume records, backups, images,
object data) uses these, so the order of fsyncs is written once."""

from __future__ import annotations

import os
import uuid
from pathlib import Path


def fsync_dir(path: Path) -> None:
    """Make the entries of directory ``path`` (a new, renamed or removed name) durable."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomically(path: Path, data: bytes, tmp_prefix: str = ".") -> None:
    """Write ``data`` to a temporary file beside ``path`` (named with ``tmp_prefix``), fsync it,
    rename it over ``path`` and fsync the directory: a reader sees the old file or the new one,
    never half of one, and after a crash the new one if this returned."""
    path = Path(path)
    tmp = path.with_name(f"{tmp_prefix}{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)
