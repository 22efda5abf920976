"""The container and account databases: one SQLite file each, used from a thread.

A container's database holds its info row, its metadata (each key with the timestamp it was set
at, so the newest wins per key) and one row per object name (the newest version's timestamp,
size, content type and ETag, or a deleted marker). An account's database holds the same info and
metadata and one row per container (put/delete timestamps, object count, bytes used).

For the replicators (``nubes.object.daemons.db_replicator``) each database also has an id of its own
and the sync points of its peers (how far into each peer's rows, by ROWID, it has merged); a
container's database also remembers the figures last reported to its account (the container
updater). Those tables are made on first use, so databases made before them work unchanged. The
replicators also reclaim: deleted rows, and deleted databases, older than ``reclaim_age``."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import uuid
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from nubes.core.durable import fsync_dir
from nubes.object.server.backend import hash_dir, make_dirs
from nubes.object.timestamps import Timestamp

ZERO = Timestamp(0).internal

# What SQLite says of a file it cannot read as a database (the errors Swift's
# possibly_quarantine looks for): such a database is moved aside, not failed on for ever.
DAMAGE = ("file is not a database", "database disk image is malformed",
          "malformed database schema", "file is encrypted or is not a database", "no such table")


class DamagedDatabase(sqlite3.DatabaseError):
    """A database SQLite could not read; it has been moved to ``quarantined``."""

    def __init__(self, path: Path, quarantined: Path, reason: str):
        super().__init__(f"{path}: {reason}; quarantined to {quarantined}")
        self.path = path
        self.quarantined = quarantined
        self.reason = reason

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

# Made on first use by the replication methods (CREATE ... IF NOT EXISTS, one statement each).
_REPLICATION = (
    "CREATE TABLE IF NOT EXISTS replica (id TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS incoming_sync (remote_id TEXT PRIMARY KEY, "
    "sync_point INTEGER NOT NULL)",
)


@dataclass
class Info:
    account: str
    container: str | None
    created_at: Timestamp
    put_timestamp: Timestamp
    delete_timestamp: Timestamp
    status_changed_at: Timestamp


class Broker(ABC):
    """One database file; every method is blocking (call it with asyncio.to_thread)."""

    kind = ""
    schema = ""
    rows = ""                 # the table of the entries listed
    row_columns = ""          # a row as replication sends it (name first, deleted last)

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
        """One transaction; a database SQLite cannot read is quarantined (DamagedDatabase)."""
        try:
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            try:
                conn.execute("PRAGMA synchronous = FULL")
                conn.execute("BEGIN IMMEDIATE")
                try:
                    yield conn
                except BaseException:
                    try:
                        conn.execute("ROLLBACK")
                    except sqlite3.Error:
                        pass              # the error that got us here is the one to tell
                    raise
                conn.execute("COMMIT")
            finally:
                conn.close()
        except sqlite3.DatabaseError as exc:
            if isinstance(exc, DamagedDatabase) or not any(m in str(exc) for m in DAMAGE):
                raise
            if not self._in_place():
                raise                     # a copy being received, not a replica to move
            target = self.quarantine()
            raise DamagedDatabase(self.path, target, str(exc)) from exc

    def _in_place(self) -> bool:
        """Whether the file is a replica: ``<device>/<kind>s/<part>/<suffix>/<hash>/<hash>.db``."""
        parents = self.path.parents
        return (len(parents) > 4 and self.path.stem == parents[0].name
                and parents[3].name == f"{self.kind}s")

    def quarantine(self) -> Path:
        """Move the database's directory to ``<device>/quarantined/<kind>s/<hash>`` (Swift's
        place; a name of its own when one is there already): the replicas elsewhere send a good
        copy back. The new place."""
        directory = self.path.parent
        target = self.path.parents[4] / "quarantined" / f"{self.kind}s" / directory.name
        make_dirs(target.parent)
        if target.exists():
            target = target.with_name(f"{directory.name}-{uuid.uuid4().hex}")
        os.rename(directory, target)
        fsync_dir(target.parent)
        _prune(directory.parent)
        return target

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

    # -- replication (blocking, as the rest)

    def _replication_tables(self, conn: sqlite3.Connection) -> str:
        """Make the replication tables when missing; this database's id (made on first use)."""
        for statement in _REPLICATION:
            conn.execute(statement)
        row = conn.execute("SELECT id FROM replica").fetchone()
        if row is None:
            row = (uuid.uuid4().hex,)
            conn.execute("INSERT INTO replica VALUES (?)", row)
        return row[0]

    def replication_info(self) -> dict:
        """What a peer compares: id, last ROWID, a hash of the rows' content (equal replicas have
        equal hashes, whatever their ROWIDs), the record's timestamps and its metadata with the
        timestamp of each key."""
        with self._conn() as conn:
            db_id = self._replication_tables(conn)
            max_row = conn.execute(f"SELECT COALESCE(MAX(ROWID), -1) FROM {self.rows}").fetchone()[0]
            digest = hashlib.md5(usedforsecurity=False)
            for row in conn.execute(f"SELECT {self.row_columns} FROM {self.rows} ORDER BY name"):
                digest.update(repr(tuple(row)).encode())
            info = conn.execute("SELECT created_at, put_timestamp, delete_timestamp FROM info"
                                ).fetchone()
            metadata = conn.execute("SELECT key, value, timestamp FROM metadata").fetchall()
        return {"id": db_id, "max_row": max_row, "hash": digest.hexdigest(),
                "created_at": info[0], "put_timestamp": info[1], "delete_timestamp": info[2],
                "metadata": {k: [v, t] for k, v, t in metadata}}

    def sync_point(self, remote_id: str) -> int:
        """The last ROWID of ``remote_id``'s rows merged here (-1: none yet)."""
        with self._conn() as conn:
            self._replication_tables(conn)
            row = conn.execute("SELECT sync_point FROM incoming_sync WHERE remote_id = ?",
                               (remote_id,)).fetchone()
        return row[0] if row else -1

    def set_sync_point(self, remote_id: str, point: int) -> None:
        with self._conn() as conn:
            self._replication_tables(conn)
            conn.execute("INSERT OR REPLACE INTO incoming_sync VALUES (?, ?)", (remote_id, point))

    def rows_since(self, point: int, limit: int) -> list[list]:
        """Up to ``limit`` rows (deleted ones too) after ROWID ``point``: ``[rowid, *columns]``."""
        with self._conn() as conn:
            rows = conn.execute(f"SELECT ROWID, {self.row_columns} FROM {self.rows} "
                                "WHERE ROWID > ? ORDER BY ROWID LIMIT ?", (point, limit)).fetchall()
        return [list(r) for r in rows]

    @abstractmethod
    def merge_items(self, items: list[list]) -> None:
        """Merge a peer's rows (``row_columns`` each): newest wins per name."""

    def merge_record(self, created_at: Timestamp, put_timestamp: Timestamp,
                     delete_timestamp: Timestamp, metadata: dict[str, tuple[str, Timestamp]]
                     ) -> None:
        """A peer's view of the record: the earliest creation, the newest PUT and DELETE, and per
        metadata key the newest setting."""
        with self._conn() as conn:
            conn.execute("UPDATE info SET created_at = ? WHERE created_at > ?",
                         (created_at.internal, created_at.internal))
        self.mark_put(put_timestamp)
        self.mark_deleted(delete_timestamp)
        self.update_metadata(metadata)

    def snapshot(self, target: Path) -> None:
        """A consistent copy of the whole database at ``target`` (SQLite's online backup)."""
        source = sqlite3.connect(self.path, timeout=30)
        try:
            copy = sqlite3.connect(target)
            try:
                source.backup(copy)
            finally:
                copy.close()
        finally:
            source.close()

    def adopt(self, copy: Path) -> bool:
        """Take a peer's whole database (``copy``, a file on this device) as this one: it gets an
        id of its own and a sync point for the peer's rows it holds; linked into place, so it is
        never seen half-made. False when a database is already here."""
        copied = type(self)(copy)
        with copied._conn() as conn:
            peer_id = copied._replication_tables(conn)
            max_row = conn.execute(f"SELECT COALESCE(MAX(ROWID), -1) FROM {self.rows}").fetchone()[0]
            conn.execute("UPDATE replica SET id = ?", (uuid.uuid4().hex,))
            conn.execute("INSERT OR REPLACE INTO incoming_sync VALUES (?, ?)", (peer_id, max_row))
        make_dirs(self.path.parent)
        try:
            os.link(copy, self.path)
        except FileExistsError:
            return False
        fsync_dir(self.path.parent)
        return True

    # -- reclaim (the replicators', once a pass)

    # The deleted rows older than the parameter. Timestamps compare as strings in SQL: their
    # normal form has a fixed width (ten digits, a dot, five), an offset only lengthens it.
    reclaim_where = ""

    def reclaim(self, age: Timestamp) -> int:
        """Forget the deleted rows older than ``age`` (Swift's reclaim): how many went. Every
        replica must have merged a tombstone before then, or the row it hid can come back."""
        with self._conn() as conn:
            return conn.execute(f"DELETE FROM {self.rows} WHERE {self.reclaim_where}",
                                (age.internal,)).rowcount

    def reclaimable(self, age: Timestamp) -> bool:
        """The whole database may go: the record deleted before ``age`` (after its last PUT) and
        no live row left."""
        info = self.info()
        return (info.put_timestamp < info.delete_timestamp < age) and self.entry_count() == 0

    def remove(self) -> None:
        """Delete the database and its directory (a handoff copy once the primaries have it);
        the suffix and partition directories too when that leaves them empty."""
        directory = self.path.parent
        shutil.rmtree(directory, ignore_errors=True)
        _prune(directory.parent)


