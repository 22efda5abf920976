"""Validators for the address attributes of subnets, subnet pools and ports, in neutron-lib's words.

Each takes the raw JSON value and returns the converted value or raises ``ValueError`` with the
reason neutron-lib gives (the body parser turns it into "Invalid input for <attr>. Reason: ...").
A few raise Neutron's own error types, as neutron-lib does (allowed address pairs).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from typing import Any

from nubes.network.api import validators as v
from nubes.network.exceptions import (
    AllowedAddressPairExhausted,
    AllowedAddressPairsMissingIP,
    BadRequest,
    DuplicateAddressPairInRequest,
    InvalidInput,
)

_MAC = re.compile(r"^([0-9a-fA-F]{2}[:-]){5}[0-9a-fA-F]{2}$")


def ip(value: Any) -> str:
    """neutron-lib validate_ip_address: dotted IPv4 without leading zeros, or IPv6."""
    if not isinstance(value, str) or re.search(r"\s", value):
        raise ValueError(f"'{value}' is not a valid IP address")
    try:
        addr = ipaddress.ip_address(value)
    except ValueError:
        if ":" not in value and value.count(".") == 3 and all(p.isdigit() for p in value.split(".")):
            try:
                fixed = ipaddress.ip_address(".".join(str(int(p)) for p in value.split(".")))
            except ValueError:
                raise ValueError(f"'{value}' is not a valid IP address") from None
            raise ValueError(f"'{value}' is not an accepted IP address, '{fixed}' is recommended") from None
        raise ValueError(f"'{value}' is not a valid IP address") from None
    return str(addr) if addr.version == 6 else value


def ip_or_none(value: Any) -> str | None:
    return None if value is None else ip(value)


def subnet(value: Any) -> str:
    """neutron-lib validate_subnet: a CIDR; IPv4 written canonically (host bits are allowed)."""
    if not isinstance(value, str) or re.search(r"\s", value):
        raise ValueError(f"'{value}' is not a valid IP subnet")
    try:
        iface = ipaddress.ip_interface(value)
    except ValueError:
        raise ValueError(f"'{value}' is not a valid IP subnet") from None
    if "/" not in value or (iface.version == 4 and str(iface) != value):
        raise ValueError(f"'{value}' isn't a recognized IP subnet cidr, '{iface.network}' is recommended")
    return value if iface.version == 4 else str(iface)


def subnet_or_none(value: Any) -> str | None:
    return None if value is None else subnet(value)


def subnet_list(value: Any) -> list[str]:
    if not isinstance(value, list):
        raise ValueError(f"'{value}' is not a list")
    dups = sorted({str(x) for x in value if value.count(x) > 1})
    if dups:
        raise ValueError(f"Duplicate items in the list: '{', '.join(dups)}'")
    return [subnet(x) for x in value]


def non_negative(value: Any) -> int:
    n = v.integer()(value)
    if n < 0:
        raise ValueError(f"'{value}' should be non-negative")
    return n


def not_empty_string(max_len: int = 255) -> Callable[[Any], str]:
    def check(value: Any) -> str:
        value = v.string(max_len)(value)
        if not value.strip():
            raise ValueError(f"'{value}' Blank strings are not permitted")
        return value
    return check


def _keys(item: Any, expected: list[str]) -> dict[str, Any]:
    if not isinstance(item, dict):
        raise ValueError(f"Invalid input. '{item}' must be a dictionary with keys: {expected}")
    if set(item) != set(expected):
        raise ValueError(f"Validation of dictionary's keys failed. Expected keys: {set(expected)} "
                         f"Provided keys: {set(item)}")
    return item


def ip_pools(value: Any) -> list[dict[str, str]]:
    if not isinstance(value, list):
        raise ValueError(f"Invalid data format for IP pool: '{value}'")
    out = []
    for pool in value:
        pool = _keys(pool, ["start", "end"])
        out.append({"start": ip(pool["start"]), "end": ip(pool["end"])})
    return out


def nameservers(value: Any) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise ValueError(f"Invalid data format for nameserver: '{value}'")
    seen: list[str] = []
    for host in value:
        try:
            ip(host)
        except ValueError as exc:
            raise ValueError(f"'{host}' is not a valid nameserver. {exc}") from None
        if host in seen:
            raise ValueError(f"Duplicate nameserver '{host}'")
        seen.append(host)
    return seen


def host_routes(value: Any) -> list[dict[str, str]]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise ValueError(f"Invalid data format for hostroute: '{value}'")
    out: list[dict[str, str]] = []
    for route in value:
        route = _keys(route, ["destination", "nexthop"])
        item = {"destination": str(ipaddress.ip_network(subnet(route["destination"]), strict=False)),
                "nexthop": ip(route["nexthop"])}
        if item in out:
            raise ValueError(f"Duplicate hostroute '{route}'")
        out.append(item)
    return out


def fixed_ips(value: Any) -> list[dict[str, str]]:
    if not isinstance(value, list):
        raise ValueError(f"Invalid data format for fixed IP: '{value}'")
    seen: list[str] = []
    out = []
    for item in value:
        if not isinstance(item, dict):
            raise ValueError(f"Invalid data format for fixed IP: '{item}'")
        unknown = set(item) - {"ip_address", "subnet_id"}
        if unknown:
            raise ValueError(f"Invalid data format for fixed IP: '{item}'")
        entry: dict[str, str] = {}
        if "ip_address" in item:
            if item["ip_address"] in seen:
                raise ValueError(f"Duplicate IP address '{item['ip_address']}'")
            entry["ip_address"] = str(ipaddress.ip_address(ip(item["ip_address"])))
            seen.append(item["ip_address"])
        if "subnet_id" in item:
            entry["subnet_id"] = v.uuid(item["subnet_id"])
        out.append(entry)
    return out


def mac_address(value: Any) -> str:
    if not isinstance(value, str) or not _MAC.match(value):
        raise ValueError(f"'{value}' is not a valid MAC address")
    mac = value.replace("-", ":").lower()
    if mac in ("00:00:00:00:00:00", "ff:ff:ff:ff:ff:ff"):
        raise ValueError(f"'{value}' is not a valid MAC address")
    return mac


def address_pairs(max_pairs: int) -> Callable[[Any], list[dict[str, str]]]:
    def check(value: Any) -> list[dict[str, str]]:
        if value is None:
            return []
        if not isinstance(value, list):
            raise BadRequest("Allowed address pairs must be a list.")
        if len(value) > max_pairs:
            raise AllowedAddressPairExhausted(max_pairs)
        seen: set[tuple[Any, str]] = set()
        out = []
        for pair in value:
            if not isinstance(pair, dict):
                raise ValueError(f"'{pair}' is not a dictionary")
            entry: dict[str, str] = {}
            if "mac_address" in pair:
                try:
                    entry["mac_address"] = mac_address(pair["mac_address"])
                except ValueError as exc:
                    raise BadRequest(str(exc)) from None
                if int(entry["mac_address"][:2], 16) & 1:
                    raise BadRequest(f"Multicast MAC address is not allowed: {pair['mac_address']}")
            if "ip_address" not in pair:
                raise AllowedAddressPairsMissingIP()
            key = (pair.get("mac_address"), pair["ip_address"])
            if key in seen:
                raise DuplicateAddressPairInRequest(*key)
            seen.add(key)
            unknown = set(pair) - {"mac_address", "ip_address"}
            if unknown:
                raise BadRequest(f"Unrecognized attribute(s) '{', '.join(sorted(unknown))}'")
            try:
                text = pair["ip_address"]
                entry["ip_address"] = subnet(text) if isinstance(text, str) and "/" in text else ip(text)
            except ValueError as exc:
                raise BadRequest(str(exc)) from None
            net = ipaddress.ip_network(entry["ip_address"], strict=False)
            if net.is_multicast:
                raise BadRequest(f"Multicast IP subnet is not allowed in allowed address pairs: {text}"
                                 if "/" in text else f"Multicast IP address is not allowed: {text}")
            out.append(entry)
        return out
    return check


_BLANK_OPTS = ("router", "classless-static-route")


def dhcp_opts(value: Any) -> list[dict[str, Any]] | None:
    """neutron-lib's list_of_any_key_specs_or_none with the EXTRA_DHCP_OPT_KEY_SPECS."""
    if value is None:
        return None
    if not isinstance(value, list):
        raise InvalidInput(f"'{value}' is not a list")
    out: list[dict[str, Any]] = []
    for opt in value:
        if not isinstance(opt, dict) or "opt_name" not in opt or "opt_value" not in opt or \
                set(opt) - {"opt_name", "opt_value", "ip_version"}:
            raise InvalidInput(f"No valid key specs matched for: {opt}")
        name, val = opt["opt_name"], opt["opt_value"]
        version = opt.get("ip_version", 4)
        try:
            version = int(version)
        except (TypeError, ValueError):
            raise InvalidInput(f"No valid key specs matched for: {opt}") from None
        blank_ok = name in _BLANK_OPTS
        good_name = isinstance(name, str) and 0 < len(name) <= 64 and name.strip() and "\n" not in name
        good_val = val is None or (isinstance(val, str) and len(val) <= 255 and (blank_ok or (
            val.strip() and "\n" not in val)))
        if not good_name or not good_val or version not in (4, 6):
            raise InvalidInput(f"No valid key specs matched for: {opt}")
        out.append({"opt_name": name, "opt_value": val, "ip_version": version})
    return out
