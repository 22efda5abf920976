"""A gzip'ed cpio ("newc") archive written from Python: the initramfs of the test guest.

No cpio binary is needed; entries are directories, regular files (with their mode) and
symbolic links, in the order given (parents first).
"""

from __future__ import annotations

import gzip
import io
import stat
from dataclasses import dataclass


@dataclass(frozen=True)
class Entry:
    path: str                   # inside the archive, without a leading "/"
    data: bytes = b""
    mode: int = 0o644
    kind: str = "file"          # "file", "dir" or "symlink" (data = the target)


def _header(ino: int, mode: int, size: int, name: bytes) -> bytes:
    fields = [ino, mode, 0, 0, 1, 0, size, 0, 0, 0, 0, len(name) + 1, 0]
    return b"070701" + b"".join(b"%08X" % f for f in fields) + name + b"\0"


def _pad(n: int) -> bytes:
    return b"\0" * ((4 - n % 4) % 4)


def archive(entries: list[Entry]) -> bytes:
    out = io.BytesIO()
    for ino, e in enumerate(entries, start=1):
        kind = {"file": stat.S_IFREG, "dir": stat.S_IFDIR, "symlink": stat.S_IFLNK}[e.kind]
        data = e.data if e.kind != "dir" else b""
        head = _header(ino, kind | e.mode, len(data), e.path.encode())
        out.write(head + _pad(len(head)))
        out.write(data + _pad(len(data)))
    trailer = _header(0, 0, 0, b"TRAILER!!!")
    out.write(trailer + _pad(len(trailer)))
    return gzip.compress(out.getvalue(), compresslevel=6, mtime=0)     # the same guest, the same bytes