def _prune(suffix_dir: Path) -> None:
    """The suffix and partition directories removed when empty; the first kept one fsynced."""
    parent = suffix_dir
    for _ in range(2):
        try:
            parent.rmdir()
        except OSError:
            break
        parent = parent.parent
    if parent.exists():
        fsync_dir(parent)


class ContainerBroker(Broker):
    kind = "container"
    schema = _CONTAINER
    rows = "objects"
    row_columns = "name, created_at, size, content_type, etag, deleted"
    reclaim_where = "deleted = 1 AND created_at < ?"

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

    def merge_items(self, items: list[list]) -> None:
        with self._conn() as conn:
            for name, created_at, size, content_type, etag, deleted in items:
                created = Timestamp.parse(created_at)
                row = conn.execute("SELECT created_at FROM objects WHERE name = ?",
                                   (name,)).fetchone()
                if row is not None and Timestamp.parse(row[0]) >= created:
                    continue
                conn.execute("INSERT OR REPLACE INTO objects VALUES (?, ?, ?, ?, ?, ?)",
                             (str(name), created.internal, int(size), str(content_type),
                              str(etag), int(bool(deleted))))

    def report(self) -> dict[str, str]:
        """The container's figures as its account takes them (the container updater's PUT)."""
        info = self.info()
        count, used = self.stats()
        return {"X-Put-Timestamp": info.put_timestamp.internal,
                "X-Delete-Timestamp": info.delete_timestamp.internal,
                "X-Object-Count": str(count), "X-Bytes-Used": str(used)}

    def reclaimable(self, age: Timestamp) -> bool:
        """As any database, and its deletion reported to its account (Swift's
        report_up_to_date), or the account would list it for ever."""
        return super().reclaimable(age) and self.reported() == self.report()

    def reported(self) -> dict[str, str] | None:
        """The figures last reported to every account replica (None: never)."""
        with self._conn() as conn:
            conn.execute("CREATE TABLE IF NOT EXISTS reported (report TEXT NOT NULL)")
            row = conn.execute("SELECT report FROM reported").fetchone()
        return json.loads(row[0]) if row else None

    def set_reported(self, report: dict[str, str]) -> None:
        with self._conn() as conn:
            conn.execute("CREATE TABLE IF NOT EXISTS reported (report TEXT NOT NULL)")
            conn.execute("DELETE FROM reported")
            conn.execute("INSERT INTO reported VALUES (?)", (json.dumps(report, sort_keys=True),))


