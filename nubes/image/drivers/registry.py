"""Store drivers by name: an explicit table, no plugin scanning."""

from __future__ import annotations

from nubes.image.drivers.filesystem import FilesystemStore

DRIVERS = {
    "filesystem": FilesystemStore,
    # "object": an object-storage store arrives with the object-storage service.
}
