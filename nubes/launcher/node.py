"""`nubes agent SERVICE`: a node's agents of one service in this process, with no database.

A compute node runs ``nubes agent compute``: its compute agents reach the rest of the cloud
only through the bus at ``core.bus_url`` (the controller's conductor) and, as the service
user, through identity at ``core.identity_url`` and the services of its catalog (placement,
network, image). The service password is ``core.service_password`` or, when that is empty,
the one in ``<state_dir>/secrets.json`` (a node sharing the controller's state directory).

A storage node runs ``nubes agent object``: object storage's daemons need only the node's devices
and the rings, so they start with no bus and no identity.

The process waits for the broker when it is not up yet, and stops cleanly on SIGTERM or
SIGINT: agents stop their loops, unfinished messages go back to their queue.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import signal
import socket
from pathlib import Path
from typing import Any

from nubes.core.auth.tokens import RemoteTokenValidator
from nubes.core.bus import make_bus
from nubes.core.clients import ServiceClients
from nubes.core.config import Config, ConfigError
from nubes.core.exceptions import ServiceUnavailable
from nubes.core.service import Runtime
from nubes.launcher.roles import NODE_AGENTS, node_agent

LOG = logging.getLogger(__name__)

BROKER_RETRY_MAX = 10.0
# Node agents that need nothing beyond their node: no bus, no identity (object storage's daemons
# work on the node's devices and the rings alone, as Swift's do).
LOCAL_AGENTS = {"object"}


def service_password(conf: Config) -> str:
    """The service user's password: configured, or from the state directory (never made up here)."""
    if conf.core.service_password:
        return conf.core.service_password
    path = Path(conf.core.state_dir) / "secrets.json"
    try:
        secret = json.loads(path.read_text()).get("service_password")
    except FileNotFoundError:
        secret = None
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from None
    if not secret:
        raise ConfigError(
            f"no service password: set [core] service_password (NUBES_CORE__SERVICE_PASSWORD) to the "
            f"controller's (its secrets.json), or point --state-dir at a directory whose secrets.json has it "
            f"({path} has none)")
    return str(secret)


def identity_url(conf: Config) -> str:
    core = conf.core
    return core.identity_url or f"http://{core.public_host}:{conf.services['identity'].port}"


def lock_name(conf: Config, service: str) -> str:
    """The state directory's lock of this node's agents: one process per host name and directory."""
    host = getattr(conf.services[service], "host", "") or socket.gethostname()
    return f"agent-{service}-{host}.lock"


def check_node_config(conf: Config, service: str) -> None:
    if node_agent(service) is None:
        raise ConfigError(f"{service} has no node agent; services with one: {', '.join(NODE_AGENTS)}")
    if service in LOCAL_AGENTS:
        return
    if conf.core.bus_url.startswith("memory:"):
        raise ConfigError(
            "a node reaches the controller over the message bus: set [core] bus_url "
            "(NUBES_CORE__BUS_URL) to the cloud's RabbitMQ, e.g. amqp://user:password@controller:5672/; "
            "memory:// only connects what runs in one process")


async def _start_bus(conf: Config, stop: asyncio.Event) -> Any:
    """The bus, once the broker answers (it may start after this node); None if stopped first."""
    delay, warned = 0.5, False
    while not stop.is_set():
        bus = make_bus(conf.core.bus_url)
        try:
            await bus.start()
            if warned:
                LOG.info("the message broker answers now")
            return bus
        except ServiceUnavailable as exc:
            await bus.close()
            if not warned:
                LOG.warning("%s; retrying until it answers", exc.message)
                warned = True
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(delay):
                await stop.wait()
        delay = min(delay * 2, BROKER_RETRY_MAX)
    return None


async def _check_identity(tokens: RemoteTokenValidator) -> None:
    try:
        await tokens.service_token()
    except ServiceUnavailable as exc:
        LOG.warning("%s (identity at %s, user %r, project %r); the agents retry until it works", exc.message,
                    tokens.identity_url, tokens.username, tokens.project)


async def run_node(conf: Config, service: str, stop: asyncio.Event | None = None) -> int:
    """Run ``service``'s node agent until ``stop`` is set (or SIGTERM/SIGINT); the exit status."""
    agent = node_agent(service)
    assert agent is not None
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    if service in LOCAL_AGENTS:
        return await _run_agent(agent, Runtime(name=service, conf=conf), service, stop)
    core = conf.core
    bus = await _start_bus(conf, stop)
    if bus is None:
        return 0
    tokens = RemoteTokenValidator(identity_url(conf), core.service_user, service_password(conf),
                                  core.service_project, bus=bus)
    clients = ServiceClients(tokens, region=core.region)
    rt = Runtime(name=service, conf=conf, db=None, bus=bus, tokens=tokens, clients=clients)
    try:
        await tokens.start()
        await _check_identity(tokens)
        return await _run_agent(agent, rt, service, stop)
    finally:
        await clients.close()
        await tokens.close()
        await bus.close()


async def _run_agent(agent: Any, rt: Runtime, service: str, stop: asyncio.Event) -> int:
    """The agent until it ends or ``stop`` is set; 1 when it failed."""
    task = asyncio.create_task(agent(rt), name=f"node-{service}")
    stopping = asyncio.create_task(stop.wait())
    await asyncio.wait({task, stopping}, return_when=asyncio.FIRST_COMPLETED)
    stopping.cancel()
    if task.done():
        exc = None if task.cancelled() else task.exception()
        if exc is not None:
            LOG.error("%s agents stopped: %s", service, exc)
            return 1
        return 0
    LOG.info("stopping the %s agents", service)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    return 0
