"""Named network namespaces (``/run/netns``): list, create, remove, identify."""

from __future__ import annotations

import errno
import os
from pathlib import Path

from pyroute2 import netns as _netns

from nubes.core.concurrency import run_blocking

RUN_DIR = Path("/run/netns")


def _list() -> list[str]:
    try:
        return sorted(os.listdir(RUN_DIR))
    except FileNotFoundError:
        return []


async def names(prefix: str = "") -> list[str]:
    return [n for n in await run_blocking(_list) if n.startswith(prefix)]


async def exists(name: str) -> bool:
    return await run_blocking((RUN_DIR / name).exists)


def _create(name: str) -> None:
    if not (RUN_DIR / name).exists():
        try:
            _netns.create(name)
        except FileExistsError:
            pass        # made meanwhile by another task


async def create(name: str) -> None:
    await run_blocking(_create, name)


def _remove(name: str) -> None:
    try:
        _netns.remove(name)
    except OSError as exc:
        if exc.errno != errno.ENOENT:
            raise


async def remove(name: str) -> None:
    await run_blocking(_remove, name)


def inode(name: str) -> int | None:
    """The namespace's identity: a namespace deleted and made again under one name differs."""
    try:
        return os.stat(RUN_DIR / name).st_ino
    except FileNotFoundError:
        return None


def pids(name: str) -> list[int]:
    """Processes whose network namespace is ``name`` (to stop what runs there before removing it)."""
    ino = inode(name)
    if ino is None:
        return []
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            if os.stat(f"/proc/{entry}/ns/net").st_ino == ino:
                out.append(int(entry))
        except OSError:
            continue
    return out
