"""The network service's domain errors; each renders as Neutron's {"NeutronError": {"type", ...}}.

``neutron_type`` is the ``type`` clients see: Neutron's exception class name for its own
errors (``NetworkNotFound``, ``IpAddressGenerationFailure``) and webob's (``HTTPBadRequest``)
for generic input errors, exactly as upstream reports them.
"""

from __future__ import annotations

from typing import Any

from nubes.core import exceptions as base


class _Typed:
    neutron_type: str = ""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "neutron_type" not in cls.__dict__:
            cls.neutron_type = cls.__name__


class BadRequest(_Typed, base.BadRequest):
    code = "network.bad_request"
    neutron_type = "HTTPBadRequest"


class InvalidInput(BadRequest):
    code = "network.invalid_input"
    neutron_type = "InvalidInput"

    def __init__(self, detail: str) -> None:
        super().__init__(f"Invalid input for operation: {detail}.")


class NotFound(_Typed, base.NotFound):
    code = "network.not_found"
    neutron_type = "HTTPNotFound"


class Conflict(_Typed, base.Conflict):
    code = "network.conflict"
    neutron_type = "HTTPConflict"


class Forbidden(_Typed, base.Forbidden):
    code = "network.forbidden"
    neutron_type = "HTTPForbidden"


class PolicyNotAuthorized(_Typed, base.Forbidden):
    code = "network.policy_not_authorized"

    def __init__(self, rule: str) -> None:
        super().__init__(f"({rule}) is disallowed by policy")


class PreconditionFailed(_Typed, base.PreconditionFailed):
    code = "network.precondition_failed"
    neutron_type = "RevisionNumberConstraintFailed"

    def __init__(self, expected: int, current: int) -> None:
        super().__init__(f"Constrained to {expected}, but current revision is {current}")


class OverQuota(_Typed, base.Conflict):
    code = "network.over_quota"

    def __init__(self, resource: str) -> None:
        super().__init__(f"Quota exceeded for resources: ['{resource}'].")


class ServiceUnavailable(_Typed, base.ServiceUnavailable):
    code = "network.service_unavailable"
    neutron_type = "ServiceUnavailable"


def _not_found(name: str, label: str) -> type[NotFound]:
    """A ``<Name>NotFound`` error whose message reads as Neutron's does."""

    def __init__(self: NotFound, ident: str) -> None:
        NotFound.__init__(self, f"{label} {ident} could not be found.")

    return type(f"{name}NotFound", (NotFound,), {"code": f"network.{name.lower()}_not_found",
                                                 "neutron_type": f"{name}NotFound",
                                                 "__init__": __init__})


NetworkNotFound = _not_found("Network", "Network")
SubnetNotFound = _not_found("Subnet", "Subnet")
SubnetPoolNotFound = _not_found("SubnetPool", "Subnet pool")
PortNotFound = _not_found("Port", "Port")


class SecurityGroupNotFound(NotFound):
    code = "network.securitygroup_not_found"

    def __init__(self, ident: str) -> None:
        super().__init__(f"Security group {ident} does not exist")


class SecurityGroupRuleNotFound(NotFound):
    code = "network.securitygrouprule_not_found"

    def __init__(self, ident: str) -> None:
        super().__init__(f"Security group rule {ident} does not exist")


RouterNotFound = _not_found("Router", "Router")
FloatingIPNotFound = _not_found("FloatingIP", "Floating IP")
AgentNotFound = _not_found("Agent", "Agent")


class RbacPolicyNotFound(NotFound):
    code = "network.rbacpolicy_not_found"

    def __init__(self, ident: str, object_type: str = "") -> None:
        kind = f" of type {object_type}" if object_type else ""
        super().__init__(f"RBAC policy{kind} with ID {ident} not found")


class TagNotFound(NotFound):
    code = "network.tag_not_found"

    def __init__(self, resource_id: str, tag: str) -> None:
        super().__init__(f"Tag {tag} could not be found for {resource_id}.")


class InUse(Conflict):
    code = "network.in_use"
    neutron_type = "InUse"


class NetworkInUse(InUse):
    code = "network.network_in_use"

    def __init__(self, net_id: str) -> None:
        super().__init__(f"Unable to complete operation on network {net_id}. "
                         "There are one or more ports still in use on the network.")


class SubnetInUse(InUse):
    code = "network.subnet_in_use"

    def __init__(self, subnet_id: str, reason: str = "One or more ports have an IP allocation "
                 "from this subnet.") -> None:
        super().__init__(f"Unable to complete operation on subnet {subnet_id}: {reason}")


