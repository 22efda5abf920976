"""Value checks and conversions for request attributes, with Neutron's wording.

Each validator takes the raw JSON value and returns the converted value or raises
``ValueError`` with the reason Neutron gives ("'abc' is not an integer"); the body
parser wraps it as "Invalid input for <attr>. Reason: <reason>.".
"""

from __future__ import annotations

import ipaddress
import re
import uuid as _uuid
from collections.abc import Callable
from typing import Any

Validator = Callable[[Any], Any]

_MAC = re.compile(r"^([0-9a-fA-F]{2}[:-]){5}[0-9a-fA-F]{2}$")


def boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in ("true", "false", "1", "0"):
        return value.strip().lower() in ("true", "1")
    raise ValueError(f"'{value}' cannot be converted to boolean")


def string(max_len: int | None = 255, *, allow_none: bool = False) -> Validator:
    def check(value: Any) -> Any:
        if value is None and allow_none:
            return None
        if not isinstance(value, str):
            raise ValueError(f"'{value}' is not a valid string")
        if max_len is not None and len(value) > max_len:
            raise ValueError(f"'{value}' exceeds maximum length of {max_len}")
        return value
    return check


# Neutron's integer attributes live in 4-byte INT columns; none may exceed them.
INT32_MAX = 2**31 - 1


def integer(low: int | None = None, high: int | None = INT32_MAX, *, allow_none: bool = False) -> Validator:
    def check(value: Any) -> Any:
        if value is None and allow_none:
            return None
        if isinstance(value, bool):
            raise ValueError(f"'{value}' is not an integer")
        try:
            n = int(value)
        except (TypeError, ValueError):
            raise ValueError(f"'{value}' is not an integer") from None
        if isinstance(value, float) and n != value:
            raise ValueError(f"'{value}' is not an integer")
        if low is not None and n < low:
            raise ValueError(f"'{value}' is too small - must be at least '{low}'")
        if high is not None and n > high:
            raise ValueError(f"'{value}' is too large - must be no larger than '{high}'")
        return n
    return check


def one_of(*choices: Any, allow_none: bool = False) -> Validator:
    def check(value: Any) -> Any:
        if value is None and allow_none:
            return None
        if value not in choices:
            raise ValueError(f"'{value}' is not in {list(choices)}")
        return value
    return check


def uuid(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"'{value}' is not a valid UUID")
    try:
        _uuid.UUID(value)
    except ValueError:
        raise ValueError(f"'{value}' is not a valid UUID") from None
    return value


def uuid_or_none(value: Any) -> str | None:
    return None if value is None else uuid(value)


def ip_address(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"'{value}' is not a valid IP address")
    try:
        addr = ipaddress.ip_address(value)
    except ValueError:
        raise ValueError(f"'{value}' is not a valid IP address") from None
    return str(addr)


def ip_address_or_none(value: Any) -> str | None:
    return None if value is None else ip_address(value)


def cidr(value: Any) -> str:
    """A network in CIDR form; host bits set are refused as Neutron does for subnets."""
    if not isinstance(value, str):
        raise ValueError(f"'{value}' is not a valid IP subnet")
    try:
        net = ipaddress.ip_network(value, strict=False)
    except ValueError:
        raise ValueError(f"'{value}' is not a valid IP subnet") from None
    if "/" not in value:
        raise ValueError(f"'{value}' is not a valid IP subnet")
    if str(net) != value and str(net.network_address) != value.split("/")[0]:
        raise ValueError(f"'{value}' isn't a recommended CIDR, '{net}' is recommended")
    return str(net)


def ip_or_cidr(value: Any) -> str:
    """An address or a network (allowed address pairs, remote IP prefixes)."""
    if not isinstance(value, str):
        raise ValueError(f"'{value}' is neither a valid IP address, nor is it a valid IP subnet")
    try:
        if "/" in value:
            return str(ipaddress.ip_network(value, strict=False))
        return str(ipaddress.ip_address(value))
    except ValueError:
        raise ValueError(f"'{value}' is neither a valid IP address, nor is it a valid IP subnet") from None


def mac_address(value: Any) -> str:
    if not isinstance(value, str) or not _MAC.match(value):
        raise ValueError(f"'{value}' is not a valid MAC address")
    mac = value.replace("-", ":").lower()
    if mac == "00:00:00:00:00:00" or int(mac[:2], 16) & 1:
        raise ValueError(f"'{value}' is not a valid MAC address")
    return mac


def list_of(item: Validator, *, max_items: int | None = None, unique: bool = False) -> Validator:
    def check(value: Any) -> list[Any]:
        if not isinstance(value, list):
            raise ValueError(f"'{value}' is not a list")
        if max_items is not None and len(value) > max_items:
            raise ValueError(f"'{value}' exceeds the maximum of {max_items} items")
        out = [item(v) for v in value]
        if unique:
            seen: list[Any] = []
            for v in out:
                if v in seen:
                    raise ValueError(f"Duplicate items in the list: '{v}'")
                seen.append(v)
        return out
    return check


def dict_value(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ValueError(f"'{value}' is not a dictionary")
    return value


def dict_or_none(value: Any) -> dict[str, Any] | None:
    return None if value is None else dict_value(value)


def tags(value: Any) -> list[str]:
    tag = string(255)
    return list_of(tag)(value)
