"""A small asyncio client of the QEMU Machine Protocol (QMP) over a UNIX socket.

``await QMP.connect(path)`` reads QEMU's greeting and negotiates capabilities;
``await qmp.execute("query-status")`` sends a command and returns its ``return`` value,
raising ``QMPError`` with QEMU's ``desc`` when the command fails. Events (``SHUTDOWN``,
``DEVICE_DELETED``, ``RESET``, ...) are kept in order as they arrive; ``wait_event`` waits
for the next matching one. One reader task matches replies to commands by ``id``, so
several commands may be outstanding at once. When QEMU closes the socket (it quit or was
killed) every waiter gets ``QMPClosed``.

A QMP monitor serves one client at a time: a second connection is only greeted once the
first one is closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

LOG = logging.getLogger(__name__)
LIMIT = 16 * 1024 * 1024        # one QMP message (query-blockstats of many disks is long)
MAX_EVENTS = 256


class QMPError(Exception):
    """QEMU answered a command with an error."""

    def __init__(self, command: str, klass: str, desc: str) -> None:
        super().__init__(f"{command}: {desc}")
        self.command = command
        self.klass = klass
        self.desc = desc


class QMPClosed(ConnectionError):
    """The monitor connection is closed (QEMU exited, or the socket could not be reached)."""


def _socket_path(path: Path) -> tuple[str, int | None]:
    """A connectable path: UNIX socket paths are limited to 107 bytes, so a longer one is
    reached through an open descriptor of its directory (closed by the caller)."""
    text = str(path)
    if len(text.encode()) < 100:
        return text, None
    fd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
    return f"/proc/self/fd/{fd}/{path.name}", fd


class QMP:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer
        self._ids = itertools.count(1)
        self._pending: dict[str, asyncio.Future] = {}
        self.events: list[dict[str, Any]] = []
        self._event_seen = asyncio.Condition()
        self._task: asyncio.Task | None = None
        self.closed = False
        self.greeting: dict[str, Any] = {}

    @classmethod
    async def connect(cls, path: Path | str, timeout: float = 10.0) -> QMP:
        """Connect to the monitor at ``path``, read the greeting and leave negotiation mode."""
        try:
            target, fd = _socket_path(Path(path))
        except OSError as e:
            raise QMPClosed(f"cannot reach the QMP socket {path}: {e}") from None
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_unix_connection(target, limit=LIMIT), timeout)
        except (TimeoutError, OSError) as e:
            raise QMPClosed(f"cannot connect to the QMP socket {path}: {e or 'timed out'}") from None
        finally:
            if fd is not None:
                os.close(fd)
        qmp = cls(reader, writer)
        try:
            line = await asyncio.wait_for(reader.readline(), timeout)
            if not line:
                raise QMPClosed(f"QMP socket {path} closed before QEMU greeted")
            qmp.greeting = json.loads(line).get("QMP", {})
            qmp._task = asyncio.create_task(qmp._read(), name=f"qmp-reader-{path}")
            await qmp.execute("qmp_capabilities", timeout=timeout)
        except TimeoutError:
            await qmp.close()
            raise QMPClosed(f"QEMU did not greet on {path} within {timeout:g}s "
                            "(is another client connected?)") from None
        except BaseException:
            await qmp.close()
            raise
        return qmp

    @property
    def version(self) -> tuple[int, int, int]:
        q = self.greeting.get("version", {}).get("qemu", {})
        return int(q.get("major", 0)), int(q.get("minor", 0)), int(q.get("micro", 0))

    async def execute(self, command: str, arguments: dict[str, Any] | None = None, *,
                      timeout: float = 30.0) -> Any:
        if self.closed:
            raise QMPClosed(f"{command}: the QMP connection is closed")
        cid = f"nubes-{next(self._ids)}"
        msg: dict[str, Any] = {"execute": command, "id": cid}
        if arguments:
            msg["arguments"] = arguments
        fut: asyncio.Future = asyncio.get_running_loop().create_future()
        self._pending[cid] = fut
        try:
            self._writer.write(json.dumps(msg).encode() + b"\n")
            await self._writer.drain()
            reply = await asyncio.wait_for(fut, timeout)
        except (ConnectionError, OSError) as e:
            raise QMPClosed(f"{command}: {e}") from None
        except TimeoutError:
            raise QMPClosed(f"{command}: QEMU did not answer within {timeout:g}s") from None
        finally:
            self._pending.pop(cid, None)
        if "error" in reply:
            err = reply["error"]
            raise QMPError(command, err.get("class", "GenericError"), err.get("desc", "unknown error"))
        return reply.get("return")

    async def human(self, command_line: str) -> str:
        """A human monitor command through QMP (for what QMP lacks)."""
        return str(await self.execute("human-monitor-command", {"command-line": command_line}) or "")

    def take_events(self, name: str | None = None) -> list[dict[str, Any]]:
        """Remove and return the events seen so far (of ``name`` only, when given)."""
        taken = [e for e in self.events if name is None or e.get("event") == name]
        self.events = [e for e in self.events if e not in taken]
        return taken

    async def wait_event(self, name: str, timeout: float,
                         match: Callable[[dict[str, Any]], bool] | None = None) -> dict[str, Any] | None:
        """Take the first event ``name`` (seen already or to come) that ``match``es; None on timeout.
        Raises QMPClosed when the connection closes first."""
        def find() -> dict[str, Any] | None:
            for e in self.events:
                if e.get("event") == name and (match is None or match(e.get("data") or {})):
                    return e
            return None

        async def wait() -> dict[str, Any]:
            async with self._event_seen:
                while True:
                    found = find()
                    if found is not None:
                        self.events.remove(found)
                        return found
                    if self.closed:
                        raise QMPClosed(f"the QMP connection closed while waiting for {name}")
                    await self._event_seen.wait()

        try:
            return await asyncio.wait_for(wait(), timeout)
        except TimeoutError:
            return None

    async def wait_closed(self, timeout: float) -> bool:
        """Wait until QEMU closes the connection (it exited); True if it did in time."""
        if self._task is None:
            return self.closed
        try:
            await asyncio.wait_for(asyncio.shield(self._task), timeout)
        except TimeoutError:
            return False
        return True

    async def close(self) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        await self._mark_closed()
        with contextlib.suppress(Exception):
            self._writer.close()
            await self._writer.wait_closed()

    async def _read(self) -> None:
        try:
            while True:
                try:
                    line = await self._reader.readline()
                except (ConnectionError, OSError, ValueError):
                    break
                if not line:
                    break
                try:
                    msg = json.loads(line)
                except ValueError:
                    LOG.warning("QMP: unreadable message %r", line[:200])
                    continue
                if "event" in msg:
                    async with self._event_seen:
                        self.events.append(msg)
                        del self.events[:-MAX_EVENTS]
                        self._event_seen.notify_all()
                    continue
                fut = self._pending.get(str(msg.get("id")))
                if fut is not None and not fut.done():
                    fut.set_result(msg)
        finally:
            await self._mark_closed()

    async def _mark_closed(self) -> None:
        if self.closed:
            return
        self.closed = True
        for fut in self._pending.values():
            if not fut.done():
                fut.set_exception(QMPClosed("the QMP connection closed"))
        with contextlib.suppress(RuntimeError):
            async with self._event_seen:
                self._event_seen.notify_all()
