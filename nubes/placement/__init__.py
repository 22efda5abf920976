"""Placement (OpenStack Placement API, microversions 1.0-1.39): providers, inventories, allocations."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from nubes.core.service import CatalogEntry, ServiceSpec
from nubes.placement.conf import PlacementConfig


def build_app(rt: Any) -> Any:
    from nubes.core.api.app import ServiceApp
    from nubes.core.auth.policy import Enforcer
    from nubes.placement import policies
    from nubes.placement.api import errors, routes, versions
    from nubes.placement.api.allocation_candidates import SummaryCache
    from nubes.placement.service.runtime import Placement

    state = Placement(rt)
    rt.extra["placement"] = state
    rt.extra["placement_summaries"] = SummaryCache()
    rt.enforcer = Enforcer(policies.DEFAULTS, rt.conf.policy_file("placement"),
                          mode=rt.conf.policy_mode("placement"))
    app = ServiceApp("placement", routes.routes(), errors.render, rt, rt.tokens, enforcer=rt.enforcer,
                     context_hook=versions.context_hook, on_startup=[state.start],
                     on_shutdown=[state.stop])
    return versions.VersionHeaders(app)


def _metadata() -> Any:
    from nubes.placement.db.models import Base

    return Base.metadata


SPEC = ServiceSpec(
    name="placement",
    conf_class=PlacementConfig,
    default_port=8778,
    build_app=build_app,
    catalog=(CatalogEntry("placement", "placement", "", "OpenStack Placement"),),
    migrations=Path(__file__).parent / "db" / "migrations",
    metadata=_metadata,
)
