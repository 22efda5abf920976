"""The block storage service's long-lived state in the API process: database, configuration, bus, services."""

from __future__ import annotations

from typing import Any


class VolumeState:
    def __init__(self, rt: Any) -> None:
        from nubes.volume.service.attachments import Attachments
        from nubes.volume.service.backups import Backups
        from nubes.volume.service.hosts import Hosts
        from nubes.volume.service.messages import Messages
        from nubes.volume.service.qos_specs import QosSpecs
        from nubes.volume.service.quotas import Quotas
        from nubes.volume.service.snapshots import Snapshots
        from nubes.volume.service.transfers import Transfers
        from nubes.volume.service.types import Types
        from nubes.volume.service.volume_actions import VolumeActions
        from nubes.volume.service.volumes import Volumes

        self.rt = rt
        self.db = rt.db
        self.conf = rt.service_conf
        self.bus = rt.bus
        self.types = Types(self)
        self.quotas = Quotas(self)
        self.hosts = Hosts(self)
        self.messages = Messages(self)
        self.volumes = Volumes(self)
        self.snapshots = Snapshots(self)
        self.attachments = Attachments(self)
        self.actions = VolumeActions(self)
        self.backups = Backups(self)
        self.transfers = Transfers(self)
        self.qos_specs = QosSpecs(self)

    async def start(self) -> None:
        from nubes.volume.conf import backup_store

        backup_store(self.conf)          # a bad [volume] backup_store stops the service at start
        await self.types.ensure_default()

    async def stop(self) -> None:
        pass
