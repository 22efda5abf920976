"""The message bus: ``make_bus(url)`` picks the implementation of ``Bus`` from the URL.

``memory://`` is the in-process bus of the all-in-one cloud; ``amqp://`` and
``amqps://`` connect to RabbitMQ.  The contract is in ``nubes.core.bus.api``.
"""

from __future__ import annotations

from nubes.core.bus.api import Bus, EventHandler, Handler
from nubes.core.bus.inprocess import InProcessBus


def make_bus(url: str) -> Bus:
    """A bus for ``url``; call ``await bus.start()`` before using it."""
    if url.startswith("memory://"):
        return InProcessBus()
    if url.startswith(("amqp://", "amqps://")):
        from nubes.core.bus.rabbitmq import RabbitMQBus  # aio-pika is only loaded when used

        return RabbitMQBus(url)
    raise ValueError(f"unsupported bus url {url!r}: use memory:// or amqp://user:password@host:5672/")


__all__ = ["Bus", "EventHandler", "Handler", "InProcessBus", "make_bus"]
