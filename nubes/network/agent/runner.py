"""Starts a host's data-plane agents (L2, DHCP, L3, metadata) when the host can run them.

``nubes up`` runs them beside the network API (``[network] dataplane = "auto"``: only as root
with iproute2, nftables, dnsmasq and br_netfilter present; otherwise a warning says why the data
plane is off and ports stay DOWN); ``nubes agent network`` runs them on another node, over the
cloud's bus. All agents of a host share one desired-state fetch and one event subscription.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import socket
import subprocess
from collections.abc import Hashable
from pathlib import Path
from typing import Any

from nubes.core.concurrency import run_blocking
from nubes.network.agent.base import AgentContext, AgentSettings, HostAgent, HostStateSource, ServerApi

LOG = logging.getLogger(__name__)

KINDS = ("l2", "dhcp", "l3", "metadata")
TOOLS = {"l2": ("ip", "nft", "sysctl"), "dhcp": ("ip", "dnsmasq"), "l3": ("ip", "nft", "sysctl"), "metadata": ("ip",)}


def agent_classes() -> dict[str, type[HostAgent]]:
    from nubes.network.agent.dhcp import DhcpAgent
    from nubes.network.agent.l2 import L2Agent
    from nubes.network.agent.l3 import L3Agent
    from nubes.network.agent.metadata_proxy import MetadataAgent

    return {"l2": L2Agent, "dhcp": DhcpAgent, "l3": L3Agent, "metadata": MetadataAgent}


def preflight(kinds: list[str]) -> list[str]:
    """Why this host cannot run these agents (empty: it can)."""
    reasons = []
    unknown = sorted(set(kinds) - set(KINDS))
    if unknown:
        reasons.append(f"unknown agents {unknown} in [network] agents (known: {', '.join(KINDS)})")
    if os.geteuid() != 0:
        reasons.append("not running as root (bridges, namespaces and nftables need it)")
    missing = sorted({t for k in kinds for t in TOOLS.get(k, ()) if shutil.which(t) is None})
    if missing:
        reasons.append(f"missing programs: {', '.join(missing)} (scripts/setup.sh installs them on Debian)")
    if "l2" in kinds and not Path("/proc/sys/net/bridge").is_dir():
        if shutil.which("modprobe"):
            subprocess.run(["modprobe", "br_netfilter"], capture_output=True, timeout=30, check=False)
        if not Path("/proc/sys/net/bridge").is_dir():
            reasons.append("the kernel has no br_netfilter (security groups could not be enforced)")
    try:
        import pyroute2  # noqa: F401
    except ImportError:
        reasons.append("the Python package pyroute2 is not installed")
    return reasons


def _mappings(values: list[str]) -> dict[str, str]:
    out = {}
    for item in values:
        physnet, sep, iface = item.partition(":")
        if not sep or not physnet.strip() or not iface.strip():
            raise ValueError(f"physical_interface_mappings entry {item!r} is not physnet:interface")
        out[physnet.strip()] = iface.strip()
    return out


def _secret(conf: Any, state_dir: Path) -> str:
    from nubes.core.metadata_auth import shared_secret

    return shared_secret(conf.metadata_proxy_shared_secret, state_dir)


async def default_local_ip(netns: str | None = None) -> str:
    """The source address of this host's default route (the VXLAN endpoint when none is set)."""
    from pyroute2 import AsyncIPRoute

    from nubes.network.agent.linux.netlink import _all

    ipr = AsyncIPRoute(netns=netns) if netns else AsyncIPRoute()
    await ipr.setup_endpoint()
    try:
        try:
            routes = await _all(await ipr.route("get", dst="192.0.2.1"))
        except Exception:  # noqa: BLE001 - logged; the loop goes on
            routes = []
        for r in routes:
            if r.get_attr("RTA_PREFSRC"):
                return str(r.get_attr("RTA_PREFSRC"))
        for a in await _all(await ipr.addr("dump", family=socket.AF_INET)):
            ip = a.get_attr("IFA_ADDRESS")
            if ip and not ip.startswith("127."):
                return str(ip)
    finally:
        ipr.close()
    return ""


def metadata_url(cloud: Any) -> str:
    """Where the metadata proxy forwards: ``[network] metadata_url``, else the compute metadata
    API of this cloud's configuration (the all-in-one's, or the controller's ``public_host``)."""
    net = cloud.services.get("network")
    if net is not None and net.metadata_url:
        return str(net.metadata_url)
    compute = cloud.services.get("compute")
    port = getattr(compute, "metadata_port", 0) or 8775
    host = cloud.core.public_host if cloud.core.public_host not in ("", "0.0.0.0") else "127.0.0.1"
    return f"http://{host}:{port}"


