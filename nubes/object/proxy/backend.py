"""Talking to the storage servers: one pooled HTTP client, error limiting, parallel requests to a
name's nodes, quorum answers and the streaming PUT.

A *node* is a ring device (``ip``, ``port``, ``device``); a request to it is addressed
``/<device>/<partition>/<account>[/<container>[/<object>]]``. A node that fails (no connection,
a timeout, a 5xx) is counted; after ``error_suppression_limit`` failures within
``error_suppression_interval`` seconds, or at once when it answers 507 (its disk is gone), it is
skipped for that interval, and handoffs stand in for it."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter, deque
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx
from httpcore._async.http11 import AsyncHTTP11Connection

from nubes.object.server.backend import tls_context

# httpcore reads a response at most 64 KiB at a time, and each read costs its HTTP/1.1 machinery
# far more than the copy: a 64 MiB GET spent most of the proxy's CPU there. With reads of up to
# 1 MiB (a class attribute, so every httpx client of this process) a 64 MiB GET through the
# proxy went from 200 to 330 MB/s here (with the object server's 1 MiB reads); a small response
# still takes one read.
AsyncHTTP11Connection.READ_NUM_BYTES = max(AsyncHTTP11Connection.READ_NUM_BYTES, 1024 * 1024)

LOG = logging.getLogger(__name__)
QUEUE_CHUNKS = 4            # chunks buffered per node in a PUT: memory is bounded, not the body


def quorum_size(n: int) -> int:
    """Swift's: a majority of the replicas."""
    return n // 2 + 1


