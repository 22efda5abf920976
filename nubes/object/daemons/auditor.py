"""The object auditor: every object file on this node read back and checked, at a bounded pace.

Swift's object auditor walks each device's ``objects/<partition>/<suffix>/<hash>`` directories;
for each object it checks that the newest files' metadata trailers are readable, that the name
they record hashes to the directory it is in, that a data file is as long as its
``Content-Length`` says, and that the body's MD5 is its ``ETag``. A directory that fails is moved
to ``<device>/quarantined/objects/`` (``DiskFile.quarantine``): the object then counts as absent
on this device, the proxy serves a good replica, and the replicator's next pass puts one back.

Reading is slowed to ``files_per_second`` and ``bytes_per_second`` (over the whole pass) so that
auditing does not starve the requests. It needs only the device directories: no ring, no peers."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nubes.object.hashing import HashSecret, hash_path
from nubes.object.server.backend import Devices, HTTPError
from nubes.object.server.diskfile import (TRAILER, CorruptFile, DiskFile, is_object_hash, newest_files,
                                          read_metadata)

LOG = logging.getLogger(__name__)
READ_CHUNK = 1024 * 1024


@dataclass
class AuditStats:
    """What one pass did (logged at its end, returned by ``audit_once``)."""

    objects: int = 0             # object directories checked
    bytes: int = 0               # body bytes read
    quarantined: int = 0
    errors: int = 0              # directories that could not be read (left for the next pass)
    seconds: float = 0.0


class Damaged(Exception):
    """An object whose files fail a check: the reason."""


class Pace:
    """Sleeps that keep a pass under ``files_per_second`` and ``bytes_per_second`` (0 = no bound)."""

    def __init__(self, files_per_second: float, bytes_per_second: float,
                 sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep):
        self.fps, self.bps = files_per_second, bytes_per_second
        self.sleep = sleep
        self.started = time.monotonic()
        self.files = self.bytes = 0

    async def tick(self, files: int = 0, nbytes: int = 0) -> None:
        self.files += files
        self.bytes += nbytes
        due = max(self.files / self.fps if self.fps > 0 else 0.0,
                  self.bytes / self.bps if self.bps > 0 else 0.0)
        ahead = due - (time.monotonic() - self.started)
        if ahead > 0:
            await self.sleep(ahead)


def _name_parts(name: Any) -> list[str]:
    if not isinstance(name, str) or not name.startswith("/"):
        raise Damaged(f"no object name in its metadata ({name!r})")
    parts = name[1:].split("/", 2)
    if len(parts) != 3:
        raise Damaged(f"{name!r} is not /account/container/object")
    return parts


def check_files(hash_dir: Path, secret: HashSecret) -> tuple[Path | None, int, str]:
    """The metadata checks of one object directory: its data file (None for a tombstone), the
    body's length and ETag to read it against. Raises Damaged."""
    main, meta, _ = newest_files(hash_dir)
    if main is None:
        return None, 0, ""
    path = hash_dir / main[1]
    try:
        metadata = read_metadata(path)
        if meta is not None:
            read_metadata(hash_dir / meta[1])
    except (CorruptFile, ValueError, UnicodeDecodeError) as exc:
        raise Damaged(f"unreadable metadata: {exc}") from None
    if not isinstance(metadata, dict):
        raise Damaged("the metadata is not a JSON object")
    if "name" in metadata or main[1].endswith(".data"):
        if hash_path(secret, *_name_parts(metadata.get("name"))).hex() != hash_dir.name:
            raise Damaged(f"{metadata.get('name')!r} does not hash to this directory")
    if not main[1].endswith(".data"):
        return None, 0, ""
    try:
        length, etag = int(metadata["Content-Length"]), str(metadata["ETag"]).lower()
    except (KeyError, ValueError):
        raise Damaged("no Content-Length or ETag in the metadata") from None
    return path, length, etag


def _expected_size(path: Path, length: int) -> int:
    """A data file's size: the body, then the JSON metadata, its length and the magic."""
    with open(path, "rb") as f:
        f.seek(-TRAILER.size, os.SEEK_END)
        json_length, _ = TRAILER.unpack(f.read(TRAILER.size))
    return length + json_length + TRAILER.size


