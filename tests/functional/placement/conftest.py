"""One all-in-one cloud (identity + placement) shared by the placement CLI tests."""

from __future__ import annotations

import pytest

from tests.cloud import start_cloud, stop_cloud


@pytest.fixture(scope="package")
def placement_cloud(tmp_path_factory):
    c = start_cloud(tmp_path_factory.mktemp("placement-state"), services="identity,placement",
                    names=("identity", "placement"))
    yield c
    stop_cloud(c)
