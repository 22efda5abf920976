"""Compute's metadata API: the second listener of the compute service (``[compute] metadata_port``,
8775; 0 turns it off), which the network service's metadata proxy forwards instances to.
See ``api`` for how an instance is identified and ``content`` for what it reads."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from nubes.core.api.routing import Route

LOG = logging.getLogger(__name__)


def shared_secret(rt: Any) -> str:
    """``[compute] metadata_proxy_shared_secret``, else the state directory's ``metadata_secret``."""
    from nubes.core.metadata_auth import shared_secret as read

    return read(rt.service_conf.metadata_proxy_shared_secret, Path(rt.conf.core.state_dir))


def routes() -> list[Route]:
    from nubes.compute.metadata import api

    rows = [
        ("GET", "/", api.root),
        ("GET", "/openstack", api.openstack_versions),
        ("GET", "/openstack/{version}", api.openstack_index),
        ("GET", "/openstack/{version}/{name}", api.openstack_file),
        ("POST", "/openstack/{version}/{name}", api.openstack_file),
        ("GET", "/{version}", api.ec2_index),
        ("GET", "/{version}/user-data", api.ec2_user_data),
        ("GET", "/{version}/meta-data", api.ec2_meta_data),
        ("GET", "/{version}/meta-data/{path:path}", api.ec2_meta_data),
    ]
    return [Route(method, path, handler, public=True, name=f"metadata:{path}") for method, path, handler in rows]


def build_app(rt: Any) -> Any:
    from nubes.compute.metadata import api
    from nubes.core.api.app import ServiceApp

    secret = shared_secret(rt)
    if not secret:
        LOG.warning("compute metadata API: no shared secret ([compute] metadata_proxy_shared_secret or "
                    "the state directory's metadata_secret); every request will be refused")
    rt.extra["compute-metadata"] = api.MetadataService(rt, secret)

    async def no_tokens(token: str, request_id: str) -> Any:
        from nubes.core.context import RequestContext

        return RequestContext(request_id=request_id)     # instances have no tokens; the proxy signs

    # Instances reach this app through the metadata proxy: the cloud's metrics are not theirs.
    return ServiceApp("compute-metadata", routes(), api.render, rt, no_tokens, metrics_endpoint=False)
