"""A private network routed to an external one (where floating IPs come from), made through the
real CLI, and helpers to read a server's floating addresses."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from tests.functional.compute.conftest import unique


@dataclass
class Routed:
    network_id: str
    network_name: str
    external_id: str
    external_name: str
    router_id: str


def make_routed(cloud: Any, cidr: str, public_cidr: str) -> Routed:
    osc = cloud.osc
    ext = osc("network", "create", "--external", "--share", unique("public"))
    osc("subnet", "create", "--network", ext["id"], "--subnet-range", public_cidr, "--no-dhcp", unique("public-sub"))
    net = osc("network", "create", "--share", unique("private"))
    sub = osc("subnet", "create", "--network", net["id"], "--subnet-range", cidr, unique("private-sub"))
    router = osc("router", "create", unique("router"))
    osc("router", "set", "--external-gateway", ext["id"], router["id"], json_out=False)
    osc("router", "add", "subnet", router["id"], sub["id"], json_out=False)
    return Routed(net["id"], net["name"], ext["id"], ext["name"], router["id"])


def remove_routed(cloud: Any, routed: Routed) -> None:
    """Take the routed networks away again, so that later modules sharing the cloud see no external
    network (openstacksdk's create_server adds a floating IP by default wherever there is one)."""
    osc = cloud.osc
    for fip in osc("floating ip", "list", "--network", routed.external_id):
        osc("floating ip", "delete", fip["ID"], json_out=False)
    for port in osc("port", "list", "--network", routed.network_id, "--long"):
        if not str(port.get("Device Owner") or "").startswith("network:"):
            osc("port", "delete", port["ID"], json_out=False)
    for sub in osc("subnet", "list", "--network", routed.network_id):
        osc("router", "remove", "subnet", routed.router_id, sub["ID"], json_out=False)
    osc("router", "delete", routed.router_id, json_out=False)
    osc("network", "delete", routed.network_id, json_out=False)
    osc("network", "delete", routed.external_id, json_out=False)


def floating_of(server: dict[str, Any]) -> list[dict[str, Any]]:
    return [a for addrs in server["addresses"].values() for a in addrs if a["OS-EXT-IPS:type"] == "floating"]


def wait_addresses(api: Any, sid: str, wanted: list[str], timeout: float = 30) -> dict[str, Any]:
    """The server once its floating addresses are ``wanted``."""
    deadline = time.monotonic() + timeout
    server: dict[str, Any] = {}
    while time.monotonic() < deadline:
        server = api("GET", f"/servers/{sid}").json()["server"]
        if sorted(a["addr"] for a in floating_of(server)) == sorted(wanted):
            return server
        time.sleep(0.2)
    raise AssertionError(f"server {sid} shows floating IPs {floating_of(server)}, not {wanted}")
