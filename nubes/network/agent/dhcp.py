"""The DHCP agent: per network with a DHCP-enabled subnet, a namespace ``qdhcp-<network-id>`` with the
host's DHCP port and a dnsmasq serving static leases for every port of the network.

A key is a network id. Converging one: ask the server for this host's DHCP port
(``get_dhcp_port``: made once, kept bound here, an address on each DHCP subnet), make the
namespace and the port's device pair (``tap<id[:11]>`` on the host, which the L2 agent plugs
into the network's bridge, ``ns-<id[:11]>`` inside with the port's MAC and addresses, plus
169.254.169.254 when an isolated subnet gets metadata through this namespace), write dnsmasq's
files (``dhcp_config``) under ``<state_path>/dhcp/<network-id>/`` and start dnsmasq, or send it
SIGHUP when only its files changed, or restart it when its command line changed. A network that
no longer needs DHCP here loses its dnsmasq, devices, namespace and files. Only ``qdhcp-*``
namespaces and dnsmasq processes started with our files are ever stopped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import signal
from collections.abc import Hashable, Iterable
from pathlib import Path
from typing import Any

from nubes.core.concurrency import run_blocking
from nubes.network.agent import dhcp_config, firewall
from nubes.network.agent.base import AgentContext, HostAgent
from nubes.network.agent.linux import commands, netns
from nubes.network.agent.linux.netlink import Netlink

LOG = logging.getLogger(__name__)

PREFIX = "qdhcp-"


def namespace(network_id: str) -> str:
    return PREFIX + network_id


def closed_to_others(path: Path) -> Path | None:
    """The first existing directory on the way to ``path`` that other users cannot enter."""
    for d in [*reversed(path.parents), path]:
        try:
            mode = d.stat().st_mode
        except FileNotFoundError:
            return None
        if not mode & 0o001:
            return d
    return None


def make_dirs_others_can_enter(path: Path) -> None:
    """``mkdir -p`` where each directory made, and ``path`` itself, is 0755 whatever the umask:
    dnsmasq reads its files as the user nobody, and the launcher's umask (0077) would otherwise
    make every new directory 0700. This is the one place the cloud writes for another user."""
    missing = []
    d = path
    while not d.exists():
        missing.append(d)
        d = d.parent
    for d in reversed(missing):
        d.mkdir(exist_ok=True)
        os.chmod(d, 0o755)
    os.chmod(path, 0o755)


def stale_leases(path: Path, wanted: str) -> list[tuple[str, str]]:
    """(mac, ip) of IPv4 leases dnsmasq holds (its lease file) that no port has any more:
    ``wanted`` is the lease file the ports make."""
    keep = {(line.split()[1].lower(), line.split()[2]) for line in wanted.splitlines() if len(line.split()) >= 3}
    try:
        held = path.read_text().splitlines()
    except FileNotFoundError:
        return []
    out = []
    for line in held:
        parts = line.split()
        if len(parts) >= 3 and ":" not in parts[2] and (parts[1].lower(), parts[2]) not in keep:
            out.append((parts[1].lower(), parts[2]))
    return out


def _write_if_changed(path: Path, text: str) -> bool:
    try:
        if path.read_text() == text:
            return False
    except FileNotFoundError:
        pass
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.chmod(tmp, 0o644)        # dnsmasq (as nobody) reads it again on SIGHUP
    os.replace(tmp, path)
    return True


def _cmdline(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")[:-1]
    except OSError:
        return []


def _pid(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


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


class DhcpAgent(HostAgent):
    name = "dhcp"
    agent_type = "DHCP agent"
    binary = "nubes-dhcp-agent"
    topic = "dhcp_agent"
    events = ("network.port.", "network.network.", "network.subnet.", "network.agent.")

    def __init__(self, ctx: AgentContext) -> None:
        super().__init__(ctx)
        self.dir = self.settings.state_path / "dhcp"
        self.host_nl = Netlink(self.settings.netns)
        self.ports: dict[str, dict[str, Any]] = {}     # network id -> our DHCP port
        self.dhcp_settings = dhcp_config.DhcpSettings(
            lease_duration=self.settings.dhcp_lease_duration, dns_domain=self.settings.dns_domain,
            dns_servers=tuple(self.settings.dnsmasq_dns_servers),
            isolated_metadata=self.settings.enable_isolated_metadata)
        self._served = 0
        closed = closed_to_others(self.dir)
        if closed is not None:
            LOG.warning("dnsmasq reads its files in %s as the user nobody, but %s is closed to other users "
                        "(mode %o): DHCP will answer no instance. Choose another [network] agent_state_path "
                        "or open that directory (chmod o+x).", self.dir, closed, closed.stat().st_mode & 0o777)

    def configurations(self) -> dict[str, Any]:
        return {"networks": self._served, "dhcp_driver": "dnsmasq", "dhcp_lease_duration":
                self.settings.dhcp_lease_duration, "log_agent_heartbeats": False}

    async def keys(self) -> Iterable[Hashable]:
        snap = await self.source.get(max_age=self.resync / 2)
        wanted = {d["network_id"] for d in snap.get("dhcp") or []}
        present = {n[len(PREFIX):] for n in await netns.names(PREFIX)}
        present |= set(await run_blocking(lambda: os.listdir(self.dir) if self.dir.is_dir() else []))
        self._served = len(wanted)
        return sorted(wanted | present)

    def _wanted(self, snap: dict[str, Any], network_id: str) -> tuple[dict, list[dict], list[dict]] | None:
        entry = next((d for d in snap.get("dhcp") or [] if d["network_id"] == network_id), None)
        net = (snap.get("networks") or {}).get(network_id)
        if entry is None or net is None or not net.get("admin_state_up", True):
            return None
        subnets = [s for sid in net.get("subnets") or [] if (s := snap["subnets"].get(sid)) and s.get("enable_dhcp")]
        return (net, subnets, entry["ports"]) if subnets else None

    async def converge(self, key: Hashable) -> None:
        network_id = str(key)
        wanted = self._wanted(await self.source.current(), network_id)
        if wanted is None:
            await self.teardown(network_id)
            return
        net, subnets, ports = wanted
        port = await self._dhcp_port(network_id, subnets, ports)
        ports = [p for p in ports if p["id"] != port["id"]] + [port]
        await self._wire(net, subnets, ports, port)
        await self._dnsmasq(net, subnets, ports, port)
        self.ctx.kick("l2", ("port", port["id"]))
        self.ctx.kick("metadata", ("network", network_id))

    async def _dhcp_port(self, network_id: str, subnets: list[dict], ports: list[dict]) -> dict[str, Any]:
        known = self.ports.get(network_id)
        current = next((p for p in ports if known and p["id"] == known["id"]), None)
        served = {s["id"] for s in subnets}
        if current is not None and current.get("host") == self.settings.host and \
                served <= {ip["subnet_id"] for ip in current.get("fixed_ips") or []}:
            return current
        port = await self.server.call("get_dhcp_port", host=self.settings.host, network_id=network_id)
        self.ports[network_id] = port
        self.source.invalidate()
        return port

    async def _wire(self, net: dict, subnets: list[dict], ports: list[dict], port: dict) -> None:
        ns, mtu = namespace(net["id"]), int(net.get("mtu") or 1500)
        await netns.create(ns)
        dev, root = "ns-" + port["id"][:11], firewall.device_name(port["id"])
        async with Netlink(ns) as nl:
            links = await nl.links()
            for name in [n for n in links if n.startswith("ns-") and n != dev]:
                await nl.delete(name)
            if dev not in links:
                await self.host_nl.delete(root)
                await self.host_nl.add_veth(root, dev, peer_netns=ns, peer_mac=port["mac_address"], mtu=mtu)
                links = await nl.links()
            link = links[dev]
            if link.mac != port["mac_address"].lower() or link.mtu != mtu or not link.up:
                await nl.set(link.index, address=port["mac_address"], mtu=mtu, state="up")
            if not links["lo"].up:
                await nl.set(links["lo"].index, state="up")
            wanted = self._addresses(subnets, ports, port)
            have = await nl.addresses(link.index)
            for cidr in sorted(wanted - have):
                await nl.add_address(link.index, cidr)
            for cidr in sorted(have - wanted):
                await nl.del_address(link.index, cidr)
        host_link = await self.host_nl.link(root)
        if host_link is not None and (host_link.mtu != mtu or not host_link.up):
            await self.host_nl.set(host_link.index, mtu=mtu, state="up")

    def _addresses(self, subnets: list[dict], ports: list[dict], port: dict) -> set[str]:
        by_id = {s["id"]: s for s in subnets}
        out = {f"{ip['ip_address']}/{by_id[ip['subnet_id']]['cidr'].split('/')[1]}"
               for ip in port.get("fixed_ips") or [] if ip["subnet_id"] in by_id}
        if dhcp_config.needs_metadata_address(subnets, ports, self.dhcp_settings):
            out.add(f"{dhcp_config.METADATA_IP}/32")
        return out

    # -- dnsmasq -------------------------------------------------------------------------------
    async def _dnsmasq(self, net: dict, subnets: list[dict], ports: list[dict], port: dict) -> None:
        directory = self.dir / net["id"]
        files = dhcp_config.DnsmasqFiles(str(directory), "ns-" + port["id"][:11])
        conf = dhcp_config.build(net, subnets, ports, port, files, self.dhcp_settings)

        def write() -> bool:
            make_dirs_others_can_enter(directory)
            changed = False
            for name, text in (("host", conf.hosts), ("addn_hosts", conf.addn_hosts), ("opts", conf.opts)):
                changed |= _write_if_changed(directory / name, text)
            if not (directory / "leases").exists():
                _write_if_changed(directory / "leases", conf.leases)
            return changed

        changed = await run_blocking(write)
        pid = await self._running(net["id"])
        stale = await run_blocking(stale_leases, directory / "leases", conf.leases)
        if pid is not None and _cmdline(pid) == conf.args:
            if changed:
                os.kill(pid, signal.SIGHUP)
                LOG.debug("dnsmasq of network %s reloaded", net["id"])
            if stale and not await self._release(net["id"], files.interface, stale):
                LOG.info("restarting dnsmasq of network %s to forget %d lease(s) of removed ports", net["id"],
                         len(stale))
                await self._stop(pid)
                await run_blocking(_write_if_changed, directory / "leases", conf.leases)
                await self._start(net["id"], conf.args, directory)
            return
        if pid is not None:
            LOG.info("restarting dnsmasq of network %s: its configuration changed", net["id"])
            await self._stop(pid)
        if stale:       # not running: its next start must not honour leases of ports that are gone
            await run_blocking(_write_if_changed, directory / "leases", conf.leases)
        await self._start(net["id"], conf.args, directory)

    async def _release(self, network_id: str, interface: str, stale: list[tuple[str, str]]) -> bool:
        """Tell dnsmasq to forget leases of ports that are gone or changed (``dhcp_release``, as
        Neutron does): until then it would not give their address to the port that has it now."""
        if shutil.which("dhcp_release") is None:
            return False
        for mac, ip in stale:
            res = await commands.run(["dhcp_release", interface, ip, mac], netns=namespace(network_id), check=False)
            if res.code != 0:
                LOG.warning("dhcp_release %s %s on network %s failed: %s", ip, mac, network_id, res.stderr.strip())
                return False
        LOG.info("released %d stale DHCP lease(s) on network %s", len(stale), network_id)
        return True

    async def _running(self, network_id: str) -> int | None:
        """Our dnsmasq of the network, if one runs (its pid file, its command line, its namespace)."""
        directory = self.dir / network_id
        pid = _pid(directory / "pid")
        if pid is None:
            return None
        args = _cmdline(pid)
        if not args or not args[0].endswith("dnsmasq") or f"--pid-file={directory}/pid" not in args:
            return None
        if _ns_inode(pid) != netns.inode(namespace(network_id)):
            return None
        return pid

    async def _start(self, network_id: str, args: list[str], directory: Path) -> None:
        log = directory / "dnsmasq.log"
        err = await run_blocking(open, log, "wb")
        try:
            proc = await asyncio.create_subprocess_exec(
                *commands.in_netns(namespace(network_id), args), stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.DEVNULL, stderr=err)
        finally:
            err.close()
        try:
            code = await asyncio.wait_for(proc.wait(), 15)
        except TimeoutError:
            proc.kill()
            raise commands.CommandFailed(args, None, "dnsmasq did not start in 15s") from None
        if code != 0:
            raise commands.CommandFailed(args, code, log.read_text(errors="replace"))
        LOG.info("dnsmasq serving network %s on %s", network_id, self.settings.host)

    async def _stop(self, pid: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        for _ in range(50):
            if not _alive(pid):
                return
            await asyncio.sleep(0.1)
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)

    # -- removing what a network no longer needs -----------------------------------------------
    async def teardown(self, network_id: str) -> None:
        ns, directory = namespace(network_id), self.dir / network_id
        pid = await self._running(network_id)
        if pid is not None:
            await self._stop(pid)
        if await netns.exists(ns):
            async with Netlink(ns) as nl:
                for name in [n for n in await nl.links() if n.startswith("ns-")]:
                    await nl.delete(name)
            for stray in netns.pids(ns):
                args = _cmdline(stray)
                if args and args[0].endswith("dnsmasq") and f"--pid-file={directory}/pid" in args:
                    await self._stop(stray)
            await netns.remove(ns)
            LOG.info("DHCP for network %s removed from %s", network_id, self.settings.host)
        if directory.exists():
            await run_blocking(shutil.rmtree, directory, True)
        self.ports.pop(network_id, None)
        self.ctx.kick("metadata", ("network", network_id))

    async def shutdown(self) -> None:
        await self.host_nl.close()
