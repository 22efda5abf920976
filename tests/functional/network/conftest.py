"""One identity + network cloud for the network tests, a raw API helper and a member project."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.cloud import Cloud, User, new_user, start_cloud, stop_cloud


class NetApi:
    """Raw HTTP to the networking API (/v2.0) with one token."""

    def __init__(self, cloud: Cloud, token: str) -> None:
        self.url = cloud.url("network")
        self.token = token

    def __call__(self, method: str, path: str, headers: dict | None = None, **kw: Any) -> httpx.Response:
        h = {"X-Auth-Token": self.token, **(headers or {})}
        return httpx.request(method, f"{self.url}/v2.0{path}", headers=h, timeout=60, **kw)

    def create(self, resource: str, collection: str | None = None, status: int = 201, **body: Any) -> dict:
        r = self("POST", f"/{collection or resource + 's'}", json={resource: body})
        assert r.status_code == status, r.text
        return r.json()[resource] if status == 201 else r.json()

    def error(self, r: httpx.Response, status: int) -> dict:
        """The NeutronError of a failed response, after checking its status."""
        assert r.status_code == status, r.text
        return r.json()["NeutronError"]


class Member:
    """A second project with a user holding ``role`` there, from the CLI and raw HTTP."""

    def __init__(self, user: User) -> None:
        self.cloud = user.cloud
        self.project_id = user.project_id
        self.clouds_file = user.clouds_file
        self.env = user.env
        self.osc = user.osc
        self.api = NetApi(user.cloud, user.token)


def make_member(cloud: Cloud, tmp: Path, role: str = "member") -> Member:
    return Member(new_user(cloud, tmp, role))


@pytest.fixture(scope="package")
def net_cloud(tmp_path_factory):
    cloud = start_cloud(tmp_path_factory.mktemp("network-state"), services="identity,network",
                        names=("identity", "network"))
    yield cloud
    stop_cloud(cloud)


@pytest.fixture(scope="package")
def api(net_cloud) -> NetApi:
    return NetApi(net_cloud, net_cloud.token())


@pytest.fixture(scope="package")
def member(net_cloud, tmp_path_factory) -> Member:
    return make_member(net_cloud, tmp_path_factory.mktemp("member"))


@pytest.fixture(scope="package")
def reader(net_cloud, tmp_path_factory) -> Member:
    return make_member(net_cloud, tmp_path_factory.mktemp("reader"), role="reader")


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"
