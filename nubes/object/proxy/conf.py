"""The object storage section as the proxy and the all-in-one cluster read it.

The storage servers' keys (their ports, devices, the hash secret) have the names the servers use;
the proxy's own are Swift's proxy-server.conf options of the same meaning."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from nubes.core.config import ServiceConfig
from nubes.object.hashing import HashSecret


@dataclass
class ProxyConfig(ServiceConfig):
    port: int = 8080                  # the proxy's (Swift's default)
    # The storage servers the all-in-one runs in its own process (Swift's default ports).
    run_storage_servers: bool = True
    object_port: int = 6200
    container_port: int = 6201
    account_port: int = 6202
    storage_ip: str = "127.0.0.1"     # the address the ring records for this node's devices
    devices: str = ""                 # "" = <state_dir>/object/devices
    device_count: int = 4             # devices d1..dN the all-in-one makes on first start
    rings: str = ""                   # "" = <state_dir>/object/rings
    replicas: int = 3
    part_power: int = 10
    hash_path_prefix: str = ""        # the cluster's secret (Swift's swift_hash_path_prefix)
    hash_path_suffix: str = ""
    # Backend connections (Swift's conn_timeout and node_timeout, seconds).
    conn_timeout: float = 0.5
    node_timeout: float = 10.0
    max_backend_connections: int = 200
    # A node that failed error_suppression_limit times within error_suppression_interval
    # seconds is skipped until that interval has passed since its last failure.
    error_suppression_limit: int = 10
    error_suppression_interval: float = 60.0
    # Swift's constraints (GET /info shows them).
    max_file_size: int = 5368709122
    listing_limit: int = 10000

    def devices_root(self, state_dir: Path) -> Path:
        return Path(self.devices) if self.devices else Path(state_dir) / "object" / "devices"

    def rings_dir(self, state_dir: Path) -> Path:
        return Path(self.rings) if self.rings else Path(state_dir) / "object" / "rings"

    def hash_secret(self) -> HashSecret:
        return HashSecret(self.hash_path_prefix.encode(), self.hash_path_suffix.encode())
