"""What a security group rule may say: protocols, ports, ICMP type and code, ethertypes, remote prefixes.

Pure functions with Neutron's rules and error types, used by the rule API to convert request
values and by the rule service to check a whole rule and to compare it with the rules a group
already has (two rules that match the same traffic are duplicates however they are spelt).
"""

from __future__ import annotations

import ipaddress
from typing import Any

from nubes.network.exceptions import BadRequest, InUse

ETHERTYPES = ("IPv4", "IPv6")
DIRECTIONS = ("ingress", "egress")

# neutron-lib's IP_PROTOCOL_MAP: the names a rule may use, with their numbers.
PROTOCOLS: dict[str, int] = {
    "ah": 51, "dccp": 33, "egp": 8, "esp": 50, "gre": 47, "hopopt": 0, "icmp": 1, "igmp": 2, "ip": 0,
    "ipip": 4, "ipv6-encap": 41, "ipv6-frag": 44, "ipv6-icmp": 58, "icmpv6": 58, "ipv6-nonxt": 59,
    "ipv6-opts": 60, "ipv6-route": 43, "ospf": 89, "pgm": 113, "rsvp": 46, "sctp": 132, "tcp": 6,
    "udp": 17, "udplite": 136, "vrrp": 112,
}
# The one name each number is shown with ("58" is ipv6-icmp, not the legacy icmpv6).
NUMBER_NAMES = {str(num): name for name, num in PROTOCOLS.items() if name != "icmpv6"}
ANY = ("any",)                          # protocol values meaning "every protocol" (stored as None)
SUPPORTED = [None, *ANY, *PROTOCOLS]
PORT_PROTOCOLS = {"dccp": 33, "sctp": 132, "tcp": 6, "udp": 17, "udplite": 136}
ICMP_NUMBERS = (1, 58)
IPV6_ONLY = {"ipv6-encap", "ipv6-frag", "ipv6-icmp", "icmpv6", "ipv6-nonxt", "ipv6-opts", "ipv6-route",
             "41", "44", "58", "59", "60", "43"}
IPV6_ICMP_LEGACY = ("icmp", "icmpv6")
ANY_PREFIXES = ("0.0.0.0/0", "::/0")


class _Bad(BadRequest):
    code = "network.security_group_rule_bad_request"

    def __init__(self, message: str) -> None:
        super().__init__(message)


def _error(name: str, message: str) -> type[BadRequest]:
    return type(name, (_Bad,), {"code": f"network.{name.lower()}", "neutron_type": name,
                                "__init__": lambda self, *a: _Bad.__init__(self, message.format(*a))})


SecurityGroupInvalidPortRange = _error(
    "SecurityGroupInvalidPortRange", "For TCP/UDP protocols, port_range_min must be <= port_range_max")
SecurityGroupInvalidProtocolForPort = _error(
    "SecurityGroupInvalidProtocolForPort",
    "Ports cannot be specified for protocol {0}. Ports are only supported for {1}.")
SecurityGroupInvalidPortValue = _error("SecurityGroupInvalidPortValue", "Invalid value for port {0}")
SecurityGroupInvalidIcmpValue = _error(
    "SecurityGroupInvalidIcmpValue", "Invalid value for ICMP {0} ({1}) {2}. It must be 0 to 255.")
SecurityGroupEthertypeConflictWithProtocol = _error(
    "SecurityGroupEthertypeConflictWithProtocol", "Invalid ethertype {0} for protocol {1}.")
SecurityGroupMissingIcmpType = _error(
    "SecurityGroupMissingIcmpType",
    "ICMP code (port-range-max) {0} is provided but ICMP type (port-range-min) is missing.")
SecurityGroupRuleInvalidProtocol = _error(
    "SecurityGroupRuleInvalidProtocol",
    "Security group rule protocol {0} not supported. Only protocol values {1} and integer "
    "representations [0 to 255] are supported.")
SecurityGroupRuleInvalidEtherType = _error(
    "SecurityGroupRuleInvalidEtherType",
    "Security group rule for ethertype '{0}' not supported. Allowed values are {1}.")
SecurityGroupMultipleRemoteEntites = _error(
    "SecurityGroupMultipleRemoteEntites",
    "Only one of remote_ip_prefix or remote_group_id or remote_address_group_id may be provided.")
SecurityGroupProtocolRequiredWithPorts = _error(
    "SecurityGroupProtocolRequiredWithPorts", "Must also specify protocol if port range is given.")
SecurityGroupRuleParameterConflict = _error(
    "SecurityGroupRuleParameterConflict", "Conflicting value ethertype {0} for CIDR {1}")
SecurityGroupNotSingleGroupRules = _error(
    "SecurityGroupNotSingleGroupRules", "Only allowed to update rules for one security profile at a time")
SecurityGroupRulesNotSingleProject = _error(
    "SecurityGroupRulesNotSingleProject", "Multiple project_ids in bulk security group rule create not allowed")
InvalidCIDR = _error("InvalidCIDR", "Invalid CIDR {0} given as IP prefix.")


class DuplicateSecurityGroupRuleInPost(InUse):
    code = "network.duplicate_security_group_rule_in_post"
    neutron_type = "DuplicateSecurityGroupRuleInPost"

    def __init__(self) -> None:
        super().__init__("Duplicate Security Group Rule in POST.")


def _repr(values: list[Any]) -> str:
    return "[" + ", ".join("None" if v is None else f"'{v}'" for v in values) + "]"


