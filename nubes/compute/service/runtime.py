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
        # server actions, moves, snapshots, server sub-resources, usage
        from nubes.compute.service.moves import Moves
        from nubes.compute.service.server_actions import ServerActions
        from nubes.compute.service.server_actions_metadata import ServerMetadata
        from nubes.compute.service.server_actions_network import ServerNetwork
        from nubes.compute.service.server_actions_rebuild import Rebuilds
        from nubes.compute.service.server_actions_shelve import Shelving
        from nubes.compute.service.snapshots import Snapshots
        from nubes.compute.service.usage import Usage

        self.server_actions = ServerActions(self)
        self.rebuilds = Rebuilds(self, self.server_actions)
        self.shelving = Shelving(self, self.server_actions)
        self.snapshots = Snapshots(self, self.server_actions)
        self.moves = Moves(self, self.server_actions)
        self.server_metadata = ServerMetadata(self)
        self.server_network = ServerNetwork(self, self.server_actions)
        from nubes.compute.service.server_volumes import ServerVolumes

        self.server_volumes = ServerVolumes(self, self.server_actions)
        self.usage = Usage(self)
        from nubes.compute.service.server_password import ServerPassword

        self.server_password = ServerPassword(self, self.server_actions)
        from nubes.compute.service.server_actions_guest import GuestActions

        self.guest_actions = GuestActions(self, self.server_actions)
        from nubes.compute.service.server_actions_deferred import DeferredDelete

        self.deferred_delete = DeferredDelete(self, self.server_actions)
        from nubes.compute.service.evacuate import Evacuations

        self.evacuations = Evacuations(self, self.server_actions)
        from nubes.compute.service.live_migration_control import LiveMigrationControl

        self.live_migrations = LiveMigrationControl(self, self.server_actions)
        # remote consoles
        from nubes.compute.service.consoles import Consoles

        self.consoles = Consoles(self, self.server_actions)
        # events from other services (the network service's port and floating IP changes)
        from nubes.compute.service.external_events import ExternalEvents

        self.external_events = ExternalEvents(self)
        # Nova's proxy APIs (images, network) and os-hosts
        from nubes.compute.service.host_resources import HostResources
        from nubes.compute.service.image_proxy import ImageProxy
        from nubes.compute.service.network_proxy import NetworkProxy

        self.network_proxy = NetworkProxy(self)
        self.image_proxy = ImageProxy(self)
        self.host_resources = HostResources(self)

    async def start(self) -> None:
        pass

    async def stop(self) -> None:
        pass
