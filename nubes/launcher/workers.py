"""`nubes serve SERVICE --workers N`: one service's API in N forked processes sharing a socket."""

from __future__ import annotations

import asyncio
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
from nubes.launcher.supervisor import settle_garbage_collector

LOG = logging.getLogger(__name__)


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


async def _child(conf: Config, spec: ServiceSpec, sock: socket.socket) -> None:
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
    app = spec.build_app(rt)
    settle_garbage_collector()
    server = uvicorn.Server(uvicorn.Config(app, log_config=None, access_log=False, lifespan="on",
                                           server_header=False, timeout_keep_alive=75))
    await server.serve(sockets=[sock])
    if rt.clients is not None:
        await rt.clients.close()
    await rt.db.close()
    await bus.close()


def run_workers(conf: Config, spec: ServiceSpec, workers: int) -> int:
    sock = bind(conf.core.bind_host, conf.services[spec.name].port)
    children: list[int] = []
    for _ in range(workers):
        pid = os.fork()
        if pid == 0:
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            code = 0
            try:
                asyncio.run(_child(conf, spec, sock))
            except Exception:
                LOG.exception("worker failed")
                code = 1
            finally:
                sys.stdout.flush()
                os._exit(code)
        children.append(pid)

    def _forward(signum: int, _frame: Any) -> None:
        for pid in children:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass

    signal.signal(signal.SIGTERM, _forward)
    signal.signal(signal.SIGINT, _forward)
    status = 0
    for pid in children:
        while True:
            try:
                _, st = os.waitpid(pid, 0)
                status = status or os.waitstatus_to_exitcode(st)
                break
            except ChildProcessError:
                break
            except InterruptedError:
                continue
    return status
