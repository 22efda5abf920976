"""Compute (Nova-compatible API v2.1 with microversions): flavors, key pairs, servers and their hosts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from nubes.compute.conf import ComputeConfig
from nubes.core.service import CatalogEntry, ServiceSpec


def build_app(rt: Any) -> Any:
    from nubes.compute import policies
    from nubes.compute.api import errors, routes, versions
    from nubes.compute.service.runtime import ComputeState
    from nubes.core.api.app import ServiceApp
    from nubes.core.auth.policy import Enforcer

    state = ComputeState(rt)
    rt.extra["compute"] = state
    rt.enforcer = Enforcer(policies.DEFAULTS, rt.conf.policy_file("compute"))
    errors.set_identity_uri(getattr(rt.tokens, "identity_url", ""))
    app = ServiceApp("compute", routes.routes(), errors.render, rt, rt.tokens, enforcer=rt.enforcer,
                     context_hook=versions.context_hook, on_startup=[state.start],
                     on_shutdown=[state.stop])
    return versions.MICROVERSIONS.headers_app(app)


def _metadata() -> Any:
    from nubes.compute.db.models import Base

    return Base.metadata


SPEC = ServiceSpec(
    name="compute",
    conf_class=ComputeConfig,
    default_port=8774,
    build_app=build_app,
    catalog=(CatalogEntry("compute", "nova", "/v2.1", "OpenStack Compute"),),
    migrations=Path(__file__).parent / "db" / "migrations",
    metadata=_metadata,
)
