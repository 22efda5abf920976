"""The image store contract: one interface for every place image bytes can live.

A store keeps image data under a *location* (a URL it hands out and later takes back).
The service never opens files itself; it only talks to stores through this Protocol.

Contract:

- ``write(image_id, stream, size=None)`` consumes an async iterator of byte chunks and returns a
  ``WriteResult`` (location, size, MD5 and SHA-512 hex digests, computed while the
  data streams, never by reading it back). The data becomes visible at ``location``
  only when ``write`` returns: a store writes to a temporary object and publishes it
  atomically (filesystem: temp file, fsync, rename, fsync of the directory; swift: one PUT, or
  segments and then their manifest). ``size`` is the length the caller expects when it knows
  it (a declared Content-Length, a staged or stored copy), a hint a store may use to choose
  how to write; the result's size is what was written. If the
  stream raises (a quota check, a disconnected client, a cancelled task) or anything
  else fails, ``write`` removes every byte it wrote and re-raises; a failed write never
  leaves partial data behind.
- ``read(location, offset, length)`` yields the bytes of ``[offset, offset+length)``
  (to the end when ``length`` is None) in bounded chunks; it raises ``DataNotFound``
  if the location holds nothing.
- ``delete(location)`` removes the data; deleting missing data is not an error.
- ``size(location)`` returns the stored size or raises ``DataNotFound``.
- ``store_type`` (Glance's store type: ``file``, ``swift``) and ``properties()`` are what
  ``GET /v2/info/stores/detail`` shows.
- ``locations()`` lists the locations the store holds, so a restart can remove data
  no image refers to any more; ``discard_partial()`` removes what writes interrupted by
  a crash left behind (it is called before the service accepts requests).

Stores must not block the event loop: blocking I/O goes through
``nubes.core.concurrency.run_blocking`` in large chunks.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable


class StoreError(Exception):
    """Any failure of a store that is not the caller's fault."""


class DataNotFound(StoreError):
    """The location holds no data."""


class StoreFull(StoreError):
    """The store ran out of space while writing."""


@dataclass(frozen=True)
class WriteResult:
    location: str
    size: int
    md5: str          # hex digest: Glance's "checksum"
    sha512: str       # hex digest: Glance's "os_hash_value" (os_hash_algo "sha512")


@runtime_checkable
class ImageStore(Protocol):
    store_id: str
    store_type: str
    description: str

    def properties(self) -> dict[str, Any]: ...

    async def write(self, image_id: str, stream: AsyncIterator[bytes],
                    size: int | None = None) -> WriteResult: ...

    def read(self, location: str, offset: int = 0, length: int | None = None) -> AsyncIterator[bytes]: ...

    async def size(self, location: str) -> int: ...

    async def delete(self, location: str) -> None: ...

    async def locations(self) -> list[str]: ...

    async def discard_partial(self) -> int: ...
