"""One storage node in a process of its own, for tests that kill one: its object, container and
account servers over ``<root>/<device>``, with the all-in-one's hash secret (empty), on listening
sockets its parent made (so that the ports stay the parent's while the node is down).

    python -m tests.functional.object.storage_node ROOT OBJECT_FD CONTAINER_FD ACCOUNT_FD
"""

from __future__ import annotations

import asyncio
import socket
import sys
from pathlib import Path

import uvicorn

from nubes.object.hashing import HashSecret
from nubes.object.server.account_server import AccountServer
from nubes.object.server.backend import Devices
from nubes.object.server.container_server import ContainerServer
from nubes.object.server.object_server import ObjectServer


async def main(root: Path, fds: list[int]) -> None:
    devices = Devices(root, mount_check=False, reserve="0")
    secret = HashSecret()
    apps = [ObjectServer(devices, secret).app(), ContainerServer(devices, secret).app(),
            AccountServer(devices, secret).app()]
    servers = [uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
               for app in apps]
    await asyncio.gather(*(server.serve(sockets=[socket.socket(fileno=fd)])
                           for server, fd in zip(servers, fds, strict=True)))


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1]), [int(p) for p in sys.argv[2:5]]))