def settings_from(conf: Any, state_dir: Path, **overrides: Any) -> AgentSettings:
    host = overrides.pop("host", None) or conf.host or socket.gethostname()
    path = Path(conf.agent_state_path) if conf.agent_state_path else Path("/run/nubes/network") / host
    s = AgentSettings(host=host, state_path=path, interface_mappings=_mappings(conf.physical_interface_mappings),
                      local_ip=conf.local_ip, vxlan_port=conf.vxlan_port, resync_interval=conf.resync_interval,
                      report_interval=conf.report_interval, device_poll_interval=conf.device_poll_interval,
                      availability_zone=conf.default_availability_zone, dhcp_lease_duration=conf.dhcp_lease_duration,
                      dns_domain=conf.dns_domain, dnsmasq_dns_servers=tuple(conf.dnsmasq_dns_servers),
                      enable_isolated_metadata=conf.enable_isolated_metadata,
                      min_rtr_adv_interval=conf.min_rtr_adv_interval, max_rtr_adv_interval=conf.max_rtr_adv_interval,
                      metadata_url=conf.metadata_url or "http://127.0.0.1:8775",
                      metadata_secret=_secret(conf, state_dir))
    for key, value in overrides.items():
        setattr(s, key, value)
    return s


class AgentRunner:
    """The agents of one host in this process."""

    def __init__(self, bus: Any, settings: AgentSettings, kinds: list[str] | tuple[str, ...] = KINDS) -> None:
        self.bus, self.settings, self.kinds = bus, settings, list(kinds)
        self.server = ServerApi(bus, settings.rpc_timeout)
        self.source = HostStateSource(self.server, settings.host)
        self.agents: dict[str, HostAgent] = {}
        self.ctx: AgentContext | None = None
        self.running = False

    def kick(self, name: str, key: Hashable) -> None:
        agent = self.agents.get(name)
        if agent is not None and self.running:
            agent.enqueue(key)

    async def _event(self, event_type: str, payload: dict) -> None:
        if not self.running:
            return
        if self.ctx is not None and event_type == "network.port.update" and \
                self.ctx.own_reports.is_echo(str(payload.get("id", ""))):
            return                                  # the echo of our own status report
        self.source.invalidate()
        for agent in self.agents.values():
            agent.on_event(event_type)

    async def start(self) -> None:
        if self.settings.netns is None and not self.settings.local_ip and "l2" in self.kinds:
            self.settings.local_ip = await default_local_ip()
        from nubes.network.agent.dhcp import make_dirs_others_can_enter

        make_dirs_others_can_enter(self.settings.state_path)     # dnsmasq's files are below
        ctx = self.ctx = AgentContext(self.settings, self.server, self.source, kick=self.kick)
        classes = agent_classes()
        self.agents = {k: classes[k](ctx) for k in self.kinds}
        self.running = True
        await self.bus.subscribe("network.#", self._event)
        for agent in self.agents.values():
            await agent.start()
        LOG.info("network agents on %s: %s (tunnel address %s)", self.settings.host, ", ".join(self.kinds),
                 self.settings.local_ip or "none")

    async def stop(self) -> None:
        self.running = False
        await asyncio.gather(*(a.stop() for a in self.agents.values()), return_exceptions=True)


async def run(rt: Any) -> None:
    """The network service's agents (``ServiceSpec.agents``): this host's data plane until cancelled."""
    conf = rt.service_conf
    mode = str(conf.dataplane).lower()
    if mode == "off":
        LOG.info("network: the data plane is off ([network] dataplane = off); ports stay DOWN")
        return
    if not conf.run_agents:
        LOG.info("network: no agents on this host ([network] run_agents = false)")
        return
    if mode not in ("auto", "on"):
        message = f"network: [network] dataplane = {conf.dataplane!r} is none of \"auto\", \"on\", \"off\""
        LOG.error(message)
        raise ValueError(message)
    kinds = [k.strip() for k in conf.agents if k.strip()]
    reasons = await run_blocking(preflight, kinds)
    if reasons:
        message = "network: the data plane is OFF on this host: " + "; ".join(reasons) + "."
        if mode == "on":
            message += " [network] dataplane = \"on\" asks for it: fix the above, or set it to \"auto\" or \"off\"."
            LOG.error(message)
            raise RuntimeError(message)
        LOG.warning("%s The API works; ports and floating IPs stay DOWN. Set [network] dataplane = \"off\" to "
                    "silence this.", message)
        return
    try:
        settings = settings_from(conf, Path(rt.conf.core.state_dir), metadata_url=metadata_url(rt.conf))
    except ValueError as exc:
        LOG.error("network: the data plane is OFF: %s", exc)
        if mode == "on":
            raise
        return
    if "metadata" in kinds and not settings.metadata_secret:
        LOG.warning("network: no metadata_proxy_shared_secret and no secrets.json in %s: compute will refuse the "
                    "metadata proxy's requests", rt.conf.core.state_dir)
    runner = AgentRunner(rt.bus, settings, kinds)
    await runner.start()
    rt.extra.setdefault("network_agents", {})[settings.host] = runner
    try:
        await asyncio.Event().wait()
    finally:
        await runner.stop()
