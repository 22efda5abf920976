"""Block storage (Cinder-compatible API v3 with microversions): volumes, types, quotas, backends."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

from nubes.core.service import CatalogEntry, ServiceSpec
from nubes.volume.conf import VolumeConfig

LOG = logging.getLogger(__name__)


def build_app(rt: Any) -> Any:
    from nubes.core.api.app import ServiceApp
    from nubes.core.auth.policy import Enforcer
    from nubes.volume import policies
    from nubes.volume.api import errors, routes, versions
    from nubes.volume.api.project_path import ProjectPath
    from nubes.volume.service.runtime import VolumeState

    state = VolumeState(rt)
    rt.extra["volume"] = state
    rt.enforcer = Enforcer(policies.DEFAULTS, rt.conf.policy_file("volume"),
                          mode=rt.conf.policy_mode("volume"))
    errors.set_identity_uri(getattr(rt.tokens, "identity_url", ""))
    app = ServiceApp("volume", routes.routes(), errors.render, rt, rt.tokens, enforcer=rt.enforcer,
                     context_hook=versions.context_hook, on_startup=[state.start],
                     on_shutdown=[state.stop])
    return ProjectPath(versions.MICROVERSIONS.headers_app(app))


def _metadata() -> Any:
    from nubes.volume.db.models import Base

    return Base.metadata


async def run_scheduler(rt: Any) -> None:
    """The scheduler and the worker the managers report to, beside the API (they need the
    database); returns at once when ``[volume] run_scheduler`` is off."""
    from nubes.volume.scheduler.manager import SchedulerWorker

    if not rt.service_conf.run_scheduler:
        LOG.info("volume scheduler not run in this process ([volume] run_scheduler = false)")
        return
    worker = SchedulerWorker(rt)
    await worker.start()
    try:
        await asyncio.Event().wait()
    finally:
        await worker.stop()


async def run_volume_managers(rt: Any) -> None:
    """A volume manager per configured backend of this node; no database (``nubes agent volume``
    runs only these)."""
    from nubes.volume.agent.runner import run_managers

    if not rt.service_conf.run_managers:
        LOG.info("volume managers not run in this process ([volume] run_managers = false)")
        return
    await run_managers(rt)


SPEC = ServiceSpec(
    name="volume",
    conf_class=VolumeConfig,
    default_port=8776,
    build_app=build_app,
    catalog=(CatalogEntry("volumev3", "cinderv3", "/v3/%(project_id)s", "OpenStack Block Storage"),
             CatalogEntry("block-storage", "cinder", "/v3/%(project_id)s", "OpenStack Block Storage")),
    migrations=Path(__file__).parent / "db" / "migrations",
    metadata=_metadata,
    agents=(run_scheduler, run_volume_managers),
)
