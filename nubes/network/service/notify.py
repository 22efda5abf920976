"""Change notifications on the bus, published after the transaction that made the change commits.

Event types are ``network.<resource>.<action>`` (``network.port.update``); the payload
names the resource and, where one is known, the hosts whose agents must look again
(a port's binding host; every host for a network, security group or router change).
Agents treat an event only as a hint to reconcile; they read the state itself through
the ``network.server`` calls, so a lost event costs at most one resync period.
"""

from __future__ import annotations

import logging
from typing import Any

LOG = logging.getLogger(__name__)


class Notifier:
    def __init__(self, bus: Any) -> None:
        self.bus = bus

    async def emit(self, resource: str, action: str, resource_id: str, **extra: Any) -> None:
        if self.bus is None:
            return
        payload = {"id": resource_id, **extra}
        try:
            await self.bus.publish(f"network.{resource}.{action}", payload)
        except Exception:  # a notification is a hint; the change itself has committed
            LOG.exception("could not publish network.%s.%s for %s", resource, action, resource_id)
