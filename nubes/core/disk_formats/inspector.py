"""Run every format probe over an image: a file (``inspect_file``) or a stream (``StreamInspector``).

Every probe runs on every image, so data that reads as two formats at once (an ISO whose
system area holds a qcow2 header) is seen as such, not taken for whichever was tried first.

A stream is seen once and never held whole: the inspector keeps its first ``HEAD`` bytes
(every format's fixed headers lie there: the VHDX region table, at 192 KiB, is the furthest),
the last ``TAIL`` bytes (VHD and VMDK footers), and the ranges probes ask for beyond the head
(a VMDK descriptor, a VHDX metadata region: at most ``MAX_READ`` bytes each, ``MAX_HELD`` in
all), which it keeps as they stream past. The probes run when the head is complete, when a
range they asked for is, and at the end; ``inspection`` is what is known so far, so a caller
can refuse an upload long before it ends.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from nubes.core.disk_formats import iso, ploop, qcow2, vdi, vhd, vmdk
from nubes.core.disk_formats.findings import Finding
from nubes.core.disk_formats.source import (
    MAX_READ,
    TAIL,
    BytesSource,
    FileSource,
    NeedData,
    OutOfReach,
    Source,
)

HEAD = 256 * 1024
MAX_HELD = 4 * 1024 * 1024

PROBES: tuple[tuple[str, Callable[[Source], Finding | None]], ...] = (
    ("qcow2", qcow2.probe), ("vmdk", vmdk.probe), ("vhd", vhd.probe_vhd), ("vhdx", vhd.probe_vhdx),
    ("vdi", vdi.probe), ("iso", iso.probe), ("ploop", ploop.probe),
)


@dataclass
class Inspection:
    """What the data is, as far as it has been seen (``final``: all of it)."""

    findings: list[Finding]
    size: int
    final: bool
    pending: list[str] = field(default_factory=list)     # probes still waiting for bytes

    @property
    def format(self) -> str | None:
        """``raw`` when nothing was recognised (known only at the end), the one format found, or
        None while undecided or when several formats were found."""
        if len(self.findings) == 1:
            return self.findings[0].format
        if not self.findings and self.final:
            return "raw"
        return None

    @property
    def ambiguous(self) -> bool:
        return len(self.findings) > 1

    @property
    def finding(self) -> Finding | None:
        return self.findings[0] if len(self.findings) == 1 else None

    @property
    def virtual_size(self) -> int | None:
        if self.finding is not None:
            return self.finding.virtual_size
        return self.size if self.format == "raw" else None

    @property
    def unsafe(self) -> list[str]:
        return [f"the {f.format} image {why}" for f in self.findings for why in f.unsafe]


def examine(src: Source, size: int, final: bool) -> tuple[Inspection, list[NeedData]]:
    findings: list[Finding] = []
    needs: list[NeedData] = []
    pending: list[str] = []
    for name, probe in PROBES:
        try:
            found = probe(src)
        except NeedData as need:
            pending.append(name)
            needs.append(need)
            continue
        except OutOfReach as e:
            found = Finding(name).refuse(f"cannot be inspected: {e}")
        if found is not None:
            findings.append(found)
    return Inspection(findings, size, final, pending), needs


def inspect_bytes(data: bytes) -> Inspection:
    return examine(BytesSource(data), len(data), True)[0]


def inspect_file(path: Path | str) -> Inspection:
    """Blocking (a few small reads): run it in a thread from async code."""
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        src = FileSource(fd)
        return examine(src, src.size, True)[0]
    finally:
        os.close(fd)


class _Kept:
    """A range of the stream a probe asked for, filled as it passes."""

    def __init__(self, offset: int, length: int) -> None:
        self.offset = offset
        self.end = offset + length
        self.data = bytearray()

    @property
    def complete(self) -> bool:
        return self.offset + len(self.data) >= self.end


class _Captured:
    """A ``Source`` over what a ``StreamInspector`` kept."""

    def __init__(self, owner: StreamInspector, final: bool) -> None:
        self.owner = owner
        self.final = final

    @property
    def size(self) -> int | None:
        return self.owner.position if self.final else None

    def read(self, offset: int, length: int) -> bytes:
        o = self.owner
        if offset < 0 or length < 0 or length > MAX_READ:
            raise OutOfReach(f"{length} bytes at offset {offset} are more than is inspected")
        end = offset + length
        if self.final:
            end = min(end, o.position)
            if offset >= end:
                return b""
        if end <= len(o.head):
            return bytes(o.head[offset:end])
        for kept in o.kept:
            if kept.offset <= offset and end <= kept.offset + len(kept.data):
                return bytes(kept.data[offset - kept.offset:end - kept.offset])
        if self.final:
            tail_start = o.position - len(o.tail)
            if offset >= tail_start:
                return bytes(o.tail[offset - tail_start:end - tail_start])
            raise OutOfReach(f"bytes {offset}-{end} streamed past before anything asked for them")
        covered = any(k.offset <= offset and end <= k.end for k in o.kept)
        if offset < o.position and not covered and o.position > len(o.head):
            raise OutOfReach(f"bytes {offset}-{end} streamed past before anything asked for them")
        raise NeedData(offset, end - offset)

    def tail(self, length: int) -> bytes:
        if not self.final:
            raise NeedData(None, length)
        return bytes(self.owner.tail[max(0, len(self.owner.tail) - min(length, TAIL)):])


class StreamInspector:
    """Feed it the chunks of an image in order, then ``finish()``; ``inspection`` meanwhile."""

    def __init__(self) -> None:
        self.head = bytearray()
        self.tail = b""
        self.kept: list[_Kept] = []
        self.position = 0
        self.inspection = Inspection([], 0, False, ["all"])
        self.examined = 0            # how many times the probes ran (a caller re-judges when it grows)

    def feed(self, chunk: bytes | bytearray | memoryview) -> None:
        view = memoryview(chunk).cast("B")
        while view:
            boundary = self._boundary()
            n = len(view) if boundary is None else min(len(view), boundary - self.position)
            self._take(view[:n])
            view = view[n:]
            if boundary is not None and self.position == boundary:
                self._examine(final=False)

    def finish(self) -> Inspection:
        self._examine(final=True)
        return self.inspection

    def _boundary(self) -> int | None:
        """The next offset at which the head or a kept range is complete."""
        if len(self.head) < HEAD:
            return HEAD
        ends = [k.end for k in self.kept if not k.complete and k.end > self.position]
        return min(ends) if ends else None

    def _take(self, piece: memoryview) -> None:
        start, n = self.position, len(piece)
        if len(self.head) < HEAD:
            self.head += piece[:HEAD - len(self.head)]
        for k in self.kept:
            if not k.complete and k.offset < start + n and start < k.end:
                begin = max(k.offset + len(k.data), start)
                stop = min(k.end, start + n)
                if begin < stop:
                    k.data += piece[begin - start:stop - start]
        self.tail = bytes(piece[-TAIL:]) if n >= TAIL else (self.tail + bytes(piece))[-TAIL:]
        self.position += n

    def _examine(self, final: bool) -> None:
        self.inspection, needs = examine(_Captured(self, final), self.position, final)
        self.examined += 1
        if final:
            return
        held = sum(k.end - k.offset for k in self.kept)
        for need in needs:
            if need.offset is None or any(k.offset == need.offset and k.end == need.offset + need.length
                                          for k in self.kept):
                continue
            if held + need.length > MAX_HELD:
                continue          # never kept: the probe finds it out of reach at the end
            kept = _Kept(need.offset, need.length)
            if need.offset < self.position:          # it starts in the head, which is all there
                kept.data += self.head[need.offset:self.position]
            self.kept.append(kept)
            held += need.length
