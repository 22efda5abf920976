"""The placement state a running service holds: database access, the index, configuration.

Placement's service code is written as plain (synchronous) SQLAlchemy session code and run
in one of two ways:

* on PostgreSQL and MariaDB, inside the service's async session (``AsyncSession.run_sync``):
  each statement is one network round trip anyway;
* on SQLite, in a worker thread on a synchronous sqlite3 engine over the same file, so a
  whole transaction costs one hand-off between threads instead of several per statement
  (aiosqlite's).  Writers go through a single writer thread and still BEGIN IMMEDIATE, so
  they serialise with other processes on the same file as before.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

from sqlalchemy import create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from nubes.placement import standard
from nubes.placement.db.models import ResourceClass, Trait
from nubes.placement.db.queries import catalog, state
from nubes.placement.service.index import ProviderIndex

LOG = logging.getLogger(__name__)
T = TypeVar("T")


def _pragmas(dbapi_conn: Any, _record: Any) -> None:
    dbapi_conn.isolation_level = None       # we issue BEGIN ourselves (below)
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


class Placement:
    def __init__(self, rt: Any) -> None:
        self.db = rt.db
        self.conf = rt.service_conf
        self.sqlite = getattr(self.db, "dialect", "") == "sqlite"
        self._path: str | None = None
        if self.sqlite:
            url = make_url(self.db.url).set(drivername="sqlite")
            self._path = url.database
            kwargs = {"connect_args": {"check_same_thread": False, "timeout": 30}}
            self._write_engine = create_engine(url, **kwargs)
            self._read_engine = create_engine(url, **kwargs)
            for eng, begin in ((self._write_engine, "BEGIN IMMEDIATE"), (self._read_engine, "BEGIN")):
                event.listen(eng, "connect", _pragmas)
                event.listen(eng, "begin", lambda conn, stmt=begin: conn.exec_driver_sql(stmt))
            self._writer = ThreadPoolExecutor(1, thread_name_prefix="placement-writer")
            self._readers = ThreadPoolExecutor(2, thread_name_prefix="placement-reader")
            self._peek_conn: sqlite3.Connection | None = None
        self.index = ProviderIndex(self.read, self.peek_seq if self.sqlite else None)

    @property
    def horizon(self) -> int:
        return int(getattr(self.conf, "change_log_horizon", 20000))

    # ------------------------------------------------------------------ running session code

    async def write(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(session, *args)`` in one write transaction (committed if it returns)."""
        if self.sqlite:
            return await asyncio.get_running_loop().run_in_executor(
                self._writer, self._run, self._write_engine, fn, args)
        async with self.db.session() as s:
            return await s.run_sync(lambda sync: fn(sync, *args))

    async def read(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(session, *args)`` in one read-only transaction."""
        if self.sqlite:
            return await asyncio.get_running_loop().run_in_executor(
                self._readers, self._run, self._read_engine, fn, args)
        async with self.db.reader() as s:
            return await s.run_sync(lambda sync: fn(sync, *args))

    @staticmethod
    def _run(engine: Any, fn: Callable[..., T], args: tuple) -> T:
        with Session(engine, expire_on_commit=False) as s, s.begin():
            return fn(s, *args)

    def peek_seq(self) -> tuple[int, int]:
        """The change-log position, read in place (SQLite only: a WAL read never waits)."""
        if self._peek_conn is None:
            path = quote(str(Path(self._path or "").resolve()))
            self._peek_conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
        row = self._peek_conn.execute(
            "SELECT seq, pruned_below FROM placement_state WHERE id = ?", (state.STATE_ID,)).fetchone()
        return (int(row[0]), int(row[1])) if row else (0, 0)

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Make sure the state row and every standard resource class and trait exist."""
        for attempt in range(3):
            try:
                added = await self.write(self._seed)
                if added:
                    LOG.info("placement: added %d standard resource classes and traits", added)
                return
            except IntegrityError:
                if attempt == 2:
                    raise
                LOG.info("placement: another process seeded at the same time; retrying")

    def _seed(self, s: Session) -> int:
        state.ensure_state(s)
        added = catalog.seed(s, ResourceClass, standard.resource_classes())
        added += catalog.seed(s, Trait, sorted(standard.traits()))
        if added:
            state.record_change(s, [state.NAMES_CHANGED], horizon=self.horizon)
        return added

    async def stop(self) -> None:
        if self.sqlite:
            if self._peek_conn is not None:
                self._peek_conn.close()
            self._writer.shutdown(wait=True)
            self._readers.shutdown(wait=True)
            self._write_engine.dispose()
            self._read_engine.dispose()
