"""`nubes up` as a user meets it: state directory, lock, restart, key rotation."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid

import httpx

from tests.cloud import REPO, start_cloud, stop_cloud


def test_second_up_on_same_state_dir_refuses(tmp_path):
    cloud = start_cloud(tmp_path)
    try:
        res = subprocess.run([sys.executable, "-m", "nubes.cli", "up", "--state-dir", str(tmp_path)],
                             env=cloud.env, capture_output=True, text=True, timeout=60, cwd=REPO)
        assert res.returncode == 1
        assert "already running" in res.stdout and str(cloud.proc.pid) in res.stdout
        assert (tmp_path / "clouds.yaml").stat().st_mode & 0o777 == 0o600
        assert (tmp_path / "secrets.json").stat().st_mode & 0o777 == 0o600
    finally:
        stop_cloud(cloud)


def test_restart_keeps_data_and_tokens(tmp_path):
    cloud = start_cloud(tmp_path)
    name = f"keep-{uuid.uuid4().hex[:6]}"
    try:
        cloud.osc("project", "create", name)
        token = cloud.token()
    finally:
        stop_cloud(cloud)
    cloud = start_cloud(tmp_path)
    try:
        assert name in {p["Name"] for p in cloud.osc("project", "list")}
        r = httpx.get(f"{cloud.auth_url}/auth/tokens",
                      headers={"X-Auth-Token": token, "X-Subject-Token": token})
        assert r.status_code == 200, r.text
    finally:
        stop_cloud(cloud)


def test_key_rotation_keeps_tokens_until_their_key_retires(tmp_path):
    cloud = start_cloud(tmp_path)
    try:
        token = cloud.token()

        def valid() -> bool:
            admin = cloud.token()
            r = httpx.get(f"{cloud.auth_url}/auth/tokens",
                          headers={"X-Auth-Token": admin, "X-Subject-Token": token})
            return r.status_code == 200

        def rotate() -> None:
            subprocess.run([sys.executable, "-m", "nubes.cli", "rotate-keys", "--state-dir", str(tmp_path)],
                           env={**os.environ, **cloud.env}, check=True, capture_output=True, cwd=REPO)

        rotate()  # the token's key becomes a secondary key
        assert valid()
        rotate()  # max_active_keys=3: staged, new primary, and the token's key is retired now
        # The server looks at the key directory at most once a second.
        deadline = time.monotonic() + 5
        while valid() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not valid()
    finally:
        stop_cloud(cloud)


def test_sigterm_stops_every_service_and_agent_cleanly(tmp_path):
    """Background work (the compute conductor and agents) is cancelled once the APIs stop,
    so the process exits by itself with status 0 instead of being killed."""
    import signal

    cloud = start_cloud(tmp_path, names=("identity", "compute"))
    cloud.proc.send_signal(signal.SIGTERM)
    assert cloud.proc.wait(timeout=60) == 0
