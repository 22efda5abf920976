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
SecurityGroupNotFound = _not_found("SecurityGroup", "Security group")
SecurityGroupRuleNotFound = _not_found("SecurityGroupRule", "Security group rule")
RouterNotFound = _not_found("Router", "Router")
FloatingIPNotFound = _not_found("FloatingIP", "Floating IP")
AgentNotFound = _not_found("Agent", "Agent")
RbacPolicyNotFound = _not_found("RbacPolicy", "RBAC policy")


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

    def __init__(self, fip: str, port_id: str, fixed_ip: str, fip_id: str) -> None:
        super().__init__(f"Cannot associate floating IP {fip} ({fip_id}) with port {port_id} using "
                         f"fixed IP {fixed_ip}, as that fixed IP already has a floating IP on external "
                         "network.")
