"""The state directory: its lock (one nubes per directory), generated secrets and clouds.yaml."""

from __future__ import annotations

import fcntl
import json
import os
import secrets
from pathlib import Path
from typing import Any

import yaml


class StateDirBusy(RuntimeError):
    pass


class StateLock:
    """An exclusive flock on <state_dir>/<name> (nubes.lock), held for the life of the process."""

    def __init__(self, state_dir: Path, name: str = "nubes.lock") -> None:
        self.path = state_dir / name
        self._fd: int | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
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
        state_dir.mkdir(parents=True, exist_ok=True)
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