class PortInUse(InUse):
    code = "network.port_in_use"

    def __init__(self, port_id: str, net_id: str, device_id: str) -> None:
        super().__init__(f"Unable to complete operation on port {port_id} for network {net_id}. "
                         f"Port already has an attached device {device_id}.")


class IpAddressInUse(InUse):
    code = "network.ip_address_in_use"

    def __init__(self, ip: str, net_id: str) -> None:
        super().__init__(f"Unable to complete operation for network {net_id}. "
                         f"The IP address {ip} is in use.")


class MacAddressInUse(InUse):
    code = "network.mac_address_in_use"

    def __init__(self, mac: str, net_id: str) -> None:
        super().__init__(f"Unable to complete operation for network {net_id}. "
                         f"The mac address {mac} is in use.")


class IpAddressGenerationFailure(Conflict):
    code = "network.ip_generation_failure"

    def __init__(self, net_id: str) -> None:
        super().__init__(f"No more IP addresses available on network {net_id}.")


class InvalidIpForSubnet(BadRequest):
    code = "network.invalid_ip_for_subnet"
    neutron_type = "InvalidIpForSubnet"

    def __init__(self, ip: str) -> None:
        super().__init__(f"IP address {ip} is not a valid IP for the specified subnet.")


class InvalidIpForNetwork(BadRequest):
    code = "network.invalid_ip_for_network"
    neutron_type = "InvalidIpForNetwork"

    def __init__(self, ip: str) -> None:
        super().__init__(f"IP address {ip} is not a valid IP for any of the subnets on the "
                         "specified network.")


class SecurityGroupInUse(InUse):
    code = "network.security_group_in_use"

    def __init__(self, sg_id: str) -> None:
        super().__init__(f"Security Group {sg_id} in use.")


class SecurityGroupRuleExists(Conflict):
    code = "network.security_group_rule_exists"

    def __init__(self, rule_id: str) -> None:
        super().__init__(f"Security group rule already exists. Rule id is {rule_id}.")


class SegmentationIdUnavailable(Conflict):
    code = "network.segmentation_id_unavailable"
    neutron_type = "NoNetworkAvailable"

    def __init__(self, what: str) -> None:
        super().__init__(f"Unable to create the network. No {what} network is available.")


class RouterInUse(InUse):
    code = "network.router_in_use"

    def __init__(self, router_id: str, reason: str = "still has ports") -> None:
        super().__init__(f"Router {router_id} {reason}")


class RouterInterfaceNotFound(NotFound):
    code = "network.router_interface_not_found"

    def __init__(self, router_id: str, what: str) -> None:
        super().__init__(f"Router {router_id} does not have an interface with {what}")


class ExternalGatewayForFloatingIPNotFound(NotFound):
    code = "network.external_gateway_for_fip_not_found"

    def __init__(self, subnet_id: str, ext_net_id: str, port_id: str) -> None:
        super().__init__(f"External network {ext_net_id} is not reachable from subnet {subnet_id}. "
                         f"Therefore, cannot associate Port {port_id} with a Floating IP.")


class FloatingIPPortAlreadyAssociated(InUse):
    code = "network.fip_port_already_associated"

    def __init__(self, fip: str, fip_id: str, port_id: str, fixed_ip: str, net_id: str) -> None:
        super().__init__(f"Cannot associate floating IP {fip} ({fip_id}) with port {port_id} using "
                         f"fixed IP {fixed_ip}, as that fixed IP already has a floating IP on external "
                         f"network {net_id}.")


# -- subnets, subnet pools, IPAM and ports (Neutron's wording; see neutron_lib.exceptions) ------

class ResourceBadRequest(BadRequest):
    """neutron_lib's ``BadRequest(resource=..., msg=...)``: "Bad <resource> request: <msg>."."""

    code = "network.resource_bad_request"
    neutron_type = "BadRequest"

    def __init__(self, resource: str, msg: str) -> None:
        super().__init__(f"Bad {resource} request: {msg}.")


class InvalidAllocationPool(BadRequest):
    code = "network.invalid_allocation_pool"

    def __init__(self, pool: str) -> None:
        super().__init__(f"The allocation pool {pool} is not valid.")


class OutOfBoundsAllocationPool(BadRequest):
    code = "network.out_of_bounds_allocation_pool"

    def __init__(self, pool: str, cidr: str) -> None:
        super().__init__(f"The allocation pool {pool} spans beyond the subnet cidr {cidr}.")


class OverlappingAllocationPools(Conflict):
    code = "network.overlapping_allocation_pools"

    def __init__(self, pool_1: str, pool_2: str, cidr: str) -> None:
        super().__init__(f"Found overlapping allocation pools: {pool_1} {pool_2} for subnet {cidr}.")


