"""Remote consoles (Nova's remote-consoles and console auth tokens): a console URL for a server, and
the one-time, expiring token behind it that a console proxy (``nubes.compute.consoleproxy``) trades
for the guest's console.

The server's host is asked where the guest's console is (``get_console`` on its agent's topic: the
agent owns the console; the driver answers an address the proxy can reach). That address is kept
with the SHA-256 of a new random token (never the token itself) for ``[compute] console_token_ttl``
seconds; the URL handed out carries the token, as Nova's: noVNC's ``vnc_auto.html?path=%3Ftoken%3D...``
or the serial proxy's ``ws://...?token=...``. A proxy uses a token once (``consume``); an admin may
look one up meanwhile (``os-console-auth-tokens``) without using it.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import delete, select, update

from nubes.core.context import RequestContext
from nubes.core.db.base import utcnow
from nubes.core.exceptions import Timeout
from nubes.compute import exceptions as exc
from nubes.compute import rpc
from nubes.compute.db.models import ConsoleAuthToken
from nubes.compute.db.queries import instances as qi

# The console types served, the driver's console kind behind each, and the proxy that serves it.
SERVED = {"novnc": "vnc", "serial": "serial"}
# The types Nova knows by protocol (remote-consoles): any other pair is "Invalid console type".
PROTOCOL_TYPES = {"vnc": ("novnc", "xvpvnc"), "spice": ("spice-html5", "spice-direct"),
                  "rdp": ("rdp-html5",), "serial": ("serial",), "mks": ("webmks",)}


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True)
class Console:
    console_type: str
    url: str


class Consoles:
    def __init__(self, state: Any, actions: Any) -> None:
        self.state = state
        self.actions = actions

    @property
    def conf(self) -> Any:
        return self.state.conf

    def base_url(self, console_type: str) -> str:
        core = self.state.rt.conf.core
        if console_type == "novnc":
            return (self.conf.novncproxy_base_url
                    or f"http://{core.public_host}:{self.conf.novncproxy_port}/vnc_auto.html")
        return self.conf.serialproxy_base_url or f"ws://{core.public_host}:{self.conf.serialproxy_port}/"

    def _check_type(self, console_type: str, protocol: str | None = None) -> str:
        if protocol is not None and console_type not in PROTOCOL_TYPES.get(protocol, ()):
            raise exc.ConsoleTypeInvalid(console_type)
        kind = SERVED.get(console_type)
        port = self.conf.novncproxy_port if console_type == "novnc" else self.conf.serialproxy_port
        if kind is None or not port:
            raise exc.ConsoleTypeUnavailable(console_type)
        return kind

    async def open(self, ctx: RequestContext, instance_id: str, console_type: str,
                   protocol: str | None = None) -> Console:
        """A new console URL for the server (the caller's rule already checked)."""
        kind = self._check_type(console_type, protocol)
        async with self.state.db.reader() as s:
            row = await self.actions.visible(s, ctx, instance_id)
        # As Nova: a server with no host or still building has no console yet (the host's driver
        # decides for the rest: a stopped or suspended guest has none either).
        if not row.host or row.vm_state == "building" or row.task_state == "deleting":
            raise exc.InstanceNotReady(row.id)
        from nubes.compute.service import server_records

        try:
            where = await self.state.bus.call(rpc.agent_topic(row.host), "get_console", {
                "instance_id": row.id, "instance": server_records.record(row), "kind": kind,
                "console_type": console_type}, timeout=min(30.0, float(self.conf.rpc_timeout)))
        except Timeout:
            raise exc.ComputeServiceUnavailable(row.host) from None
        token = str(uuid.uuid4())
        now = utcnow()
        async with self.state.db.session() as s:
            await s.execute(delete(ConsoleAuthToken).where(ConsoleAuthToken.expires <= now))
            s.add(ConsoleAuthToken(
                token_hash=token_hash(token), console_type=console_type, host=str(where["host"]),
                port=int(where["port"]), internal_access_path=where.get("internal_access_path"),
                instance_uuid=row.id, compute_host=row.host, created_at=now,
                expires=now + timedelta(seconds=max(1, int(self.conf.console_token_ttl)))))
        base = self.base_url(console_type)
        if console_type == "novnc":
            # noVNC (1.1 and later) takes the websocket's path from its ``path`` parameter.
            url = f"{base}{'&' if '?' in base else '?'}{urlencode({'path': f'?token={token}'})}"
        else:
            url = f"{base}{'&' if '?' in base else '?'}token={token}"
        return Console(console_type, url)

    async def show(self, token: str) -> ConsoleAuthToken:
        """The connection a live token stands for (an admin's look-up; the token stays usable)."""
        async with self.state.db.reader() as s:
            row = (await s.execute(select(ConsoleAuthToken).where(
                ConsoleAuthToken.token_hash == token_hash(token)))).scalars().first()
            if row is None or row.used_at is not None or row.expires <= utcnow():
                raise exc.InvalidConsoleToken()
            if await qi.get(s, row.instance_uuid) is None:
                raise exc.InvalidConsoleToken()
            return row

    async def consume(self, token: str, console_types: tuple[str, ...]) -> ConsoleAuthToken:
        """Use a token (once): the connection it stands for, if it is live, of one of ``console_types``
        and its server still exists; InvalidConsoleToken otherwise."""
        digest = token_hash(token)
        now = utcnow()
        async with self.state.db.session() as s:
            result = await s.execute(update(ConsoleAuthToken).where(
                ConsoleAuthToken.token_hash == digest, ConsoleAuthToken.used_at.is_(None),
                ConsoleAuthToken.expires > now, ConsoleAuthToken.console_type.in_(console_types),
            ).values(used_at=now))
            if result.rowcount != 1:
                raise exc.InvalidConsoleToken()
            row = (await s.execute(select(ConsoleAuthToken).where(
                ConsoleAuthToken.token_hash == digest))).scalars().one()
            if await qi.get(s, row.instance_uuid) is None:
                raise exc.InvalidConsoleToken()
            return row
