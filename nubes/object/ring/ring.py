"""The ring a server or proxy looks names up in: part power, devices and the part→device table.

Loaded once from a ring file (written by the builder's rebalance, copied to every node); lookups
are pure and cheap: hash the path, take its top ``part_power`` bits, index the table. Nothing
here changes a ring; :mod:`nubes.object.ring.builder` makes them.

The file is gzip-compressed: a magic line, a 4-byte length, a JSON header (format, version,
part power, replica count, devices) and then one ``array`` of device ids per replica, each
``2 ** part_power`` long, little-endian ("H" while device ids fit in 16 bits, else "I")."""

from __future__ import annotations

import gzip
import json
import math
import struct
import sys
from array import array
from collections.abc import Iterator
from pathlib import Path

from nubes.object.hashing import HashSecret, hash_path, partition_of
from nubes.object.ring.device import Device, RingError

MAGIC = b"NUBES-RING\n"
FORMAT = 1
NONE_DEV = {"H": 0xFFFF, "I": 0xFFFFFFFF}     # a table cell with no device (never in a written ring)


def ring_bytes(version: int, part_power: int, devs: list[Device | None], table: list[array]) -> bytes:
    typecode = "H" if len(devs) < NONE_DEV["H"] else "I"
    header = json.dumps({"format": FORMAT, "version": version, "part_power": part_power,
                         "replica_count": len(table), "typecode": typecode,
                         "devs": [d.to_dict() if d is not None else None for d in devs]},
                        sort_keys=True).encode()
    chunks = [MAGIC, struct.pack(">I", len(header)), header]
    for row in table:
        out = array(typecode, row)
        if sys.byteorder != "little":
            out.byteswap()
        chunks.append(out.tobytes())
    # mtime=0: the same ring gives the same bytes, so nodes can compare files by checksum
    return gzip.compress(b"".join(chunks), compresslevel=6, mtime=0)


