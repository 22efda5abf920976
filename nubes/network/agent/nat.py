"""A router namespace's nftables ruleset: SNAT, floating IPs (1:1 NAT) and the metadata redirect.

Pure functions; the L3 agent applies the text with one ``nft -f`` inside ``qrouter-<id>``.
Neutron's l3 agent rules, in nftables:

- traffic between the router's internal networks is routed, never NATed;
- a floating IP is DNAT to its fixed address on the way in (also for traffic from the router
  itself and from inside, hairpin) and SNAT from it on the way out;
- with ``enable_snat`` everything else leaving through the gateway device takes the gateway
  address, as does DNATed traffic from inside (so hairpin replies come back through the router);
- HTTP to 169.254.169.254 from an internal interface is redirected to the metadata proxy
  listening on ``METADATA_PORT`` in the namespace, which nobody may reach otherwise.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

TABLE = "nubes-l3"
METADATA_IP = "169.254.169.254"
METADATA_PORT = 9697


@dataclass(frozen=True)
class FloatingIP:
    floating_ip: str
    fixed_ip: str


@dataclass(frozen=True)
class RouterNat:
    gateway_device: str | None          # qg-...
    gateway_ip: str | None              # the gateway port's IPv4 address
    enable_snat: bool
    floating_ips: tuple[FloatingIP, ...] = ()
    metadata: bool = True


def _v4(ip: str | None) -> bool:
    return bool(ip) and ipaddress.ip_address(ip).version == 4  # type: ignore[arg-type]


def ruleset(r: RouterNat) -> str:
    fips = sorted({f for f in r.floating_ips if _v4(f.floating_ip) and _v4(f.fixed_ip)},
                  key=lambda f: f.floating_ip)
    gw, dev = (r.gateway_ip if _v4(r.gateway_ip) else None), r.gateway_device
    pre, out, post, inp = [], [], [], []
    if r.metadata:
        pre.append(f'iifname "qr-*" ip daddr {METADATA_IP} tcp dport 80 redirect to :{METADATA_PORT}')
        inp += [f"tcp dport {METADATA_PORT} ct status dnat accept", f"tcp dport {METADATA_PORT} drop"]
    if dev:
        for f in fips:
            pre.append(f"ip daddr {f.floating_ip} dnat to {f.fixed_ip}")
            out.append(f"ip daddr {f.floating_ip} dnat to {f.fixed_ip}")
        post.append(f'oifname != "{dev}" ct status != dnat accept')
        for f in fips:
            post.append(f"ip saddr {f.fixed_ip} snat to {f.floating_ip}")
        if r.enable_snat and gw:
            post.append(f'oifname "{dev}" snat to {gw}')
            post.append(f'iifname != "{dev}" ct status dnat snat to {gw}')
    lines = [f"table ip {TABLE}", f"delete table ip {TABLE}", f"table ip {TABLE} {{"]
    for name, hook, kind, priority, rules in (
            ("prerouting", "prerouting", "nat", "dstnat", pre), ("output", "output", "nat", "-100", out),
            ("postrouting", "postrouting", "nat", "srcnat", post), ("input", "input", "filter", "filter", inp)):
        lines += [f"\tchain {name} {{", f"\t\ttype {kind} hook {hook} priority {priority}; policy accept;"]
        lines += [f"\t\t{rule}" for rule in rules]
        lines.append("\t}")
    lines.append("}")
    return "\n".join(lines) + "\n"
