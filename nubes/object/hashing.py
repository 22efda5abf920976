"""Where a name lives: the hash of an account, container or object path and its partition.

One cluster-wide secret prefix and suffix are mixed in (Swift's ``swift_hash_path_prefix`` and
``_suffix``), so that nobody outside can choose names that pile onto one partition. Every node of a
cluster must use the same pair; changing it moves every name, so it is set once."""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass


@dataclass(frozen=True)
class HashSecret:
    prefix: bytes = b""
    suffix: bytes = b""


def hash_path(secret: HashSecret, account: str, container: str | None = None,
              obj: str | None = None) -> bytes:
    """The MD5 digest (16 bytes) of ``/account[/container[/object]]`` between the secret's prefix
    and suffix. An object needs its container."""
    if obj is not None and container is None:
        raise ValueError("an object's path needs its container")
    parts = [account] + [p for p in (container, obj) if p is not None]
    path = ("/" + "/".join(parts)).encode("utf-8")
    return hashlib.md5(secret.prefix + path + secret.suffix, usedforsecurity=False).digest()


def partition_of(digest: bytes, part_power: int) -> int:
    """The partition a digest falls in: its first 32 bits shifted down to ``part_power`` bits."""
    if not 0 <= part_power <= 32:
        raise ValueError("part_power must be between 0 and 32")
    return struct.unpack_from(">I", digest)[0] >> (32 - part_power)
