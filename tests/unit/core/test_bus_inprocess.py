"""In-process bus details and the envelope rules, without a broker."""

from __future__ import annotations

import asyncio

import pytest

from nubes.core.bus import envelope, make_bus
from nubes.core.bus.inprocess import InProcessBus, topic_matches
from nubes.core.exceptions import CloudError, Conflict, NotFound, ServiceUnavailable


@pytest.mark.parametrize(("pattern", "key", "expected"), [
    ("identity.revocation", "identity.revocation", True),
    ("identity.revocation", "identity.revocations", False),
    ("identity.*", "identity.revocation", True),
    ("identity.*", "identity", False),
    ("identity.*", "identity.a.b", False),
    ("compute.#", "compute", True),
    ("compute.#", "compute.instance.create.end", True),
    ("compute.#", "computer.x", False),
    ("#", "anything.at.all", True),
    ("*.instance.#", "compute.instance.create.end", True),
    ("*.instance.#", "compute.server", False),
    ("compute.#.end", "compute.instance.create.end", True),
    ("compute.#.end", "compute.end", True),
    ("compute.#.end", "compute.instance.create.start", False),
])
def test_topic_patterns_follow_amqp_rules(pattern: str, key: str, expected: bool) -> None:
    assert topic_matches(pattern, key) is expected


def test_errors_cross_as_data() -> None:
    with pytest.raises(Conflict) as info:
        envelope.read_reply(envelope.error_reply(Conflict("In use.", port_id="p1")))
    assert info.value.details == {"port_id": "p1"}
    unknown = b'{"version": 1, "error": {"class": "other.future_error", "status": 418, "message": "?"}}'
    with pytest.raises(CloudError) as info2:
        envelope.read_reply(unknown)
    assert info2.value.status == 418


@pytest.mark.parametrize("body", [b"not json", b"[]", b'{"version": 2, "result": 1}', b'{"result": 1}'])
def test_malformed_replies_are_cloud_errors(body: bytes) -> None:
    with pytest.raises(CloudError, match="Malformed"):
        envelope.read_reply(body)


def test_requests_need_a_method_and_a_payload() -> None:
    with pytest.raises(envelope.MalformedMessage):
        envelope.decode_request(b'{"version": 1, "method": "x"}')
    with pytest.raises(TypeError):
        envelope.encode_request("x", ["not", "a", "dict"])  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        envelope.encode_request("x", {"n": float("nan")})


async def test_result_that_is_not_json_is_a_500() -> None:
    async def bad(payload: dict) -> object:
        return object()

    outcome = await envelope.run_handler("t", {"m": bad}, {"method": "m", "payload": {}})
    assert outcome.unexpected is not None
    with pytest.raises(CloudError) as info:
        envelope.read_reply(outcome.reply)
    assert info.value.status == 500


async def test_publish_returns_after_local_subscribers_ran() -> None:
    bus = InProcessBus()
    seen: list = []

    async def slow(event_type: str, payload: dict) -> None:
        await asyncio.sleep(0.01)
        seen.append(payload)

    await bus.subscribe("identity.revocation", slow)
    await bus.publish("identity.revocation", {"reason": "x"})
    assert seen == [{"reason": "x"}]
    await bus.close()


async def test_closing_a_bus_drops_its_subscriptions_not_the_others() -> None:
    first = InProcessBus()
    second = InProcessBus(broker=first.broker)
    seen: list[str] = []
    await first.subscribe("#", lambda e, p: asyncio.sleep(0, seen.append("first")))
    await second.subscribe("#", lambda e, p: asyncio.sleep(0, seen.append("second")))
    await first.close()
    await second.publish("a.b", {})
    assert seen == ["second"]
    with pytest.raises(ServiceUnavailable):
        await first.publish("a.b", {})
    await second.close()


async def test_cloud_error_from_a_call_keeps_its_type() -> None:
    bus = InProcessBus()

    async def missing(payload: dict) -> None:
        raise NotFound("No such thing.")

    await bus.serve("svc.role", {"get": missing}, concurrency=1)
    with pytest.raises(NotFound, match="No such thing"):
        await bus.call("svc.role", "get", {}, timeout=1)
    await bus.close()


def test_unknown_bus_url_is_refused() -> None:
    with pytest.raises(ValueError, match="memory://"):
        make_bus("redis://localhost")
