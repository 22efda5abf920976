"""Async engines and sessions: SQLite by default, MariaDB and PostgreSQL by URL."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DataError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from nubes.core.db import inline_sqlite
from nubes.core.exceptions import ValueOutOfRange

LOG = logging.getLogger(__name__)

_DRIVERS = {"sqlite": "sqlite+aiosqlite", "mysql": "mysql+aiomysql", "mariadb": "mysql+aiomysql",
            "postgresql": "postgresql+asyncpg", "postgres": "postgresql+asyncpg"}


def async_url(url: str) -> str:
    """Accept the URLs operators write (mysql+pymysql://, postgresql://) and pick the async driver."""
    u = make_url(url)
    backend = u.get_backend_name()
    if backend not in _DRIVERS:
        raise ValueError(f"unsupported database {url!r}: use sqlite, mysql/mariadb or postgresql")
    return u.set(drivername=_DRIVERS[backend]).render_as_string(hide_password=False)


class Database:
    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = async_url(url)
        u = make_url(self.url)
        self.dialect = u.get_backend_name()
        kwargs: dict = {"echo": echo}
        self._write_lock: asyncio.Lock | None = None
        if self.dialect == "sqlite":
            if u.database and u.database != ":memory:":
                Path(u.database).parent.mkdir(parents=True, exist_ok=True)
            kwargs["connect_args"] = {"timeout": 30}
            kwargs["async_creator"] = lambda: inline_sqlite.connect(u.database or ":memory:", timeout=30)
            self._write_lock = asyncio.Lock()
        else:
            kwargs.update(pool_size=10, max_overflow=20, pool_pre_ping=True, pool_recycle=3600)
            if self.dialect == "mysql":
                kwargs["isolation_level"] = "READ COMMITTED"
        self.engine: AsyncEngine = create_async_engine(self.url, **kwargs)
        self.read_engine: AsyncEngine = self.engine
        if self.dialect == "sqlite":
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
            event.listen(self.engine.sync_engine, "begin", _sqlite_begin_immediate)
            # Readers need no write lock under WAL: a second engine begins deferred.
            self.read_engine = create_async_engine(self.url, **kwargs)
            event.listen(self.read_engine.sync_engine, "connect", _sqlite_pragmas)
            event.listen(self.read_engine.sync_engine, "begin", _sqlite_begin_deferred)
        self.sessionmaker = async_sessionmaker(self.engine, expire_on_commit=False)
        self.read_sessionmaker = async_sessionmaker(self.read_engine, expire_on_commit=False)

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """One transaction: commits on success, rolls back on any error.

        On SQLite the writers of this process take turns before they BEGIN (see
        ``inline_sqlite``); elsewhere the server arbitrates.
        """
        try:
            if self._write_lock is None:
                async with self.sessionmaker() as s, s.begin():
                    yield s
                return
            async with self._write_lock, self.sessionmaker() as s, s.begin():
                yield s
        except OUT_OF_RANGE as exc:
            raise _out_of_range(exc) from exc

    @asynccontextmanager
    async def reader(self) -> AsyncIterator[AsyncSession]:
        """A read-only transaction; on SQLite it takes no write lock."""
        try:
            async with self.read_sessionmaker() as s, s.begin():
                yield s
        except OUT_OF_RANGE as exc:
            raise _out_of_range(exc) from exc

    async def close(self) -> None:
        await self.engine.dispose()
        if self.read_engine is not self.engine:
            await self.read_engine.dispose()


# What a driver raises for a value it cannot bind or a column cannot hold: pysqlite's OverflowError
# for an integer past 64 bits, and DataError from MariaDB/PostgreSQL (out of range, too long).
# A client's number or string did that, so the answer is a 400 (the transaction has rolled back),
# never a 500, on whichever route let the value through.
OUT_OF_RANGE = (OverflowError, DataError)


def _out_of_range(exc: BaseException) -> ValueOutOfRange:
    LOG.info("a query failed on a value out of range: %s", str(exc)[:200].split("\n", 1)[0])
    return ValueOutOfRange()


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    # Take transaction control away from pysqlite so BEGIN IMMEDIATE below is ours.
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


def _sqlite_begin_immediate(conn) -> None:
    # Writers serialise at BEGIN instead of failing with "database is locked" at
    # their first write after a read (the SQLite upgrade deadlock).
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def _sqlite_begin_deferred(conn) -> None:
    conn.exec_driver_sql("BEGIN")
