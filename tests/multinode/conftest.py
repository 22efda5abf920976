"""A multi-process cloud per test, on a RabbitMQ virtual host of its own."""

from __future__ import annotations

import pytest

from tests.multinode.nodes import MultiNode, Vhost


@pytest.fixture
def mn(tmp_path):
    vhost = Vhost()
    cloud = MultiNode(tmp_path, vhost)
    try:
        yield cloud
    finally:
        cloud.close()
        vhost.delete()
