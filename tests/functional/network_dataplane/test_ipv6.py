"""IPv6 behind a router: the router advertises its SLAAC and DHCPv6 subnets (radvd in the router
namespace) and a guest configures the EUI-64 address the API gave its port, with a default route
through the router; radvd follows the router's interfaces and goes with the last of them."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.functional.network_dataplane.conftest import ash, provider_network, provider_side, wait_for

pytestmark = pytest.mark.root


async def _global_addresses(vm: str) -> set[str]:
    res = await ash("ip", "-6", "-o", "addr", "show", "dev", "eth0", "scope", "global", ns=vm, check=False)
    return {line.split()[3].split("/")[0] for line in res.stdout.splitlines() if "tentative" not in line}


async def test_slaac_guest_gets_its_address_from_the_routers_advertisements(lab):
    assert shutil.which("radvd"), "radvd is missing: scripts/setup.sh installs it for the data plane"
    await lab.start_agents("n1", local_ip="192.0.2.11", min_rtr_adv_interval=3, max_rtr_adv_interval=5)
    net = await lab.create("network", name="dualstack")
    v4 = await lab.create("subnet", network_id=net["id"], cidr="172.16.7.0/24", ip_version=4)
    slaac = await lab.create("subnet", network_id=net["id"], cidr="fd00:77::/64", ip_version=6,
                             ipv6_ra_mode="slaac", ipv6_address_mode="slaac", dns_nameservers=["fd00:77::53"])
    stateful = await lab.create("subnet", network_id=net["id"], cidr="fd00:78::/64", ip_version=6,
                                ipv6_ra_mode="dhcpv6-stateful", ipv6_address_mode="dhcpv6-stateful")
    router = await lab.create("router", name="r6")
    for sub in (slaac, stateful, v4):
        await lab.api("PUT", f"/routers/{router['id']}/add_router_interface", json={"subnet_id": sub["id"]})
    router_ports = (await lab.api("GET", f"/ports?device_id={router['id']}"))["ports"]
    assert len(router_ports) == 2        # the IPv6 subnets share one port
    (v6_port,) = [p for p in router_ports if ":" in p["fixed_ips"][0]["ip_address"]]

    port = await lab.create("port", network_id=net["id"], device_owner="compute:nova", device_id="vm-6",
                            **{"binding:host_id": "n1"})
    vm = lab.instance("n1", port, "vm6")
    await lab.wait_active(port["id"], *[p["id"] for p in router_ports])
    want = {a["subnet_id"]: a["ip_address"] for a in port["fixed_ips"]}

    # the guest takes the SLAAC prefix (its EUI-64 address, the one the API gave the port), not the
    # stateful one (DHCPv6 hands that out), and routes through the router's link-local address
    got = await wait_for("the guest's SLAAC address", lambda: _global_addresses(vm), 60)
    assert got == {want[slaac["id"]]}, (got, want)
    routes = (await ash("ip", "-6", "route", "show", "default", ns=vm)).stdout
    assert "via fe80::" in routes and "dev eth0" in routes, routes
    ping = await ash("busybox", "ping", "-c", "1", "-W", "3", "fd00:77::1", ns=vm, check=False)
    assert ping.returncode == 0, ping.stdout + ping.stderr

    # what radvd advertises, per mode
    ra_dir = Path(lab.settings["n1"].state_path) / "ra" / router["id"]
    conf = (ra_dir / "radvd.conf").read_text()
    device = "qr-" + v6_port["id"][:11]
    assert f"interface {device}" in conf and "AdvManagedFlag on;" in conf and "AdvOtherConfigFlag" not in conf
    assert "AdvLinkMTU 1450;" in conf and "RDNSS fd00:77::53 {};" in conf
    assert conf.index("prefix fd00:77::/64") < conf.index("AdvAutonomous on;") < conf.index("prefix fd00:78::/64")
    assert conf.rstrip().endswith("AdvAutonomous off;\n\t};\n};".rstrip())

    # radvd follows the interfaces: one IPv6 subnet left, then none (no radvd)
    ra = lab.runners["n1"].agents["l3"].ra          # type: ignore[attr-defined]
    ns = f"qrouter-{router['id']}"
    first = ra.running(router["id"], ns)
    assert first is not None
    await lab.api("PUT", f"/routers/{router['id']}/remove_router_interface", json={"subnet_id": stateful["id"]})
    await wait_for("radvd to drop the stateful prefix",
                   lambda: "fd00:78::" not in (ra_dir / "radvd.conf").read_text(), 60)
    assert ra.running(router["id"], ns) == first         # reloaded, not restarted
    await lab.api("PUT", f"/routers/{router['id']}/remove_router_interface", json={"subnet_id": slaac["id"]})
    await wait_for("radvd to stop", lambda: ra.running(router["id"], ns) is None and not ra_dir.exists(), 60)


async def test_router_ipv6_default_and_static_routes(lab):
    ext_net, _ = await provider_network(lab, external=True)
    await lab.create("subnet", network_id=ext_net["id"], cidr="fd00:ee::/64", ip_version=6, gateway_ip="fd00:ee::1")
    provider_side(lab, "n1")
    await lab.start_agents("n1", interface_mappings={"provider": "eth1"}, local_ip="192.0.2.11")
    net = await lab.create("network", name="v6routes")
    sub = await lab.create("subnet", network_id=net["id"], cidr="fd00:79::/64", ip_version=6,
                           ipv6_ra_mode="slaac", ipv6_address_mode="slaac")
    router = await lab.create("router", name="r6routes", external_gateway_info={"network_id": ext_net["id"]})
    gw_ips = (await lab.api("GET", f"/routers/{router['id']}"))["router"]["external_gateway_info"][
        "external_fixed_ips"]
    assert {":" in ip["ip_address"] for ip in gw_ips} == {True, False}      # one address of each version
    await lab.api("PUT", f"/routers/{router['id']}/add_router_interface", json={"subnet_id": sub["id"]})
    await lab.api("PUT", f"/routers/{router['id']}", json={"router": {"routes": [
        {"destination": "fd00:99::/64", "nexthop": "fd00:79::99"},
        {"destination": "10.99.0.0/16", "nexthop": "203.0.113.9"}]}})
    ns = f"qrouter-{router['id']}"

    async def routes() -> tuple[str, str]:
        v6 = await ash("ip", "-6", "route", "show", ns=ns, check=False)
        v4 = await ash("ip", "-4", "route", "show", ns=ns, check=False)
        return v6.stdout, v4.stdout

    async def all_there() -> bool:
        v6, v4 = await routes()
        return ("default via fd00:ee::1" in v6 and "fd00:99::/64 via fd00:79::99" in v6
                and "default via 203.0.113.1" in v4 and "10.99.0.0/16 via 203.0.113.9" in v4)
    await wait_for("the router's IPv4 and IPv6 routes", all_there, 60)
    # routes: null takes the static ones away, the default routes stay
    await lab.api("PUT", f"/routers/{router['id']}", json={"router": {"routes": None}})

    async def only_defaults() -> bool:
        v6, v4 = await routes()
        return "fd00:99::" not in v6 and "10.99.0.0" not in v4 and "default via fd00:ee::1" in v6
    await wait_for("the static routes to go", only_defaults, 60)
