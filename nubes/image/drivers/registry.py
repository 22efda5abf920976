"""Store drivers by type (``type`` of an ``[image] stores`` entry): an explicit table, no plugin scanning.

Each driver class builds itself from its entry with ``from_config(store_id, description, options,
conf=..., state_dir=..., clients=...)``, checking the options it takes.
"""

from __future__ import annotations

from nubes.image.drivers.filesystem import FilesystemStore
from nubes.image.drivers.swift import SwiftStore

DRIVERS = {
    "filesystem": FilesystemStore,
    "swift": SwiftStore,
}
