"""The network service's configuration section: segment ranges, MTUs, MAC base, quotas, agents."""

from __future__ import annotations

from dataclasses import dataclass, field

from nubes.core.config import ServiceConfig


@dataclass
class NetworkConfig(ServiceConfig):
    port: int = 9696
    # Physical networks that flat networks may use ("*" = any name).
    flat_networks: list[str] = field(default_factory=lambda: ["*"])
    # "physnet:first:last" ranges for VLAN segments made without an explicit id, or a bare
    # "physnet" that admins may use with explicit ids only (ML2's network_vlan_ranges).
    network_vlan_ranges: list[str] = field(default_factory=lambda: ["provider"])
    # "first:last" VNI ranges for VXLAN (ML2's vni_ranges).
    vni_ranges: list[str] = field(default_factory=lambda: ["1:1000"])
    # What a project's network gets when it names no provider type.
    tenant_network_types: list[str] = field(default_factory=lambda: ["vxlan"])
    global_physnet_mtu: int = 1500
    # Per physical network MTUs ("physnet:mtu"); the others get global_physnet_mtu.
    physical_network_mtus: list[str] = field(default_factory=list)
    # A VXLAN packet over IPv4 costs 50 bytes of the underlying MTU.
    vxlan_overhead: int = 50
    base_mac: str = "fa:16:3e:00:00:00"
    mac_generation_retries: int = 16
    max_fixed_ips_per_port: int = 5
    max_allowed_address_pair: int = 10
    max_dns_nameservers: int = 5
    max_subnet_host_routes: int = 20
    max_routes: int = 30                 # static routes per router
    default_availability_zone: str = "nova"
    # Seconds without a heartbeat after which an agent is reported dead.
    agent_down_time: int = 75
    pagination_max_limit: int = -1
    # Quotas (-1 = unlimited), Neutron's defaults.
    quota_network: int = 100
    quota_subnet: int = 100
    quota_port: int = 500
    quota_router: int = 10
    quota_floatingip: int = 50
    quota_security_group: int = 10
    quota_security_group_rule: int = 100
    quota_subnetpool: int = -1
    quota_rbac_policy: int = 10
