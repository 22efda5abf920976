"""One cloud of the five services whose tokens live TOKEN_LIFETIME seconds, whose /metrics wants a
bearer token, and whose state directory was left open to other users (0755, a 0644 file) before
it started: what the hardening tests look at."""

from __future__ import annotations

import os

import pytest

from tests.cloud import start_cloud, stop_cloud

SERVICES = ("identity", "image", "placement", "network", "compute")
TOKEN_LIFETIME = 15         # seconds: long enough for a CLI command, short enough to wait for
METRICS_TOKEN = "scrape-me-" + os.urandom(8).hex()
PLANTED = "notes.txt"       # a file another user could read, there before the cloud started


@pytest.fixture(scope="package")
def dedicated_hardened_cloud(tmp_path_factory):
    state = tmp_path_factory.mktemp("hardening-state")
    os.chmod(state, 0o755)
    (state / PLANTED).write_text("left by someone\n")
    os.chmod(state / PLANTED, 0o644)
    cloud = start_cloud(state, services=",".join(SERVICES), names=SERVICES, extra_env={
        "NUBES_IDENTITY__TOKEN_EXPIRATION": str(TOKEN_LIFETIME),
        "NUBES_CORE__METRICS": "token", "NUBES_CORE__METRICS_TOKEN": METRICS_TOKEN,
        "NUBES_COMPUTE__FAKE_HOSTS": "1"})
    yield cloud
    stop_cloud(cloud)
