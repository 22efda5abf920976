"""Compute (Nova-compatible API v2.1 with microversions): flavors, key pairs, servers and their hosts."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

from nubes.compute.conf import ComputeConfig
from nubes.core.service import CatalogEntry, ExtraApi, ServiceSpec

LOG = logging.getLogger(__name__)


def build_app(rt: Any) -> Any:
    from nubes.compute import policies
    from nubes.compute.api import errors, routes, versions
    from nubes.compute.api.request_ids import ComputeRequestId
    from nubes.compute.service.runtime import ComputeState
    from nubes.core.api.app import ServiceApp
    from nubes.core.auth.policy import Enforcer

    state = ComputeState(rt)
    rt.extra["compute"] = state
    rt.enforcer = Enforcer(policies.DEFAULTS, rt.conf.policy_file("compute"),
                          mode=rt.conf.policy_mode("compute"))
    errors.set_identity_uri(getattr(rt.tokens, "identity_url", ""))
    app = ServiceApp("compute", routes.routes(), errors.render, rt, rt.tokens, enforcer=rt.enforcer,
                     context_hook=versions.context_hook, on_startup=[state.start],
                     on_shutdown=[state.stop])
    return ComputeRequestId(versions.MICROVERSIONS.headers_app(app))


def build_metadata_app(rt: Any) -> Any:
    """The metadata API instances read (``nubes.compute.metadata``), on ``[compute] metadata_port``."""
    from nubes.compute.metadata import build_app as build

    return build(rt)


def build_novncproxy_app(rt: Any) -> Any:
    """noVNC's websocket proxy (``nubes.compute.consoleproxy``), on ``[compute] novncproxy_port``."""
    from nubes.compute.consoleproxy import build_novnc

    return build_novnc(rt)


def build_serialproxy_app(rt: Any) -> Any:
    """The serial console's websocket proxy, on ``[compute] serialproxy_port``."""
    from nubes.compute.consoleproxy import build_serial

    return build_serial(rt)


def _metadata() -> Any:
    from nubes.compute.db.models import Base

    return Base.metadata


async def run_conductor(rt: Any) -> None:
    """The conductor beside the API: it serves ``compute.conductor`` until cancelled.

    Returns at once when ``[compute] run_conductor`` is off (another process runs it)."""
    from nubes.compute.conductor.manager import Conductor

    if not rt.service_conf.run_conductor:
        LOG.info("compute conductor not run in this process ([compute] run_conductor = false)")
        return
    conductor = Conductor(rt)
    await conductor.start()
    try:
        await asyncio.Event().wait()
    finally:
        await conductor.stop()


async def run_compute_agents(rt: Any) -> None:
    """The compute agents of this process (``fake_hosts`` fake ones in the all-in-one); they need
    no database. ``nubes agent compute`` runs only these; ``nubes up`` runs them unless
    ``[compute] run_agents`` is off, ``nubes serve compute`` never (see ``nubes.launcher.roles``)."""
    from nubes.compute.agent.runner import run_agents

    if not rt.service_conf.run_agents:
        LOG.info("compute agents not run in this process ([compute] run_agents = false)")
        return
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
    extra_apis=(ExtraApi("metadata", "metadata_port", build_metadata_app),
                ExtraApi("novncproxy", "novncproxy_port", build_novncproxy_app),
                ExtraApi("serialproxy", "serialproxy_port", build_serialproxy_app)),
)
