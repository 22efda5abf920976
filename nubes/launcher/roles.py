"""Which of a service's background work runs where (DESIGN.md, "Many nodes").

A service's spec lists its background coroutines (``ServiceSpec.agents``). Some need the
service's database and run on the controller beside the API (compute's conductor); others
run on each node of their kind and need no database (compute's agents). This table names the
node kind; everything else in ``agents`` is the controller kind:

- ``nubes up`` runs both kinds (each may still be turned off by its service's configuration,
  e.g. ``[compute] run_agents = false``);
- ``nubes serve SERVICE`` runs the controller kind beside its API workers;
- ``nubes agent SERVICE`` runs only the node kind, with no database.
"""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable
from typing import Any

from nubes.core.service import ServiceSpec

# service name -> the coroutine function (an attribute of ``nubes.<service>``) a node runs.
NODE_AGENTS: dict[str, str] = {"compute": "run_compute_agents", "network": "run_network_agents",
                               "volume": "run_volume_managers", "object": "run_storage_daemons"}

AgentFn = Callable[[Any], Awaitable[None]]


def node_agent(service: str) -> AgentFn | None:
    """The node agent of ``service``, or None when it has none."""
    attr = NODE_AGENTS.get(service)
    if attr is None:
        return None
    return getattr(importlib.import_module(f"nubes.{service}"), attr)


def controller_agents(spec: ServiceSpec) -> list[AgentFn]:
    """The background work of ``spec`` that runs beside its API (not on the nodes)."""
    node = node_agent(spec.name)
    return [a for a in spec.agents if a is not node]
