"""`nubes serve SERVICE --workers N`: one service's API in N forked processes sharing a socket,
and, in one more process, the service's controller-side background work (compute's conductor;
``nubes.launcher.roles``). ``--no-api`` runs only that background process.

A service whose nodes serve APIs of their own (object storage's account, container and object
servers) runs them apart with ``run_node_servers``: those APIs in the workers, with no database,
bus or identity, and the node's agent in one more process (``nubes serve object --role storage``).
"""

from __future__ import annotations

import asyncio
import ctypes
import logging
import os
import signal
import socket
import sys
from typing import Any

import uvicorn

from nubes.core.auth.tokens import RemoteTokenValidator
from nubes.core.bus import make_bus
from nubes.core.clients import ServiceClients
from nubes.core.config import Config
from nubes.core.db.session import Database
from nubes.core.service import Runtime, ServiceSpec
from nubes.launcher.supervisor import _Server, settle_garbage_collector

LOG = logging.getLogger(__name__)
PR_SET_PDEATHSIG = 1


def bind(host: str, port: int) -> socket.socket:
    # proto must say TCP: asyncio only turns Nagle off (TCP_NODELAY) on accepted sockets whose
    # proto is IPPROTO_TCP, and with Nagle on every response waited ~40 ms for a delayed ACK.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


async def _child(conf: Config, spec: ServiceSpec, sock: socket.socket,
                 extra: list[tuple[Any, socket.socket]] | None = None) -> None:
    bus = make_bus(conf.core.bus_url)
    await bus.start()
    rt = Runtime(name=spec.name, conf=conf, db=Database(conf.database_url(spec.name)), bus=bus)
    if spec.name != "identity":
        core = conf.core
        url = core.identity_url or f"http://{core.public_host}:{conf.services['identity'].port}"
        rt.tokens = RemoteTokenValidator(url, core.service_user, core.service_password,
                                         core.service_project, bus=bus)
        await rt.tokens.start()
        rt.clients = ServiceClients(rt.tokens, region=core.region)
    apps = [(spec.build_app(rt), sock, "auto")]
    apps += [(x.build_app(rt), xsock, x.http) for x, xsock in extra or []]
    try:
        await _serve_apps(apps)
    finally:
        if rt.clients is not None:
            await rt.clients.close()
        await rt.db.close()
        await bus.close()


async def _node_child(conf: Config, spec: ServiceSpec, extra: list[tuple[Any, socket.socket]]) -> None:
    rt = Runtime(name=spec.name, conf=conf)
    await _serve_apps([(x.build_app(rt), xsock, x.http) for x, xsock in extra])


async def _serve_apps(apps: list[tuple[Any, socket.socket, str]]) -> None:
    settle_garbage_collector()
    # Our own SIGTERM/SIGINT handling: uvicorn's re-raises the signal once it has stopped, so the
    # worker died by it, skipped the cleanup below and `nubes serve` exited 128+15, not 0.
    servers = [(_Server(uvicorn.Config(app, log_config=None, access_log=False, lifespan="on", http=http,
                                       server_header=False, timeout_keep_alive=75)), s)
               for app, s, http in apps]

    def _stop(sig: int) -> None:
        for server, _s in servers:
            server.handle_exit(sig, None)

    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, _stop, sig)
    await asyncio.gather(*(server.serve(sockets=[s]) for server, s in servers))


async def _background(conf: Config, spec: ServiceSpec, agents: list[Any]) -> None:
    """The service's background work in this process until SIGTERM/SIGINT."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    bus = make_bus(conf.core.bus_url)
    await bus.start()
    rt = Runtime(name=spec.name, conf=conf, db=Database(conf.database_url(spec.name)), bus=bus)
    rt.tokens = _validator(conf, bus)
    await rt.tokens.start()
    rt.clients = ServiceClients(rt.tokens, region=conf.core.region)
    tasks = [asyncio.create_task(agent(rt), name=f"background-{spec.name}") for agent in agents]
    waiting = asyncio.create_task(stop.wait())
    try:
        pending: set[asyncio.Task] = {*tasks, waiting}
        while not waiting.done():   # until asked to stop; work that ends by itself may (turned off)
            done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
            failed = [t for t in done if t is not waiting and not t.cancelled() and t.exception()]
            if failed:
                raise failed[0].exception()  # type: ignore[misc]
    finally:
        for t in [*tasks, waiting]:
            t.cancel()
        await asyncio.gather(*tasks, waiting, return_exceptions=True)
        await rt.clients.close()
        await rt.tokens.close()
        await rt.db.close()
        await bus.close()


def _validator(conf: Config, bus: Any) -> RemoteTokenValidator:
    core = conf.core
    url = core.identity_url or f"http://{core.public_host}:{conf.services['identity'].port}"
    return RemoteTokenValidator(url, core.service_user, core.service_password, core.service_project, bus=bus)


def _die_with_parent(parent: int) -> None:
    """Ask Linux for SIGTERM when the parent dies: a parent killed outright cannot forward one, and
    a conductor or worker left running would keep taking messages and requests."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:        # it died before we asked
        os.kill(os.getpid(), signal.SIGTERM)