class GatewayConflictWithAllocationPools(InUse):
    code = "network.gateway_conflict_with_pools"

    def __init__(self, ip: str, pool: str) -> None:
        super().__init__(f"Gateway ip {ip} conflicts with allocation pool {pool}.")


class GatewayIpInUse(InUse):
    code = "network.gateway_ip_in_use"

    def __init__(self, ip: str, port_id: str) -> None:
        super().__init__(f"Current gateway ip {ip} already in use by port {port_id}. Unable to update.")


class DNSNameServersExhausted(BadRequest):
    code = "network.dns_nameservers_exhausted"

    def __init__(self, subnet_id: str, quota: int) -> None:
        super().__init__(f"Unable to complete operation for {subnet_id}. "
                         f"The number of DNS nameservers exceeds the limit {quota}.")


class HostRoutesExhausted(BadRequest):
    code = "network.host_routes_exhausted"

    def __init__(self, subnet_id: str, quota: int) -> None:
        super().__init__(f"Unable to complete operation for {subnet_id}. "
                         f"The number of host routes exceeds the limit {quota}.")


class NetworkSubnetPoolAffinityError(BadRequest):
    code = "network.subnetpool_affinity"

    def __init__(self) -> None:
        super().__init__("Subnets hosted on the same network must be allocated from the same subnet pool.")


class EmptySubnetPoolPrefixList(BadRequest):
    code = "network.empty_subnetpool_prefixes"

    def __init__(self) -> None:
        super().__init__("Empty subnet pool prefix list.")


class PrefixVersionMismatch(BadRequest):
    code = "network.prefix_version_mismatch"

    def __init__(self) -> None:
        super().__init__("Cannot mix IPv4 and IPv6 prefixes in a subnet pool.")


class UnsupportedMinSubnetPoolPrefix(BadRequest):
    code = "network.unsupported_min_prefix"

    def __init__(self, prefix: object, version: int) -> None:
        super().__init__(f"Prefix '{prefix}' not supported in IPv{version} pool.")


class IllegalSubnetPoolPrefixBounds(BadRequest):
    code = "network.illegal_prefix_bounds"

    def __init__(self, prefix_type: str, prefixlen: int, base_type: str, base_prefixlen: int) -> None:
        super().__init__(f"Illegal prefix bounds: {prefix_type}={prefixlen}, {base_type}={base_prefixlen}.")


class IllegalSubnetPoolPrefixUpdate(BadRequest):
    code = "network.illegal_prefix_update"

    def __init__(self, msg: str) -> None:
        super().__init__(f"Illegal update to prefixes: {msg}.")


class IllegalSubnetPoolUpdate(BadRequest):
    code = "network.illegal_subnetpool_update"

    def __init__(self, reason: str) -> None:
        super().__init__(f"Illegal subnetpool update : {reason}.")


class MinPrefixSubnetAllocationError(BadRequest):
    code = "network.min_prefix_allocation"

    def __init__(self, prefixlen: int, min_prefixlen: int) -> None:
        super().__init__(f"Unable to allocate subnet with prefix length {prefixlen}, "
                         f"minimum allowed prefix is {min_prefixlen}.")


class MaxPrefixSubnetAllocationError(BadRequest):
    code = "network.max_prefix_allocation"

    def __init__(self, prefixlen: int, max_prefixlen: int) -> None:
        super().__init__(f"Unable to allocate subnet with prefix length {prefixlen}, "
                         f"maximum allowed prefix is {max_prefixlen}.")


class SubnetAllocationError(Conflict):
    """Neutron answers this with a 500; nubes says 409 (the pool has no room), never a 500."""

    code = "network.subnet_allocation"

    def __init__(self, reason: str) -> None:
        super().__init__(f"Failed to allocate subnet: {reason}.")


class SubnetPoolDeleteError(BadRequest):
    code = "network.subnetpool_delete"

    def __init__(self, reason: str) -> None:
        super().__init__(f"Unable to delete subnet pool: {reason}.")


class SubnetPoolQuotaExceeded(OverQuota):
    code = "network.subnetpool_quota"

    def __init__(self) -> None:
        Conflict.__init__(self, "Per-tenant subnet pool prefix quota exceeded.")


class IpAddressAlreadyAllocated(IpAddressInUse):
    """What Neutron's IPAM answers for a fixed IP another port holds (409)."""

    code = "network.ip_already_allocated"

    def __init__(self, ip: str, subnet_id: str) -> None:
        Conflict.__init__(self, f"IP address {ip} already allocated in subnet {subnet_id}")


