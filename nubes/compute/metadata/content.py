"""What an instance reads about itself: the OpenStack (``/openstack/...``) and EC2-style
(``/<version>/meta-data/...``) metadata trees, built from the instance record the agents get
(``service.server_records.record``) plus what the network service says of its ports.

The same documents go on the config drive (``drivers.qemu.configdrive``), so an instance sees one
description of itself whichever way it looks.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import os
from typing import Any

# The versions Nova's metadata service names, oldest first; "latest" is the newest of each.
OPENSTACK_VERSIONS = ("2012-08-10", "2013-04-04", "2013-10-17", "2015-10-15", "2016-06-30", "2016-10-06",
                      "2017-02-22", "2018-08-27", "2020-10-14")
EC2_VERSIONS = ("1.0", "2007-01-19", "2007-03-01", "2007-08-29", "2007-10-10", "2007-12-15", "2008-02-01",
                "2008-09-01", "2009-04-04")
# The first OpenStack version with each file, as Nova lists them.
FILE_SINCE = {"meta_data.json": "2012-08-10", "user_data": "2012-08-10", "password": "2013-04-04",
              "vendor_data.json": "2013-10-17", "network_data.json": "2015-10-15",
              "vendor_data2.json": "2016-10-06"}
MAX_PASSWORD_BYTES = 256


def tap_name(port_id: str) -> str:
    """The host device of a port: what the compute driver creates and the L2 agent wires."""
    return f"tap{port_id[:11]}"


def ec2_id(uuid: str, prefix: str) -> str:
    """An EC2-style id (``i-0000abcd``) from a uuid: its first 32 bits, as ``instance_name`` does."""
    return f"{prefix}-{int(uuid.replace('-', '')[:8], 16):08x}"


def user_data(instance: dict[str, Any]) -> bytes | None:
    """The instance's user data, decoded from the base64 the API stored; None when it has none."""
    raw = instance.get("user_data")
    if not raw:
        return None
    try:
        return base64.b64decode(raw, validate=False)
    except (binascii.Error, ValueError):
        return raw.encode() if isinstance(raw, str) else bytes(raw)


def meta_data(instance: dict[str, Any], *, admin_password: str | None = None,
              version: str = "latest") -> dict[str, Any]:
    """``meta_data.json``."""
    iid = str(instance.get("id") or instance.get("uuid"))
    hostname = instance.get("hostname") or instance.get("display_name") or iid
    md: dict[str, Any] = {
        "uuid": iid, "meta": _user_metadata(instance), "hostname": hostname,
        "name": instance.get("display_name") or hostname, "launch_index": int(instance.get("launch_index") or 0),
        "availability_zone": instance.get("availability_zone") or "nova",
        "random_seed": base64.b64encode(os.urandom(512)).decode(), "project_id": instance.get("project_id"),
        "devices": []}
    if _at_least(version, "2020-10-14"):
        md["dedicated_cpus"] = []
    if instance.get("key_data"):
        name = instance.get("key_name") or "key"
        md["public_keys"] = {name: instance["key_data"]}
        md["keys"] = [{"name": name, "type": "ssh", "data": instance["key_data"]}]
    if admin_password:
        md["admin_pass"] = admin_password
    return md


def _user_metadata(instance: dict[str, Any]) -> dict[str, str]:
    md = instance.get("metadata") or {}
    if isinstance(md, list):            # [{key, value}] rows
        return {str(m.get("key")): str(m.get("value")) for m in md if isinstance(m, dict)}
    return {str(k): str(v) for k, v in md.items()}


def network_data(network_info: list[dict[str, Any]], subnets: dict[str, dict[str, Any]] | None = None,
                 mtus: dict[str, int] | None = None) -> dict[str, Any]:
    """``network_data.json``: a link per port, a network per address. An address on a subnet with
    DHCP on is ``ipv4_dhcp``/``ipv6_dhcp``; with DHCP off and its subnet known (``subnets``, by id)
    it is static, with its netmask, routes and DNS servers."""
    links: list[dict[str, Any]] = []
    networks: list[dict[str, Any]] = []
    services: list[dict[str, Any]] = []
    for vif in network_info or []:
        link = tap_name(str(vif["id"]))
        links.append({"id": link, "vif_id": vif["id"], "type": vif.get("type") or "bridge",
                      "mtu": (mtus or {}).get(str(vif.get("network_id"))) or vif.get("mtu"),
                      "ethernet_mac_address": vif.get("address") or vif.get("mac_address")})
        for ip in vif.get("fixed_ips") or []:
            subnet = (subnets or {}).get(str(ip.get("subnet_id"))) or ip.get("subnet") or {}
            networks.append(_network(vif, ip, subnet, len(networks), link))
            for dns in subnet.get("dns_nameservers") or []:
                if {"type": "dns", "address": dns} not in services:
                    services.append({"type": "dns", "address": dns})
    return {"links": links, "networks": networks, "services": services}


