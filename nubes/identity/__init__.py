"""Identity (Keystone-compatible API v3): users, projects, roles, tokens and the catalog."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from nubes.core.service import CatalogEntry, ServiceSpec
from nubes.identity.conf import IdentityConfig


def build_app(rt: Any) -> Any:
    from nubes.core.api.app import ServiceApp
    from nubes.core.auth.policy import Enforcer
    from nubes.identity import policies
    from nubes.identity.api import errors, routes
    from nubes.identity.service.runtime import IdentityState

    state = IdentityState(rt)
    rt.extra["identity"] = state
    rt.enforcer = Enforcer(policies.DEFAULTS, rt.conf.policy_file("identity"),
                          mode=rt.conf.policy_mode("identity"))
    return ServiceApp("identity", routes.routes(), errors.render, rt, state.authenticate,
                      enforcer=rt.enforcer, on_startup=[state.start])


def _metadata() -> Any:
    from nubes.identity.db.models import Base

    return Base.metadata


SPEC = ServiceSpec(
    name="identity",
    conf_class=IdentityConfig,
    default_port=5000,
    build_app=build_app,
    catalog=(CatalogEntry("identity", "keystone", "/v3", "OpenStack Identity"),),
    migrations=Path(__file__).parent / "db" / "migrations",
    metadata=_metadata,
)
