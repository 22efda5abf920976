"""The Fernet key repository, laid out as Keystone keeps it.

A directory of key files named by integer index, each holding one urlsafe
base64 Fernet key:

* ``0`` is the *staged* key: every node can already decrypt with it, so when
  one node rotates (turning its ``0`` into the new primary) the tokens it
  issues are accepted everywhere before the new keys are distributed;
* the highest index is the *primary* key, the only one that encrypts;
* the others are *secondary* keys, kept only to decrypt tokens issued before
  the last rotations.  Rotation retires the oldest ones so that at most
  ``max_active_keys`` keys (staged + primary + secondaries) remain.

Key files are mode 0600 in a 0700 directory and are always written through a
temporary file, fsync and rename, so a reader never sees a partial key.
Writers on one host serialise on ``flock`` of ``<dir>/.lock``.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import re
import stat
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from cryptography.fernet import Fernet, MultiFernet

from nubes.core.durable import fsync_dir

LOG = logging.getLogger(__name__)

STAGED = 0
_KEY_NAME = re.compile(r"(?:0|[1-9][0-9]*)")  # canonical decimal only: "01" or "١" are not keys
_TMP_PREFIX = ".tmp-"
_LOCK_NAME = ".lock"


class KeyRepositoryError(RuntimeError):
    """The key repository is missing, empty, unreadable or holds a bad key file."""


class KeyRepository:
    """Keys on disk plus a cached :class:`MultiFernet` built from them."""

    #: seconds between two looks at the directory for changes made by others
    check_interval: float = 1.0

    def __init__(self, path: str | Path, max_active_keys: int = 3) -> None:
        if max_active_keys < 2:
            raise KeyRepositoryError("max_active_keys must be at least 2 (the staged and the primary key)")
        self.path = Path(path)
        self.max_active_keys = max_active_keys
        self._fernet: MultiFernet | None = None
        self._signature: tuple | None = None
        self._checked = 0.0
        self._reload_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"KeyRepository({str(self.path)!r}, max_active_keys={self.max_active_keys})"

    def _missing(self) -> str:
        return f"key repository {self.path} does not exist; initialize it first"

    # -- reading --------------------------------------------------------------
    def indexes(self) -> list[int]:
        """The key indexes present, ascending ([] if the directory is missing)."""
        try:
            names = os.listdir(self.path)
        except (FileNotFoundError, NotADirectoryError):
            return []
        except OSError as e:
            raise KeyRepositoryError(f"cannot list key repository {self.path}: {e.strerror}") from None
        return sorted(int(n) for n in names if _KEY_NAME.fullmatch(n))

    def _read_key(self, index: int) -> bytes:
        file = self.path / str(index)
        try:
            key = file.read_bytes().strip()
        except FileNotFoundError:
            raise  # vanished under a concurrent rotation; the caller retries
        except OSError as e:
            raise KeyRepositoryError(f"cannot read Fernet key {file}: {e.strerror}") from None
        if not key:
            raise KeyRepositoryError(f"Fernet key file {file} is empty")
        try:
            Fernet(key)
        except (ValueError, TypeError):
            raise KeyRepositoryError(f"Fernet key file {file} does not hold a Fernet key "
                                     "(32 url-safe base64-encoded bytes)") from None
        return key

    def keys(self) -> list[bytes]:
        """Primary first, then secondaries newest to oldest, staged last: the order MultiFernet wants."""
        for attempt in range(5):
            indexes = self.indexes()
            if not indexes:
                if not self.path.is_dir():
                    raise KeyRepositoryError(self._missing())
                raise KeyRepositoryError(f"no Fernet keys in {self.path}; initialize it first")
            order = sorted((i for i in indexes if i != STAGED), reverse=True)
            if STAGED in indexes:
                order.append(STAGED)
            try:
                return [self._read_key(i) for i in order]
            except FileNotFoundError:
                # A rotation (here or on another process) renamed or removed a key
                # between listing and reading: look again.
                time.sleep(0.01 * (attempt + 1))
        raise KeyRepositoryError(f"key repository {self.path} keeps changing while being read")

    def _dir_signature(self) -> tuple:
        """What changes whenever a key file is added, replaced or removed.

        The directory mtime alone is not trusted: on coarse-timestamp file
        systems two changes within one tick would look like none.
        """
        try:
            st = os.stat(self.path)
            entries = []
            with os.scandir(self.path) as it:
                for e in it:
                    if _KEY_NAME.fullmatch(e.name):
                        try:
                            fs = e.stat()
                        except FileNotFoundError:
                            continue
                        entries.append((e.name, fs.st_ino, fs.st_mtime_ns, fs.st_size))
        except (FileNotFoundError, NotADirectoryError):
            raise KeyRepositoryError(self._missing()) from None
        except OSError as e:
            raise KeyRepositoryError(f"cannot read key repository {self.path}: {e.strerror}") from None
        entries.sort()
        return (st.st_ino, st.st_mtime_ns, tuple(entries))

    def fernet(self) -> MultiFernet:
        """The MultiFernet of the current keys.

        Cached: the same object is returned until the key files change, which
        is looked for at most every ``check_interval`` seconds (and right away
        after :meth:`rotate` or :meth:`initialize` in this process).  If the
        repository turns bad, this raises rather than keep trusting old keys.
        """
        f = self._fernet
        if f is not None and time.monotonic() - self._checked < self.check_interval:
            return f
        with self._reload_lock:
            if self._fernet is not None and time.monotonic() - self._checked < self.check_interval:
                return self._fernet
            try:
                signature = self._dir_signature()
                if self._fernet is None or signature != self._signature:
                    self._fernet = MultiFernet([Fernet(k) for k in self.keys()])
                    self._signature = signature
                    LOG.debug("loaded Fernet keys from %s", self.path)
            except KeyRepositoryError:
                self._fernet = None  # fail closed; the next call looks again
                self._signature = None
                raise
            self._checked = time.monotonic()
            return self._fernet

    def invalidate(self) -> None:
        """Forget the cached MultiFernet; the next :meth:`fernet` reloads."""
        with self._reload_lock:
            self._fernet = None
            self._signature = None

    # -- writing --------------------------------------------------------------
    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        fd = os.open(self.path / _LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # releases the lock

    def _write(self, index: int, key: bytes) -> None:
        fd, tmp = tempfile.mkstemp(prefix=_TMP_PREFIX, dir=self.path)  # created 0600
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(key)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path / str(index))
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        fsync_dir(self.path)

    def _remove_stale_temp_files(self) -> None:
        for name in os.listdir(self.path):
            if name.startswith(_TMP_PREFIX):
                with contextlib.suppress(OSError):
                    os.unlink(self.path / name)

    def _ensure_dir(self) -> None:
        if not self.path.is_dir():
            try:
                self.path.mkdir(parents=True, mode=0o700)
            except FileExistsError:
                pass  # created concurrently
            else:
                os.chmod(self.path, 0o700)  # mkdir's mode is subject to the umask
                return
        mode = stat.S_IMODE(os.stat(self.path).st_mode)
        if mode & 0o077:
            LOG.warning("Fernet key repository %s is accessible to other users (mode %o); it should be 0700",
                        self.path, mode)

    def initialize(self) -> None:
        """Like ``keystone-manage fernet_setup``: create staged key 0 and primary key 1 if there are no keys.

        A repository that already has keys is left alone, except that a
        missing staged key is added (so that it can be rotated).
        """
        self._ensure_dir()
        with self._locked():
            self._remove_stale_temp_files()
            indexes = self.indexes()
            if not indexes:
                self._write(1, Fernet.generate_key())
                self._write(STAGED, Fernet.generate_key())
                LOG.info("created Fernet key repository %s", self.path)
            elif STAGED not in indexes:
                self._write(STAGED, Fernet.generate_key())
                LOG.warning("Fernet key repository %s had no staged key 0; created one", self.path)
        self.invalidate()

    def rotate(self) -> int:
        """Staged key 0 becomes the new primary, a new staged key is made, the oldest secondaries retire.

        Returns the index of the new primary key.
        """
        if not self.path.is_dir():
            raise KeyRepositoryError(self._missing())
        with self._locked():
            self._remove_stale_temp_files()
            indexes = self.indexes()
            if STAGED not in indexes:
                raise KeyRepositoryError(f"{self.path} has no staged key 0; initialize it first")
            self._read_key(STAGED)  # refuse to promote a bad key
            primary = max(indexes) + 1
            os.replace(self.path / str(STAGED), self.path / str(primary))
            self._write(STAGED, Fernet.generate_key())
            secondaries = sorted(i for i in self.indexes() if i not in (STAGED, primary))
            excess = len(secondaries) - (self.max_active_keys - 2)
            for old in secondaries[:max(0, excess)]:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(self.path / str(old))
            fsync_dir(self.path)
            LOG.info("rotated Fernet keys in %s: primary key is now %d, retired %s",
                     self.path, primary, secondaries[:max(0, excess)] or "none")
        self.invalidate()
        return primary
