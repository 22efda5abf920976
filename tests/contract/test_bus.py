"""The bus contract (``nubes.core.bus.api``), checked on the in-process bus and on RabbitMQ.

Every test gets a ``cluster``: a way to open several bus connections that share
one broker (one ``MemoryBroker``, or the RabbitMQ of this machine), and unique
topic and event names, whose queues are deleted afterwards.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from nubes.core.bus import Bus, InProcessBus, make_bus
from nubes.core.bus.envelope import MAX_REDELIVERIES
from nubes.core.context import reset_request_id, set_request_id
from nubes.core.exceptions import BadRequest, CloudError, NotFound, ServiceUnavailable, Timeout

AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/"
REPO = Path(__file__).resolve().parents[2]


class Cluster:
    def __init__(self, url: str) -> None:
        self.url = url
        self.prefix = f"test.{uuid.uuid4().hex[:10]}"
        self.buses: list[Bus] = []
        self.topics: list[str] = []
        self._first: InProcessBus | None = None

    @property
    def amqp(self) -> bool:
        return self.url.startswith("amqp")

    async def connect(self) -> Bus:
        """A new bus connection to the shared broker (like another process)."""
        if self._first is not None:
            bus: Bus = InProcessBus(broker=self._first.broker)
        else:
            bus = make_bus(self.url)
            if isinstance(bus, InProcessBus):
                self._first = bus
        try:
            await bus.start()
        except ServiceUnavailable as exc:
            pytest.fail(f"RabbitMQ on this machine is not reachable: {exc}")
        self.buses.append(bus)
        return bus

    def topic(self, name: str) -> str:
        topic = f"{self.prefix}.{name}"
        self.topics.append(topic)
        return topic

    def event(self, name: str) -> str:
        return f"{self.prefix}.{name}"

    async def close(self) -> None:
        for bus in self.buses:
            await bus.close()
        if self.amqp and self.topics:
            import aio_pika

            connection = await aio_pika.connect(self.url)
            async with connection:
                channel = await connection.channel()
                for topic in set(self.topics):
                    await channel.queue_delete(topic)


@pytest.fixture(params=["memory://", pytest.param(AMQP_URL, marks=pytest.mark.rabbitmq)],
                ids=["memory", "rabbitmq"])
async def cluster(request: pytest.FixtureRequest):
    cl = Cluster(request.param)
    yield cl
    await cl.close()


@pytest.fixture
async def rabbit():
    """A cluster on RabbitMQ only, for what has no in-process counterpart (processes, connections)."""
    cl = Cluster(AMQP_URL)
    yield cl
    await cl.close()


async def eventually(cond: Callable[[], bool], timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while not cond():
            await asyncio.sleep(0.01)


def recorder(log: list, result=None) -> Callable[[dict], Awaitable]:
    async def handler(payload: dict):
        log.append(payload)
        return result
    return handler


# -- call -------------------------------------------------------------------------------
async def test_call_returns_the_result_under_the_callers_request_id(cluster: Cluster) -> None:
    from nubes.core.context import current_request_id

    bus = await cluster.connect()
    topic = cluster.topic("conductor")
    sent = {"n": 1, "items": [1, "two", None]}

    async def echo(payload: dict) -> dict:
        payload["seen"] = True  # must not reach the caller's dict
        return {"got": payload, "request_id": current_request_id()}

    await bus.serve(topic, {"echo": echo})
    token = set_request_id("req-bus-test")
    try:
        result = await bus.call(topic, "echo", sent, timeout=5)
    finally:
        reset_request_id(token)
    assert result == {"got": {"n": 1, "items": [1, "two", None], "seen": True}, "request_id": "req-bus-test"}
    assert "seen" not in sent


async def test_call_works_across_connections(cluster: Cluster) -> None:
    server, client = await cluster.connect(), await cluster.connect()
    topic = cluster.topic("api")

    async def add(payload: dict) -> int:
        return payload["a"] + payload["b"]

    await server.serve(topic, {"add": add})
    assert await asyncio.gather(*(client.call(topic, "add", {"a": i, "b": 1}, timeout=5)
                                  for i in range(10))) == [i + 1 for i in range(10)]


async def test_call_raises_the_handlers_cloud_error_rebuilt(cluster: Cluster) -> None:
    bus = await cluster.connect()
    topic = cluster.topic("errors")

    async def missing(payload: dict) -> None:
        raise NotFound(f"Flavor {payload['id']} could not be found.", flavor_id=payload["id"])

    await bus.serve(topic, {"show": missing})
    with pytest.raises(NotFound) as info:
        await bus.call(topic, "show", {"id": "f1"}, timeout=5)
    assert info.value.message == "Flavor f1 could not be found."
    assert info.value.details == {"flavor_id": "f1"}
    assert info.value.status == 404


async def test_unexpected_handler_error_is_a_500_logged_once(cluster: Cluster,
                                                            caplog: pytest.LogCaptureFixture) -> None:
    bus = await cluster.connect()
    topic = cluster.topic("broken")

    async def broken(payload: dict) -> None:
        raise ValueError("disk on fire")

    await bus.serve(topic, {"go": broken})
    with caplog.at_level(logging.ERROR, logger="nubes.core.bus"):
        with pytest.raises(CloudError) as info:
            await bus.call(topic, "go", {}, timeout=5)
    assert type(info.value) is CloudError and info.value.status == 500
    assert "disk on fire" in info.value.message
    tracebacks = [r for r in caplog.records if r.exc_info and "disk on fire" in str(r.exc_info[1])]
    assert len(tracebacks) == 1


async def test_unknown_method_is_a_bad_request(cluster: Cluster) -> None:
    bus = await cluster.connect()
    topic = cluster.topic("strict")
    await bus.serve(topic, {"known": recorder([])})
    with pytest.raises(BadRequest, match="unknown"):
        await bus.call(topic, "unknown", {}, timeout=5)


async def test_call_times_out_when_nobody_serves(cluster: Cluster) -> None:
    bus = await cluster.connect()
    with pytest.raises(Timeout):
        await bus.call(cluster.topic("nobody"), "ping", {}, timeout=0.3)


async def test_timed_out_call_is_not_run_late(cluster: Cluster) -> None:
    bus = await cluster.connect()
    topic = cluster.topic("late")
    with pytest.raises(Timeout):
        await bus.call(topic, "ping", {}, timeout=0.2)
    await asyncio.sleep(0.1)
    seen: list = []
    await bus.serve(topic, {"ping": recorder(seen, "pong")})
    assert await bus.call(topic, "ping", {"second": True}, timeout=5) == "pong"
    assert seen == [{"second": True}]


async def test_slow_handler_times_out_and_its_late_reply_is_ignored(cluster: Cluster) -> None:
    bus = await cluster.connect()
    topic = cluster.topic("slow")
    release = asyncio.Event()

    async def slow(payload: dict) -> str:
        if payload["wait"]:
            await release.wait()
        return "done"

    await bus.serve(topic, {"work": slow})
    with pytest.raises(Timeout):
        await bus.call(topic, "work", {"wait": True}, timeout=0.2)
    release.set()
    assert await bus.call(topic, "work", {"wait": False}, timeout=5) == "done"


async def test_close_fails_pending_calls_and_is_idempotent(cluster: Cluster) -> None:
    bus = await cluster.connect()
    pending = asyncio.create_task(bus.call(cluster.topic("void"), "ping", {}, timeout=30))
    await asyncio.sleep(0.1)
    await bus.close()
    await bus.close()
    with pytest.raises(ServiceUnavailable):
        await asyncio.wait_for(pending, 5)
    with pytest.raises(ServiceUnavailable):
        await bus.cast(cluster.topic("void"), "ping", {})


async def test_payload_must_be_json(cluster: Cluster) -> None:
    bus = await cluster.connect()
    with pytest.raises(TypeError):
        await bus.cast(cluster.topic("json"), "put", {"when": object()})


# -- serve: concurrency and competing consumers ---------------------------------------
async def test_handlers_run_concurrently_up_to_the_limit(cluster: Cluster) -> None:
    bus = await cluster.connect()
    topic = cluster.topic("pool")
    running, peak = 0, 0

    async def work(payload: dict) -> None:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0.1)
        running -= 1

    await bus.serve(topic, {"work": work}, concurrency=3)
    client = await cluster.connect()
    await asyncio.gather(*(client.call(topic, "work", {}, timeout=5) for _ in range(9)))
    assert peak == 3


async def test_cast_goes_to_exactly_one_server(cluster: Cluster) -> None:
    topic = cluster.topic("workers")
    got: dict[str, list] = {"a": [], "b": []}
    for name in got:
        server = await cluster.connect()
        await server.serve(topic, {"job": recorder(got[name])}, concurrency=2)
    client = await cluster.connect()
    for i in range(30):
        await client.cast(topic, "job", {"i": i})
    await eventually(lambda: len(got["a"]) + len(got["b"]) >= 30)
    await asyncio.sleep(0.2)
    assert Counter(p["i"] for p in got["a"] + got["b"]) == Counter(range(30))


async def test_cast_before_any_server_waits_for_one(cluster: Cluster) -> None:
    client = await cluster.connect()
    topic = cluster.topic("queued")
    await client.cast(topic, "job", {"early": True})
    await asyncio.sleep(0.1)
    seen: list = []
    server = await cluster.connect()
    await server.serve(topic, {"job": recorder(seen)})
    await eventually(lambda: seen == [{"early": True}])


# -- at least once ---------------------------------------------------------------------
async def test_cast_failing_unexpectedly_is_retried_then_dropped(cluster: Cluster,
                                                                 caplog: pytest.LogCaptureFixture) -> None:
    bus = await cluster.connect()
    topic = cluster.topic("poison")
    attempts: list = []

    async def fail(payload: dict) -> None:
        attempts.append(payload)
        raise RuntimeError("always broken")

    with caplog.at_level(logging.WARNING, logger="nubes.core.bus"):
        await bus.serve(topic, {"job": fail})
        await bus.cast(topic, "job", {"id": 7})
        await eventually(lambda: len(attempts) == 1 + MAX_REDELIVERIES)
        await asyncio.sleep(0.3)
    assert attempts == [{"id": 7}] * (1 + MAX_REDELIVERIES)
    assert [r for r in caplog.records if r.levelno == logging.ERROR and "dropping" in r.getMessage()]


async def test_cast_failing_once_succeeds_on_redelivery(cluster: Cluster) -> None:
    bus = await cluster.connect()
    topic = cluster.topic("flaky")
    outcomes: list[str] = []

    async def flaky(payload: dict) -> None:
        if not outcomes:
            outcomes.append("failed")
            raise ConnectionResetError("peer went away")
        outcomes.append("done")

    await bus.serve(topic, {"job": flaky})
    await bus.cast(topic, "job", {})
    await eventually(lambda: outcomes == ["failed", "done"])


async def test_cast_raising_a_cloud_error_is_handled_not_retried(cluster: Cluster) -> None:
    bus = await cluster.connect()
    topic = cluster.topic("handled")
    attempts: list = []

    async def gone(payload: dict) -> None:
        attempts.append(payload)
        raise NotFound("Server s1 is gone.")

    await bus.serve(topic, {"job": gone})
    await bus.cast(topic, "job", {"id": "s1"})
    await eventually(lambda: len(attempts) == 1)
    await asyncio.sleep(0.3)
    assert len(attempts) == 1


async def test_server_closing_mid_handler_leaves_the_message_to_another(cluster: Cluster) -> None:
    topic = cluster.topic("handover")
    first, started = await cluster.connect(), asyncio.Event()

    async def hang(payload: dict) -> None:
        started.set()
        await asyncio.Event().wait()

    await first.serve(topic, {"job": hang}, concurrency=1)
    await first.cast(topic, "job", {"id": 1})
    await asyncio.wait_for(started.wait(), 5)
    await first.close()
    seen: list = []
    second = await cluster.connect()
    await second.serve(topic, {"job": recorder(seen)})
    await eventually(lambda: seen == [{"id": 1}])


CRASHING_SERVER = """
import asyncio, sys
from nubes.core.bus.rabbitmq import RabbitMQBus

