"""dnsmasq's configuration for a network (pure, no root): arguments, hosts, options, leases."""

from __future__ import annotations

from nubes.network.agent import dhcp_config as dc

FILES = dc.DnsmasqFiles("/run/x/dhcp/net-1", "ns-dhcp")
NET = {"id": "net-1", "mtu": 1450}


def subnet(**over):
    return {"id": "s4", "network_id": "net-1", "ip_version": 4, "cidr": "10.0.0.0/24", "gateway_ip": "10.0.0.1",
            "enable_dhcp": True, "ipv6_ra_mode": None, "ipv6_address_mode": None, "dns_nameservers": [],
            "host_routes": [], **over}


def port(pid, mac, *ips, owner="compute:nova", opts=()):
    return {"id": pid, "mac_address": mac, "device_owner": owner, "extra_dhcp_opts": list(opts),
            "fixed_ips": [{"subnet_id": sid, "ip_address": ip} for sid, ip in ips]}


DHCP = port("dhcp-port", "fa:16:3e:00:00:02", ("s4", "10.0.0.2"), owner="network:dhcp")
VM = port("vm-port", "fa:16:3e:00:00:05", ("s4", "10.0.0.5"))


def test_command_line():
    args = dc.command(NET, [subnet()], FILES, dc.DhcpSettings(lease_duration=600, dns_servers=("192.0.2.53",)))
    assert args[0] == "dnsmasq" and "--no-hosts" in args and "--no-resolv" in args
    assert "--dhcp-range=set:subnet0,10.0.0.0,static,255.255.255.0,600s" in args
    assert "--dhcp-option-force=option:mtu,1450" in args and "--interface=ns-dhcp" in args
    assert "--dhcp-hostsfile=/run/x/dhcp/net-1/host" in args and "--pid-file=/run/x/dhcp/net-1/pid" in args
    assert "--server=192.0.2.53" in args and "--domain=openstacklocal" in args and "--dhcp-lease-max=256" in args
    infinite = dc.command(NET, [subnet()], FILES, dc.DhcpSettings(lease_duration=-1))
    assert "--dhcp-range=set:subnet0,10.0.0.0,static,255.255.255.0,infinite" in infinite


def test_ipv6_ranges_follow_the_address_mode():
    v6 = [subnet(id="a", ip_version=6, cidr="2001:db8:1::/64", ipv6_address_mode="dhcpv6-stateful",
                 ipv6_ra_mode="dhcpv6-stateful"),
          subnet(id="b", ip_version=6, cidr="2001:db8:2::/64", ipv6_address_mode="slaac", ipv6_ra_mode="slaac")]
    args = dc.command(NET, v6, FILES, dc.DhcpSettings())
    assert "--dhcp-range=set:subnet0,2001:db8:1::,static,64,86400s" in args
    assert not any("2001:db8:2::" in a for a in args)          # SLAAC: the router advertises it


def test_hosts_and_addn_hosts():
    opts = [{"opt_name": "bootfile-name", "opt_value": "pxelinux.0", "ip_version": 4}]
    vm = port("vm-port", "fa:16:3e:00:00:05", ("s4", "10.0.0.5"), opts=opts)
    ports = [DHCP, vm, port("other", "fa:16:3e:00:00:09", ("s9", "10.9.0.9"))]     # s9: not served here
    hosts = dc.hosts_file([subnet()], ports, "openstacklocal")
    assert hosts == ("fa:16:3e:00:00:02,host-10-0-0-2.openstacklocal,10.0.0.2\n"
                     "fa:16:3e:00:00:05,host-10-0-0-5.openstacklocal,10.0.0.5,set:port-vm-port\n")
    assert dc.addn_hosts_file([subnet()], [vm], "openstacklocal") == \
        "10.0.0.5\thost-10-0-0-5.openstacklocal host-10-0-0-5\n"
    v6 = subnet(id="s6", ip_version=6, cidr="2001:db8::/64", ipv6_address_mode="dhcpv6-stateful")
    both = dc.hosts_file([v6], [port("p6", "fa:16:3e:00:00:06", ("s6", "2001:db8::6"))], "")
    assert both == "fa:16:3e:00:00:06,host-2001-db8--6,[2001:db8::6]\n"