def _fork(what: str, run: Any) -> int:
    parent = os.getpid()
    pid = os.fork()
    if pid == 0:
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        _die_with_parent(parent)
        code = 0
        try:
            asyncio.run(run())
        except Exception:
            LOG.exception("%s failed", what)
            code = 1
        finally:
            sys.stdout.flush()
            os._exit(code)
    return pid


def run_workers(conf: Config, spec: ServiceSpec, workers: int, *, api: bool = True) -> int:
    """Fork the API workers (unless not ``api``) and the background process (if the service has
    controller-side work); wait for them all, forwarding SIGTERM/SIGINT."""
    from nubes.launcher.roles import controller_agents

    children = _forwarding_signals()
    if api:
        sock = bind(conf.core.bind_host, conf.services[spec.name].port)
        # the service's other APIs (compute's metadata API) are served by the same workers
        extra = [(x, bind(conf.core.bind_host, port)) for x in spec.extra_apis
                 if (port := int(getattr(conf.services[spec.name], x.port_key) or 0))]
        for _ in range(workers):
            children.append(_fork("worker", lambda: _child(conf, spec, sock, extra)))
    agents = controller_agents(spec)
    if agents:
        children.append(_fork(f"{spec.name} background process", lambda: _background(conf, spec, agents)))
    if not children:
        LOG.error("nothing to run: %s has no background work and the API is off", spec.name)
        return 2
    return _wait_all(children)


def run_node_servers(conf: Config, spec: ServiceSpec, workers: int, *, agent: bool = True) -> int:
    """Fork workers serving the node's own APIs (``spec.extra_apis`` whose port is set, not the
    service's main API) and, when ``agent``, one process running the node agent (which must need
    no bus or identity); wait for them all, forwarding SIGTERM/SIGINT."""
    from nubes.launcher.node import run_node

    svc = conf.services[spec.name]
    extra = [(x, bind(conf.core.bind_host, port)) for x in spec.extra_apis
             if (port := int(getattr(svc, x.port_key) or 0))]
    children = _forwarding_signals()
    if extra:
        for _ in range(workers):
            children.append(_fork("worker", lambda: _node_child(conf, spec, extra)))
    if agent:
        children.append(_fork(f"{spec.name} node agent", lambda: _exit_with(run_node(conf, spec.name))))
    if not children:
        LOG.error("nothing to run: every server of %s has port 0 and its agent is off", spec.name)
        return 2
    return _wait_all(children)


async def _exit_with(status: Any) -> None:
    if await status:
        raise RuntimeError("the node agent stopped with an error")


def _forwarding_signals() -> list[int]:
    """The list of children to be; SIGTERM/SIGINT to this process are sent on to each."""
    children: list[int] = []

    def _forward(signum: int, _frame: Any) -> None:
        for pid in children:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass

    # Before forking, so a signal never finds the children unknown to us (they reset it).
    signal.signal(signal.SIGTERM, _forward)
    signal.signal(signal.SIGINT, _forward)
    return children


def _wait_all(children: list[int]) -> int:
    status = 0
    for pid in children:
        while True:
            try:
                _, st = os.waitpid(pid, 0)
                code = os.waitstatus_to_exitcode(st)
                status = status or (128 - code if code < 0 else code)     # killed by a signal: 128+N
                break
            except ChildProcessError:
                break
            except InterruptedError:
                continue
    return status
