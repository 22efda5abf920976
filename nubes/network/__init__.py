"""Networking (Neutron-compatible API v2.0): networks, subnets, ports, security groups, routers, floating IPs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from nubes.core.service import CatalogEntry, ServiceSpec
from nubes.network.conf import NetworkConfig


def build_app(rt: Any) -> Any:
    from nubes.core.api.app import ServiceApp
    from nubes.core.auth.policy import Enforcer
    from nubes.network import policies
    from nubes.network.api import errors, routes
    from nubes.network.service.runtime import NetworkState

    state = NetworkState(rt)
    rt.extra["network"] = state
    rt.enforcer = Enforcer(policies.DEFAULTS, rt.conf.policy_file("network"),
                          mode=rt.conf.policy_mode("network"), kinds=policies.CHECK_KINDS)
    errors.set_identity_uri(getattr(rt.tokens, "identity_url", ""))
    return ServiceApp("network", routes.routes(), errors.render, rt, rt.tokens, enforcer=rt.enforcer,
                      on_startup=[state.start], on_shutdown=[state.stop])


async def run_network_agents(rt: Any) -> None:
    """This host's data-plane agents (L2 with security groups, DHCP, L3, metadata) when it can run
    them ([network] dataplane, see ``nubes.network.agent.runner``); they need no database."""
    from nubes.network.agent.runner import run

    await run(rt)


def _metadata() -> Any:
    from nubes.network.db.models import Base

    return Base.metadata


SPEC = ServiceSpec(
    name="network",
    conf_class=NetworkConfig,
    default_port=9696,
    build_app=build_app,
    catalog=(CatalogEntry("network", "neutron", "", "OpenStack Networking"),),
    migrations=Path(__file__).parent / "db" / "migrations",
    metadata=_metadata,
    agents=(run_network_agents,),
)
