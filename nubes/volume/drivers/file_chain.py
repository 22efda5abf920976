"""The file backend's pool on disk: qemu-img through asyncio subprocesses and the records that
map volume, snapshot and export ids to files.

Layout of a pool directory::

    data/<uuid>.qcow2 | data/<uuid>.raw   image files, never renamed once in use; an overlay
                                           names its backing by bare file name (same directory)
    data/.tmp-*                            files being made (removed at start)
    volumes/<id>.json                      {"id", "size", "file", "format", "chain"}
    snapshots/<id>.json                    {"id", "volume_id", "size", "file", "format", "chain"}
    exports/<volume id>__<attachment id>.json

Records are written to a temporary name and renamed over (atomic on one filesystem), so after a
crash each record is either the old or the new one. ``chain`` lists the files a record's file
needs, itself first; a data file no record's chain names is garbage (removed at start and when
the last record naming it goes). Files therefore stay while anything depends on them."""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path
from typing import Any

from nubes.core import qemu_img_limits
from nubes.core.durable import write_atomically
from nubes.volume.drivers.base import VolumeDriverError

GiB = 1024 ** 3
TMP_PREFIX = ".tmp-"


def summarise(stderr: bytes, limit: int = 400) -> str:
    lines = [ln.strip() for ln in stderr.decode(errors="replace").splitlines() if ln.strip()]
    text = "; ".join(lines) or "no error output"
    return text if len(text) <= limit else text[:limit] + "..."


async def run(*argv: str, what: str, limits: Any = None) -> bytes:
    """Run a tool (``limits``: a ``preexec_fn`` setting its resource limits); its stdout, or
    VolumeDriverError naming ``what`` failed and why."""
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE, preexec_fn=limits)
    except OSError as err:
        raise VolumeDriverError(f"{what}: cannot run {argv[0]}: {err}") from err
    out, err = await proc.communicate()
    if proc.returncode != 0:
        raise VolumeDriverError(f"{what} failed ({argv[0]} exit {proc.returncode}): {summarise(err)}")
    return out


class Pool:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.data = root / "data"
        self.dirs = {"volumes": root / "volumes", "snapshots": root / "snapshots",
                     "exports": root / "exports"}

    def prepare(self) -> None:
        self.data.mkdir(parents=True, exist_ok=True)
        for d in self.dirs.values():
            d.mkdir(parents=True, exist_ok=True)

    # -- records ---------------------------------------------------------------------------

    def _path(self, kind: str, key: str) -> Path:
        if "/" in key or key.startswith("."):
            raise VolumeDriverError(f"invalid id {key!r}")
        return self.dirs[kind] / f"{key}.json"

    def read(self, kind: str, key: str) -> dict | None:
        try:
            return json.loads(self._path(kind, key).read_text())
        except FileNotFoundError:
            return None
        except (ValueError, OSError) as err:
            raise VolumeDriverError(f"the {kind[:-1]} record {key} is unreadable: {err}") from err

    def write(self, kind: str, key: str, record: dict) -> None:
        write_atomically(self._path(kind, key), json.dumps(record).encode(), tmp_prefix=TMP_PREFIX)

    def remove(self, kind: str, key: str) -> None:
        self._path(kind, key).unlink(missing_ok=True)

    def keys(self, kind: str) -> list[str]:
        return sorted(p.stem for p in self.dirs[kind].glob("*.json") if not p.name.startswith(TMP_PREFIX))

    def records(self, kind: str) -> list[dict]:
        out = []
        for key in self.keys(kind):
            rec = self.read(kind, key)
            if rec is not None:
                out.append(rec)
        return out

    # -- files -----------------------------------------------------------------------------

    def file(self, name: str) -> Path:
        return self.data / name

    def new_name(self, fmt: str) -> tuple[str, Path]:
        """A fresh data file name and the temporary path to build it under."""
        name = f"{uuid.uuid4().hex}.{fmt}"
        return name, self.data / f"{TMP_PREFIX}{name}"

    def referenced(self) -> set[str]:
        names: set[str] = set()
        for kind in ("volumes", "snapshots"):
            for rec in self.records(kind):
                names.update(rec.get("chain") or [rec["file"]])
        return names

    def collect(self, candidates: list[str] | None = None) -> list[str]:
        """Remove data files no record needs (of ``candidates``, or of the whole pool)."""
        keep = self.referenced()
        if candidates is None:
            candidates = [p.name for p in self.data.iterdir() if not p.name.startswith(TMP_PREFIX)]
        removed = []
        for name in candidates:
            if name not in keep:
                self.file(name).unlink(missing_ok=True)
                removed.append(name)
        return removed

    def clean_tmp(self) -> list[Path]:
        removed = []
        for d in [self.data, *self.dirs.values()]:
            for p in d.glob(f"{TMP_PREFIX}*"):
                p.unlink(missing_ok=True)
                removed.append(p)
        return removed

    def allocated_bytes(self) -> int:
        total = 0
        for p in self.data.iterdir():
            try:
                total += p.stat().st_blocks * 512
            except FileNotFoundError:
                pass
        return total


# -- qemu-img ------------------------------------------------------------------------------

async def create(path: Path, fmt: str, size_bytes: int, backing: str | None = None,
                 backing_fmt: str | None = None, unsafe: bool = False) -> None:
    argv = ["qemu-img", "create", "-q", "-f", fmt]
    if fmt == "qcow2":
        argv += ["-o", "cluster_size=65536"]
    if backing:
        argv += ["-b", backing, "-F", backing_fmt or "qcow2"]
        if unsafe:
            argv.append("-u")
    await run(*argv, str(path), str(size_bytes), what=f"creating {path.name}")


async def resize(path: Path, fmt: str, size_bytes: int) -> None:
    await run("qemu-img", "resize", "-q", "-f", fmt, str(path), str(size_bytes),
              what=f"resizing {path.name}")


async def info(path: Path, fmt: str | None = None) -> dict[str, Any]:
    argv = ["qemu-img", "info", "-U", "--output=json"]
    if fmt:
        argv += ["-f", fmt]
    out = await run(*argv, str(path), what=f"inspecting {path.name}", limits=qemu_img_limits.apply)
    return json.loads(out)


async def convert(src: Path | str, src_fmt: str, dest: Path, dest_fmt: str, *, shared: bool = False) -> None:
    """``src`` (read as ``src_fmt``, never probed) into a new ``dest``; ``shared``: the source
    is open elsewhere (an attached volume), read it without taking its lock."""
    argv = ["qemu-img", "convert", "-q", "-f", src_fmt, "-O", dest_fmt] + (["-U"] if shared else [])
    if dest_fmt == "qcow2":
        argv += ["-o", "cluster_size=65536"]
    await run(*argv, str(src), str(dest), what=f"converting into {dest.name}")


async def commit(top: Path) -> None:
    """Write the qcow2 overlay ``top``'s clusters into its backing file (``top`` left as is)."""
    await run("qemu-img", "commit", "-q", "-d", "-f", "qcow2", str(top), what=f"committing {top.name}")
