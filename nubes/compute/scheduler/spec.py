"""What one instance asks of the scheduler: resources, traits, zone, hosts, image and group."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

STANDARD = ("VCPU", "MEMORY_MB", "DISK_GB")


@dataclass
class GroupSpec:
    id: str
    name: str
    policy: str                       # affinity, anti-affinity, soft-affinity, soft-anti-affinity
    rules: dict[str, Any] = field(default_factory=dict)
    member_hosts: list[str] = field(default_factory=list)      # hosts of the other live members


@dataclass
class RequestSpec:
    instance_id: str
    project_id: str
    user_id: str
    resources: dict[str, int]
    required_traits: list[str] = field(default_factory=list)
    forbidden_traits: list[str] = field(default_factory=list)
    availability_zone: str | None = None
    force_host: str | None = None
    force_node: str | None = None
    requested_host: str | None = None
    requested_node: str | None = None
    image_properties: dict[str, Any] = field(default_factory=dict)
    extra_specs: dict[str, str] = field(default_factory=dict)
    group: GroupSpec | None = None
    ignore_hosts: list[str] = field(default_factory=list)
    same_host: list[str] = field(default_factory=list)          # hosts of instances named in hints
    different_host: list[str] = field(default_factory=list)

    @property
    def forced(self) -> bool:
        return bool(self.force_host or self.force_node)


def resources_of(flavor: dict[str, Any], *, volume_backed: bool = False) -> tuple[dict[str, int], list[str],
                                                                                  list[str]]:
    """Placement resources and required/forbidden traits from a flavor and its extra specs, as Nova
    builds them: VCPU, MEMORY_MB, DISK_GB (root + ephemeral + swap rounded up to GB; no root disk
    for a volume-backed server); ``resources:<RC>=<n>`` overrides or adds (0 removes);
    ``trait:<NAME>=required|forbidden``."""
    disk = (0 if volume_backed else int(flavor.get("root_gb", 0))) + int(flavor.get("ephemeral_gb", 0))
    disk += math.ceil(int(flavor.get("swap", 0)) / 1024)
    res = {"VCPU": int(flavor["vcpus"]), "MEMORY_MB": int(flavor["memory_mb"]), "DISK_GB": disk}
    required, forbidden = [], []
    for key, value in (flavor.get("extra_specs") or {}).items():
        if key.startswith("resources:"):
            rc = key.split(":", 1)[1]
            try:
                n = int(value)
            except (TypeError, ValueError):
                continue
            res[rc] = n
        elif key.startswith("trait:"):
            trait = key.split(":", 1)[1]
            if value == "required":
                required.append(trait)
            elif value == "forbidden":
                forbidden.append(trait)
    return {k: v for k, v in res.items() if v > 0}, sorted(required), sorted(forbidden)


def parse_zone(text: str | None) -> tuple[str | None, str | None, str | None]:
    """Nova's ``az``, ``az:host``, ``az:host:node`` and ``az::node`` forms."""
    if not text:
        return None, None, None
    parts = text.split(":")
    az = parts[0] or None
    host = parts[1] or None if len(parts) > 1 else None
    node = parts[2] or None if len(parts) > 2 else None
    return az, host, node
