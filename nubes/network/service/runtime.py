"""The network service's long-lived state: database, configuration, bus, and what agents call."""

from __future__ import annotations

import logging
from typing import Any

from nubes.network.service import notify

LOG = logging.getLogger(__name__)

SERVER_TOPIC = "network.server"


class NetworkState:
    def __init__(self, rt: Any) -> None:
        self.rt = rt
        self.db = rt.db
        self.conf = rt.service_conf
        self.bus = rt.bus
        self.notifier = notify.Notifier(rt.bus)
        # One object per resource family; handlers reach them as req.rt.extra["network"].<name>.
        from nubes.network.service.networks import Networks
        from nubes.network.service.security_groups import SecurityGroups
        from nubes.network.service.tags import Tags

        self.networks = Networks(self)
        self.tags = Tags(self)
        self.security_groups = SecurityGroups(self)

    async def start(self) -> None:
        if self.bus is not None:
            from nubes.network.service import agents

            await self.bus.serve(SERVER_TOPIC, agents.rpc_handlers(self))

    async def stop(self) -> None:
        pass
