"""The image service's configuration section: stores, formats, import methods, limits."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from nubes.core.config import ServiceConfig

# Glance's [image_format] defaults.
DISK_FORMATS = ["ami", "ari", "aki", "vhd", "vhdx", "vmdk", "raw", "qcow2", "vdi", "iso", "ploop"]
CONTAINER_FORMATS = ["bare", "ovf", "ami", "ari", "aki", "ova", "docker", "compressed"]


@dataclass
class ImageConfig(ServiceConfig):
    port: int = 9292
    # Filesystem stores. Each entry is a table {id, path, description} in nubes.toml, or the text
    # "id" / "id=/path" (comma-separated in NUBES_IMAGE__STORES). An empty path means
    # <state_dir>/images/<id>.
    stores: list[Any] = field(default_factory=lambda: ["local"])
    default_store: str = ""                  # "" = the first store
    staging_dir: str = ""                    # "" = <state_dir>/image-staging
    disk_formats: list[str] = field(default_factory=lambda: list(DISK_FORMATS))
    container_formats: list[str] = field(default_factory=lambda: list(CONTAINER_FORMATS))
    enabled_import_methods: list[str] = field(
        default_factory=lambda: ["glance-direct", "web-download", "copy-image"])
    # web-download only fetches URLs starting with one of these prefixes ("https://mirror.example/")
    # or whose host is one of these names ("mirror.example"). Empty: web-download is refused.
    web_download_allowed: list[str] = field(default_factory=list)
    image_size_cap: int = 1099511627776      # bytes, Glance's default (1 TiB)
    # Image data is inspected as it arrives (upload, import): see docs/image.md. Glance's
    # [image_format] options of the same names: refuse data that is not its disk_format, and the
    # VMDK createTypes taken. The largest virtual disk taken, in bytes (16 TiB; 0 = no limit).
    require_image_format_match: bool = True
    vmdk_allowed_types: list[str] = field(default_factory=lambda: ["streamOptimized", "monolithicSparse"])
    image_virtual_size_cap: int = 16 * 1024 ** 4
    image_member_quota: int = 128
    image_property_quota: int = 128
    image_tag_quota: int = 128
    limit_param_default: int = 25
    api_limit_max: int = 1000
    # Quotas through identity's unified limits (service type "image"); no registered limit = no quota.
    use_keystone_limits: bool = True
    limits_cache_ttl: float = 30.0           # seconds a limit lookup is reused
    write_chunk_size: int = 4 * 1024 * 1024  # bytes per write/hash step
    read_chunk_size: int = 4 * 1024 * 1024   # bytes per read when serving a download
    fsync: bool = True                       # fsync image files (and their directory) before use
    # Write image data with O_DIRECT where the filesystem allows it: no page-cache copy (far less
    # CPU per byte) and no eviction of everything else by a large upload. Reads stay cached.
    direct_io: bool = True
    # Imports whose process died (docs/architecture.md, "What survives a crash"): looked for every
    # recovery_interval seconds (and at start), taken over once their process has not refreshed
    # them for recovery_lease seconds, or at once when it was a process of this host that is gone.
    recovery_interval: float = 30.0
    recovery_lease: float = 120.0
