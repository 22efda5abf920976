"""One identity + compute cloud for the compute tests, a raw API helper and a member project."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.cloud import Cloud, User, new_user, start_cloud, stop_cloud

LATEST = "2.96"
# The fault names of Nova's error bodies, by status (nova/api/openstack/wsgi.py's table).
NOVA_FAULTS = {400: "badRequest", 401: "unauthorized", 403: "forbidden", 404: "itemNotFound", 405: "badMethod",
               409: "conflictingRequest", 413: "overLimit", 415: "badMediaType", 429: "overLimit",
               501: "notImplemented", 503: "serviceUnavailable"}
FAKE_HOSTS = 3


class ComputeApi:
    """Raw HTTP to the compute API (/v2.1) with one token, at a chosen microversion."""

    def __init__(self, cloud: Cloud, token: str, version: str = LATEST) -> None:
        self.url = cloud.url("compute")
        self.log_path = cloud.log_path
        self.token = token
        self.version = version

    def __call__(self, method: str, path: str, headers: dict | None = None, version: str | None = None,
                 **kw: Any) -> httpx.Response:
        h = {"X-Auth-Token": self.token, "OpenStack-API-Version": f"compute {version or self.version}",
             **(headers or {})}
        return httpx.request(method, f"{self.url}/v2.1{path}", headers=h, timeout=60, **kw)

    def fault(self, r: httpx.Response, status: int) -> str:
        """The message of a Nova fault body, after checking the status and the fault's name."""
        assert r.status_code == status, r.text
        ((name, body),) = r.json().items()
        assert name == NOVA_FAULTS.get(status, "computeFault"), r.text
        assert body["code"] == status
        return body["message"]


class Member:
    """A user with a role on a project of its own: the CLI through ``osc`` and raw HTTP through ``api``."""

    def __init__(self, user: User) -> None:
        self.cloud = user.cloud
        self.project_id = user.project_id
        self.user_id = user.user_id
        self.clouds_file = user.clouds_file
        self.osc = user.osc
        self.api = ComputeApi(user.cloud, user.token)


def make_member(cloud: Cloud, tmp: Path, role: str = "member") -> Member:
    return Member(new_user(cloud, tmp, role))


@pytest.fixture(scope="package")
def compute_cloud(tmp_path_factory):
    cloud = start_cloud(tmp_path_factory.mktemp("compute-state"), services="identity,compute",
                        names=("identity", "compute"))
    yield cloud
    stop_cloud(cloud)


@pytest.fixture(scope="package")
def full_cloud(tmp_path_factory):
    """Every service compute needs (identity, image, placement, network) and compute with
    FAKE_HOSTS fake hypervisors."""
    cloud = start_cloud(tmp_path_factory.mktemp("full-state"),
                        services="identity,image,placement,network,compute",
                        names=("identity", "image", "placement", "network", "compute"),
                        extra_env={"NUBES_COMPUTE__FAKE_HOSTS": str(FAKE_HOSTS),
                                   "NUBES_COMPUTE__REPORT_INTERVAL": "1"})
    yield cloud
    stop_cloud(cloud)


@pytest.fixture(scope="package")
def full_api(full_cloud) -> ComputeApi:
    return ComputeApi(full_cloud, full_cloud.token())


@pytest.fixture(scope="package")
def api(compute_cloud) -> ComputeApi:
    return ComputeApi(compute_cloud, compute_cloud.token())


@pytest.fixture(scope="package")
def member(compute_cloud, tmp_path_factory) -> Member:
    return make_member(compute_cloud, tmp_path_factory.mktemp("member"))


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"