def test_client_id_goes_in_the_hosts_line():
    vm = port("vm", "fa:16:3e:00:00:05", ("s4", "10.0.0.5"), opts=[{"opt_name": "client-id", "opt_value": "abc",
                                                                    "ip_version": 4}])
    assert dc.hosts_file([subnet()], [vm], "d") == "fa:16:3e:00:00:05,id:abc,host-10-0-0-5.d,10.0.0.5\n"


def test_options_for_a_routed_subnet():
    routed = port("r", "fa:16:3e:00:00:01", ("s4", "10.0.0.1"), owner="network:router_interface")
    s = subnet(dns_nameservers=["192.0.2.53", "192.0.2.54"], host_routes=[{"destination": "10.5.0.0/16",
                                                                            "nexthop": "10.0.0.9"}])
    opts = dc.opts_file([s], [DHCP, VM, routed], DHCP, dc.isolated_subnets([s], [DHCP, VM, routed]), dc.DhcpSettings())
    assert opts.splitlines() == [
        "tag:subnet0,option:dns-server,192.0.2.53,192.0.2.54",
        "tag:subnet0,option:classless-static-route,10.5.0.0/16,10.0.0.9,169.254.169.254/32,10.0.0.1,0.0.0.0/0,10.0.0.1",
        "tag:subnet0,249,10.5.0.0/16,10.0.0.9,169.254.169.254/32,10.0.0.1,0.0.0.0/0,10.0.0.1",
        "tag:subnet0,option:router,10.0.0.1"]


def test_an_isolated_subnet_gets_metadata_through_the_dhcp_port_and_its_dns():
    s = subnet()
    isolated = dc.isolated_subnets([s], [DHCP, VM])
    assert isolated == {"s4"}
    opts = dc.opts_file([s], [DHCP, VM], DHCP, isolated, dc.DhcpSettings())
    assert "tag:subnet0,option:dns-server,10.0.0.2" in opts          # no servers given: dnsmasq itself
    assert "option:classless-static-route,169.254.169.254/32,10.0.0.2,0.0.0.0/0,10.0.0.1" in opts
    assert dc.needs_metadata_address([s], [DHCP, VM], dc.DhcpSettings())
    assert not dc.needs_metadata_address([s], [DHCP, VM], dc.DhcpSettings(isolated_metadata=False))


def test_no_gateway_and_other_subnets_on_link():
    a, b = subnet(gateway_ip=None), subnet(id="s5", cidr="10.1.0.0/24", gateway_ip="10.1.0.1")
    opts = dc.opts_file([a, b], [DHCP], DHCP, {"s4", "s5"}, dc.DhcpSettings()).splitlines()
    assert "tag:subnet0,option:router" in opts
    assert any(o.startswith("tag:subnet0,option:classless-static-route,169.254.169.254/32,10.0.0.2,10.1.0.0/24,0.0.0.0")
               for o in opts)


def test_port_options_only_for_its_address_versions():
    opts = [{"opt_name": "tftp-server", "opt_value": "10.0.0.9", "ip_version": 4},
            {"opt_name": "dns-server", "opt_value": "[2001:db8::1]", "ip_version": 6}]
    vm = port("vm", "fa:16:3e:00:00:05", ("s4", "10.0.0.5"), opts=opts)
    lines = dc.opts_file([subnet()], [vm], DHCP, set(), dc.DhcpSettings()).splitlines()
    assert "tag:port-vm,option:tftp-server,10.0.0.9" in lines and not any("option6" in x for x in lines)


def test_initial_leases():
    assert dc.leases_file([subnet()], [VM], 600, now=1000) == "1600 fa:16:3e:00:00:05 10.0.0.5 * *\n"
    assert dc.leases_file([subnet()], [VM], -1, now=1000) == "0 fa:16:3e:00:00:05 10.0.0.5 * *\n"


def test_only_dhcp_enabled_subnets_are_served():
    off = subnet(id="off", cidr="10.2.0.0/24", enable_dhcp=False)
    conf = dc.build(NET, [subnet(), off], [DHCP, VM], DHCP, FILES, dc.DhcpSettings(), now=0)
    assert not any("10.2.0.0" in a for a in conf.args) and "10.0.0.5" in conf.hosts
