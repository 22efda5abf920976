"""The object storage section with the proxy's keys on top of the storage servers'
(``nubes.object.conf``): the all-in-one cluster's devices and rings, the backend client and
error limiting (Swift's proxy-server.conf options of the same meaning)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from nubes.object.conf import ObjectStorageConfig


@dataclass
class ProxyConfig(ObjectStorageConfig):
    # The all-in-one: the storage servers run in this process (a port of 0 turns one off) over
    # device_count directories d1..dN; rings of `replicas` replicas and 2**part_power partitions
    # are built on first start when none are there.
    storage_ip: str = "127.0.0.1"     # the address the rings record for this node's servers
    device_count: int = 4
    rings: str = ""                   # "" = <state_dir>/object/rings
    replicas: int = 3
    part_power: int = 10
    # Backend connections (Swift's conn_timeout and node_timeout, seconds).
    conn_timeout: float = 0.5
    backend_timeout: float = 10.0
    max_backend_connections: int = 200
    # A node that failed error_suppression_limit times within error_suppression_interval
    # seconds (or answered 507 once) is skipped for that interval.
    error_suppression_limit: int = 10
    error_suppression_interval: float = 60.0
    max_file_size: int = 5368709122   # Swift's: 5 GiB and 2 bytes
    # The S3 API's region (Swift s3api's `location`): what signatures must name and
    # GetBucketLocation answers ("us-east-1", boto3's default, answers as an empty constraint).
    s3_location: str = "us-east-1"
    # Virtual-host style addressing, <bucket>.<s3_domain> (Swift s3api's storage_domain); "": the
    # bucket is read from the path only.
    s3_domain: str = ""

    def rings_dir(self, state_dir: Path) -> Path:
        return Path(self.rings) if self.rings else Path(state_dir) / "object" / "rings"
