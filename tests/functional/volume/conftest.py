"""One cloud for the block storage tests (fake backend), a raw API helper and member projects."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from tests.cloud import Cloud, User, new_user, start_cloud, stop_cloud

LATEST = "3.71"


class VolumeApi:
    """Raw HTTP to /v3 (without the project id unless asked) with one token and microversion."""

    def __init__(self, cloud: Cloud, token: str, version: str = LATEST) -> None:
        self.url = cloud.url("volume")
        self.token, self.version = token, version

    def __call__(self, method: str, path: str, version: str | None = None, project: str | None = None,
                 **kw: Any) -> httpx.Response:
        h = {"X-Auth-Token": self.token, "OpenStack-API-Version": f"volume {version or self.version}"}
        base = f"{self.url}/v3/{project}" if project else f"{self.url}/v3"
        return httpx.request(method, base + path, headers=h, timeout=60, **kw)

    def wait(self, volume_id: str, *statuses: str, timeout: float = 30) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            r = self("GET", f"/volumes/{volume_id}")
            assert r.status_code == 200, r.text
            volume = r.json()["volume"]
            if volume["status"] in statuses or time.monotonic() > deadline:
                assert volume["status"] in statuses, volume
                return volume
            time.sleep(0.05)

    def wait_gone(self, volume_id: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while self("GET", f"/volumes/{volume_id}").status_code != 404:
            assert time.monotonic() < deadline, f"volume {volume_id} was not deleted"
            time.sleep(0.05)


@pytest.fixture(scope="module")
def vcloud(tmp_path_factory):
    c = start_cloud(tmp_path_factory.mktemp("volume"), services="identity,volume",
                    names=("identity", "volume"))
    api = VolumeApi(c, c.token())
    deadline = time.monotonic() + 30
    while not api("GET", "/os-services").json().get("services"):      # a manager has reported
        assert time.monotonic() < deadline, "no volume manager reported"
        time.sleep(0.1)
    yield c
    stop_cloud(c)


@pytest.fixture(scope="module")
def admin_api(vcloud) -> VolumeApi:
    return VolumeApi(vcloud, vcloud.token())


@pytest.fixture
def member(vcloud, tmp_path) -> User:
    return new_user(vcloud, tmp_path)


@pytest.fixture
def member_api(vcloud, member) -> VolumeApi:
    return VolumeApi(vcloud, member.token)
