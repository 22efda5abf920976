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

    async def start(self) -> None:
        pass

    async def stop(self) -> None:
        pass
