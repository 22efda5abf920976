"""What a create-server request asks for, as the API layer hands it over (no wire names)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class NetworkRequest:
    network_id: str | None = None
    port_id: str | None = None
    fixed_ip: str | None = None
    tag: str | None = None


@dataclass
class BlockDevice:
    source_type: str                      # image, blank, volume, snapshot
    destination_type: str                 # local, volume
    boot_index: int | None = None
    uuid: str | None = None
    volume_size: int | None = None
    guest_format: str | None = None
    device_name: str | None = None
    device_type: str | None = None
    disk_bus: str | None = None
    delete_on_termination: bool = False
    tag: str | None = None
    volume_type: str | None = None        # 2.67: the type of a volume the build creates


@dataclass
class CreateRequest:
    name: str
    flavor_ref: str
    image_ref: str = ""
    # "auto", "none", a list of NetworkRequest, or None (not given: before 2.37 the default).
    networks: str | list[NetworkRequest] | None = None
    key_name: str | None = None
    security_groups: list[str] = field(default_factory=list)
    user_data: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    availability_zone: str | None = None
    min_count: int = 1
    max_count: int = 1
    return_reservation_id: bool = False
    block_devices: list[BlockDevice] = field(default_factory=list)
    config_drive: bool = False
    tags: list[str] = field(default_factory=list)
    description: str | None = None
    hostname: str | None = None
    admin_password: str | None = None
    access_ip_v4: str | None = None
    access_ip_v6: str | None = None
    auto_disk_config: bool = False
    scheduler_hints: dict[str, Any] = field(default_factory=dict)
    requested_host: str | None = None
    requested_node: str | None = None


@dataclass
class Created:
    """What a create answers: the first server (and its password) or the reservation."""

    instance: Any
    admin_password: str | None
    reservation_id: str
    count: int