def _network(vif: dict[str, Any], ip: dict[str, Any], subnet: dict[str, Any], n: int, link: str
             ) -> dict[str, Any]:
    addr = ipaddress.ip_address(ip.get("ip_address") or ip.get("address"))
    net: dict[str, Any] = {"id": f"network{n}", "link": link, "network_id": vif.get("network_id")}
    cidr = subnet.get("cidr")
    if subnet.get("enable_dhcp", True) or not cidr:
        return {**net, "type": f"ipv{addr.version}_dhcp"}
    network = ipaddress.ip_network(cidr, strict=False)
    zero = "0.0.0.0" if addr.version == 4 else "::"
    routes = [{"network": zero, "netmask": zero, "gateway": subnet["gateway_ip"]}] if subnet.get("gateway_ip") else []
    for r in subnet.get("host_routes") or []:
        dest = ipaddress.ip_network(r["destination"], strict=False)
        routes.append({"network": str(dest.network_address), "netmask": str(dest.netmask), "gateway": r["nexthop"]})
    return {**net, "type": f"ipv{addr.version}", "ip_address": str(addr), "netmask": str(network.netmask),
            "routes": routes, "services": [{"type": "dns", "address": d} for d in subnet.get("dns_nameservers") or []]}


def openstack_files(version: str, has_user_data: bool) -> list[str]:
    """What ``/openstack/<version>/`` lists, in Nova's order."""
    return [name for name, since in FILE_SINCE.items()
            if _at_least(version, since) and (name != "user_data" or has_user_data)]


def _at_least(version: str, since: str) -> bool:
    return version == "latest" or version >= since


def ec2_tree(instance: dict[str, Any], *, floating_ips: list[str]) -> dict[str, Any]:
    """The EC2-style ``meta-data`` tree: a value is a string, a dict is a directory."""
    iid = str(instance.get("id"))
    hostname = str(instance.get("hostname") or iid)
    fixed4 = [ip["ip_address"] for vif in instance.get("network_info") or [] for ip in vif.get("fixed_ips") or []
              if ipaddress.ip_address(ip["ip_address"]).version == 4]
    image = str(instance.get("image_ref") or "")
    flavor = instance.get("flavor") or {}
    tree: dict[str, Any] = {
        "ami-id": ec2_id(image, "ami") if image else "",
        "ami-launch-index": str(int(instance.get("launch_index") or 0)),
        "ami-manifest-path": "FIXME",       # sic: the literal value Nova serves (EC2 clients ignore it)
        "block-device-mapping": {"ami": "vda", "root": instance.get("root_device_name") or "/dev/vda"},
        "hostname": hostname, "instance-action": "none", "instance-id": ec2_id(iid, "i"),
        "instance-type": str(flavor.get("original_name") or flavor.get("name") or ""),
        "local-hostname": hostname, "local-ipv4": fixed4[0] if fixed4 else "",
        "placement": {"availability-zone": instance.get("availability_zone") or "nova"},
        "public-hostname": hostname, "public-ipv4": floating_ips[0] if floating_ips else "",
        "reservation-id": str(instance.get("reservation_id") or ""),
        "security-groups": "\n".join(instance.get("security_groups") or []),
    }
    if instance.get("key_data"):
        tree["public-keys"] = {"0": {"openssh-key": instance["key_data"]}}
    return tree


def ec2_names(instance: dict[str, Any]) -> dict[str, str]:
    """How ``public-keys/`` lists its entries: ``0=<key name>``."""
    return {"0": f"0={instance.get('key_name') or 'key'}"}


def listing(node: dict[str, Any], names: dict[str, str] | None = None) -> str:
    """A directory of the EC2 tree as the metadata service prints it: one entry a line, ``/`` after
    directories."""
    out = []
    for key, value in node.items():
        if names and key in names:
            out.append(names[key])
        else:
            out.append(f"{key}/" if isinstance(value, dict) else key)
    return "\n".join(out)


def check_password(body: bytes) -> str:
    """A password an instance posts (Nova's ``password`` file): at most 256 bytes of text."""
    if len(body) > MAX_PASSWORD_BYTES:
        raise ValueError(f"Request is too large (more than {MAX_PASSWORD_BYTES} bytes).")
    return body.decode("utf-8", errors="replace")
