"""Router advertisements on a router's IPv6 subnets: one radvd in each router namespace that has an
interface on a subnet with an ``ipv6_ra_mode``, as Neutron's L3 agent runs it.

Per interface (``qr-<port[:11]>``) the advertisement carries the network's MTU, the subnets'
prefixes -- autonomous (SLAAC) for ``slaac`` and ``dhcpv6-stateless``, on-link only for
``dhcpv6-stateful`` -- the Managed flag when a subnet is ``dhcpv6-stateful``, the Other flag when
one is ``dhcpv6-stateless``, and the subnets' IPv6 DNS servers (RDNSS). Subnets with only an
``ipv6_address_mode`` get nothing from the router (an outside router advertises them, as in
Neutron). A change of configuration is a SIGHUP; a router with nothing to advertise has no radvd.
Without the radvd program the rest of the router works and a warning says why guests get no
SLAAC address.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import os
import shutil
import signal
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nubes.core.concurrency import run_blocking
from nubes.network.agent.linux import commands, netns

LOG = logging.getLogger(__name__)

RA_MODES = ("slaac", "dhcpv6-stateful", "dhcpv6-stateless")
IPV6_MIN_MTU = 1280


@dataclass
class Advertised:
    """What one router interface advertises."""

    device: str
    mtu: int
    autonomous: list[str] = field(default_factory=list)     # prefixes for SLAAC
    on_link: list[str] = field(default_factory=list)        # prefixes whose addresses come from DHCPv6
    managed: bool = False
    other: bool = False
    dns: list[str] = field(default_factory=list)


def advertised(router: dict[str, Any], snap: dict[str, Any]) -> list[Advertised]:
    """The interfaces of ``router`` with something to advertise, from a host-state snapshot."""
    subnets, networks = snap.get("subnets") or {}, snap.get("networks") or {}
    out = []
    for port in sorted(router.get("interfaces") or [], key=lambda p: p["id"]):
        mtu = int((networks.get(port["network_id"]) or {}).get("mtu") or 1500)
        ra = Advertised("qr-" + port["id"][:11], mtu)
        for ip in port.get("fixed_ips") or []:
            subnet = subnets.get(ip["subnet_id"])
            if not subnet or subnet.get("ip_version") != 6 or subnet.get("ipv6_ra_mode") not in RA_MODES:
                continue
            mode, prefix = subnet["ipv6_ra_mode"], str(ipaddress.ip_network(subnet["cidr"], strict=False))
            (ra.on_link if mode == "dhcpv6-stateful" else ra.autonomous).append(prefix)
            ra.managed |= mode == "dhcpv6-stateful"
            ra.other |= mode == "dhcpv6-stateless"
            ra.dns += [d for d in subnet.get("dns_nameservers") or [] if ":" in d and d not in ra.dns]
        if ra.autonomous or ra.on_link:
            out.append(ra)
    return out


def config(interfaces: list[Advertised], min_interval: float, max_interval: float) -> str:
    """radvd.conf for the interfaces (empty when there is nothing to advertise)."""
    lines: list[str] = []
    for ra in interfaces:
        lines += [f"interface {ra.device}", "{", "\tAdvSendAdvert on;",
                  f"\tMinRtrAdvInterval {min_interval:g};", f"\tMaxRtrAdvInterval {max_interval:g};"]
        if ra.mtu >= IPV6_MIN_MTU:
            lines.append(f"\tAdvLinkMTU {ra.mtu};")
        if ra.managed:
            lines.append("\tAdvManagedFlag on;")
        if ra.other:
            lines.append("\tAdvOtherConfigFlag on;")
        if ra.dns:
            lines.append(f"\tRDNSS {' '.join(ra.dns[:3])} {{}};")
        for prefix, autonomous in [*((p, True) for p in ra.autonomous), *((p, False) for p in ra.on_link)]:
            lines += [f"\tprefix {prefix}", "\t{", "\t\tAdvOnLink on;",
                      f"\t\tAdvAutonomous {'on' if autonomous else 'off'};", "\t};"]
        lines += ["};", ""]
    return "\n".join(lines)


def _read(path: Path) -> str | None:
    try:
        return path.read_text()
    except OSError:
        return None


def _cmdline(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")[:-1]
    except OSError:
        return []


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except (OSError, IndexError):
        return False


def _ns_inode(pid: int) -> int | None:
    try:
        return os.stat(f"/proc/{pid}/ns/net").st_ino
    except OSError:
        return None


class RouterAdvertisements:
    """The radvd of each router namespace of one host (files under ``<state>/ra/<router>/``)."""

    def __init__(self, state_path: Path, min_interval: float, max_interval: float) -> None:
        self.dir = state_path / "ra"
        self.min_interval, self.max_interval = min_interval, max_interval
        self._warned = False

    def args(self, router_id: str) -> list[str]:
        d = self.dir / router_id
        return ["radvd", "-C", str(d / "radvd.conf"), "-p", str(d / "pid"), "-m", "logfile", "-l", str(d / "radvd.log")]

    def running(self, router_id: str, ns: str) -> int | None:
        """Our radvd of the router, if one runs (its pid file, command line and namespace)."""
        text = _read(self.dir / router_id / "pid")
        try:
            pid = int((text or "").strip())
        except ValueError:
            return None
        args = _cmdline(pid)
        if not args or not args[0].endswith("radvd") or args[1:] != self.args(router_id)[1:] or not _alive(pid):
            return None
        return pid if _ns_inode(pid) == netns.inode(ns) else None

    async def ensure(self, router_id: str, ns: str, router: dict[str, Any], snap: dict[str, Any]) -> None:
        """radvd advertising what the router's interfaces should, or none when nothing should be."""
        text = config(advertised(router, snap), self.min_interval, self.max_interval)
        if not text:
            if await run_blocking((self.dir / router_id).exists):      # only ours to stop
                await self.stop(router_id, ns)
            return
        if shutil.which("radvd") is None:
            if not self._warned:
                LOG.warning("radvd is not installed (scripts/setup.sh installs it): routers send no IPv6 router "
                            "advertisements, so guests on SLAAC and DHCPv6 subnets get no address from them")
                self._warned = True
            return
        directory = self.dir / router_id
        conf = directory / "radvd.conf"

        def write() -> bool:
            directory.mkdir(parents=True, exist_ok=True)
            if _read(conf) == text:
                return False
            tmp = conf.with_name("radvd.conf.tmp")
            tmp.write_text(text)
            os.chmod(tmp, 0o644)        # radvd refuses a configuration others may write
            os.replace(tmp, conf)
            return True

        changed = await run_blocking(write)
        pid = await run_blocking(self.running, router_id, ns)
        if pid is not None:
            if changed:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGHUP)
                LOG.debug("radvd of router %s reloaded", router_id)
            return
        res = await commands.run(self.args(router_id), netns=ns, timeout=15, check=False)
        if res.code != 0:
            log = await run_blocking(_read, directory / "radvd.log")
            raise commands.CommandFailed(self.args(router_id), res.code, res.stderr or log or "")
        LOG.info("radvd advertising %s for router %s", ", ".join(
            p for ra in advertised(router, snap) for p in [*ra.autonomous, *ra.on_link]), router_id)

    async def stop(self, router_id: str, ns: str) -> None:
        pids = [p for p in [await run_blocking(self.running, router_id, ns)] if p is not None]
        if await netns.exists(ns):     # strays of ours (a pid file lost)
            pids += [p for p in netns.pids(ns) if p not in pids and _cmdline(p)[:1] == ["radvd"]
                     and _cmdline(p)[1:3] == self.args(router_id)[1:3]]
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        for pid in pids:
            for _ in range(50):
                if not _alive(pid):
                    break
                await asyncio.sleep(0.1)
            else:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        if (self.dir / router_id).exists():
            await run_blocking(shutil.rmtree, self.dir / router_id, True)
