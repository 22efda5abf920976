"""dnsmasq's configuration for one network: pure functions from the network's state to files and arguments.

Neutron's ``Dnsmasq`` driver, same files and formats: static leases only (``--dhcp-range=...,static``,
one line per port address in the hosts file: ``mac,fqdn,ip``, with ``set:<port-id>`` when the port
has extra DHCP options), host names ``host-<ip with dashes>`` in ``dns_domain``, an options file
per subnet tag (router, DNS servers — the subnet's, or the DHCP port's addresses when it names
none —, classless static routes with the host routes, the other subnets of the network on-link,
the metadata address via the DHCP port on an isolated subnet or via the gateway on a routed one,
and the default route when there are any), the MTU, and an initial lease file so a restarted
dnsmasq keeps honouring leases it gave. IPv6 subnets get ``static`` ranges for DHCPv6
(stateful or stateless); SLAAC subnets get nothing here (their router advertises them).
"""

from __future__ import annotations

import ipaddress
import time
from dataclasses import dataclass
from typing import Any

METADATA_IP = "169.254.169.254"
WIN2K3_STATIC_ROUTES = "249"
ROUTER_INTERFACE_OWNERS = ("network:router_interface", "network:router_interface_distributed",
                           "network:ha_router_replicated_interface")
CLIENT_ID = "client-id"


@dataclass(frozen=True)
class DhcpSettings:
    lease_duration: int = 86400            # seconds; -1 is infinite
    dns_domain: str = "openstacklocal"
    dns_servers: tuple[str, ...] = ()       # upstream resolvers for dnsmasq itself
    isolated_metadata: bool = True
    lease_max: int = 16777216


@dataclass(frozen=True)
class DnsmasqFiles:
    directory: str
    interface: str

    def path(self, name: str) -> str:
        return f"{self.directory}/{name}"


@dataclass
class DnsmasqConfig:
    args: list[str]
    hosts: str
    addn_hosts: str
    opts: str
    leases: str


def hostname(ip: str) -> str:
    return "host-" + ip.replace(".", "-").replace(":", "-")


def _addr(ip: str) -> str:
    return f"[{ip}]" if ":" in ip else ip


