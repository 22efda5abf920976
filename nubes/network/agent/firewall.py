"""Security groups as one nftables ruleset: pure functions from a host's ports and groups to text.

Neutron's iptables firewall (``iptables_firewall.py``), expressed in nftables and applied by the
L2 agent with one ``nft -f`` per change (``ruleset()`` returns the whole text, tables deleted and
made again in the same transaction, so the kernel never sees half a ruleset).

Why two tables. Instance traffic is *bridged*, and this kernel has no conntrack for the bridge
family (``CONFIG_NF_CONNTRACK_BRIDGE`` is off: ``ct`` expressions in a ``bridge`` table fail with
"Protocol error"). Stateful filtering of bridged traffic therefore goes through br_netfilter
(``net.bridge.bridge-nf-call-iptables/ip6tables = 1``), which runs the IPv4/IPv6 hooks, and so
an ``inet`` table with conntrack, for frames crossing a bridge. But in those hooks the input and
output device is the bridge, not the port (nftables has no ``physdev`` match). So:

- ``table bridge nubes-l2`` sees the ports: at prerouting it drops what an instance may not send
  (another MAC, ARP or IP from an address that is not the port's or one of its allowed address
  pairs) and marks the frame with the sending port's index (mark bits 0-15); at forward (before
  br_netfilter) it adds the receiving port's index (bits 16-31). Devices named ``tap*`` that are
  not ports of this host get nothing through (drop) until their rules exist.
- ``table inet nubes-l2`` does the stateful part: a conntrack zone per bridge (network), so
  overlapping addresses of two networks never share a connection; per port an egress chain
  (from the mark's low half) and an ingress chain (high half) with Neutron's fixed rules (DHCP
  client allowed, DHCP and RA servers refused, ICMPv6 neighbour discovery), established/related
  allowed, the groups' rules, invalid and everything else dropped. Remote groups are named sets
  (``rg4-<group>``/``rg6-<group>``) holding the members' addresses.

Ports of the network itself (``network:*`` owners: DHCP, routers) and ports with port security
off are not filtered. Groups marked ``stateful: false`` are filtered statefully like the others
(Neutron would use notrack): that difference is documented in docs/network.md.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any

TABLE = "nubes-l2"
MAX_PORTS = 0xFFFF
PORT_PROTOCOLS = {"tcp": 6, "udp": 17, "dccp": 33, "sctp": 132, "udplite": 136}
NAMED_L4 = {6: "tcp", 17: "udp", 33: "dccp", 132: "sctp"}
PROTOCOL_NUMBERS = {
    "ah": 51, "dccp": 33, "egp": 8, "esp": 50, "gre": 47, "hopopt": 0, "icmp": 1, "igmp": 2, "ip": 0,
    "ipip": 4, "ipv6-encap": 41, "ipv6-frag": 44, "ipv6-icmp": 58, "icmpv6": 58, "ipv6-nonxt": 59,
    "ipv6-opts": 60, "ipv6-route": 43, "ospf": 89, "pgm": 113, "rsvp": 46, "sctp": 132, "tcp": 6,
    "udp": 17, "udplite": 136, "vrrp": 112,
}
# Neutron's ICMPV6_ALLOWED_INGRESS_TYPES (MLD query, RA, NS, NA) and the types allowed from the
# unspecified address for duplicate address detection (MLD report, NS, MLDv2 report).
ICMPV6_INGRESS = "{ 130, 134, 135, 136 }"
ICMPV6_FROM_UNSPECIFIED = "{ 131, 135, 143 }"


def device_name(port_id: str) -> str:
    """The host-side device of a port: Neutron's ``tap`` + the first 11 characters of its id."""
    return "tap" + port_id[:11]


def bridge_name(network_id: str) -> str:
    return "brq" + network_id[:11]


def conntrack_zone(network_id: str) -> int:
    """A stable zone per network (1..65000) from its id, the same after every restart."""
    digits = "".join(c for c in network_id.lower() if c in "0123456789abcdef") or "0"
    return 1 + int(digits[:12], 16) % 65000


def is_filtered(port: dict[str, Any]) -> bool:
    owner = port.get("device_owner") or ""
    return bool(port.get("port_security_enabled", True)) and not owner.startswith(("network:", "neutron:"))


def link_local(mac: str) -> str:
    """The EUI-64 IPv6 link-local address of a MAC."""
    octets = [int(x, 16) for x in mac.split(":")]
    octets[0] ^= 0x02
    eui = octets[:3] + [0xFF, 0xFE] + octets[3:]
    return str(ipaddress.IPv6Address(bytes([0xFE, 0x80] + [0] * 6 + eui)))


