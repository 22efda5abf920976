"""The proxy's ASGI app and its state: the cluster (rings and backend client) made at startup."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nubes.object.proxy import cluster as aio
from nubes.object.proxy import constraints
from nubes.object.proxy.backend import Backend
from nubes.object.proxy.base import Cluster
from nubes.object.s3.app import info as s3_info


@dataclass
class ProxyState:
    rt: Any
    cluster: Any = None
    info: dict = field(default_factory=dict)

    async def start(self) -> None:
        conf = self.rt.service_conf
        rings = aio.load_rings(conf, Path(self.rt.conf.core.state_dir))
        self.cluster = Cluster(rings["account"], rings["container"], rings["object"],
                               Backend(conf), conf.max_file_size, conf.listing_limit)
        self.info = {**constraints.info(conf.max_file_size, conf.listing_limit),
                     "s3api": s3_info()}

    async def stop(self) -> None:
        if self.cluster is not None:
            await self.cluster.backend.close()


def build_app(rt: Any) -> Any:
    from nubes.core.api.app import ServiceApp
    from nubes.core.auth.policy import Enforcer
    from nubes.object.proxy import errors, policies, routes
    from nubes.object.s3.app import S3Gateway

    conf = rt.service_conf
    state_dir = Path(rt.conf.core.state_dir)
    if any(int(getattr(conf, key)) for key in aio.PORT_KEYS.values()):
        aio.ensure_rings(conf, state_dir)       # this host runs storage servers: the all-in-one
    state = ProxyState(rt)
    rt.extra["object"] = state
    rt.enforcer = Enforcer(policies.DEFAULTS, rt.conf.policy_file("object"),
                           mode=rt.conf.policy_mode("object"))
    errors.set_identity_uri(getattr(rt.tokens, "identity_url", ""))
    swift = ServiceApp("object", routes.routes(), errors.render, rt, rt.tokens,
                       enforcer=rt.enforcer, request_id_header="x-trans-id",
                       on_startup=[state.start], on_shutdown=[state.stop])
    return S3Gateway(swift, rt, lambda: state.cluster, conf.s3_location, conf.s3_domain)


def storage_builder(kind: str) -> Any:
    def build(rt: Any) -> Any:
        return aio.storage_app(kind, rt.service_conf, Path(rt.conf.core.state_dir))

    build.__name__ = f"build_{kind}_server"
    return build