# -- conversions of single request values (Neutron's convert_to functions) --------------------
def protocol(value: Any) -> str | None:
    """A protocol name (lower-cased) or number 0-255 (kept as its decimal string); "any" is None."""
    if value is None or (isinstance(value, str) and value.lower() in ANY):
        return None
    if isinstance(value, bool):
        raise SecurityGroupRuleInvalidProtocol(value, _repr(SUPPORTED))
    if isinstance(value, int) or (isinstance(value, str) and value.strip().isdigit()):
        number = int(value)
        if 0 <= number <= 255:
            return str(number)
        raise SecurityGroupRuleInvalidProtocol(value, _repr(SUPPORTED))
    if isinstance(value, str) and value.lower() in PROTOCOLS:
        return value.lower()
    raise SecurityGroupRuleInvalidProtocol(value, _repr(SUPPORTED))


def port(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or isinstance(value, float) and not value.is_integer():
        raise SecurityGroupInvalidPortValue(value)
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise SecurityGroupInvalidPortValue(value) from None
    if not 0 <= number <= 65535:
        raise SecurityGroupInvalidPortValue(value)
    return number


def ethertype(value: Any) -> str:
    if isinstance(value, str):
        for known in ETHERTYPES:
            if known.lower() == value.lower():
                return known
    raise SecurityGroupRuleInvalidEtherType(value, _repr(list(ETHERTYPES)))


def remote_ip_prefix(value: Any) -> str | None:
    """The prefix with its length made explicit ("10.0.0.5" is "10.0.0.5/32"); host bits are kept."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise InvalidCIDR(value)
    try:
        return str(ipaddress.ip_interface(value.strip()))
    except ValueError:
        raise InvalidCIDR(value) from None


def normalized_cidr(prefix: str | None) -> str | None:
    """The network a prefix matches: "10.0.0.5/24" is "10.0.0.0/24"."""
    return None if prefix is None else str(ipaddress.ip_interface(prefix).network)


# -- checks of a whole rule -----------------------------------------------------------------
def protocol_number(value: str | None) -> int | None:
    if value is None:
        return None
    return PROTOCOLS[value] if value in PROTOCOLS else int(value)


def canonical(rule: dict[str, Any]) -> dict[str, Any]:
    """The rule as Neutron stores it: IPv6 ICMP always ``ipv6-icmp`` (or 58 when given as a number)."""
    out = dict(rule)
    if out.get("ethertype") == "IPv6":
        if out.get("protocol") in IPV6_ICMP_LEGACY:
            out["protocol"] = "ipv6-icmp"
        elif out.get("protocol") == "1":
            out["protocol"] = "58"
    return out


def check(rule: dict[str, Any]) -> None:
    """Refuse a rule that cannot match anything sensible, with Neutron's error for each case."""
    low, high, proto = rule.get("port_range_min"), rule.get("port_range_max"), rule.get("protocol")
    if low is not None or high is not None:
        if proto is None:
            raise SecurityGroupProtocolRequiredWithPorts()
        number = protocol_number(proto)
        if number in PORT_PROTOCOLS.values():
            if low == 0 or high == 0:
                raise SecurityGroupInvalidPortValue(0)
            if low is None or high is None or low > high:
                raise SecurityGroupInvalidPortRange()
        elif number in ICMP_NUMBERS:
            for attr, field, value in (("port_range_min", "type", low), ("port_range_max", "code", high)):
                if value is not None and not 0 <= value <= 255:
                    raise SecurityGroupInvalidIcmpValue(field, attr, value)
            if low is None and high is not None:
                raise SecurityGroupMissingIcmpType(high)
        else:
            raise SecurityGroupInvalidProtocolForPort(
                number, ", ".join(n.upper() for n in sorted(PORT_PROTOCOLS)))
    prefix = rule.get("remote_ip_prefix")
    if prefix is not None:
        version = ipaddress.ip_interface(prefix).version
        if rule["ethertype"] != f"IPv{version}":
            raise SecurityGroupRuleParameterConflict(rule["ethertype"], prefix)
    if proto in IPV6_ONLY and rule["ethertype"] == "IPv4":
        raise SecurityGroupEthertypeConflictWithProtocol(rule["ethertype"], proto)
    if prefix is not None and rule.get("remote_group_id"):
        raise SecurityGroupMultipleRemoteEntites()


def _protocol_key(value: str | None, ether: str) -> str:
    if value is None:
        return "+"
    if ether == "IPv6":
        if value in IPV6_ICMP_LEGACY:
            value = "ipv6-icmp"
        elif value == "1":
            value = "58"
    if value in PROTOCOLS:
        return f"{NUMBER_NAMES[str(PROTOCOLS[value])]}/{PROTOCOLS[value]}"
    return f"{NUMBER_NAMES.get(value, value)}/{value}"


def key(rule: Any) -> tuple:
    """What makes two rules the same: "tcp" is 6, 0.0.0.0/0 is no prefix, prefixes by their network."""
    get = rule.get if isinstance(rule, dict) else lambda name: getattr(rule, name)
    prefix = get("remote_ip_prefix")
    prefix_key = "+" if prefix is None or prefix in ANY_PREFIXES else normalized_cidr(prefix)
    if prefix_key in ANY_PREFIXES:
        prefix_key = "+"
    return (get("security_group_id"), get("direction"), get("ethertype"),
            _protocol_key(get("protocol"), get("ethertype")), get("port_range_min"), get("port_range_max"),
            get("remote_group_id"), prefix_key)