class ObjectAuditor:
    """One storage node's object auditor, over every device directory under ``devices``."""

    def __init__(self, devices: Devices, secret: HashSecret, *, files_per_second: float = 20.0,
                 bytes_per_second: float = 10_000_000.0,
                 sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep):
        self.devices = devices
        self.secret = secret
        self.files_per_second = files_per_second
        self.bytes_per_second = bytes_per_second
        self.sleep = sleep

    @classmethod
    def from_config(cls, conf: Any, state_dir: Path) -> ObjectAuditor:
        devices = Devices(conf.devices_root(state_dir), conf.mount_check, conf.fallocate_reserve)
        return cls(devices, conf.hash_secret(), files_per_second=conf.auditor_files_per_second,
                   bytes_per_second=conf.auditor_bytes_per_second)

    def _device_paths(self) -> list[Path]:
        out = []
        for name in sorted(os.listdir(self.devices.root)) if self.devices.root.is_dir() else []:
            try:
                out.append(self.devices.path(name))
            except HTTPError as exc:
                LOG.warning("object auditor: skipping device %s: %s", name, exc.message)
        return out

    async def audit_once(self) -> AuditStats:
        """One pass over every object of every device."""
        started = time.monotonic()
        stats = AuditStats()
        pace = Pace(self.files_per_second, self.bytes_per_second, self.sleep)
        for device_path in self._device_paths():
            for part, hash_dir in await asyncio.to_thread(_object_dirs, device_path / "objects"):
                await self._audit(device_path, part, hash_dir, stats, pace)
        stats.seconds = time.monotonic() - started
        LOG.info("object auditor: %d objects checked, %d bytes read, %d quarantined, %d errors, "
                 "in %.2f s", stats.objects, stats.bytes, stats.quarantined, stats.errors,
                 stats.seconds)
        return stats

    async def _audit(self, device_path: Path, part: str, hash_dir: Path, stats: AuditStats,
                     pace: Pace) -> None:
        stats.objects += 1
        try:
            path, length, etag = await asyncio.to_thread(check_files, hash_dir, self.secret)
            if path is not None:
                if await asyncio.to_thread(_expected_size, path, length) != path.stat().st_size:
                    raise Damaged(f"{path.name} is not as long as its Content-Length says")
                digest = await self._body_md5(path, length, stats, pace)
                if digest != etag:
                    raise Damaged(f"the body's MD5 {digest} is not its ETag {etag}")
        except Damaged as exc:
            LOG.warning("object auditor: quarantining %s: %s", hash_dir, exc)
            diskfile = DiskFile(device_path, part, bytes.fromhex(hash_dir.name))
            await asyncio.to_thread(diskfile.quarantine)
            stats.quarantined += 1
        except FileNotFoundError:
            pass                        # replaced or removed by a request meanwhile
        except OSError as exc:
            stats.errors += 1
            LOG.warning("object auditor: cannot read %s: %s", hash_dir, exc)
        await pace.tick(files=1)

    async def _body_md5(self, path: Path, length: int, stats: AuditStats, pace: Pace) -> str:
        md5 = hashlib.md5(usedforsecurity=False)
        with open(path, "rb") as f:
            left = length
            while left > 0:
                chunk = await asyncio.to_thread(f.read, min(READ_CHUNK, left))
                if not chunk:
                    break
                md5.update(chunk)
                left -= len(chunk)
                stats.bytes += len(chunk)
                await pace.tick(nbytes=len(chunk))
        return md5.hexdigest()


def _object_dirs(objects: Path) -> list[tuple[str, Path]]:
    """Every ``(partition, hash directory)`` under a device's ``objects``."""
    out = []
    for part in _listdir(objects):
        if not part.isdigit():
            continue
        for suffix in _listdir(objects / part):
            if len(suffix) == 3:
                out.extend((part, objects / part / suffix / name)
                           for name in _listdir(objects / part / suffix) if is_object_hash(name))
    return out


def _listdir(path: Path) -> list[str]:
    try:
        return sorted(os.listdir(path))
    except (FileNotFoundError, NotADirectoryError):
        return []


async def run_auditor(rt: Any) -> None:
    """``nubes up``'s auditor: a pass every ``auditor_interval`` seconds (0: not run here)."""
    conf = rt.service_conf
    interval = float(conf.auditor_interval)
    if interval <= 0:
        LOG.info("object auditor not run in this process ([object] auditor_interval = 0)")
        return
    auditor = ObjectAuditor.from_config(conf, Path(rt.conf.core.state_dir))
    while True:
        await asyncio.sleep(interval)
        try:
            await auditor.audit_once()
        except OSError as exc:
            LOG.warning("object auditor: pass skipped: %s", exc)
        except Exception:
            LOG.exception("object auditor: pass failed")
