"""Where the format probes read bytes from: a whole file or buffer, or what a stream inspector kept.

A probe asks ``read(offset, length)`` and ``tail(length)`` and never sees where the bytes come
from. Reading a file or a buffer always answers (short at the end of the data). Reading what a
stream inspector captured may not answer yet: ``NeedData`` says which bytes the probe wants
(the inspector then keeps them as they stream past), ``OutOfReach`` that they can never be had
(they streamed past already, or are more than an inspector will hold).
"""

from __future__ import annotations

import os
from typing import Protocol

# The most one probe may ask for at once (a VHDX metadata region, a VMDK descriptor, a qcow2
# first cluster are all at most this by the formats' own limits or ours).
MAX_READ = 2 * 1024 * 1024
# The bytes at the end of the data a probe may ask for: a VMDK footer (marker, footer, end-of-
# stream marker) is the most.
TAIL = 1536


class NeedData(Exception):  # noqa: N818 -- a request for more bytes, not an error
    """The bytes ``[offset, offset + length)`` (or, when ``offset`` is None, the end of the data)
    are not known yet."""

    def __init__(self, offset: int | None, length: int) -> None:
        super().__init__(offset, length)
        self.offset = offset
        self.length = length


class OutOfReach(Exception):  # noqa: N818
    """The bytes asked for can never be read from this source."""


class Source(Protocol):
    @property
    def size(self) -> int | None: ...

    def read(self, offset: int, length: int) -> bytes: ...

    def tail(self, length: int) -> bytes: ...


def _check(offset: int, length: int) -> None:
    if offset < 0 or length < 0:
        raise OutOfReach(f"bytes {offset}+{length} are not a range of the data")
    if length > MAX_READ:
        raise OutOfReach(f"{length} bytes at offset {offset} are more than is inspected")


class BytesSource:
    """All of the data, in memory (small images in tests, or what a caller already holds)."""

    def __init__(self, data: bytes) -> None:
        self.data = bytes(data)

    @property
    def size(self) -> int:
        return len(self.data)

    def read(self, offset: int, length: int) -> bytes:
        _check(offset, length)
        return self.data[offset:offset + length]

    def tail(self, length: int) -> bytes:
        return self.data[max(0, len(self.data) - min(length, TAIL)):]


class FileSource:
    """A file, read where the probes look (a few KiB of a large image, never all of it)."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self._size = os.fstat(fd).st_size

    @property
    def size(self) -> int:
        return self._size

    def read(self, offset: int, length: int) -> bytes:
        _check(offset, length)
        if offset >= self._size:
            return b""
        out = bytearray()
        while len(out) < length:
            piece = os.pread(self.fd, length - len(out), offset + len(out))
            if not piece:
                break
            out += piece
        return bytes(out)

    def tail(self, length: int) -> bytes:
        length = min(length, TAIL, self._size)
        return self.read(self._size - length, length)