@dataclass
class PortAddresses:
    """What a port may send from: (MAC, IPv4 networks) and (MAC, IPv6 networks) pairs."""

    macs: list[str]
    v4: dict[str, list[str]] = field(default_factory=dict)
    v6: dict[str, list[str]] = field(default_factory=dict)
    any_ip: set[str] = field(default_factory=set)      # MACs allowed any address (no fixed IPs)


def _collapse(values: list[str]) -> list[str]:
    nets = [ipaddress.ip_network(v, strict=False) for v in values]
    out: list[str] = []
    for version in (4, 6):
        same = [n for n in nets if n.version == version]
        out += [str(n.network_address) if n.prefixlen == n.max_prefixlen else str(n)
                for n in ipaddress.collapse_addresses(same)]  # type: ignore[arg-type]
    return out


def port_addresses(port: dict[str, Any]) -> PortAddresses:
    mac = port["mac_address"].lower()
    pairs: list[tuple[str, str]] = [((p.get("mac_address") or mac).lower(), p["ip_address"])
                                    for p in port.get("allowed_address_pairs") or []]
    pairs += [(mac, ip["ip_address"]) for ip in port.get("fixed_ips") or []]
    out = PortAddresses(macs=sorted({mac, *(m for m, _ in pairs)}))
    for m, ip in pairs:
        net = ipaddress.ip_network(ip, strict=False)
        table = out.v4 if net.version == 4 else out.v6
        table.setdefault(m, []).append(str(net))
        if net.version == 6:
            out.v6.setdefault(m, []).append(link_local(m))
    if not port.get("fixed_ips"):
        out.any_ip.add(mac)
    for table in (out.v4, out.v6):
        for m in table:
            table[m] = _collapse(table[m])
    return out


def _set(values: list[str]) -> str:
    return "{ " + ", ".join(values) + " }"


# -- security group rules -> nftables matches ---------------------------------------------------
def _protocol_number(protocol: str | None, ethertype: str) -> int | None:
    if protocol is None:
        return None
    number = PROTOCOL_NUMBERS[protocol] if protocol in PROTOCOL_NUMBERS else int(protocol)
    if ethertype == "IPv6" and number == 1:
        number = 58          # Neutron's legacy "icmp" on IPv6 rules is ICMPv6
    return None if number == 0 else number


def _ports(low: int | None, high: int | None) -> str | None:
    if low is None:
        return None
    high = low if high is None else high
    return str(low) if low == high else f"{low}-{high}"


def rule_match(rule: dict[str, Any], direction: str) -> str | None:
    """The nftables match of one rule for traffic of ``direction`` (None: matches nothing here)."""
    v6 = rule.get("ethertype") == "IPv6"
    fam, addr = ("ip6" if v6 else "ip"), ("saddr" if direction == "ingress" else "daddr")
    parts = ["meta nfproto ipv6" if v6 else "meta nfproto ipv4"]
    prefix = rule.get("remote_ip_prefix")
    if prefix:
        net = ipaddress.ip_network(prefix, strict=False)
        if net.version != (6 if v6 else 4):
            return None
        if net.prefixlen:
            parts.append(f"{fam} {addr} {net}")
    group = rule.get("remote_group_id")
    if group:
        parts.append(f"{fam} {addr} @{set_name(group, 6 if v6 else 4)}")
    number = _protocol_number(rule.get("protocol"), rule.get("ethertype", "IPv4"))
    low, high = rule.get("port_range_min"), rule.get("port_range_max")
    if number in (1, 58):
        icmp = "icmpv6" if number == 58 else "icmp"
        if low is not None:
            parts.append(f"{icmp} type {low}")
            if high is not None:
                parts.append(f"{icmp} code {high}")
        else:
            parts.append(f"meta l4proto {number}")
    elif number is not None:
        ports = _ports(low, high)
        if ports and number in NAMED_L4:
            parts.append(f"{NAMED_L4[number]} dport {ports}")
        elif ports:
            parts.append(f"meta l4proto {number} th dport {ports}")
        else:
            parts.append(f"meta l4proto {number}")
    return " ".join(parts)


def set_name(group_id: str, version: int) -> str:
    return f"rg{version}-{group_id}"


def port_rules(port: dict[str, Any], groups: dict[str, Any], direction: str) -> list[str]:
    """The group rules of one port and direction as nftables matches, deduplicated, in a stable order."""
    seen: dict[str, None] = {}
    for gid in sorted(port.get("security_groups") or []):
        group = groups.get(gid)
        if group is None:
            continue
        for rule in sorted(group.get("rules") or [], key=lambda r: r.get("id") or ""):
            if rule.get("direction") != direction:
                continue
            match = rule_match(rule, direction)
            if match is not None:
                seen.setdefault(match, None)
    return list(seen)


