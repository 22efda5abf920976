"""What crosses the bus, and how a handler's outcome becomes a reply.

Both bus implementations carry the same JSON envelopes, so code that runs on the
in-process bus behaves the same on RabbitMQ (a payload that is not JSON fails in
both, and a handler never shares a dict with its caller):

- request (``call`` and ``cast``): ``{"version": 1, "method", "payload", "request_id"}``
- reply: ``{"version": 1, "result": ...}`` or ``{"version": 1, "error": CloudError.to_dict()}``
- event (``publish``): ``{"version": 1, "event_type", "payload", "request_id", "timestamp"}``

This module also owns the rules every consumer follows: which request id a
handler runs under, how an exception becomes an error reply, and how often a
failing cast is retried before it is dropped.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from typing import Any, NamedTuple

from nubes.core.context import current_request_id, reset_request_id, set_request_id
from nubes.core.exceptions import BadRequest, CloudError

LOG = logging.getLogger(__name__)

VERSION = 1
# A cast whose handler fails unexpectedly is delivered at most 1 + MAX_REDELIVERIES times.
MAX_REDELIVERIES = 3


class MalformedMessage(ValueError):
    """A message body that is not an envelope this version understands."""


def _dumps(obj: dict[str, Any]) -> bytes:
    return json.dumps(obj, separators=(",", ":"), allow_nan=False).encode()


def _loads(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MalformedMessage(f"not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise MalformedMessage("not a JSON object")
    version = data.get("version")
    if not isinstance(version, int) or version < 1 or version > VERSION:
        raise MalformedMessage(f"unsupported envelope version {version!r}")
    return data


def _check_payload(payload: Any) -> None:
    if not isinstance(payload, dict):
        raise TypeError(f"bus payloads are dicts, not {type(payload).__name__}")


def encode_request(method: str, payload: dict[str, Any]) -> bytes:
    """Wrap a request; raises TypeError/ValueError if the payload is not JSON."""
    _check_payload(payload)
    return _dumps({"version": VERSION, "method": method, "payload": payload,
                   "request_id": current_request_id()})


def decode_request(body: bytes) -> dict[str, Any]:
    data = _loads(body)
    if not isinstance(data.get("method"), str) or not isinstance(data.get("payload"), dict):
        raise MalformedMessage("a request needs a method and a payload object")
    return data


def encode_event(event_type: str, payload: dict[str, Any]) -> bytes:
    _check_payload(payload)
    return _dumps({"version": VERSION, "event_type": event_type, "payload": payload,
                   "request_id": current_request_id(),
                   "timestamp": datetime.now(UTC).isoformat(timespec="milliseconds")})


def decode_event(body: bytes) -> dict[str, Any]:
    data = _loads(body)
    if not isinstance(data.get("event_type"), str) or not isinstance(data.get("payload"), dict):
        raise MalformedMessage("an event needs an event_type and a payload object")
    return data


def error_reply(exc: CloudError) -> bytes:
    return _dumps({"version": VERSION, "error": exc.to_dict()})


def read_reply(body: bytes) -> Any:
    """Return the result carried by a reply, or raise the error it carries, rebuilt."""
    try:
        data = _loads(body)
    except MalformedMessage as exc:
        raise CloudError(f"Malformed reply on the bus: {exc}.") from None
    if "error" in data:
        raise CloudError.from_dict(data["error"] or {})
    return data.get("result")


class Outcome(NamedTuple):
    """How one delivery ended: the reply to send, and the unexpected exception if any."""

    reply: bytes
    error: CloudError | None = None          # set when the handler raised (or was missing)
    unexpected: Exception | None = None      # set when that was not a CloudError


async def run_handler(topic: str, handlers: Mapping[str, Callable[[dict], Awaitable[Any]]],
                      request: dict[str, Any]) -> Outcome:
    """Run the handler for ``request`` under its request id; never raises an Exception."""
    method = request["method"]
    token = set_request_id(request.get("request_id"))
    try:
        handler = handlers.get(method)
        if handler is None:
            raise BadRequest(f"Topic {topic} has no method {method!r}.")
        result = await handler(request["payload"])
        return Outcome(_dumps({"version": VERSION, "result": result}))
    except CloudError as exc:
        return Outcome(error_reply(exc), exc)
    except Exception as exc:  # the consumer boundary: turned into a 500 reply, logged by the caller
        err = CloudError(f"{type(exc).__name__}: {exc}")
        return Outcome(error_reply(err), err, exc)
    finally:
        reset_request_id(token)


def log_call_failure(topic: str, method: str, outcome: Outcome) -> None:
    if outcome.unexpected is not None:
        LOG.error("call %s.%s failed", topic, method, exc_info=outcome.unexpected)


def should_retry_cast(topic: str, method: str, outcome: Outcome, redeliveries: int) -> bool:
    """Log how a cast ended; True when it failed unexpectedly and may be tried again."""
    if outcome.error is None:
        return False
    if outcome.unexpected is None:
        LOG.warning("cast %s.%s ended with %s: %s", topic, method, outcome.error.code,
                    outcome.error.message)
        return False
    if redeliveries < MAX_REDELIVERIES:
        LOG.warning("cast %s.%s failed (%s), redelivery %d of %d", topic, method,
                    outcome.error.message, redeliveries + 1, MAX_REDELIVERIES)
        return True
    LOG.error("cast %s.%s failed %d times, dropping it", topic, method, redeliveries + 1,
              exc_info=outcome.unexpected)
    return False


async def run_subscriber(handler: Callable[[str, dict], Awaitable[None]], event: dict[str, Any]) -> None:
    """Deliver one decoded event; a failing subscriber is logged, never retried."""
    token = set_request_id(event.get("request_id"))
    try:
        await handler(event["event_type"], event["payload"])
    except Exception:  # the consumer boundary: one subscriber's failure stays its own
        LOG.exception("subscriber %s of %s failed", getattr(handler, "__qualname__", handler),
                      event["event_type"])
    finally:
        reset_request_id(token)
