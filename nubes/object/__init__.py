"""Object storage (Swift-compatible API v1): rings, the proxy and the storage servers.

``nubes up`` runs the proxy on port 8080 and, in the same process, the object, container and
account servers on their own ports over device directories under ``<state_dir>/object/devices``
(rings made on first start), and the daemons as one agent (``run_storage_daemons``): the
object replicator and auditor, the container and account replicators, the object and container
updaters, the object expirer and the account reaper (docs/object-storage.md); the proxy serves the S3 API too
(``nubes.object.s3``, docs/object-storage-s3.md)."""

from __future__ import annotations

import asyncio
from typing import Any

from nubes.core.service import CatalogEntry, ExtraApi, ServiceSpec
from nubes.object.daemons.db_replicator import run_db_replicator
from nubes.object.daemons.expirer import run_expirer
from nubes.object.daemons.reaper import run_reaper
from nubes.object.daemons.updater import run_updater
from nubes.object.daemons.auditor import run_auditor
from nubes.object.daemons.replicator import run_replicator
from nubes.object.proxy.app import build_app, storage_builder
from nubes.object.proxy.conf import ProxyConfig


async def run_storage_daemons(rt: Any) -> None:
    """This node's object storage daemons: they need only its devices and the rings, no database
    or bus (``nubes agent object`` runs only these)."""
    async with asyncio.TaskGroup() as group:
        group.create_task(run_replicator(rt), name="object-replicator")
        group.create_task(run_auditor(rt), name="object-auditor")
        group.create_task(run_db_replicator(rt), name="object-db-replicator")
        group.create_task(run_updater(rt), name="object-updater")
        group.create_task(run_expirer(rt), name="object-expirer")
        group.create_task(run_reaper(rt), name="object-account-reaper")


SPEC = ServiceSpec(
    name="object",
    conf_class=ProxyConfig,
    default_port=8080,
    build_app=build_app,
    catalog=(CatalogEntry("object-store", "swift", "/v1/AUTH_%(project_id)s",
                          "OpenStack Object Storage"),),
    extra_apis=tuple(ExtraApi(f"{kind}-server", f"{kind}_port", storage_builder(kind))
                     for kind in ("account", "container", "object")),
    agents=(run_storage_daemons,),
)