# -- the bridge table: anti-spoofing and port marks ---------------------------------------------
def _spoof_chains(dev: str, addrs: PortAddresses) -> list[str]:
    lines = [f"\tchain arp-{dev} {{"]
    for mac in addrs.macs:
        if mac in addrs.any_ip:
            lines.append(f"\t\tarp saddr ether {mac} return")
        elif addrs.v4.get(mac):
            lines.append(f"\t\tarp saddr ether {mac} arp saddr ip {_set(['0.0.0.0', *addrs.v4[mac]])} return")
    lines += ["\t\tdrop", "\t}", f"\tchain ip4-{dev} {{",
              "\t\tip saddr 0.0.0.0 ip daddr 255.255.255.255 udp sport 68 udp dport 67 return"]
    for mac in addrs.macs:
        if mac in addrs.any_ip:
            lines.append(f"\t\tether saddr {mac} return")
        elif addrs.v4.get(mac):
            lines.append(f"\t\tether saddr {mac} ip saddr {_set(addrs.v4[mac])} return")
    lines += ["\t\tdrop", "\t}", f"\tchain ip6-{dev} {{",
              f"\t\tip6 saddr :: ip6 daddr ff02::/16 icmpv6 type {ICMPV6_FROM_UNSPECIFIED} return"]
    for mac in addrs.macs:
        if mac in addrs.any_ip:
            lines.append(f"\t\tether saddr {mac} return")
        else:
            lines.append(f"\t\tether saddr {mac} ip6 saddr {_set(_collapse([link_local(mac), *addrs.v6.get(mac, [])]))}"
                         " return")
    lines += ["\t\tdrop", "\t}"]
    return lines


def _bridge_table(filtered: list[tuple[int, dict[str, Any]]], unfiltered: list[str]) -> list[str]:
    from_map = [f'"{device_name(p["id"])}" : goto from-{device_name(p["id"])}' for _, p in filtered]
    to_map = [f'"{device_name(p["id"])}" : goto to-{device_name(p["id"])}' for _, p in filtered]
    from_map += [f'"{dev}" : accept' for dev in unfiltered]
    to_map += [f'"{dev}" : accept' for dev in unfiltered]
    lines = [f"table bridge {TABLE} {{",
             "\tchain prerouting {", "\t\ttype filter hook prerouting priority -300; policy accept;"]
    if from_map:
        lines.append(f"\t\tiifname vmap {_set(from_map)}")
    lines += ['\t\tiifname "tap*" drop', "\t}",
              "\tchain forward {", "\t\ttype filter hook forward priority -300; policy accept;"]
    if to_map:
        lines.append(f"\t\toifname vmap {_set(to_map)}")
    lines += ['\t\toifname "tap*" drop', "\t}"]
    for index, port in filtered:
        dev, addrs = device_name(port["id"]), port_addresses(port)
        lines += _spoof_chains(dev, addrs)
        lines += [f"\tchain from-{dev} {{", f"\t\tether saddr != {_set(addrs.macs)} drop",
                  f"\t\tether type arp jump arp-{dev}", f"\t\tether type ip jump ip4-{dev}",
                  f"\t\tether type ip6 jump ip6-{dev}", f"\t\tmeta mark set 0x{index:08x}", "\t\taccept", "\t}",
                  f"\tchain to-{dev} {{", f"\t\tmeta mark set meta mark and 0x0000ffff or 0x{index << 16:08x}",
                  "\t\taccept", "\t}"]
    lines.append("}")
    return lines


# -- the inet table: conntrack zones and the stateful per-port chains ----------------------------
def _egress_chain(dev: str, rules: list[str]) -> list[str]:
    lines = [f"\tchain egress-{dev} {{",
             "\t\tmeta nfproto ipv4 udp sport 68 udp dport 67 return",
             "\t\tmeta nfproto ipv4 udp sport 67 udp dport 68 drop",
             "\t\ticmpv6 type 134 drop",
             "\t\tmeta nfproto ipv6 meta l4proto 58 return",
             "\t\tmeta nfproto ipv6 udp sport 546 udp dport 547 return",
             "\t\tmeta nfproto ipv6 udp sport 547 udp dport 546 drop",
             "\t\tct state established,related return"]
    lines += [f"\t\t{r} return" for r in rules]
    lines += ["\t\tct state invalid drop", "\t\tdrop", "\t}"]
    return lines


