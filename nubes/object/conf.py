"""Object storage's configuration section: the storage servers' devices and ports.

The proxy, rings and daemons add their own keys when they land. Defaults run on one machine:
devices are directories under ``<state_dir>/object/devices`` and no mount is checked."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from nubes.core.config import ServiceConfig
from nubes.object.hashing import HashSecret


@dataclass
class ObjectStorageConfig(ServiceConfig):
    port: int = 8080                  # the proxy's (Swift's default)
    object_port: int = 6200           # the storage servers' (Swift's defaults)
    container_port: int = 6201
    account_port: int = 6202
    devices: str = ""                 # "" = <state_dir>/object/devices
    # Swift's mount_check: a device must be a mount point, not only a directory, before data is
    # written to it (so a failed disk is not silently replaced by the root filesystem).
    mount_check: bool = False
    # Swift's fallocate_reserve: writes answer 507 when the device's free space would drop below
    # this many bytes, or this percentage of the device when it ends with "%".
    fallocate_reserve: str = "1%"
    hash_path_prefix: str = ""        # the cluster's secret (Swift's swift_hash_path_prefix)
    hash_path_suffix: str = ""
    # Outgoing container/account updates: how long one may take before it is left to the updater.
    node_timeout: float = 3.0
    # Listings: Swift's container_listing_limit and account_listing_limit.
    listing_limit: int = 10000
    # Daemons (nubes/object/daemons, run as agents by `nubes up`): seconds between the end of one
    # pass and the start of the next (the first comes one interval after start); 0 turns one off.
    # The container and account replicators (Swift's `interval`, 30 s), rows per REPLICATE
    # merge_items request (Swift's per_diff).
    db_replicator_interval: float = 30.0
    db_replicator_per_diff: int = 1000
    # The object updater (async pendings) and container updater (figures to the accounts):
    # Swift's object-updater and container-updater `interval`, 300 s.
    updater_interval: float = 300.0
    # The object expirer (Swift's `interval`, 300 s): objects past X-Delete-At are deleted.
    expirer_interval: float = 300.0
    # The account reaper (Swift's `interval`, 3600 s): the containers and objects of a deleted
    # account are deleted, not before `reaper_delay` seconds after its DELETE (Swift's
    # delay_reaping, 0).
    reaper_interval: float = 3600.0
    reaper_delay: float = 0.0
    # The object replicator (nubes.object.daemons.replicator): seconds between passes (0 turns
    # it off in this process), how many partitions it syncs at once, and Swift's reclaim_age: a
    # tombstone older than this many seconds is removed (7 days; every replica must have been
    # reached within it, or the deleted object can come back).
    replicator_interval: float = 30.0
    replicator_concurrency: int = 4
    reclaim_age: float = 7 * 24 * 3600.0
    # The object auditor (nubes.object.daemons.auditor): seconds between passes (0 turns it
    # off) and its pace, Swift's files_per_second and bytes_per_second (reads slowed to these).
    auditor_interval: float = 1800.0
    auditor_files_per_second: float = 20.0
    auditor_bytes_per_second: float = 10_000_000.0

    def devices_root(self, state_dir: Path) -> Path:
        return Path(self.devices) if self.devices else Path(state_dir) / "object" / "devices"

    def hash_secret(self) -> HashSecret:
        return HashSecret(self.hash_path_prefix.encode(), self.hash_path_suffix.encode())
