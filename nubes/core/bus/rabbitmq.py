"""The RabbitMQ bus (``amqp://`` and ``amqps://`` URLs), through aio-pika.

It keeps the contract of ``nubes.core.bus.api`` across processes and machines.
What it creates on the broker:

- ``nubes.rpc``, a durable direct exchange, and one durable queue per topic,
  named after the topic and bound with it.  ``call`` and ``cast`` declare the
  queue, so a message sent before any server exists waits for one.  Casts are
  persistent; calls are transient and expire after their timeout.
- ``nubes.reply.<id>``, an exclusive auto-delete queue per connection, where
  replies arrive (through the default exchange) matched by correlation id.
- ``nubes.notifications``, a durable topic exchange; each ``subscribe`` gets an
  exclusive auto-delete queue ``nubes.event.<id>.<n>`` bound with its pattern.

Servers acknowledge a message only after its handler finished, with a prefetch
of ``concurrency``, so a message whose server dies is redelivered to another.
A cast that fails unexpectedly is republished with its redelivery count in the
``x-nubes-redeliveries`` header (a requeue cannot change headers) and the
original acknowledged, until ``envelope.MAX_REDELIVERIES``.  The connection is
``connect_robust``: it reconnects and restores queues, bindings and consumers.
Across an outage, unacknowledged requests are delivered again, a handler that
was running finishes (its acknowledgement fails, so it runs twice), broker
operations wait up to ``publish_timeout``, a call whose reply was lost times
out, and events published while a subscriber's queue was gone are lost.  Add
``?reconnect_interval=1`` to the URL to retry faster than aio-pika's 5 s.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import socket
import uuid
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractExchange, AbstractIncomingMessage, AbstractRobustConnection
from aiormq.exceptions import AMQPConnectionError, AMQPError, ChannelInvalidStateError

from nubes.core.bus import envelope
from nubes.core.bus.api import EventHandler, Handler
from nubes.core.exceptions import BadRequest, ServiceUnavailable, Timeout

LOG = logging.getLogger(__name__)

RPC_EXCHANGE = "nubes.rpc"
EVENT_EXCHANGE = "nubes.notifications"
REDELIVERIES_HEADER = "x-nubes-redeliveries"
EVENT_PREFETCH = 64
JSON = "application/json"

_BROKER_ERRORS = (AMQPError, ChannelInvalidStateError, OSError)
# What a broker operation may meet while the robust connection is being restored.
_TRANSIENT = (ChannelInvalidStateError, AMQPConnectionError, ConnectionError)
RETRY_INTERVAL = 0.1
T = TypeVar("T")


def redact_url(url: str) -> str:
    """The URL without its password, for logs and error messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = f"{parts.username}:***@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