def _ingress_chain(dev: str, rules: list[str]) -> list[str]:
    lines = [f"\tchain ingress-{dev} {{",
             f"\t\ticmpv6 type {ICMPV6_INGRESS} return",
             "\t\tmeta nfproto ipv4 udp sport 67 udp dport 68 return",
             "\t\tmeta nfproto ipv6 udp sport 547 udp dport 546 return",
             "\t\tct state established,related return"]
    lines += [f"\t\t{r} return" for r in rules]
    lines += ["\t\tct state invalid drop", "\t\tdrop", "\t}"]
    return lines


def _inet_table(filtered: list[tuple[int, dict[str, Any]]], networks: list[str], groups: dict[str, Any],
                members: dict[str, list[str]]) -> list[str]:
    lines = [f"table inet {TABLE} {{"]
    used = sorted({g for _, p in filtered for gid in p.get("security_groups") or []
                   for r in (groups.get(gid) or {}).get("rules") or [] if (g := r.get("remote_group_id"))})
    for gid in used:
        addrs = members.get(gid) or []
        for version, kind in ((4, "ipv4_addr"), (6, "ipv6_addr")):
            mine = _collapse([a for a in addrs if ipaddress.ip_address(a.split("/")[0]).version == version])
            body = f"\t\ttype {kind}; flags interval;" + (f" elements = {_set(mine)}" if mine else "")
            lines += [f"\tset {set_name(gid, version)} {{", body, "\t}"]
    zones = [f'"{bridge_name(n)}" : {conntrack_zone(n)}' for n in sorted(set(networks))]
    lines += ["\tchain prerouting {", "\t\ttype filter hook prerouting priority raw; policy accept;"]
    if zones:
        lines.append(f"\t\tct zone set iifname map {_set(zones)}")
    lines += ["\t}"]
    egress = [f"0x{i:08x} : jump egress-{device_name(p['id'])}" for i, p in filtered]
    ingress = [f"0x{i << 16:08x} : jump ingress-{device_name(p['id'])}" for i, p in filtered]
    for hook in ("forward", "input"):
        lines += [f"\tchain {hook} {{", f"\t\ttype filter hook {hook} priority filter; policy accept;"]
        if egress:
            lines.append(f"\t\tmeta mark and 0x0000ffff vmap {_set(egress)}")
        if ingress and hook == "forward":
            lines.append(f"\t\tmeta mark and 0xffff0000 vmap {_set(ingress)}")
        lines.append("\t}")
    for _, port in filtered:
        dev = device_name(port["id"])
        lines += _egress_chain(dev, port_rules(port, groups, "egress"))
        lines += _ingress_chain(dev, port_rules(port, groups, "ingress"))
    lines.append("}")
    return lines


@dataclass
class Ruleset:
    text: str
    filtered: list[str]          # port ids with rules
    unfiltered: list[str]        # port ids let through unfiltered (trusted or port security off)
    rejected: dict[str, str]     # port id -> why it could not be expressed (it gets no traffic)


def ruleset(ports: list[dict[str, Any]], networks: list[str], groups: dict[str, Any],
            members: dict[str, list[str]]) -> Ruleset:
    """The whole nftables text for a host: its ports, the networks they are on, their groups."""
    filtered: list[tuple[int, dict[str, Any]]] = []
    unfiltered: list[str] = []
    rejected: dict[str, str] = {}
    for port in sorted(ports, key=lambda p: p["id"]):
        if not is_filtered(port):
            unfiltered.append(port["id"])
            continue
        try:
            port_addresses(port)
            for direction in ("ingress", "egress"):
                port_rules(port, groups, direction)
        except (ValueError, KeyError, TypeError) as exc:
            rejected[port["id"]] = f"{type(exc).__name__}: {exc}"
            continue
        if len(filtered) >= MAX_PORTS:
            rejected[port["id"]] = f"more than {MAX_PORTS} filtered ports on one host"
            continue
        filtered.append((len(filtered) + 1, port))
    open_devs = [device_name(pid) for pid in unfiltered]
    text = [f"table bridge {TABLE}", f"delete table bridge {TABLE}",
            *_bridge_table(filtered, open_devs),
            f"table inet {TABLE}", f"delete table inet {TABLE}",
            *_inet_table(filtered, networks, groups, members)]
    return Ruleset("\n".join(text) + "\n", [p["id"] for _, p in filtered], unfiltered, rejected)


def removal() -> str:
    """The text that removes the agent's tables (nothing else)."""
    return (f"table bridge {TABLE}\ndelete table bridge {TABLE}\n"
            f"table inet {TABLE}\ndelete table inet {TABLE}\n")
