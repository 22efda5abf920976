"""The conductor: serves ``compute.conductor`` beside the compute API (see ``nubes.compute.rpc``).

It is the one place besides the API that reads and writes compute's database: agents report
through it. Its handler table is composed from one module per concern (``hosts``: heartbeats
and hypervisor reports; ``build``: scheduling and builds, moves and deletes).
"""

from __future__ import annotations

import logging
from typing import Any

from nubes.compute import rpc
from nubes.compute.conductor import build, hosts

LOG = logging.getLogger(__name__)


class Conductor:
    def __init__(self, rt: Any) -> None:
        self.rt = rt
        self.db = rt.db
        self.conf = rt.service_conf
        self.bus = rt.bus
        self.clients = rt.clients

    def handlers(self) -> dict[str, Any]:
        return {**hosts.handlers(self), **build.handlers(self)}

    async def start(self) -> None:
        await self.bus.serve(rpc.CONDUCTOR_TOPIC, self.handlers())
        LOG.info("compute conductor serving %s", rpc.CONDUCTOR_TOPIC)
