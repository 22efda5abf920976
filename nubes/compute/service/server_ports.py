"""A server's ports through the network API (service token): create or bind them for a build,
describe them as the instance's network info, and remove them at delete — ports the user
passed in are only unbound, as Nova does. Used by agents and the conductor; no database."""

from __future__ import annotations

import ipaddress
import logging
from typing import Any

from nubes.core.exceptions import ServiceUnavailable

LOG = logging.getLogger(__name__)


class PortError(Exception):
    """The network service refused a port: ``retryable`` when another host may do better."""

    def __init__(self, message: str, retryable: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.retryable = retryable


def _neutron_message(r: Any) -> str:
    try:
        return r.json()["NeutronError"]["message"]
    except (ValueError, KeyError, TypeError):
        return r.text[:200]


async def plug(clients: Any, instance: dict[str, Any], host: str) -> tuple[list[dict[str, Any]], list[str]]:
    """Create (or bind) the instance's ports on ``host``; returns (network_info, created port ids).

    On failure the ports made so far are removed again and PortError is raised."""
    owner = f"compute:{instance.get('availability_zone') or 'nova'}"
    made: list[str] = []
    bound: list[str] = []
    vifs = []
    try:
        for net in instance.get("requested_networks") or []:
            binding = {"device_id": instance["id"], "device_owner": owner, "binding:host_id": host}
            if net.get("port_id"):
                r = await clients.request("network", "PUT", f"/v2.0/ports/{net['port_id']}", json={"port": binding})
                if r.status_code != 200:
                    raise PortError(f"Binding port {net['port_id']} failed: {_neutron_message(r)}")
                bound.append(net["port_id"])
            else:
                body: dict[str, Any] = {"network_id": net["network_id"], "project_id": instance["project_id"],
                                        "name": "", **binding}
                if instance.get("security_group_ids"):
                    body["security_groups"] = instance["security_group_ids"]
                if net.get("fixed_ip"):
                    body["fixed_ips"] = [{"ip_address": net["fixed_ip"]}]
                r = await clients.request("network", "POST", "/v2.0/ports", json={"port": body})
                if r.status_code != 201:
                    retry = r.status_code == 409 and not net.get("fixed_ip")
                    raise PortError(f"Creating a port on network {net['network_id']} failed: "
                                    f"{_neutron_message(r)}", retryable=retry)
                made.append(r.json()["port"]["id"])
            port = r.json()["port"]
            # a port made just now has no floating IP yet; the user's own may have one
            floating = (await floating_ips(clients, [port["id"]])).get(port["id"], []) if net.get("port_id") else []
            vifs.append(await vif(clients, port, preserve=bool(net.get("port_id")), tag=net.get("tag"),
                                  floating=floating))
    except (PortError, ServiceUnavailable):
        await unplug(clients, instance["id"], keep=bound, only=made + bound)
        raise
    return vifs, made


async def _network_name(clients: Any, network_id: str) -> str:
    r = await clients.request("network", "GET", f"/v2.0/networks/{network_id}")
    if r.status_code != 200:
        return network_id
    return r.json()["network"].get("name") or network_id


async def floating_ips(clients: Any, port_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    """The floating IPs associated with each of ``port_ids`` (service token), as Neutron lists them.

    A network service that cannot answer leaves the ports without floating IPs (logged): the
    next network-changed event refreshes them."""
    if not port_ids:
        return {}
    query = "&".join(f"port_id={pid}" for pid in port_ids)
    try:
        r = await clients.request("network", "GET", f"/v2.0/floatingips?{query}")
    except ServiceUnavailable as e:
        LOG.warning("listing the floating IPs of ports %s: %s", port_ids, e)
        return {}
    if r.status_code != 200:
        LOG.warning("listing the floating IPs of ports %s: the network service answered %s", port_ids,
                    r.status_code)
        return {}
    out: dict[str, list[dict[str, Any]]] = {}
    for fip in r.json().get("floatingips", []):
        if fip.get("port_id"):
            out.setdefault(fip["port_id"], []).append(fip)
    return out


def fixed_ips(port: dict[str, Any], floating: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A port's fixed IPs as network info, each with the floating IPs NATed to it (Nova's cache)."""
    ips = []
    for ip in port.get("fixed_ips", []):
        addr = ip["ip_address"]
        fips = [{"address": f["floating_ip_address"], "type": "floating",
                 "version": ipaddress.ip_address(f["floating_ip_address"]).version, "id": f.get("id")}
                for f in floating if f.get("fixed_ip_address") == addr and f.get("floating_ip_address")]
        ips.append({"ip_address": addr, "subnet_id": ip.get("subnet_id"), "address": addr,
                    "version": ipaddress.ip_address(addr).version, "type": "fixed", "floating_ips": fips})
    return ips


async def vif(clients: Any, port: dict[str, Any], *, preserve: bool, tag: str | None = None,
              floating: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """A port as the instance's network info: the port's own fields and Nova's names for them."""
    ips = fixed_ips(port, floating or [])
    return {"id": port["id"], "address": port.get("mac_address"), "mac_address": port.get("mac_address"),
            "network_id": port["network_id"], "network_name": await _network_name(clients, port["network_id"]),
            "fixed_ips": ips, "device_owner": port.get("device_owner"),
            "security_groups": port.get("security_groups", []), "preserve_on_delete": preserve, "tag": tag,
            "binding:host_id": port.get("binding:host_id")}


async def unplug(clients: Any, instance_id: str, *, keep: list[str], only: list[str] | None = None) -> None:
    """Delete the instance's ports (those in ``only`` when given), unbinding those in ``keep``."""
    r = await clients.request("network", "GET", f"/v2.0/ports?device_id={instance_id}")
    ports = [p["id"] for p in r.json().get("ports", [])] if r.status_code == 200 else []
    for pid in list(dict.fromkeys([*ports, *(only or [])])):
        if only is not None and pid not in only:
            continue
        if pid in keep:
            r = await clients.request("network", "PUT", f"/v2.0/ports/{pid}", json={"port": {
                "device_id": "", "device_owner": "", "binding:host_id": None}})
        else:
            r = await clients.request("network", "DELETE", f"/v2.0/ports/{pid}")
        if r.status_code not in (200, 204, 404):
            LOG.warning("cleaning port %s of %s: the network service answered %s", pid, instance_id,
                        r.status_code)


async def unplug_from_host(clients: Any, instance: dict[str, Any], host: str) -> None:
    """Remove the instance's ports bound to ``host`` (a build there that will not finish), unbinding
    the user's own; ports bound elsewhere (a build that took over) stay."""
    r = await clients.request("network", "GET", f"/v2.0/ports?device_id={instance['id']}")
    if r.status_code != 200:
        raise ServiceUnavailable(f"The network service answered {r.status_code} listing the ports of "
                                 f"{instance['id']}.")
    here = [p["id"] for p in r.json().get("ports", []) if p.get("binding:host_id") == host]
    if here:
        await unplug(clients, instance["id"], keep=preserved(instance), only=here)


def preserved(instance: dict[str, Any]) -> list[str]:
    """Ports the user passed in (kept, unbound, at delete)."""
    ports = [n["port_id"] for n in instance.get("requested_networks") or [] if n.get("port_id")]
    ports += [v["id"] for v in instance.get("network_info") or [] if v.get("preserve_on_delete")]
    return sorted(set(ports))
