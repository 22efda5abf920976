"""The compute service's long-lived state in the API process: database, configuration, bus, services."""

from __future__ import annotations

from typing import Any


class ComputeState:
    def __init__(self, rt: Any) -> None:
        self.rt = rt
        self.db = rt.db
        self.conf = rt.service_conf
        self.bus = rt.bus
        from nubes.compute.service.flavors import Flavors
        from nubes.compute.service.keypairs import Keypairs

        self.flavors = Flavors(self)
        self.keypairs = Keypairs(self)
        # hosts: services, hypervisors, availability zones, aggregates
        from nubes.compute.service.aggregates import Aggregates
        from nubes.compute.service.hosts import Hosts
        from nubes.compute.service.hypervisors import Hypervisors

        self.hosts = Hosts(self)
        self.hypervisors = Hypervisors(self)
        self.aggregates = Aggregates(self)
        # servers, quotas, server groups, instance actions
        from nubes.compute.service.instance_actions import InstanceActions
        from nubes.compute.service.quotas import Quotas
        from nubes.compute.service.server_groups import ServerGroups
        from nubes.compute.service.servers import Servers
        from nubes.compute.service.servers_notify import Notifier

        self.events = Notifier(rt.bus)
        self.quotas = Quotas(self)
        self.servers = Servers(self)
        self.server_groups = ServerGroups(self)
        self.instance_actions = InstanceActions(self)

    async def start(self) -> None:
        pass

    async def stop(self) -> None:
        pass
