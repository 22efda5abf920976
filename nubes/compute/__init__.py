"""Compute (Nova-compatible API v2.1 with microversions): flavors, key pairs, servers and their hosts."""

from __future__ import annotations

import asyncio
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


async def run_conductor(rt: Any) -> None:
    """The conductor beside the API: it serves ``compute.conductor`` until cancelled."""
    from nubes.compute.conductor.manager import Conductor

    conductor = Conductor(rt)
    await conductor.start()
    try:
        await asyncio.Event().wait()
    finally:
        await conductor.stop()


async def run_compute_agents(rt: Any) -> None:
    """The compute agents of this process (``fake_hosts`` fake ones in the all-in-one)."""
    from nubes.compute.agent.runner import run_agents

    await run_agents(rt)


SPEC = ServiceSpec(
    name="compute",
    conf_class=ComputeConfig,
    default_port=8774,
    build_app=build_app,
    catalog=(CatalogEntry("compute", "nova", "/v2.1", "OpenStack Compute"),),
    migrations=Path(__file__).parent / "db" / "migrations",
    metadata=_metadata,
    agents=(run_conductor, run_compute_agents),
)