def best_status(statuses: Iterable[int | None], n: int) -> int | None:
    """The answer a quorum of ``n`` nodes agrees on: the most common status of the first class
    (2xx, 3xx, 4xx, 5xx) that a quorum of answers fall in; None when none has one. A node that
    gave no answer counts as a 503."""
    given = [503 if s is None else s for s in statuses]
    need = quorum_size(n)
    for klass in (2, 3, 4, 5):
        inside = [s for s in given if s // 100 == klass]
        if len(inside) >= need:
            return Counter(inside).most_common(1)[0][0]
    return None


def node_key(node: Any) -> str:
    return f"{node.ip}:{node.port}/{node.device}"


class ErrorLimiter:
    def __init__(self, limit: int, interval: float) -> None:
        self.limit, self.interval = limit, interval
        self._errors: dict[str, deque[float]] = {}
        self._until: dict[str, float] = {}

    def limited(self, node: Any) -> bool:
        until = self._until.get(node_key(node))
        if until is None:
            return False
        if time.monotonic() >= until:
            self._until.pop(node_key(node), None)
            return False
        return True

    def error(self, node: Any, why: str) -> None:
        now = time.monotonic()
        times = self._errors.setdefault(node_key(node), deque())
        times.append(now)
        while times and times[0] < now - self.interval:
            times.popleft()
        if len(times) >= self.limit:
            self.limit_now(node, f"{len(times)} failures in {self.interval:g} s, last: {why}")

    def limit_now(self, node: Any, why: str) -> None:
        key = node_key(node)
        if key not in self._until:
            LOG.warning("storage node %s skipped for %g s: %s", key, self.interval, why)
        self._until[key] = time.monotonic() + self.interval
        self._errors.pop(key, None)


@dataclass
class Answer:
    """A storage server's answer, read whole (everything but object bodies)."""

    node: Any
    status: int
    headers: httpx.Headers
    body: bytes = b""


@dataclass
class _Putter:
    """One node's side of a streaming PUT: the chunks queued for it and the request task."""

    node: Any
    queue: asyncio.Queue = field(default_factory=lambda: asyncio.Queue(QUEUE_CHUNKS))
    started: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task | None = None

    async def body(self) -> AsyncIterator[bytes]:
        self.started.set()          # httpx asks for the body once the connection is up
        while True:
            chunk = await self.queue.get()
            if chunk is None:
                return
            if isinstance(chunk, BaseException):
                raise chunk
            yield chunk


class Backend:
    def __init__(self, conf: Any) -> None:
        self.conf = conf
        self.http = self._client()
        # One pool per node: httpcore's pool does work quadratic in its connections for every
        # request (a 16-way load kept ~60 in one pool), so each node's few are kept apart.
        self._pools: dict[str, httpx.AsyncClient] = {}
        self.limiter = ErrorLimiter(conf.error_suppression_limit, conf.error_suppression_interval)

    def _client(self) -> httpx.AsyncClient:
        conf = self.conf
        return httpx.AsyncClient(
            timeout=httpx.Timeout(conf.backend_timeout, connect=conf.conn_timeout),
            limits=httpx.Limits(max_connections=conf.max_backend_connections,
                                max_keepalive_connections=conf.max_backend_connections // 2),
            trust_env=False, verify=tls_context())

    def pool(self, node: Any) -> httpx.AsyncClient:
        """The client of ``node``'s connections (made on first use)."""
        key = node_key(node)
        client = self._pools.get(key)
        if client is None:
            client = self._pools[key] = self._client()
        return client

    async def close(self) -> None:
        await self.http.aclose()
        for client in self._pools.values():
            await client.aclose()
        self._pools.clear()

    @staticmethod
    def url(node: Any, part: int, path: tuple[str, ...]) -> str:
        quoted = "/".join(quote(p, safe="") for p in path)
        return f"http://{node.ip}:{node.port}/{quote(node.device, safe='')}/{part}/{quoted}"

    def usable(self, nodes: Iterable[Any]) -> Iterator[Any]:
        return (n for n in nodes if not self.limiter.limited(n))

    def _judge(self, node: Any, status: int) -> None:
        if status == 507:
            self.limiter.limit_now(node, "507 Insufficient Storage")
        elif status >= 500:
            self.limiter.error(node, f"answered {status}")

    async def ask(self, node: Any, part: int, method: str, path: tuple[str, ...],
                  headers: dict[str, str], params: Any = None) -> Answer | None:
        """One request, its answer read whole; None (and the node counted) when it failed."""
        try:
            resp = await self.pool(node).request(method, self.url(node, part, path),
                                                 headers=headers, params=params)
        except httpx.HTTPError as exc:
            self.limiter.error(node, f"{type(exc).__name__}: {exc}")
            return None
        self._judge(node, resp.status_code)
        return Answer(node, resp.status_code, resp.headers, resp.content)

    async def open(self, node: Any, part: int, method: str, path: tuple[str, ...],
                   headers: dict[str, str]) -> httpx.Response | None:
        """A request whose body is streamed by the caller (who closes the response)."""
        client = self.pool(node)
        request = client.build_request(method, self.url(node, part, path), headers=headers)
        try:
            resp = await client.send(request, stream=True)
        except httpx.HTTPError as exc:
            self.limiter.error(node, f"{type(exc).__name__}: {exc}")
            return None
        self._judge(node, resp.status_code)
        return resp

    async def fan_out(self, nodes: list[Any], handoffs: Iterator[Any], part: int, method: str,
                      path: tuple[str, ...], headers: list[dict[str, str]]) -> list[Answer | None]:
        """The same request (``headers[i]`` to the i-th) to every primary at once; a primary that
        is error-limited or refuses the connection is replaced by the next handoff."""
        spare = self.usable(handoffs)

        async def one(i: int, node: Any) -> Answer | None:
            while True:
                if not self.limiter.limited(node):
                    answer = await self.ask(node, part, method, path, headers[i])
                    if answer is not None and answer.status != 507:
                        return answer
                node = next(spare, None)
                if node is None:
                    return None

        return list(await asyncio.gather(*(one(i, n) for i, n in enumerate(nodes))))

    async def first_good(self, nodes: Iterable[Any], part: int, method: str,
                         path: tuple[str, ...], headers: dict[str, str], params: Any = None,
                         ) -> tuple[Answer | None, list[Answer]]:
        """Ask the nodes one after another until one answers 2xx; (that answer or None, the
        others' answers)."""
        others: list[Answer] = []
        for node in self.usable(nodes):
            answer = await self.ask(node, part, method, path, headers, params)
            if answer is None:
                continue
            if 200 <= answer.status < 300:
                return answer, others
            others.append(answer)
        return None, others

    async def put_stream(self, nodes: list[Any], handoffs: Iterator[Any], part: int,
                         path: tuple[str, ...], headers: list[dict[str, str]],
                         source: AsyncIterator[bytes], limit: int | None = None,
                         ) -> tuple[list[httpx.Response | None], int]:
        """Stream ``source`` to every primary at once (handoffs for those that cannot be
        reached), holding at most a few chunks per node. Returns each node's answer (None for
        a failed one) and the bytes sent; raises OverLimit past ``limit`` bytes."""
        spare = self.usable(handoffs)       # shared: each handoff stands in for one primary
        putters: list[_Putter | None] = list(await asyncio.gather(*(
            self._connect(node, spare, part, path, headers[i]) for i, node in enumerate(nodes))))
        live = [p for p in putters if p is not None]
        sent = 0
        try:
            async for chunk in source:
                if not chunk:
                    continue
                sent += len(chunk)
                if limit is not None and sent > limit:
                    raise OverLimit()
                fed = await asyncio.gather(*(self._feed(p, chunk) for p in live))
                live = [p for p, ok in zip(live, fed, strict=True) if ok]
            await asyncio.gather(*(self._feed(p, None) for p in live))
        except BaseException as exc:
            # the servers must not keep a partial body as the object: end each request with an
            # error (the connection is dropped mid-body) rather than with the end of the body
            tasks = [p.task for p in putters if p is not None and p.task is not None]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise exc
        answers: list[httpx.Response | None] = []
        for p in putters:
            resp = None
            if p is not None and p.task is not None:
                try:
                    resp = await p.task
                except (httpx.HTTPError, asyncio.CancelledError) as exc:
                    self.limiter.error(p.node, f"PUT failed: {exc!r}")
                if resp is not None:
                    self._judge(p.node, resp.status_code)
            answers.append(resp)
        return answers, sent

    async def _connect(self, node: Any, spare: Iterator[Any], part: int, path: tuple[str, ...],
                       headers: dict[str, str]) -> _Putter | None:
        """A putter whose node took the connection (asked for the body), else one on the next
        handoff that does; None when none is left."""
        while node is not None:
            if not self.limiter.limited(node):
                putter = _Putter(node)
                putter.task = asyncio.create_task(self.pool(node).request(
                    "PUT", self.url(node, part, path), headers=headers, content=putter.body()))
                waiter = asyncio.create_task(putter.started.wait())
                await asyncio.wait({putter.task, waiter}, return_when=asyncio.FIRST_COMPLETED)
                waiter.cancel()
                if putter.started.is_set():
                    return putter
                exc = putter.task.exception()
                self.limiter.error(node, f"PUT connect failed: {exc!r}")
            node = next(spare, None)
        return None

    @staticmethod
    async def _feed(putter: _Putter, chunk: Any) -> bool:
        """Queue a chunk for one node; False when that node's request ended (it failed)."""
        assert putter.task is not None
        if putter.task.done():
            return False
        put = asyncio.ensure_future(putter.queue.put(chunk))
        done, _ = await asyncio.wait({put, putter.task}, return_when=asyncio.FIRST_COMPLETED)
        if put not in done:
            put.cancel()
            return False
        return True


class OverLimit(Exception):
    """The body grew past the largest object."""