class AccountBroker(Broker):
    kind = "account"
    schema = _ACCOUNT
    rows = "containers"
    row_columns = "name, put_timestamp, delete_timestamp, object_count, bytes_used, deleted"
    reclaim_where = "deleted = 1 AND delete_timestamp < ?"

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

    def merge_items(self, items: list[list]) -> None:
        """As :meth:`put_container` for each row (the counts travel with the row, as in Swift);
        a row equal to the stored one is left as it is, so merged replicas stop exchanging it."""
        with self._conn() as conn:
            for name, put, delete, count, used, _deleted in items:
                row = conn.execute("SELECT put_timestamp, delete_timestamp, object_count, "
                                   "bytes_used FROM containers WHERE name = ?", (name,)).fetchone()
                put_ts, delete_ts = Timestamp.parse(put), Timestamp.parse(delete)
                count, used = int(count), int(used)
                if row is not None:
                    if tuple(row) == (put_ts.internal, delete_ts.internal, count, used):
                        continue
                    put_ts = max(put_ts, Timestamp.parse(row[0]))
                    delete_ts = max(delete_ts, Timestamp.parse(row[1]))
                deleted = delete_ts > put_ts
                if deleted:
                    count = used = 0
                conn.execute("INSERT OR REPLACE INTO containers VALUES (?, ?, ?, ?, ?, ?)",
                             (str(name), put_ts.internal, delete_ts.internal, count, used,
                              int(deleted)))