class RabbitMQBus:
    """One robust connection to RabbitMQ carrying calls, casts, servers and subscriptions."""

    def __init__(self, url: str, *, name: str | None = None, publish_timeout: float = 30.0) -> None:
        self.url = url
        self.name = name or f"nubes:{socket.gethostname()}:{os.getpid()}"
        self.publish_timeout = publish_timeout
        self._id = uuid.uuid4().hex[:12]
        self._reply_queue = f"nubes.reply.{self._id}"
        self._connection: AbstractRobustConnection | None = None
        self._channel: AbstractChannel | None = None        # publishing, replies, declarations
        self._event_channel: AbstractChannel | None = None
        self._exchanges: dict[str, AbstractExchange] = {}
        self._declared: set[str] = set()
        self._pending: dict[str, asyncio.Future[bytes]] = {}
        self._inflight: set[asyncio.Task[Any]] = set()
        self._subscriptions = 0
        self._closed = False
        # Set while the reply queue exists: after a lost connection the broker has dropped it (it is
        # exclusive) until aio-pika has restored the channel, and a reply sent meanwhile is lost.
        self._replies_ready = asyncio.Event()

    def __repr__(self) -> str:
        return f"<RabbitMQBus {redact_url(self.url)} {self._id}>"

    # -- lifecycle --------------------------------------------------------------
    async def start(self) -> None:
        if self._closed:
            raise ServiceUnavailable("The bus is closed.")
        if self._connection is not None:
            return
        try:
            connection = await aio_pika.connect_robust(
                self.url, client_properties={"connection_name": self.name})
        except _BROKER_ERRORS as exc:
            raise ServiceUnavailable(
                f"Cannot connect to the message broker at {redact_url(self.url)}: {exc}") from None
        self._connection = connection
        self._channel = await connection.channel()
        self._exchanges = {
            "": self._channel.default_exchange,
            RPC_EXCHANGE: await self._channel.declare_exchange(
                RPC_EXCHANGE, aio_pika.ExchangeType.DIRECT, durable=True),
            EVENT_EXCHANGE: await self._channel.declare_exchange(
                EVENT_EXCHANGE, aio_pika.ExchangeType.TOPIC, durable=True),
        }
        replies = await self._channel.declare_queue(self._reply_queue, exclusive=True, auto_delete=True)
        await replies.consume(self._on_reply, no_ack=True)
        connection.close_callbacks.add(lambda *_: self._replies_ready.clear())
        connection.reconnect_callbacks.add(lambda *_: self._replies_ready.set())
        self._replies_ready.set()
        LOG.info("bus connected to %s as %s", redact_url(self.url), self.name)

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._replies_ready.set()       # a call waiting for the reply queue meets the closed bus
        for fut in self._pending.values():
            if not fut.done():
                fut.set_exception(ServiceUnavailable("The bus was closed before a reply came."))
        await self._cancel_handlers()
        if self._connection is not None:
            try:
                await self._connection.close()
            except _BROKER_ERRORS as exc:
                LOG.warning("closing the bus connection failed: %s", exc)
        await self._cancel_handlers()  # any delivered while the connection was closing
        LOG.debug("bus %s closed", self._id)

    async def _cancel_handlers(self) -> None:
        """Stop running handlers; unacknowledged, their messages go back to the queue."""
        running = list(self._inflight)
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)

    def _chan(self) -> AbstractChannel:
        if self._closed:
            raise ServiceUnavailable("The bus is closed.")
        if self._channel is None:
            raise RuntimeError("the bus is not started: await bus.start() first")
        return self._channel

    async def _on_broker(self, what: str, op: Callable[[], Awaitable[T]]) -> T:
        """Run one broker operation, waiting out a reconnection for up to ``publish_timeout``."""
        self._chan()
        try:
            async with asyncio.timeout(self.publish_timeout):
                while True:
                    try:
                        return await op()
                    except _TRANSIENT as exc:
                        self._chan()
                        LOG.debug("cannot %s yet (%s), retrying", what, exc)
                        await asyncio.sleep(RETRY_INTERVAL)
        except TimeoutError:
            raise ServiceUnavailable(
                f"The message broker did not {what} within {self.publish_timeout:g}s.") from None
        except _BROKER_ERRORS as exc:
            raise ServiceUnavailable(f"The message broker could not {what}: {exc}") from None

    async def _publish(self, exchange: str, routing_key: str, message: aio_pika.Message) -> None:
        await self._on_broker(f"accept a message for {routing_key}", functools.partial(
            self._exchanges[exchange].publish, message, routing_key, mandatory=False))

    async def _ensure_topic(self, topic: str) -> None:
        if topic in self._declared:
            return
        channel = self._chan()

        async def declare() -> None:
            queue = await channel.declare_queue(topic, durable=True)
            await queue.bind(RPC_EXCHANGE, routing_key=topic)

        await self._on_broker(f"declare the queue {topic}", declare)
        self._declared.add(topic)

    # -- request/reply and casts ------------------------------------------------
    async def call(self, topic: str, method: str, payload: dict, *, timeout: float = 60.0) -> Any:
        body = envelope.encode_request(method, payload)
        correlation_id = uuid.uuid4().hex
        fut: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        self._pending[correlation_id] = fut
        try:
            async with asyncio.timeout(timeout):
                await self._ensure_topic(topic)
                await self._replies_ready.wait()
                await self._publish(RPC_EXCHANGE, topic, aio_pika.Message(
                    body, content_type=JSON, correlation_id=correlation_id, reply_to=self._reply_queue,
                    expiration=timeout, delivery_mode=aio_pika.DeliveryMode.NOT_PERSISTENT))
                reply = await fut
        except TimeoutError:
            raise Timeout(f"No reply from {topic}.{method} within {timeout:g}s.") from None
        finally:
            self._pending.pop(correlation_id, None)
        return envelope.read_reply(reply)

    async def _on_reply(self, message: AbstractIncomingMessage) -> None:
        fut = self._pending.get(message.correlation_id or "")
        if fut is None or fut.done():
            LOG.debug("late reply %s dropped", message.correlation_id)
            return
        fut.set_result(message.body)

    async def cast(self, topic: str, method: str, payload: dict) -> None:
        body = envelope.encode_request(method, payload)
        await self._ensure_topic(topic)
        await self._publish(RPC_EXCHANGE, topic, aio_pika.Message(
            body, content_type=JSON, delivery_mode=aio_pika.DeliveryMode.PERSISTENT))

    async def serve(self, topic: str, handlers: Mapping[str, Handler], *, concurrency: int = 16) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self._chan()
        assert self._connection is not None
        consume = functools.partial(self._on_request, topic, dict(handlers))
        try:
            channel = await self._connection.channel()
            await channel.set_qos(prefetch_count=concurrency)
            queue = await channel.declare_queue(topic, durable=True)
            await queue.bind(RPC_EXCHANGE, routing_key=topic)
            await queue.consume(self._tracked(consume))
        except _BROKER_ERRORS as exc:
            raise ServiceUnavailable(f"Cannot consume from {topic}: {exc}") from None
        LOG.debug("serving %s (%s), prefetch %d", topic, ", ".join(sorted(handlers)), concurrency)

    def _tracked(self, consume: Callable[[AbstractIncomingMessage], Awaitable[None]]
                 ) -> Callable[[AbstractIncomingMessage], Awaitable[None]]:
        """Run each delivery in a task of ours that close() cancels and a lost channel does not.

        aiormq cancels its consumer tasks when a channel closes, including on a
        broker blip; the handler finishes instead, its acknowledgement fails and
        the broker redelivers the message (at least once, as always).
        """
        async def run(message: AbstractIncomingMessage) -> None:
            task = asyncio.create_task(consume(message))
            self._inflight.add(task)
            task.add_done_callback(self._inflight.discard)
            await asyncio.shield(task)
        return run

    async def _on_request(self, topic: str, handlers: Mapping[str, Handler],
                          message: AbstractIncomingMessage) -> None:
        try:
            request = envelope.decode_request(message.body)
        except envelope.MalformedMessage as exc:
            LOG.error("dropping a malformed message on %s: %s", topic, exc)
            if message.reply_to:
                await self._reply(message, envelope.error_reply(BadRequest(f"Malformed request: {exc}.")))
            await self._settle(message, requeue=False)
            return
        outcome = await envelope.run_handler(topic, handlers, request)
        if message.reply_to:
            envelope.log_call_failure(topic, request["method"], outcome)
            if not await self._reply(message, outcome.reply):
                await self._settle(message, requeue=True)  # run it again rather than lose the reply
                return
        else:
            redeliveries = int((message.headers or {}).get(REDELIVERIES_HEADER) or 0)
            if envelope.should_retry_cast(topic, request["method"], outcome, redeliveries):
                if not await self._republish(topic, message, redeliveries + 1):
                    await self._settle(message, requeue=True)
                    return
        await self._settle(message, requeue=False)

    async def _reply(self, message: AbstractIncomingMessage, body: bytes) -> bool:
        try:
            await self._publish("", message.reply_to or "", aio_pika.Message(
                body, content_type=JSON, correlation_id=message.correlation_id,
                delivery_mode=aio_pika.DeliveryMode.NOT_PERSISTENT))
        except ServiceUnavailable as exc:
            LOG.warning("could not send the reply %s: %s", message.correlation_id, exc.message)
            return False
        return True

    async def _republish(self, topic: str, message: AbstractIncomingMessage, redeliveries: int) -> bool:
        headers = dict(message.headers or {})
        headers[REDELIVERIES_HEADER] = redeliveries
        try:
            await self._publish(RPC_EXCHANGE, topic, aio_pika.Message(
                message.body, content_type=JSON, headers=headers,
                delivery_mode=aio_pika.DeliveryMode.PERSISTENT))
        except ServiceUnavailable as exc:
            LOG.warning("could not requeue a cast on %s: %s", topic, exc.message)
            return False
        return True

    @staticmethod
    async def _settle(message: AbstractIncomingMessage, *, requeue: bool) -> None:
        """Acknowledge (or, with ``requeue``, give back) a message; a lost channel redelivers it."""
        try:
            if requeue:
                await message.reject(requeue=True)
            else:
                await message.ack()
        except _BROKER_ERRORS as exc:
            LOG.warning("could not settle message %s, the broker will redeliver it: %s",
                        message.delivery_tag, exc)

    # -- notifications ----------------------------------------------------------
    async def publish(self, event_type: str, payload: dict) -> None:
        body = envelope.encode_event(event_type, payload)
        await self._publish(EVENT_EXCHANGE, event_type, aio_pika.Message(
            body, content_type=JSON, type=event_type, delivery_mode=aio_pika.DeliveryMode.NOT_PERSISTENT))

    async def subscribe(self, pattern: str, handler: EventHandler) -> None:
        self._chan()
        assert self._connection is not None
        self._subscriptions += 1
        name = f"nubes.event.{self._id}.{self._subscriptions}"
        consume = functools.partial(self._on_event, handler)
        try:
            if self._event_channel is None:
                self._event_channel = await self._connection.channel()
                await self._event_channel.set_qos(prefetch_count=EVENT_PREFETCH)
            queue = await self._event_channel.declare_queue(name, exclusive=True, auto_delete=True)
            await queue.bind(EVENT_EXCHANGE, routing_key=pattern)
            await queue.consume(self._tracked(consume))
        except _BROKER_ERRORS as exc:
            raise ServiceUnavailable(f"Cannot subscribe to {pattern}: {exc}") from None

    async def _on_event(self, handler: EventHandler, message: AbstractIncomingMessage) -> None:
        try:
            event = envelope.decode_event(message.body)
        except envelope.MalformedMessage as exc:
            LOG.error("dropping a malformed event %s: %s", message.routing_key, exc)
        else:
            await envelope.run_subscriber(handler, event)
        await self._settle(message, requeue=False)
