"""SQLite for SQLAlchemy's asyncio engine without a thread hop per call.

aiosqlite runs every cursor operation (open, execute, fetch, close) on its own thread, so
each SQL statement costs four round trips through the event loop; a port create (some
25 statements) spent most of its time there. SQLite answers a statement in microseconds,
so this adapter speaks aiosqlite's interface (what SQLAlchemy's aiosqlite dialect drives)
but runs each call inline on the event loop's thread.

What makes that safe is that nothing waits inside SQLite: readers never wait under WAL,
and writers are serialised in the process *before* BEGIN IMMEDIATE (``Database.session``
holds an asyncio lock per database), so a second writer awaits the lock instead of
spinning in SQLite's busy handler and stalling the loop. Only a writer of another process
on the same file (``nubes serve --workers``) can make BEGIN wait, for as long as that
process's short write transaction lasts.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Sequence
from typing import Any


class _Cursor:
    __slots__ = ("_c",)

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._c = conn.cursor()

    async def __aenter__(self) -> _Cursor:
        return self

    async def __aexit__(self, *exc: Any) -> None:
        self._c.close()

    async def execute(self, sql: str, parameters: Sequence[Any] = ()) -> _Cursor:
        self._c.execute(sql, parameters)
        return self

    async def executemany(self, sql: str, seq: Any) -> _Cursor:
        self._c.executemany(sql, seq)
        return self

    async def fetchone(self) -> Any:
        return self._c.fetchone()

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        return self._c.fetchmany(size if size is not None else self._c.arraysize)

    async def fetchall(self) -> list[Any]:
        return self._c.fetchall()

    async def close(self) -> None:
        self._c.close()

    @property
    def description(self) -> Any:
        return self._c.description

    @property
    def rowcount(self) -> int:
        return self._c.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._c.lastrowid

    @property
    def arraysize(self) -> int:
        return self._c.arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._c.arraysize = value


class _Immediate:
    """Stands in for aiosqlite's work queue: SQLAlchemy puts (future, fn) on it to set the
    isolation level; run it now."""

    def put_nowait(self, item: tuple[asyncio.Future, Callable[[], Any]]) -> None:
        future, fn = item
        try:
            future.set_result(fn())
        except Exception as exc:  # handed back to the awaiting caller
            future.set_exception(exc)


class InlineConnection:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        self._connection = conn        # SQLAlchemy checks it before commit/rollback
        self._tx = _Immediate()

    @property
    def isolation_level(self) -> str | None:
        return self._conn.isolation_level

    def cursor(self) -> _Cursor:
        return _Cursor(self._conn)

    async def commit(self) -> None:
        self._conn.commit()

    async def rollback(self) -> None:
        self._conn.rollback()

    async def close(self) -> None:
        if self._connection is not None:
            self._conn.close()
            self._connection = None

    def stop(self) -> None:
        if self._connection is not None:
            self._conn.close()
            self._connection = None

    async def create_function(self, *args: Any, **kwargs: Any) -> None:
        self._conn.create_function(*args, **kwargs)


async def connect(database: str, **kwargs: Any) -> InlineConnection:
    kwargs.setdefault("check_same_thread", False)   # the pool may close it from another thread
    return InlineConnection(sqlite3.connect(database, **kwargs))
