"""Cinder's default filters and weigher, as pure functions over pools.

A pool is ``{"name": "host@backend#pool", "host", "availability_zone", "capabilities": {...}}``
with the capabilities a manager reported (``BackendStats`` fields). A request is
``{"size", "availability_zone", "extra_specs"}``.
"""

from __future__ import annotations

import operator
from typing import Any

# Extra specs that are not capabilities to match (Cinder's scoped or known-elsewhere keys).
_NOT_CAPABILITIES = ("qos:", "RESKEY:", "provisioning:", "volume_backend_name:", "replication:",
                     "os-", "hw:", "trait:", "resources:")


def _thin(caps: dict[str, Any], specs: dict[str, str]) -> bool:
    wanted = specs.get("provisioning:type", "thin" if caps.get("thin_provisioning_support") else "thick")
    return wanted == "thin" and bool(caps.get("thin_provisioning_support"))


def availability_zone_passes(pool: dict[str, Any], request: dict[str, Any]) -> bool:
    zone = request.get("availability_zone")
    return not zone or pool["availability_zone"] == zone


def capacity_passes(pool: dict[str, Any], request: dict[str, Any]) -> bool:
    """Cinder's CapacityFilter: room for ``size`` after the reserved part, and, thin, within
    ``max_over_subscription_ratio`` of the pool's total."""
    caps = pool["capabilities"]
    size = request["size"]
    total = float(caps.get("total_capacity_gb") or 0)
    free = float(caps.get("free_capacity_gb") or 0)
    if total <= 0:
        return False
    reserved = total * float(caps.get("reserved_percentage") or 0) / 100.0
    if _thin(caps, request.get("extra_specs") or {}):
        ratio = float(caps.get("max_over_subscription_ratio") or 1.0)
        provisioned = float(caps.get("provisioned_capacity_gb") or 0)
        if ratio >= 1 and (provisioned + size) / total > ratio:
            return False
        if ratio >= 1:
            return (free - reserved) * ratio >= size and total * ratio - provisioned - reserved >= size
    return free - reserved >= size


def _spec_matches(want: str, have: Any) -> bool:
    words = want.split()
    if not words:
        return str(have) == want
    op, rest = words[0], " ".join(words[1:])
    if op == "<is>":
        return str(have).lower() == rest.lower()
    if op == "<in>":
        return rest in str(have)
    if op == "<all-in>":
        return all(w in str(have).split() for w in rest.split())
    if op == "<or>":
        return str(have) in [x.strip() for x in want.split("<or>") if x.strip()]
    if op in ("s==", "s!=", "s>=", "s<=", "s>", "s<"):
        fn = {"s==": operator.eq, "s!=": operator.ne, "s>=": operator.ge, "s<=": operator.le,
              "s>": operator.gt, "s<": operator.lt}[op]
        return fn(str(have), rest)
    if op in ("=", "==", "!=", ">=", "<="):
        fn = {"=": operator.ge, "==": operator.eq, "!=": operator.ne, ">=": operator.ge, "<=": operator.le}[op]
        try:
            return fn(float(have), float(rest))
        except (TypeError, ValueError):
            return False
    return str(have) == want


def capabilities_pass(pool: dict[str, Any], request: dict[str, Any]) -> bool:
    """Cinder's CapabilitiesFilter: every unscoped (or ``capabilities:``) extra spec names a
    capability the backend reported with a matching value."""
    caps = pool["capabilities"]
    for key, want in (request.get("extra_specs") or {}).items():
        if key.startswith(_NOT_CAPABILITIES) or (":" in key and not key.startswith("capabilities:")):
            continue
        name = key.removeprefix("capabilities:")
        if name == "multiattach" and str(want).lower() in ("<is> true", "true"):
            if not caps.get("multiattach"):
                return False
            continue
        if name not in caps or not _spec_matches(str(want), caps[name]):
            return False
    return True


FILTERS = (("AvailabilityZoneFilter", availability_zone_passes), ("CapacityFilter", capacity_passes),
           ("CapabilitiesFilter", capabilities_pass))


def capacity_weight(pool: dict[str, Any], request: dict[str, Any]) -> float:
    """Cinder's CapacityWeigher (multiplier 1: spread): the free virtual capacity."""
    caps = pool["capabilities"]
    total = float(caps.get("total_capacity_gb") or 0)
    free = float(caps.get("free_capacity_gb") or 0)
    reserved = total * float(caps.get("reserved_percentage") or 0) / 100.0
    if _thin(caps, request.get("extra_specs") or {}):
        ratio = float(caps.get("max_over_subscription_ratio") or 1.0)
        return total * ratio - float(caps.get("provisioned_capacity_gb") or 0) - reserved
    return free - reserved


def select(pools: list[dict[str, Any]], request: dict[str, Any]) -> tuple[dict[str, Any] | None, list[str]]:
    """The best pool for ``request`` (None when no pool passes) and, per filter, how many passed."""
    steps = []
    for name, fn in FILTERS:
        pools = [p for p in pools if fn(p, request)]
        steps.append(f"{name}: {len(pools)}")
    if not pools:
        return None, steps
    return max(pools, key=lambda p: (capacity_weight(p, request), p["name"])), steps