def dhcp_subnets(subnets: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The subnets dnsmasq serves, in a stable order (their tags are their positions)."""
    return sorted((s for s in subnets if s.get("enable_dhcp")), key=lambda s: (s["ip_version"], s["cidr"], s["id"]))


def _mode(subnet: dict[str, Any]) -> str | None:
    if subnet["ip_version"] == 4:
        return "static"
    addr_mode, ra_mode = subnet.get("ipv6_address_mode"), subnet.get("ipv6_ra_mode")
    if addr_mode in ("dhcpv6-stateful", "dhcpv6-stateless") or (not addr_mode and not ra_mode):
        return "static"
    return None


def isolated_subnets(subnets: list[dict[str, Any]], ports: list[dict[str, Any]]) -> set[str]:
    """Subnets with no router interface holding their gateway address (Neutron's rule)."""
    routed = {(ip["subnet_id"], ip["ip_address"]) for p in ports if p.get("device_owner") in ROUTER_INTERFACE_OWNERS
              for ip in p.get("fixed_ips") or []}
    return {s["id"] for s in subnets if not s.get("gateway_ip") or (s["id"], s["gateway_ip"]) not in routed}


def _option(version: int, tag: str, name: str, *values: str) -> str:
    if not name.isdigit():
        name = f"option:{name}" if version == 4 else f"option6:{name}"
    return ",".join([f"tag:{tag}", name, *values])


def _host_entries(subnets: list[dict[str, Any]], ports: list[dict[str, Any]],
                  domain: str) -> list[tuple[dict[str, Any], str, str, str, bool]]:
    """(port, ip, hostname, fqdn, gets a lease) per port address on a served subnet."""
    by_id = {s["id"]: s for s in subnets}
    out = []
    for port in sorted(ports, key=lambda p: p["id"]):
        for ip in port.get("fixed_ips") or []:
            subnet = by_id.get(ip["subnet_id"])
            if subnet is None:
                continue
            lease = subnet["ip_version"] == 4 or subnet.get("ipv6_address_mode") not in ("slaac", "dhcpv6-stateless")
            name = hostname(ip["ip_address"])
            out.append((port, ip["ip_address"], name, f"{name}.{domain}" if domain else name, lease))
    return out


def hosts_file(subnets: list[dict[str, Any]], ports: list[dict[str, Any]], domain: str) -> str:
    lines = []
    for port, ip, _name, fqdn, lease in _host_entries(subnets, ports, domain):
        mac, opts = port["mac_address"], port.get("extra_dhcp_opts") or []
        tag = f",set:port-{port['id']}" if any(o["opt_name"] != CLIENT_ID for o in opts) else ""
        client = next((o["opt_value"] for o in opts if o["opt_name"] == CLIENT_ID), None)
        ident = f",id:{client}" if client else ""
        if lease:
            lines.append(f"{mac}{ident},{fqdn},{_addr(ip)}{tag}")
        elif tag:
            lines.append(f"{mac}{tag}")
    return "".join(line + "\n" for line in lines)


def addn_hosts_file(subnets: list[dict[str, Any]], ports: list[dict[str, Any]], domain: str) -> str:
    return "".join(f"{ip}\t{fqdn} {name}\n" for _p, ip, name, fqdn, _l in _host_entries(subnets, ports, domain))


def leases_file(subnets: list[dict[str, Any]], ports: list[dict[str, Any]], duration: int, now: float) -> str:
    expiry = 0 if duration == -1 else int(now) + duration
    return "".join(f"{expiry} {p['mac_address']} {_addr(ip)} * *\n"
                   for p, ip, _n, _f, lease in _host_entries(subnets, ports, "") if lease)


def _subnet_options(i: int, subnet: dict[str, Any], served: list[dict[str, Any]], dhcp_ips: dict[str, str],
                    isolated: set[str], settings: DhcpSettings) -> list[str]:
    version, tag = subnet["ip_version"], f"subnet{i}"
    if version == 6 and subnet.get("ipv6_address_mode") == "slaac":
        return []
    opts = []
    dns = subnet.get("dns_nameservers") or ([dhcp_ips[subnet["id"]]] if subnet["id"] in dhcp_ips else [])
    if dns:
        opts.append(_option(version, tag, "dns-server", *(_addr(d) if version == 6 else d for d in dns)))
    if version == 6:
        if settings.dns_domain:
            opts.append(_option(6, tag, "domain-search", settings.dns_domain))
        return opts
    gateway, routes = subnet.get("gateway_ip"), []
    for route in subnet.get("host_routes") or []:
        if route["destination"] == "0.0.0.0/0":
            gateway = gateway or route["nexthop"]
        else:
            routes.append(f"{route['destination']},{route['nexthop']}")
    if subnet["id"] in isolated and settings.isolated_metadata and subnet["id"] in dhcp_ips:
        routes.append(f"{METADATA_IP}/32,{dhcp_ips[subnet['id']]}")
    elif subnet["id"] not in isolated and gateway:
        routes.append(f"{METADATA_IP}/32,{gateway}")
    routes += [f"{s['cidr']},0.0.0.0" for s in served if s["ip_version"] == 4 and s["cidr"] != subnet["cidr"]]
    if routes:
        if gateway:
            routes.append(f"0.0.0.0/0,{gateway}")
        opts.append(_option(4, tag, "classless-static-route", *routes))
        opts.append(_option(4, tag, WIN2K3_STATIC_ROUTES, *routes))
    opts.append(_option(4, tag, "router", gateway) if gateway else _option(4, tag, "router"))
    return opts


def opts_file(subnets: list[dict[str, Any]], ports: list[dict[str, Any]], dhcp_port: dict[str, Any],
              isolated: set[str], settings: DhcpSettings) -> str:
    served = dhcp_subnets(subnets)
    dhcp_ips = {ip["subnet_id"]: ip["ip_address"] for ip in dhcp_port.get("fixed_ips") or []}
    lines: list[str] = []
    for i, subnet in enumerate(served):
        lines += _subnet_options(i, subnet, served, dhcp_ips, isolated, settings)
    for port in sorted(ports, key=lambda p: p["id"]):
        versions = {ipaddress.ip_address(ip["ip_address"]).version for ip in port.get("fixed_ips") or []}
        for opt in port.get("extra_dhcp_opts") or []:
            if opt["opt_name"] == CLIENT_ID or opt.get("ip_version", 4) not in versions:
                continue
            lines.append(_option(opt.get("ip_version", 4), f"port-{port['id']}", opt["opt_name"], opt["opt_value"]))
    return "".join(line + "\n" for line in lines)


def command(network: dict[str, Any], subnets: list[dict[str, Any]], files: DnsmasqFiles,
            settings: DhcpSettings) -> list[str]:
    """dnsmasq's arguments (it daemonizes and writes its pid file)."""
    lease = "infinite" if settings.lease_duration == -1 else f"{settings.lease_duration}s"
    args = ["dnsmasq", "--no-hosts", "--no-resolv", "--strict-order", "--except-interface=lo",
            f"--pid-file={files.path('pid')}", f"--dhcp-hostsfile={files.path('host')}",
            f"--addn-hosts={files.path('addn_hosts')}", f"--dhcp-optsfile={files.path('opts')}",
            f"--dhcp-leasefile={files.path('leases')}", "--dhcp-match=set:ipxe,175",
            "--bind-interfaces", f"--interface={files.interface}"]
    possible = 0
    for i, subnet in enumerate(dhcp_subnets(subnets)):
        mode = _mode(subnet)
        if mode is None:
            continue
        net = ipaddress.ip_network(subnet["cidr"], strict=False)
        if subnet["ip_version"] == 4:
            args.append(f"--dhcp-range=set:subnet{i},{net.network_address},{mode},{net.netmask},{lease}")
        else:
            args.append(f"--dhcp-range=set:subnet{i},{net.network_address},{mode},{net.prefixlen},{lease}")
        possible += net.num_addresses
    if network.get("mtu"):
        args.append(f"--dhcp-option-force=option:mtu,{network['mtu']}")
    args.append(f"--dhcp-lease-max={max(1, min(possible, settings.lease_max))}")
    args.append("--conf-file=/dev/null")
    args += [f"--server={s}" for s in settings.dns_servers]
    if settings.dns_domain:
        args.append(f"--domain={settings.dns_domain}")
    return args


def build(network: dict[str, Any], subnets: list[dict[str, Any]], ports: list[dict[str, Any]],
          dhcp_port: dict[str, Any], files: DnsmasqFiles, settings: DhcpSettings,
          now: float | None = None) -> DnsmasqConfig:
    """Everything dnsmasq needs for ``network`` (``ports`` are all its ports, the DHCP port too)."""
    served = dhcp_subnets(subnets)
    isolated = isolated_subnets(served, ports)
    return DnsmasqConfig(
        args=command(network, served, files, settings),
        hosts=hosts_file(served, ports, settings.dns_domain),
        addn_hosts=addn_hosts_file(served, ports, settings.dns_domain),
        opts=opts_file(served, ports, dhcp_port, isolated, settings),
        leases=leases_file(served, ports, settings.lease_duration, time.time() if now is None else now))


def needs_metadata_address(subnets: list[dict[str, Any]], ports: list[dict[str, Any]], settings: DhcpSettings) -> bool:
    """Whether the DHCP namespace serves metadata (an isolated IPv4 subnet with DHCP)."""
    served = [s for s in dhcp_subnets(subnets) if s["ip_version"] == 4]
    return settings.isolated_metadata and bool(isolated_subnets(served, ports))
