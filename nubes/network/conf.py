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
    # -- the Linux data plane (nubes.network.agent) ---------------------------------------------
    # "auto": run the agents in `nubes up` when this host can (root, iproute2, nftables, dnsmasq,
    # br_netfilter, pyroute2), else warn why not; "on": run them, else log an error and run no
    # agents (the API goes on serving); "off": never (ports stay DOWN).
    dataplane: str = "auto"
    # Whether `nubes up` runs this host's agents at all: many nodes set it false on the controller
    # and run `nubes agent network` on the network and compute nodes.
    run_agents: bool = True
    # The agents' host name, matching the compute host's `binding:host_id` (empty: hostname).
    host: str = ""
    # Which agents this node runs: l2 (Linux bridge + security groups), dhcp, l3, metadata.
    agents: list[str] = field(default_factory=lambda: ["l2", "dhcp", "l3", "metadata"])
    # "physnet:interface" pairs: the host interface each physical network's flat and VLAN
    # networks are bridged to (Neutron's [linux_bridge] physical_interface_mappings).
    physical_interface_mappings: list[str] = field(default_factory=list)
    # This host's VXLAN endpoint address (empty: the source address of the default route).
    local_ip: str = ""
    vxlan_port: int = 4789
    # Seconds between full resyncs of each agent and between heartbeats.
    resync_interval: float = 30.0
    report_interval: float = 30.0
    # Seconds between looks at the host's tap devices (a new instance tap is wired this fast).
    device_poll_interval: float = 1.0
    # DHCP: lease time, the DNS domain of instance host names, upstream DNS servers for the
    # network's dnsmasq (none: it answers only instance names), and metadata for networks
    # without a router through the DHCP namespace (Neutron's enable_isolated_metadata).
    dhcp_lease_duration: int = 86400
    dns_domain: str = "openstacklocal"
    dnsmasq_dns_servers: list[str] = field(default_factory=list)
    enable_isolated_metadata: bool = True
    # L3: the bounds, in seconds, of the interval between unsolicited IPv6 router advertisements
    # that each router's radvd sends (Neutron's min_rtr_adv_interval / max_rtr_adv_interval).
    min_rtr_adv_interval: float = 30.0
    max_rtr_adv_interval: float = 100.0
    # The compute metadata API the proxy forwards to, and the secret both sign instance ids
    # with (empty: the state directory's generated `metadata_secret`).
    metadata_url: str = ""             # empty: this cloud's compute metadata API ([compute] metadata_port)
    metadata_proxy_shared_secret: str = ""
    # Where the agents keep their files (dnsmasq's hosts, options, leases); empty:
    # /run/nubes/network/<host> (they describe kernel state, which a reboot does not keep either).
    agent_state_path: str = ""
