"""The in-process bus (``memory://``): asyncio queues per topic and local fan-out.

It keeps the contract of ``nubes.core.bus.api`` inside one event loop, which is
what the all-in-one cloud runs on.  Messages cross it as the same JSON
envelopes as on RabbitMQ.  A ``MemoryBroker`` holds the queues and
subscriptions; each ``InProcessBus`` is one connection to it, so several buses
sharing a broker behave like several processes sharing a RabbitMQ (tests use
this).  Differences from RabbitMQ, by design: nothing survives the process, and
``publish`` returns only after every local subscriber has handled the event, so
a revocation has reached every cache in the process when it returns.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from nubes.core.bus import envelope
from nubes.core.bus.api import EventHandler, Handler
from nubes.core.exceptions import ServiceUnavailable, Timeout

LOG = logging.getLogger(__name__)


def topic_matches(pattern: str, key: str) -> bool:
    """AMQP topic-exchange matching: ``*`` is exactly one word, ``#`` zero or more."""
    return _match(pattern.split("."), key.split("."))


def _match(pattern: list[str], words: list[str]) -> bool:
    if not pattern:
        return not words
    head, rest = pattern[0], pattern[1:]
    if head == "#":
        return any(_match(rest, words[i:]) for i in range(len(words) + 1))
    return bool(words) and head in ("*", words[0]) and _match(rest, words[1:])


@dataclass(frozen=True)
class _Delivery:
    body: bytes
    reply: asyncio.Future[bytes] | None = None   # None for a cast
    redeliveries: int = 0


@dataclass(frozen=True)
class _Subscription:
    pattern: str
    handler: EventHandler
    owner: InProcessBus


class MemoryBroker:
    """The queues and subscriptions that the buses of one process share."""

    def __init__(self) -> None:
        self.queues: dict[str, asyncio.Queue[_Delivery]] = {}
        self.subscriptions: list[_Subscription] = []

    def queue(self, topic: str) -> asyncio.Queue[_Delivery]:
        return self.queues.setdefault(topic, asyncio.Queue())


class InProcessBus:
    """A bus connection to a ``MemoryBroker`` (a fresh one unless given)."""

    def __init__(self, broker: MemoryBroker | None = None) -> None:
        self.broker = broker or MemoryBroker()
        self._workers: set[asyncio.Task[None]] = set()
        self._pending: set[asyncio.Future[bytes]] = set()
        self._closed = False

    def __repr__(self) -> str:
        return f"<InProcessBus topics={sorted(self.broker.queues)}>"

    async def start(self) -> None:
        self._check_open()

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for task in self._workers:
            task.cancel()
        await asyncio.gather(*self._workers, return_exceptions=True)
        self._workers.clear()
        self.broker.subscriptions = [s for s in self.broker.subscriptions if s.owner is not self]
        for fut in self._pending:
            if not fut.done():
                fut.set_exception(ServiceUnavailable("The bus was closed before a reply came."))
        self._pending.clear()

    def _check_open(self) -> None:
        if self._closed:
            raise ServiceUnavailable("The bus is closed.")

    # -- request/reply and casts ------------------------------------------------
    async def call(self, topic: str, method: str, payload: dict, *, timeout: float = 60.0) -> Any:
        self._check_open()
        body = envelope.encode_request(method, payload)
        fut: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        self._pending.add(fut)
        self.broker.queue(topic).put_nowait(_Delivery(body, fut))
        try:
            async with asyncio.timeout(timeout):
                reply = await fut
        except TimeoutError:
            raise Timeout(f"No reply from {topic}.{method} within {timeout:g}s.") from None
        finally:
            self._pending.discard(fut)
        return envelope.read_reply(reply)

    async def cast(self, topic: str, method: str, payload: dict) -> None:
        self._check_open()
        self.broker.queue(topic).put_nowait(_Delivery(envelope.encode_request(method, payload)))

    async def serve(self, topic: str, handlers: Mapping[str, Handler], *, concurrency: int = 16) -> None:
        self._check_open()
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        handlers = dict(handlers)
        queue = self.broker.queue(topic)
        for n in range(concurrency):
            task = asyncio.create_task(self._work(topic, queue, handlers), name=f"bus-serve-{topic}-{n}")
            self._workers.add(task)
        LOG.debug("serving %s (%s) with %d workers", topic, ", ".join(sorted(handlers)), concurrency)

    async def _work(self, topic: str, queue: asyncio.Queue[_Delivery],
                    handlers: Mapping[str, Handler]) -> None:
        while True:
            delivery = await queue.get()
            if delivery.reply is not None and delivery.reply.done():
                continue  # the caller gave up: drop it, as RabbitMQ drops an expired request
            try:
                await self._handle(topic, queue, handlers, delivery)
            except asyncio.CancelledError:
                queue.put_nowait(delivery)  # never acknowledged: it goes to another server
                raise

    async def _handle(self, topic: str, queue: asyncio.Queue[_Delivery], handlers: Mapping[str, Handler],
                      delivery: _Delivery) -> None:
        request = envelope.decode_request(delivery.body)
        outcome = await envelope.run_handler(topic, handlers, request)
        if delivery.reply is not None:
            envelope.log_call_failure(topic, request["method"], outcome)
            if not delivery.reply.done():
                delivery.reply.set_result(outcome.reply)
        elif envelope.should_retry_cast(topic, request["method"], outcome, delivery.redeliveries):
            queue.put_nowait(replace(delivery, redeliveries=delivery.redeliveries + 1))

    # -- notifications ----------------------------------------------------------
    async def publish(self, event_type: str, payload: dict) -> None:
        self._check_open()
        body = envelope.encode_event(event_type, payload)
        matching = [s for s in self.broker.subscriptions if topic_matches(s.pattern, event_type)]
        if matching:
            # Each subscriber decodes its own copy, as it would from its own queue.
            await asyncio.gather(*(envelope.run_subscriber(s.handler, envelope.decode_event(body))
                                   for s in matching))

    async def subscribe(self, pattern: str, handler: EventHandler) -> None:
        self._check_open()
        self.broker.subscriptions.append(_Subscription(pattern, handler, self))