async def main():
    bus = RabbitMQBus(sys.argv[1])
    await bus.start()
    async def hang(payload):
        print("started", flush=True)
        await asyncio.Event().wait()
    await bus.serve(sys.argv[2], {"job": hang}, concurrency=1)
    print("serving", flush=True)
    await asyncio.Event().wait()

asyncio.run(main())
"""


@pytest.mark.rabbitmq
async def test_server_process_killed_mid_handler_loses_nothing(rabbit: Cluster) -> None:
    # An in-process bus dies with its process; closing a server is the handover test above.
    cluster = rabbit
    topic = cluster.topic("crash")
    proc = await asyncio.create_subprocess_exec(sys.executable, "-c", CRASHING_SERVER, cluster.url, topic,
                                                cwd=REPO, stdout=asyncio.subprocess.PIPE)
    try:
        assert await asyncio.wait_for(proc.stdout.readline(), 10) == b"serving\n"
        client = await cluster.connect()
        await client.cast(topic, "job", {"id": "survivor"})
        assert await asyncio.wait_for(proc.stdout.readline(), 5) == b"started\n"
    finally:
        proc.kill()  # SIGKILL: no close, no ack, the socket just goes away
        await proc.wait()
    seen: list = []
    await client.serve(topic, {"job": recorder(seen)})
    await eventually(lambda: seen == [{"id": "survivor"}])


async def rabbitmqctl(*args: str) -> str:
    proc = await asyncio.create_subprocess_exec("rabbitmqctl", "-q", *args, stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), 20)
    assert proc.returncode == 0, err.decode()
    return out.decode()


@pytest.mark.rabbitmq
async def test_connection_closed_by_the_broker_is_restored(rabbit: Cluster) -> None:
    cluster = rabbit
    from nubes.core.bus.rabbitmq import RabbitMQBus

    name = f"nubes-test-{cluster.prefix}"
    server = RabbitMQBus(cluster.url + "?reconnect_interval=0.2", name=name)
    cluster.buses.append(server)
    await server.start()
    topic = cluster.topic("robust")
    release, started, runs = asyncio.Event(), asyncio.Event(), Counter()

    async def long_job(payload: dict) -> None:
        runs["started"] += 1
        started.set()
        try:
            await release.wait()
        except asyncio.CancelledError:
            runs["cancelled"] += 1
            raise
        runs["finished"] += 1

    await server.serve(topic, {"ping": recorder([], "pong"), "job": long_job})
    await server.cast(topic, "job", {})
    await asyncio.wait_for(started.wait(), 5)
    events: list = []
    await server.subscribe(cluster.event("robust.#"), lambda e, p: asyncio.sleep(0, events.append(p)))
    connections = await rabbitmqctl("list_connections", "pid", "client_properties")
    pids = [line.split("\t")[0] for line in connections.splitlines() if name in line]
    assert len(pids) == 1
    await rabbitmqctl("close_connection", pids[0], "nubes bus test")
    client = await cluster.connect()
    assert await client.call(topic, "ping", {}, timeout=10) == "pong"
    assert await server.call(topic, "ping", {}, timeout=10) == "pong"   # its reply queue is back too
    async def publish_until_heard() -> None:  # events published before its queue is back are lost
        while not events:
            await client.publish(cluster.event("robust.check"), {"n": 1})
            await asyncio.sleep(0.05)

    await asyncio.wait_for(publish_until_heard(), 5)
    # The job running during the outage finished (a broker blip does not abort work) and,
    # never acknowledged, was delivered again: at least once.
    release.set()
    await eventually(lambda: runs["finished"] == 2)
    assert runs == {"started": 2, "finished": 2}


# -- publish / subscribe ---------------------------------------------------------------
async def test_every_matching_subscriber_gets_each_event(cluster: Cluster) -> None:
    here, there = await cluster.connect(), await cluster.connect()
    got: dict[str, list] = {}
    patterns = {"star": "compute.*", "hash": "compute.#", "exact": "compute.instance.create.end",
                "other": "identity.*", "hash2": "compute.#"}
    for i, (name, pattern) in enumerate(patterns.items()):
        got[name] = []

        async def handler(event_type: str, payload: dict, name: str = name) -> None:
            got[name].append((event_type.removeprefix(cluster.prefix + "."), payload["n"]))

        await (here if i % 2 else there).subscribe(cluster.event(pattern), handler)
    await here.publish(cluster.event("compute.instance.create.end"), {"n": 1})
    await there.publish(cluster.event("compute.service"), {"n": 2})
    await here.publish(cluster.event("image.upload"), {"n": 3})
    expected = {
        "star": [("compute.service", 2)],
        "hash": [("compute.instance.create.end", 1), ("compute.service", 2)],
        "hash2": [("compute.instance.create.end", 1), ("compute.service", 2)],
        "exact": [("compute.instance.create.end", 1)],
        "other": [],
    }
    await eventually(lambda: {k: sorted(v) for k, v in got.items()} == expected)
    await asyncio.sleep(0.1)
    assert {k: sorted(v) for k, v in got.items()} == expected


async def test_publish_without_subscribers_and_failing_subscribers(cluster: Cluster) -> None:
    bus = await cluster.connect()
    await bus.publish(cluster.event("identity.revocation"), {"reason": "nobody listens"})
    seen: list = []

    async def broken(event_type: str, payload: dict) -> None:
        raise RuntimeError("subscriber bug")

    async def good(event_type: str, payload: dict) -> None:
        seen.append(payload)

    await bus.subscribe(cluster.event("identity.#"), broken)
    await bus.subscribe(cluster.event("identity.#"), good)
    await bus.publish(cluster.event("identity.revocation"), {"reason": "a"})
    await bus.publish(cluster.event("identity.revocation"), {"reason": "b"})
    await eventually(lambda: sorted(p["reason"] for p in seen) == ["a", "b"])


async def test_unreachable_broker_is_a_clear_error_without_the_password() -> None:
    bus = make_bus("amqp://guest:s3cret@127.0.0.1:1/")
    with pytest.raises(ServiceUnavailable) as info:
        await bus.start()
    assert "127.0.0.1:1" in info.value.message and "s3cret" not in info.value.message
    await bus.close()
