"""The container and account databases: one SQLite file each, used from a thread.

A container's database holds its info row, its metadata (each key with the timestamp it was set
at, so the newest wins per key) and one row per object name (the newest version's timestamp,
size, content type and ETag, or a deleted marker). An account's database holds the same info and
metadata and one row per container (put/delete timestamps, object count, bytes used)."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from nubes.core.durable import fsync_dir
from nubes.object.server.backend import hash_dir, make_dirs
from nubes.object.timestamps import Timestamp

ZERO = Timestamp(0).internal

_COMMON = """
CREATE TABLE info (
    account TEXT NOT NULL, container TEXT,
    created_at TEXT NOT NULL, put_timestamp TEXT NOT NULL,
    delete_timestamp TEXT NOT NULL, status_changed_at TEXT NOT NULL);
CREATE TABLE metadata (key TEXT PRIMARY KEY, value TEXT NOT NULL, timestamp TEXT NOT NULL);
"""
_CONTAINER = """
CREATE TABLE objects (
    name TEXT PRIMARY KEY, created_at TEXT NOT NULL, size INTEGER NOT NULL,
    content_type TEXT NOT NULL, etag TEXT NOT NULL, deleted INTEGER NOT NULL DEFAULT 0);
CREATE INDEX objects_live ON objects (deleted, name);
"""
_ACCOUNT = """
CREATE TABLE containers (
    name TEXT PRIMARY KEY, put_timestamp TEXT NOT NULL, delete_timestamp TEXT NOT NULL,
    object_count INTEGER NOT NULL, bytes_used INTEGER NOT NULL,
    deleted INTEGER NOT NULL DEFAULT 0);
CREATE INDEX containers_live ON containers (deleted, name);
"""


@dataclass
class Info:
    account: str
    container: str | None
    created_at: Timestamp
    put_timestamp: Timestamp
    delete_timestamp: Timestamp
    status_changed_at: Timestamp


class Broker:
    """One database file; every method is blocking (call it with asyncio.to_thread)."""

    kind = ""
    schema = ""
    rows = ""                 # the table of the entries listed

    def __init__(self, path: Path):
        self.path = path

    @classmethod
    def at(cls, device_path: Path, partition: str, digest: bytes) -> Broker:
        directory = hash_dir(device_path / f"{cls.kind}s", partition, digest)
        return cls(directory / f"{digest.hex()}.db")

    def exists(self) -> bool:
        return self.path.exists()

    @contextmanager
    def _conn(self) -> Iterator[sqlite3.Connection]:
        conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        try:
            conn.execute("PRAGMA synchronous = FULL")
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        finally:
            conn.close()

    def initialize(self, account: str, container: str | None, timestamp: Timestamp) -> bool:
        """Create the database (as a temporary file renamed into place, so a half-made one is
        never seen); False when it was already there."""
        if self.path.exists():
            return False
        directory = self.path.parent
        make_dirs(directory)
        tmp = directory / f".{self.path.name}.{os.getpid()}.{id(self)}.tmp"
        tmp.unlink(missing_ok=True)
        conn = sqlite3.connect(tmp)
        try:
            conn.executescript(_COMMON + self.schema)
            conn.execute("INSERT INTO info VALUES (?, ?, ?, ?, ?, ?)",
                         (account, container, timestamp.internal, timestamp.internal, ZERO,
                          timestamp.internal))
            conn.commit()
        finally:
            conn.close()
        try:
            os.link(tmp, self.path)        # fails when another request made it first
        except FileExistsError:
            return False
        finally:
            tmp.unlink(missing_ok=True)
        fsync_dir(directory)
        return True

    def info(self) -> Info:
        with self._conn() as conn:
            row = conn.execute("SELECT account, container, created_at, put_timestamp, "
                               "delete_timestamp, status_changed_at FROM info").fetchone()
        return Info(row[0], row[1], *(Timestamp.parse(v) for v in row[2:]))

    def is_deleted(self) -> bool:
        """Deleted: its newest event is a DELETE and it holds no live entries."""
        info = self.info()
        return info.delete_timestamp > info.put_timestamp and self.entry_count() == 0

    def entry_count(self) -> int:
        with self._conn() as conn:
            return conn.execute(f"SELECT COUNT(*) FROM {self.rows} WHERE deleted = 0").fetchone()[0]

    def mark_put(self, timestamp: Timestamp) -> None:
        with self._conn() as conn:
            put, delete = conn.execute("SELECT put_timestamp, delete_timestamp FROM info"
                                       ).fetchone()
            if timestamp > Timestamp.parse(put):
                was_deleted = Timestamp.parse(delete) > Timestamp.parse(put)
                conn.execute("UPDATE info SET put_timestamp = ?", (timestamp.internal,))
                if was_deleted:
                    conn.execute("UPDATE info SET status_changed_at = ?", (timestamp.internal,))

    def mark_deleted(self, timestamp: Timestamp) -> None:
        with self._conn() as conn:
            delete = conn.execute("SELECT delete_timestamp FROM info").fetchone()[0]
            if timestamp > Timestamp.parse(delete):
                conn.execute("UPDATE info SET delete_timestamp = ?, status_changed_at = ?",
                             (timestamp.internal, timestamp.internal))

    def update_metadata(self, items: dict[str, tuple[str, Timestamp]]) -> None:
        """Set each key whose timestamp is newer than the stored one; an empty value is kept (with
        its timestamp) as the key's removal."""
        with self._conn() as conn:
            for key, (value, timestamp) in items.items():
                row = conn.execute("SELECT timestamp FROM metadata WHERE key = ?",
                                   (key,)).fetchone()
                if row is None or timestamp > Timestamp.parse(row[0]):
                    conn.execute("INSERT OR REPLACE INTO metadata VALUES (?, ?, ?)",
                                 (key, value, timestamp.internal))

    def metadata(self) -> dict[str, str]:
        with self._conn() as conn:
            rows = conn.execute("SELECT key, value FROM metadata WHERE value != ''").fetchall()
        return dict(rows)

    def list_names(self, conn: sqlite3.Connection, columns: str, lower: str | None,
                   upper: str | None, prefix: str, reverse: bool, limit: int) -> list[tuple]:
        """Live rows strictly between ``lower`` and ``upper``, starting with ``prefix``."""
        where, args = ["deleted = 0"], []
        if lower is not None:
            where.append("name > ?")
            args.append(lower)
        if upper is not None:
            where.append("name < ?")
            args.append(upper)
        if prefix:
            # A range, not LIKE: names may hold % and _.
            where.append("name >= ?")
            args.append(prefix)
            where.append("name < ?")
            args.append(prefix + "\U0010ffff")
        order = "DESC" if reverse else "ASC"
        sql = (f"SELECT {columns} FROM {self.rows} WHERE {' AND '.join(where)} "
               f"ORDER BY name {order} LIMIT ?")
        return conn.execute(sql, [*args, limit]).fetchall()

    def listing(self, columns: str, limit: int, marker: str = "", end_marker: str = "",
                prefix: str = "", delimiter: str = "", reverse: bool = False
                ) -> list[tuple | str]:
        """Rows in name order (or reversed), or a subdir name (a ``str``) for each group of names
        sharing ``prefix`` up to the next ``delimiter``."""
        out: list[tuple | str] = []
        lower, upper = (marker or None), (end_marker or None)
        if reverse:
            lower, upper = (end_marker or None), (marker or None)
        with self._conn() as conn:
            while len(out) < limit:
                rows = self.list_names(conn, columns, lower, upper, prefix, reverse,
                                       limit - len(out))
                if not rows:
                    break
                for row in rows:
                    name = row[0]
                    cut = name.find(delimiter, len(prefix)) if delimiter else -1
                    if cut < 0:
                        out.append(row)
                        lower, upper = (lower, name) if reverse else (name, upper)
                        continue
                    subdir = name[:cut + len(delimiter)]
                    if not (out and out[-1] == subdir):
                        out.append(subdir)
                    # Skip every name under the subdir, then query again.
                    if reverse:
                        upper = subdir
                    else:
                        lower = subdir + "\U0010ffff"
                    break
        return out[:limit]