class Ring:
    """A loaded ring. ``devs`` is indexed by device id (``None`` where a device was removed);
    ``table[replica][part]`` is a device id."""

    def __init__(self, part_power: int, devs: list[Device | None], table: list[array], version: int = 0,
                 secret: HashSecret = HashSecret(), path: Path | None = None):
        self.part_power = part_power
        self.devs = devs
        self.table = table
        self.version = version
        self.secret = secret
        self.path = Path(path) if path is not None else None
        self._stat = self._file_stat()
        self._live, self._steps = _walkable(devs)

    @property
    def replica_count(self) -> int:
        return len(self.table)

    @property
    def partition_count(self) -> int:
        return 1 << self.part_power

    # -- loading

    @classmethod
    def from_bytes(cls, data: bytes, secret: HashSecret = HashSecret(), path: Path | None = None) -> Ring:
        try:
            return cls._from_bytes(data, secret, path)
        except (ValueError, KeyError, TypeError, struct.error) as exc:
            if isinstance(exc, RingError):
                raise
            raise RingError(f"ring file is damaged: {exc!r}") from None

    @classmethod
    def _from_bytes(cls, data: bytes, secret: HashSecret, path: Path | None) -> Ring:
        try:
            raw = gzip.decompress(data)
        except (OSError, EOFError) as exc:
            raise RingError(f"not a ring file (not gzip: {exc})") from None
        if not raw.startswith(MAGIC):
            raise RingError("not a nubes ring file (bad magic)")
        (hlen,) = struct.unpack_from(">I", raw, len(MAGIC))
        start = len(MAGIC) + 4
        header = json.loads(raw[start:start + hlen])
        if header.get("format") != FORMAT:
            raise RingError(f"ring file format {header.get('format')} is not one this nubes reads")
        typecode, parts = header["typecode"], 1 << header["part_power"]
        table, offset = [], start + hlen
        for _ in range(header["replica_count"]):
            row = array(typecode)
            row.frombytes(raw[offset:offset + parts * row.itemsize])
            if sys.byteorder != "little":
                row.byteswap()
            if len(row) != parts:
                raise RingError("ring file is truncated")
            offset += parts * row.itemsize
            table.append(row)
        devs = [Device.from_dict(d) if d is not None else None for d in header["devs"]]
        return cls(header["part_power"], devs, table, header["version"], secret, path)

    @classmethod
    def load(cls, path, secret: HashSecret = HashSecret()) -> Ring:
        path = Path(path)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise RingError(f"no ring file at {path}") from None
        return cls.from_bytes(data, secret, path)

    def to_bytes(self) -> bytes:
        return ring_bytes(self.version, self.part_power, self.devs, self.table)

    def _file_stat(self):
        if self.path is None:
            return None
        try:
            st = self.path.stat()
        except FileNotFoundError:
            return None
        return (st.st_mtime_ns, st.st_size, st.st_ino)

    def reload_if_changed(self) -> bool:
        """Reread the file if it changed since it was loaded (mtime, size or inode: a copied or
        renamed-in file) and holds another version. True when the ring in memory changed."""
        stat = self._file_stat()
        if self.path is None or stat is None or stat == self._stat:
            return False
        fresh = Ring.load(self.path, self.secret)
        self._stat = stat
        if fresh.version == self.version and fresh.table == self.table and fresh.devs == self.devs:
            return False
        self.part_power, self.devs, self.table = fresh.part_power, fresh.devs, fresh.table
        self.version, self._live, self._steps = fresh.version, fresh._live, fresh._steps
        return True

    # -- lookups

    def partition(self, account: str, container: str | None = None, obj: str | None = None,
                  secret: HashSecret | None = None) -> int:
        return partition_of(hash_path(secret or self.secret, account, container, obj), self.part_power)

    def primaries(self, part: int) -> list[Device]:
        """The ``replica_count`` devices that hold ``part``, in replica order, all distinct."""
        devs = self.devs
        return [devs[row[part]] for row in self.table]

    def get_nodes(self, account: str, container: str | None = None,
                  obj: str | None = None) -> tuple[int, list[Device]]:
        part = self.partition(account, container, obj)
        return part, self.primaries(part)

    def handoffs(self, part: int) -> Iterator[Device]:
        """Every other weighted device once, in an order fixed by ``part``: first one in each
        region the primaries do not use, then in each unused zone, then on each unused server,
        then the rest. The same part gives the same sequence on every node."""
        primaries = self.primaries(part)
        used = [set(), set(), set()]
        for dev in primaries:
            for level, tier in enumerate(dev.tiers[:3]):
                used[level].add(tier)
        taken = {dev.id for dev in primaries}
        live = self._live
        n = len(live)
        if not n:
            return
        # a walk through the devices that visits each once, its start and stride fixed by part
        start, step = _mix(part, 0) % n, self._steps[_mix(part, 1) % len(self._steps)]
        order = [live[(start + i * step) % n] for i in range(n)]
        for level in range(3):
            for dev in order:
                if dev.id in taken:
                    continue
                tiers = dev.tiers
                if tiers[level] in used[level]:
                    continue
                taken.add(dev.id)
                for lv in range(3):
                    used[lv].add(tiers[lv])
                yield dev
        for dev in order:
            if dev.id not in taken:
                yield dev

    def __repr__(self) -> str:
        return (f"<Ring version={self.version} part_power={self.part_power} "
                f"replicas={self.replica_count} devices={sum(d is not None for d in self.devs)}>")


def _walkable(devs) -> tuple[list[Device], list[int]]:
    """The devices handoffs may use (weight above 0) and the strides coprime with their number."""
    live = [d for d in devs if d is not None and d.weight > 0]
    n = len(live)
    return live, [s for s in range(1, max(n, 2)) if math.gcd(s, n) == 1] or [1]


def _mix(part: int, dev_id: int) -> int:
    """A cheap, fixed 32-bit scramble of (part, device id): a per-part device order."""
    x = (part * 0x9E3779B1 + dev_id * 0x85EBCA77 + 0x27D4EB2F) & 0xFFFFFFFF
    x ^= x >> 15
    x = (x * 0x2C1B3C6D) & 0xFFFFFFFF
    x ^= x >> 12
    x = (x * 0x297A2D39) & 0xFFFFFFFF
    return x ^ (x >> 15)
