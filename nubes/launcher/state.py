"""The state directory: its modes, its lock (one nubes per directory), generated secrets and
clouds.yaml.

Everything the cloud writes is private to the user it runs as: the launcher sets the umask to
0077 once (``private_umask``), so databases and their -wal/-shm files, keys, secrets,
clouds.yaml, images, instances' disks and logs are made 0600 and directories 0700, and the
state directory is made 0700, or tightened to it at start with a warning. The one exception is
the network agents' state path (``[network] agent_state_path``), which dnsmasq reads as the user
nobody: its directories are 0755 and its files 0644 (``nubes.network.agent.dhcp``), and a state
directory holding it is 0711 (others may enter, not list) so that dnsmasq can reach it.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import secrets
import stat
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

LOG = logging.getLogger(__name__)

PRIVATE_UMASK = 0o077
MAX_NAMED = 10          # looser files named one by one at start; the rest are counted


def private_umask() -> None:
    """Files and directories made from now on (by this process and what it starts) are private."""
    os.umask(PRIVATE_UMASK)


def _within(path: Path, parent: Path) -> bool:
    try:
        path.resolve().relative_to(parent.resolve())
    except ValueError:
        return False
    return True


def secure_state_dir(state_dir: Path, shared: Iterable[Path] = ()) -> list[tuple[Path, int]]:
    """Make ``state_dir`` 0700 (0711 when a ``shared`` path, read by another user, is inside it)
    or tighten it to that with a warning; then warn about each file or directory under it that
    others may read, write or enter, outside ``shared``. Returns those (path, mode)."""
    inside = [p for p in shared if _within(p, state_dir)]
    wanted = 0o711 if inside else 0o700
    if not state_dir.exists():
        state_dir.mkdir(parents=True, mode=0o700)
    mode = stat.S_IMODE(state_dir.stat().st_mode)
    if mode != wanted and mode & ~wanted & 0o077:
        LOG.warning("state directory %s was mode %04o, open to other users; it is now %04o", state_dir,
                    mode, wanted)
    if mode != wanted:
        os.chmod(state_dir, wanted)
    looser = list(_looser_than_private(state_dir, inside))
    for path, m in looser[:MAX_NAMED]:
        LOG.warning("%s is mode %04o: other users of this host may read it (chmod go-rwx %s)", path, m, path)
    if len(looser) > MAX_NAMED:
        LOG.warning("... and %d more files under %s open to other users (chmod -R go-rwx %s)",
                    len(looser) - MAX_NAMED, state_dir, state_dir)
    return looser


def _looser_than_private(state_dir: Path, shared: list[Path]) -> Iterable[tuple[Path, int]]:
    skipped = {p.resolve() for p in shared}                  # not walked: another user reads them
    on_the_way = {d for p in skipped for d in p.parents}     # 0755 so that he reaches them
    for root, dirs, files in os.walk(state_dir):
        here = Path(root)
        dirs[:] = [d for d in dirs if (here / d).resolve() not in skipped]
        for name in [*dirs, *files]:
            path = here / name
            try:
                st = path.lstat()
            except FileNotFoundError:       # gone meanwhile (a -wal checkpointed away)
                continue
            if stat.S_ISLNK(st.st_mode) or stat.S_ISSOCK(st.st_mode):
                continue        # a link's mode means nothing; a socket's access is its directory's
            if stat.S_ISDIR(st.st_mode) and path.resolve() in on_the_way:
                continue
            if stat.S_IMODE(st.st_mode) & 0o077:
                yield path, stat.S_IMODE(st.st_mode)


class StateDirBusy(RuntimeError):
    pass


class StateLock:
    """An exclusive flock on <state_dir>/<name> (nubes.lock), held for the life of the process."""

    def __init__(self, state_dir: Path, name: str = "nubes.lock") -> None:
        self.path = state_dir / name
        self._fd: int | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 64).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise StateDirBusy(
                f"another nubes (pid {holder}) is already running on {self.path.parent}; "
                "stop it first or choose another --state-dir") from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def _write_private(path: Path, text: str) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def load_secrets(state_dir: Path) -> dict[str, str]:
    """Passwords made on first start and kept (0600) so restarts and clients agree."""
    path = state_dir / "secrets.json"
    data: dict[str, str] = json.loads(path.read_text()) if path.exists() else {}
    changed = False
    for key in ("admin_password", "service_password", "metadata_secret"):
        if not data.get(key):
            data[key] = secrets.token_urlsafe(18)
            changed = True
    if changed:
        state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        _write_private(path, json.dumps(data, indent=2))
    return data


def write_clouds_yaml(state_dir: Path, auth_url: str, admin_password: str, region: str) -> Path:
    base: dict[str, Any] = {"auth_url": auth_url, "username": "admin", "password": admin_password,
                            "user_domain_name": "Default"}
    clouds = {"clouds": {
        "nubes": {"auth": {**base, "project_name": "admin", "project_domain_name": "Default"},
                  "region_name": region, "identity_api_version": 3, "interface": "public"},
        "nubes-system": {"auth": {**base, "system_scope": "all"},
                         "region_name": region, "identity_api_version": 3, "interface": "public"},
    }}
    path = state_dir / "clouds.yaml"
    _write_private(path, yaml.safe_dump(clouds, sort_keys=False))
    return path