class ContainerBroker(Broker):
    kind = "container"
    schema = _CONTAINER
    rows = "objects"

    def put_object(self, name: str, timestamp: Timestamp, size: int, content_type: str,
                   etag: str, deleted: bool) -> None:
        """Record a version (or a deletion) of ``name`` unless a newer one is recorded."""
        with self._conn() as conn:
            row = conn.execute("SELECT created_at FROM objects WHERE name = ?", (name,)).fetchone()
            if row is not None and Timestamp.parse(row[0]) >= timestamp:
                return
            conn.execute("INSERT OR REPLACE INTO objects VALUES (?, ?, ?, ?, ?, ?)",
                         (name, timestamp.internal, size, content_type, etag, int(deleted)))

    def stats(self) -> tuple[int, int]:
        """Object count and bytes used."""
        with self._conn() as conn:
            count, used = conn.execute("SELECT COUNT(*), COALESCE(SUM(size), 0) FROM objects "
                                       "WHERE deleted = 0").fetchone()
        return count, used


class AccountBroker(Broker):
    kind = "account"
    schema = _ACCOUNT
    rows = "containers"

    def is_deleted(self) -> bool:
        """An account is deleted by its DELETE alone, containers and all (the reaper empties it)."""
        info = self.info()
        return info.delete_timestamp > info.put_timestamp

    def put_container(self, name: str, put_timestamp: Timestamp, delete_timestamp: Timestamp,
                      object_count: int, bytes_used: int) -> None:
        """A container's report: the newest put/delete timestamps win; the counts are the
        report's when it is at least as new as the row. Deleted = deleted after its last PUT."""
        with self._conn() as conn:
            row = conn.execute("SELECT put_timestamp, delete_timestamp FROM containers "
                               "WHERE name = ?", (name,)).fetchone()
            if row is not None:
                put_timestamp = max(put_timestamp, Timestamp.parse(row[0]))
                delete_timestamp = max(delete_timestamp, Timestamp.parse(row[1]))
            deleted = delete_timestamp > put_timestamp
            if deleted:
                object_count = bytes_used = 0
            conn.execute("INSERT OR REPLACE INTO containers VALUES (?, ?, ?, ?, ?, ?)",
                         (name, put_timestamp.internal, delete_timestamp.internal,
                          object_count, bytes_used, int(deleted)))

    def stats(self) -> tuple[int, int, int]:
        """Container count, object count and bytes used."""
        with self._conn() as conn:
            row = conn.execute("SELECT COUNT(*), COALESCE(SUM(object_count), 0), "
                               "COALESCE(SUM(bytes_used), 0) FROM containers WHERE deleted = 0"
                               ).fetchone()
        return tuple(row)
