"""What a service declares about itself (ServiceSpec) and what it is given to run (Runtime)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nubes.core.config import Config, ServiceConfig


@dataclass(frozen=True)
class CatalogEntry:
    service_type: str        # "identity", "compute", "placement" ...
    name: str                # "keystone", "nova" ...
    path: str = ""           # appended to http://host:port, e.g. "/v3", "/v2.1"
    description: str = ""


@dataclass(frozen=True)
class ExtraApi:
    """A second HTTP API of a service, on its own port, sharing the service's runtime (compute's
    metadata API beside the compute API, as Nova's ``enabled_apis``)."""

    name: str                                   # "metadata": the server task is api-<service>-<name>
    port_key: str                               # the service config field holding its port; 0 turns it off
    build_app: Callable[[Runtime], Any]
    # uvicorn's HTTP parser: "h11" for an API with methods of its own (Swift's backend REPLICATE and
    # SSYNC), which httptools, the "auto" choice when installed, refuses before the app sees them.
    http: str = "auto"


@dataclass(frozen=True)
class ServiceSpec:
    name: str                                   # package and config section: "identity"
    conf_class: type[ServiceConfig]
    default_port: int
    build_app: Callable[[Runtime], Any]         # returns an ASGI app
    catalog: tuple[CatalogEntry, ...] = ()
    migrations: Path | None = None              # the service's Alembic script directory
    metadata: Any = None                        # its SQLAlchemy MetaData
    # Background work run beside the API in the same process: coroutines taking the runtime.
    agents: tuple[Callable[[Runtime], Awaitable[None]], ...] = ()
    extra_apis: tuple[ExtraApi, ...] = ()


@dataclass
class Runtime:
    """Everything a running service gets handed; no globals anywhere else."""

    name: str
    conf: Config
    db: Any = None          # nubes.core.db.session.Database
    bus: Any = None         # nubes.core.bus.Bus
    tokens: Any = None      # token validator (identity's own or the remote one)
    enforcer: Any = None    # nubes.core.auth.policy.Enforcer
    clients: Any = None     # nubes.core.clients.ServiceClients
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def service_conf(self) -> Any:
        return self.conf.services[self.name]

    @property
    def max_request_body(self) -> int:
        return self.conf.core.max_request_body
