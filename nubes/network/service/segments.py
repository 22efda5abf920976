"""Provider segments: check what an admin asked for, or allocate a segment from the configured ranges.

Types: ``flat`` (one network per physical network, no id), ``vlan`` (ids 1-4094 on a
physical network; allocated from ``network_vlan_ranges``), ``vxlan`` (VNIs 1-16777215;
allocated from ``vni_ranges``) and ``local`` (no id, no physical network).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from nubes.network.db.queries import networks as q
from nubes.network.exceptions import Conflict, InvalidInput, SegmentationIdUnavailable

TYPES = ("flat", "vlan", "vxlan", "local")
MAX_VLAN = 4094
MAX_VNI = 2**24 - 1


class FlatNetworkInUse(Conflict):
    code = "network.flat_network_in_use"

    def __init__(self, physnet: str) -> None:
        super().__init__(f"Unable to create the flat network. Physical network {physnet} is in use.")


class VlanIdInUse(Conflict):
    code = "network.vlan_id_in_use"

    def __init__(self, vlan: int, physnet: str) -> None:
        super().__init__(f"Unable to create the network. The VLAN {vlan} on physical network "
                         f"{physnet} is in use.")


class TunnelIdInUse(Conflict):
    code = "network.tunnel_id_in_use"

    def __init__(self, vni: int) -> None:
        super().__init__(f"Unable to create the network. The tunnel ID {vni} is in use.")


@dataclass(frozen=True)
class Segment:
    network_type: str
    physical_network: str = ""       # "" when the type has none
    segmentation_id: int | None = None

    @property
    def api_segmentation_id(self) -> int | None:
        return None if self.network_type in ("flat", "local") else self.segmentation_id


def _ranges(entries: list[str], with_physnet: bool) -> dict[str, list[tuple[int, int]]]:
    out: dict[str, list[tuple[int, int]]] = {}
    for entry in entries:
        parts = entry.split(":")
        physnet = parts[0] if with_physnet else ""
        rest = parts[1:] if with_physnet else parts
        out.setdefault(physnet, [])
        if len(rest) == 2:
            out[physnet].append((int(rest[0]), int(rest[1])))
    return out


class SegmentPolicy:
    """The configured types, physical networks and ranges, and the MTU each segment gets."""

    def __init__(self, conf: Any) -> None:
        self.conf = conf
        self.vlan = _ranges(conf.network_vlan_ranges, True)
        self.vxlan = _ranges(conf.vni_ranges, False).get("", [])
        self.mtus = {e.split(":")[0]: int(e.split(":")[1]) for e in conf.physical_network_mtus}

    def mtu(self, seg: Segment) -> int:
        physical = self.mtus.get(seg.physical_network, self.conf.global_physnet_mtu)
        if seg.network_type == "vxlan":
            return self.conf.global_physnet_mtu - self.conf.vxlan_overhead
        return physical

    def validate(self, network_type: Any, physnet: Any, seg_id: Any) -> Segment:
        if network_type not in TYPES:
            raise InvalidInput(f"network_type value '{network_type}' not supported")
        if physnet is not None and not isinstance(physnet, str):
            raise InvalidInput(f"'{physnet}' is not a valid physical network name")
        if seg_id is not None and (isinstance(seg_id, bool) or not str(seg_id).isdigit()):
            raise InvalidInput(f"'{seg_id}' is not a valid segmentation ID")
        seg_id = int(seg_id) if seg_id is not None else None
        if network_type in ("flat", "local"):
            if seg_id is not None:
                raise InvalidInput(f"segmentation_id specified for {network_type} network")
            if network_type == "local":
                if physnet:
                    raise InvalidInput("provider:physical_network specified for local network")
                return Segment("local")
            if not physnet:
                raise InvalidInput("physical_network required for flat provider network")
            if "*" not in self.conf.flat_networks and physnet not in self.conf.flat_networks:
                raise InvalidInput(f"physical_network '{physnet}' unknown for flat provider network")
            return Segment("flat", physnet, 0)
        if network_type == "vlan":
            if not physnet:
                raise InvalidInput("physical_network required for VLAN provider network")
            if physnet not in self.vlan:
                raise InvalidInput(f"physical_network '{physnet}' unknown for VLAN provider network")
            if seg_id is not None and not 1 <= seg_id <= MAX_VLAN:
                raise InvalidInput(f"provider:segmentation_id out of range (1 through {MAX_VLAN})")
            return Segment("vlan", physnet, seg_id)
        if physnet:
            raise InvalidInput("provider:physical_network specified for VXLAN network")
        if seg_id is not None and not 1 <= seg_id <= MAX_VNI:
            raise InvalidInput(f"{seg_id} is not a valid VXLAN VNI value (1 through {MAX_VNI})")
        return Segment("vxlan", "", seg_id)

    async def reserve(self, s: AsyncSession, seg: Segment) -> Segment:
        """The segment with its id: the one asked for if free, else the lowest free in range."""
        if seg.network_type == "local":
            return seg
        if seg.segmentation_id is not None:
            if await q.segment_taken(s, seg.network_type, seg.physical_network, seg.segmentation_id):
                if seg.network_type == "flat":
                    raise FlatNetworkInUse(seg.physical_network)
                if seg.network_type == "vlan":
                    raise VlanIdInUse(seg.segmentation_id, seg.physical_network)
                raise TunnelIdInUse(seg.segmentation_id)
            return seg
        ranges = self.vlan.get(seg.physical_network, []) if seg.network_type == "vlan" else self.vxlan
        used = await q.used_segmentation_ids(s, seg.network_type, seg.physical_network)
        for first, last in ranges:
            for candidate in range(first, last + 1):
                if candidate not in used:
                    return Segment(seg.network_type, seg.physical_network, candidate)
        raise SegmentationIdUnavailable(seg.network_type)

    def tenant_default(self) -> Segment:
        kind = self.conf.tenant_network_types[0] if self.conf.tenant_network_types else "local"
        if kind == "vlan":
            physnets = [p for p, r in self.vlan.items() if r]
            if not physnets:
                raise SegmentationIdUnavailable("vlan")
            return Segment("vlan", physnets[0])
        return Segment(kind)
