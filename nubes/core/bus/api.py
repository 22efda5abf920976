"""The bus contract every implementation keeps (in-process and RabbitMQ).

Three ways to talk, all with JSON-able dict payloads:

- ``call(topic, method, payload)``: request/reply.  Exactly one server of
  ``topic`` runs ``handlers[method](payload)`` and its return value comes back.
  A ``CloudError`` raised by the handler is raised again in the caller, rebuilt
  from its code; any other exception becomes a plain ``CloudError`` (500) with
  its message (the server logs the traceback); an unknown method is a
  ``BadRequest``.  No reply within ``timeout`` seconds, including when nobody
  serves the topic, raises ``nubes.core.exceptions.Timeout``; a request whose
  caller gave up is dropped rather than run late.
- ``cast(topic, method, payload)``: fire and forget to exactly one server of
  ``topic``.  The message waits in the topic's queue until a server takes it,
  and is acknowledged only after the handler finished, so a server that dies or
  closes mid-way leaves it to another one (at least once: handlers must be
  idempotent).  A handler that raises a ``CloudError`` has handled the message;
  one that fails otherwise is retried ``envelope.MAX_REDELIVERIES`` times, then
  the message is dropped with an ERROR log.
- ``publish(event_type, payload)`` / ``subscribe(pattern, handler)``: fan-out
  notifications.  Every subscriber whose pattern matches gets every event
  published after it subscribed; with none, the event is simply dropped.
  Patterns follow AMQP topic rules over dot-separated words: ``*`` is one word,
  ``#`` zero or more (``identity.*``, ``compute.#``, or an exact name).  Events
  are not retried and their order is not guaranteed.

``serve(topic, handlers, concurrency=N)`` runs up to N handlers at once; servers
of one topic, in this process or others, compete for its messages.  Handlers run
with the caller's request id set in ``nubes.core.context``.  ``close()`` stops
consuming, cancels running handlers (their messages go back to the queue), fails
pending calls with ``ServiceUnavailable`` and may be called twice.

Topics are named ``<service>.<role>[.<host>]`` (``compute.conductor``,
``compute.agent.node1``); event types ``<service>.<thing>[.<action>.<phase>]``
(``identity.revocation``, ``compute.instance.create.end``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Protocol, runtime_checkable

Handler = Callable[[dict], Awaitable[Any]]
"""Receives the payload; returns a JSON-able result (for ``call``) or None."""

EventHandler = Callable[[str, dict], Awaitable[None]]
"""Receives the event type and its payload."""


@runtime_checkable
class Bus(Protocol):
    async def start(self) -> None:
        """Connect; the other methods need a started bus."""

    async def close(self) -> None:
        """Stop consumers and close connections; idempotent."""

    async def call(self, topic: str, method: str, payload: dict, *, timeout: float = 60.0) -> Any:
        """Ask one server of ``topic`` and return its result (see the module docstring)."""

    async def cast(self, topic: str, method: str, payload: dict) -> None:
        """Queue a message for exactly one server of ``topic``."""

    async def serve(self, topic: str, handlers: Mapping[str, Handler], *, concurrency: int = 16) -> None:
        """Consume ``topic``'s calls and casts, competing with its other servers."""

    async def publish(self, event_type: str, payload: dict) -> None:
        """Announce an event to every matching subscriber."""

    async def subscribe(self, pattern: str, handler: EventHandler) -> None:
        """Receive every event whose type matches ``pattern`` from now on."""
