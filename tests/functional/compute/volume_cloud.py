"""A cloud with compute (fake hypervisors) and block storage (fake backend) for a module's tests of
servers with volumes: import ``cloud``, ``world`` and ``api`` into the test module."""

from __future__ import annotations

import pytest

from tests.cloud import start_cloud, stop_cloud
from tests.functional.compute.conftest import FAKE_HOSTS, ComputeApi
from tests.functional.compute.servers_fixtures import make_world

SERVICES = ("identity", "image", "placement", "network", "compute", "volume")


@pytest.fixture(scope="module")
def cloud(tmp_path_factory):
    c = start_cloud(tmp_path_factory.mktemp("compute-volumes"), services=",".join(SERVICES), names=SERVICES,
                    extra_env={"NUBES_COMPUTE__FAKE_HOSTS": str(FAKE_HOSTS), "NUBES_COMPUTE__REPORT_INTERVAL": "1"})
    yield c
    stop_cloud(c)


@pytest.fixture(scope="module")
def world(cloud, tmp_path_factory):
    return make_world(cloud, tmp_path_factory.mktemp("compute-volumes-world"))


@pytest.fixture(scope="module")
def api(cloud):
    return ComputeApi(cloud, cloud.token())
