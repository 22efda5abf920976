"""A port's fixed IPs as a server's network info, with the floating IPs NATed to each (what
``addresses`` shows as ``OS-EXT-IPS:type`` floating)."""

from __future__ import annotations

from nubes.compute.api.server_views import addresses
from nubes.compute.service.server_ports import fixed_ips

PORT = {"id": "p1", "fixed_ips": [{"ip_address": "10.0.0.5", "subnet_id": "s4"},
                                  {"ip_address": "fd00::5", "subnet_id": "s6"}]}


def test_floating_ips_hang_off_the_fixed_ip_they_are_natted_to():
    fips = [{"id": "f1", "floating_ip_address": "172.24.4.9", "fixed_ip_address": "10.0.0.5", "port_id": "p1"},
            {"id": "f2", "floating_ip_address": "172.24.4.10", "fixed_ip_address": "10.0.0.99", "port_id": "p1"}]
    ips = fixed_ips(PORT, fips)
    assert [ip["floating_ips"] for ip in ips] == [
        [{"address": "172.24.4.9", "type": "floating", "version": 4, "id": "f1"}], []]
    vif = {"id": "p1", "network_name": "private", "mac_address": "fa:16:3e:00:00:01", "fixed_ips": ips}
    assert addresses([vif]) == {"private": [
        {"version": 4, "addr": "10.0.0.5", "OS-EXT-IPS:type": "fixed", "OS-EXT-IPS-MAC:mac_addr": "fa:16:3e:00:00:01"},
        {"version": 4, "addr": "172.24.4.9", "OS-EXT-IPS:type": "floating",
         "OS-EXT-IPS-MAC:mac_addr": "fa:16:3e:00:00:01"},
        {"version": 6, "addr": "fd00::5", "OS-EXT-IPS:type": "fixed", "OS-EXT-IPS-MAC:mac_addr": "fa:16:3e:00:00:01"}]}


def test_no_floating_ips():
    assert [ip["floating_ips"] for ip in fixed_ips(PORT, [])] == [[], []]