class AllocationOnAutoAddressSubnet(BadRequest):
    code = "network.allocation_on_auto_address_subnet"

    def __init__(self, ip: str, subnet_id: str) -> None:
        super().__init__(f"IPv6 address {ip} cannot be directly assigned to a port on subnet {subnet_id} "
                         "as the subnet is configured for automatic addresses")


class ServicePortInUse(InUse):
    code = "network.service_port_in_use"

    def __init__(self, port_id: str, reason: str) -> None:
        super().__init__(f"Port {port_id} cannot be deleted directly via the port API: {reason}.")


class PortBound(InUse):
    code = "network.port_bound"

    def __init__(self, port_id: str, vif_type: str, old_mac: str, new_mac: str) -> None:
        super().__init__(f"Unable to complete operation on port {port_id}, port is already bound, "
                         f"port type: {vif_type}, old_mac {old_mac}, new_mac {new_mac}.")


class UnsupportedPortDeviceOwner(Conflict):
    code = "network.unsupported_port_device_owner"

    def __init__(self, op: str, device_owner: str, port_id: str) -> None:
        super().__init__(f"Operation {op} is not supported for device_owner {device_owner} on port {port_id}.")


class DeviceIDNotOwnedByTenant(Conflict):
    code = "network.device_id_not_owned"

    def __init__(self, device_id: str) -> None:
        super().__init__(f"The following device_id {device_id} is not owned by your tenant or matches "
                         "another tenants router.")


class MacAddressGenerationFailure(ServiceUnavailable):
    code = "network.mac_generation_failure"
    neutron_type = "MacAddressGenerationFailure"

    def __init__(self, net_id: str) -> None:
        super().__init__(f"Unable to generate unique mac on network {net_id}.")


class AllowedAddressPairsMissingIP(BadRequest):
    code = "network.address_pair_missing_ip"

    def __init__(self) -> None:
        super().__init__("AllowedAddressPair must contain ip_address")


class DuplicateAddressPairInRequest(BadRequest):
    code = "network.duplicate_address_pair"

    def __init__(self, mac: object, ip: str) -> None:
        super().__init__(f"Request contains duplicate address pair: mac_address {mac} ip_address {ip}.")


class AllowedAddressPairExhausted(BadRequest):
    code = "network.address_pairs_exhausted"

    def __init__(self, quota: int) -> None:
        super().__init__(f"The number of allowed address pair exceeds the maximum {quota}.")


class AddressPairAndPortSecurityRequired(Conflict):
    code = "network.address_pair_needs_port_security"

    def __init__(self) -> None:
        super().__init__("Port Security must be enabled in order to have allowed address pairs on a port.")


class PortSecurityPortHasSecurityGroup(InUse):
    code = "network.port_security_has_groups"

    def __init__(self) -> None:
        super().__init__("Port has security group associated. Cannot disable port security or IP address "
                         "until security group is removed.")


class PortSecurityAndIPRequiredForSecurityGroups(BadRequest):
    code = "network.port_security_required_for_groups"

    def __init__(self) -> None:
        super().__init__("Port security must be enabled and port must have an IP address in order to use "
                         "security groups.")


class RouterInterfaceInUseByFloatingIP(InUse):
    code = "network.router_interface_in_use_by_fip"

    def __init__(self, router_id: str, subnet_id: str) -> None:
        super().__init__(f"Router interface for subnet {subnet_id} on router {router_id} cannot be "
                         "deleted, as it is required by one or more floating IPs.")


class RouterInterfaceInUseByRoute(InUse):
    code = "network.router_interface_in_use_by_route"

    def __init__(self, router_id: str, subnet_id: str) -> None:
        super().__init__(f"Router interface for subnet {subnet_id} on router {router_id} cannot be "
                         "deleted, as it is required by one or more routes.")


class RouterExternalGatewayInUseByFloatingIp(InUse):
    code = "network.router_gateway_in_use_by_fip"

    def __init__(self, router_id: str, net_id: str) -> None:
        super().__init__(f"Gateway cannot be updated for router {router_id}, since a gateway to external "
                         f"network {net_id} is required by one or more floating IPs.")


class InvalidRoutes(BadRequest):
    code = "network.invalid_routes"
    neutron_type = "InvalidRoutes"

    def __init__(self, routes: object, reason: str) -> None:
        super().__init__(f"Invalid format for routes: {routes}, {reason}")


class RoutesExhausted(BadRequest):
    code = "network.routes_exhausted"
    neutron_type = "RoutesExhausted"

    def __init__(self, router_id: str, quota: int) -> None:
        super().__init__(f"Unable to complete operation for {router_id}. The number of routes exceeds "
                         f"the maximum {quota}.")
