"""The block storage service's configuration section: backends, scheduler, managers and quotas."""

from __future__ import annotations

import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nubes.core.config import ConfigError, ServiceConfig


@dataclass
class VolumeConfig(ServiceConfig):
    port: int = 8776
    # The controller-side work beside the API (scheduler and the worker the managers report to)
    # and this process's volume managers. A controller of many nodes sets run_managers = false;
    # its storage nodes run `nubes agent volume`.
    run_scheduler: bool = True
    run_managers: bool = True
    host: str = ""                    # "" = this machine's hostname; backends are <host>@<name>
    # Backends this node's managers serve: a list of tables {name, driver, pool_dir, size_gb,
    # format, max_over_subscription_ratio, reserved_percentage, availability_zone}, or of texts
    # "name" / "name:driver". Empty: one backend named `driver` (below) with the defaults below.
    backends: list[Any] = field(default_factory=list)
    driver: str = "file"              # the driver of the default backend: "file" or "fake"
    pool_size_gb: int = 100           # the default backend's (sparse) pool size
    volume_format: str = "qcow2"      # qcow2 or raw (file backend; see docs/volume-backends.md)
    export_ip: str = "127.0.0.1"      # where the file backend serves NBD exports to other nodes
    nbd_port_min: int = 10809         # the NBD ports the file backend may use
    nbd_port_max: int = 10909
    max_over_subscription_ratio: float = 20.0
    reserved_percentage: int = 0
    default_availability_zone: str = "nova"
    storage_availability_zone: str = "nova"
    default_volume_type: str = "__DEFAULT__"
    # Cinder's: an in-use volume is uploaded to an image (force=True) only when this is on.
    enable_force_upload: bool = False
    # Managers.
    report_interval: float = 10.0     # seconds between capacity reports
    service_down_time: float = 60.0   # seconds without a report = down
    # Backups: where new ones go ("auto": object storage when the catalog lists object-store, else
    # the directory; "object"; "directory"; an incremental goes where its parent is), the
    # directory store ("" = <state_dir>/backups; shared by the storage nodes for restores onto
    # another node's backend) and the chunk size (bytes; the unit of incrementals).
    backup_store: str = "auto"
    backup_path: str = ""
    backup_chunk_size: int = 4 * 1024 * 1024
    # Quotas (Cinder's defaults).
    quota_volumes: int = 10
    quota_snapshots: int = 10
    quota_gigabytes: int = 1000
    quota_backups: int = 10
    quota_backup_gigabytes: int = 1000
    quota_groups: int = 10
    per_volume_size_limit: int = -1
    osapi_max_limit: int = 1000


@dataclass(frozen=True)
class BackendConf:
    """One backend as its manager and driver see it (``volume_backend_name`` = ``name``)."""

    name: str
    driver: str
    pool_dir: Path
    size_gb: int
    format: str = "qcow2"
    max_over_subscription_ratio: float = 20.0
    reserved_percentage: int = 0
    availability_zone: str = "nova"
    host: str = ""                     # this node's host name ("" = the machine's hostname)
    export_ip: str = "127.0.0.1"
    nbd_port_min: int = 10809
    nbd_port_max: int = 10909


def backup_store(conf: VolumeConfig) -> str:
    """``[volume] backup_store``, checked."""
    from nubes.volume.backup.store import STORE_CHOICES

    if conf.backup_store not in STORE_CHOICES:
        raise ConfigError(f"[volume] backup_store must be one of {', '.join(STORE_CHOICES)}, "
                          f"not {conf.backup_store!r}")
    return conf.backup_store


def backends(conf: VolumeConfig, state_dir: Path) -> list[BackendConf]:
    """The configured backends, checked (unique names, known keys)."""
    entries = list(conf.backends) or [conf.driver]
    out: list[BackendConf] = []
    for entry in entries:
        if isinstance(entry, str):
            name, _, driver = entry.partition(":")
            entry = {"name": name, "driver": driver or ("fake" if name == "fake" else conf.driver)}
        if not isinstance(entry, dict) or not entry.get("name"):
            raise ConfigError(f"[volume] backends: each entry needs a name, got {entry!r}")
        known = {"name", "driver", "pool_dir", "size_gb", "format", "max_over_subscription_ratio",
                 "reserved_percentage", "availability_zone", "export_ip", "nbd_port_min",
                 "nbd_port_max"}
        unknown = set(entry) - known
        if unknown:
            raise ConfigError(f"[volume] backends: unknown keys {sorted(unknown)} in {entry['name']!r}")
        name = str(entry["name"])
        if any(b.name == name for b in out):
            raise ConfigError(f"[volume] backends: backend {name!r} is listed twice")
        fmt = str(entry.get("format", conf.volume_format))
        if fmt not in ("raw", "qcow2"):
            raise ConfigError(f"[volume] backends: format of {name!r} must be raw or qcow2")
        out.append(BackendConf(
            name=name, driver=str(entry.get("driver", conf.driver)),
            pool_dir=Path(entry.get("pool_dir") or state_dir / "volumes" / name),
            size_gb=int(entry.get("size_gb", conf.pool_size_gb)), format=fmt,
            max_over_subscription_ratio=float(entry.get("max_over_subscription_ratio",
                                                        conf.max_over_subscription_ratio)),
            reserved_percentage=int(entry.get("reserved_percentage", conf.reserved_percentage)),
            availability_zone=str(entry.get("availability_zone", conf.storage_availability_zone)),
            host=conf.host or socket.gethostname(),
            export_ip=str(entry.get("export_ip", conf.export_ip)),
            nbd_port_min=int(entry.get("nbd_port_min", conf.nbd_port_min)),
            nbd_port_max=int(entry.get("nbd_port_max", conf.nbd_port_max))))
    return out
