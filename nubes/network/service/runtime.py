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
        from nubes.network.service.compute_events import ComputeEvents

        self.compute_events = ComputeEvents(self)
        # One object per resource family; handlers reach them as req.rt.extra["network"].<name>.
        from nubes.network.service.networks import Networks
        from nubes.network.service.security_groups import SecurityGroups
        from nubes.network.service.tags import Tags

        self.networks = Networks(self)
        self.tags = Tags(self)
        self.security_groups = SecurityGroups(self)
        from nubes.network.service.ip_availability import IpAvailability
        from nubes.network.service.ports import Ports
        from nubes.network.service.subnetpools import SubnetPools
        from nubes.network.service.subnets import Subnets

        self.subnets = Subnets(self)
        self.subnetpools = SubnetPools(self)
        self.ports = Ports(self)
        self.ip_availability = IpAvailability(self)
        from nubes.network.service.agents import Agents
        from nubes.network.service.quotas import Quotas
        from nubes.network.service.rbac import RbacPolicies
        from nubes.network.service.security_group_rules import SecurityGroupRules

        self.security_group_rules = SecurityGroupRules(self)
        self.quotas = Quotas(self)
        self.rbac = RbacPolicies(self)
        self.agents = Agents(self)
        from nubes.network.service.floatingips import FloatingIPs
        from nubes.network.service.routers import Routers

        self.routers = Routers(self)
        self.floatingips = FloatingIPs(self)
        from nubes.network.service.host_state import HostState

        self.host_state = HostState(self)

    async def start(self) -> None:
        if self.bus is not None:
            from nubes.network.service import agents, host_state

            await self.bus.serve(SERVER_TOPIC, {**agents.rpc_handlers(self), **host_state.rpc_handlers(self)})

    async def stop(self) -> None:
        pass
