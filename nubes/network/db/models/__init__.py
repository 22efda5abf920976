"""The network service's tables, one module per resource family."""

from nubes.network.db.models.agents import Agent, Quota, QuotaLock
from nubes.network.db.models.base import Base, StandardAttrs, Tag
from nubes.network.db.models.networks import Network, NetworkRbac, NetworkSegment
from nubes.network.db.models.ports import AllowedAddressPair, ExtraDhcpOpt, IPAllocation, Port, PortSecurityGroup
from nubes.network.db.models.routers import FloatingIP, Router, RouterPort, RouterRoute
from nubes.network.db.models.security import (
    DefaultSecurityGroup,
    SecurityGroup,
    SecurityGroupRbac,
    SecurityGroupRule,
)
from nubes.network.db.models.subnets import (
    AllocationPool,
    DnsNameserver,
    Subnet,
    SubnetPool,
    SubnetPoolPrefix,
    SubnetRoute,
)

__all__ = [
    "Agent", "AllocationPool", "AllowedAddressPair", "Base", "DefaultSecurityGroup", "DnsNameserver",
    "ExtraDhcpOpt", "FloatingIP", "IPAllocation", "Network", "NetworkRbac", "NetworkSegment", "Port",
    "PortSecurityGroup", "Quota", "QuotaLock", "Router", "RouterPort", "RouterRoute", "SecurityGroup",
    "SecurityGroupRbac", "SecurityGroupRule", "StandardAttrs", "Subnet", "SubnetPool", "SubnetPoolPrefix",
    "SubnetRoute", "Tag",
]
