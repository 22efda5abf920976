"""A shared all-in-one cloud for the functional tests of a session."""

from __future__ import annotations

import pytest

from tests.cloud import start_cloud, stop_cloud


@pytest.fixture(scope="session")
def cloud(tmp_path_factory):
    c = start_cloud(tmp_path_factory.mktemp("nubes-state"))
    yield c
    stop_cloud(c)


@pytest.fixture(scope="session")
def admin_token(cloud) -> str:
    return cloud.token()
