"""Handlers of Nova's network proxy APIs, served below microversion 2.36 (404 from it, as Nova):
/os-floating-ips, /os-floating-ip-pools, /os-security-groups, /os-security-group-rules,
/os-networks and /os-tenant-networks; and the server actions addFloatingIp / removeFloatingIp
(below 2.44). Each is proxied to the network service (service/network_proxy.py) and shown in
Nova's view. Creating, deleting or associating nova-network networks answers 410, as Nova."""

from __future__ import annotations

import ipaddress
import uuid
from typing import Any

from nubes.core.api.http import Request, empty_response, json_response, read_json
from nubes.core.exceptions import Gone
from nubes.compute import exceptions as exc
from nubes.compute.api import authz
from nubes.compute.api import validation as v
from nubes.compute.api.proxy_versions import until
from nubes.compute.service.server_actions_network import nova_group

P = authz.P
FIP, SGR = f"{P}:os-floating-ips", f"{P}:os-security-groups"
LAST = "2.35"          # Nova's MAX_PROXY_API_SUPPORT_VERSION
LAST_FIP_ACTIONS = "2.43"
IP = {"type": "string"}


def _check_ips(body: dict[str, Any]) -> dict[str, Any]:
    for field in ("address", "fixed_address"):
        value = body.get(field)
        if value is None:
            continue
        try:
            ipaddress.ip_address(value)
        except ValueError:
            raise exc.BadRequest(f"Invalid input for field/attribute {field}. Value: {value}. "
                                 f"'{value}' is not a 'ipv4' or 'ipv6'") from None
    return body


def _svc(req: Request) -> Any:
    return req.rt.extra["compute"].network_proxy


# -- floating IPs and pools ----------------------------------------------------------------------
def _fip(f: dict[str, Any]) -> dict[str, Any]:
    return {"id": f["id"], "ip": f["floating_ip_address"], "pool": f["pool"],
            "fixed_ip": f.get("fixed_ip_address"), "instance_id": f.get("instance_id")}


@until(LAST)
async def list_floating_ips(req: Request):
    authz.own(req, f"{FIP}:list")
    return json_response({"floating_ips": [_fip(f) for f in await _svc(req).floating_ips(req.ctx)]})


@until(LAST)
async def show_floating_ip(req: Request):
    authz.own(req, f"{FIP}:show")
    return json_response({"floating_ip": _fip(await _svc(req).floating_ip(req.ctx, req.path_params["fip_id"]))})


@until(LAST)
async def create_floating_ip(req: Request):
    body = await read_json(req, required=False)
    pool = None
    if body is not None:
        body = v.validate(body, {"type": ["object", "null"], "properties": {"pool": {"type": ["string", "null"]}}})
        pool = (body or {}).get("pool")
    authz.own(req, f"{FIP}:create")
    return json_response({"floating_ip": _fip(await _svc(req).allocate(req.ctx, pool))})


@until(LAST)
async def delete_floating_ip(req: Request):
    authz.own(req, f"{FIP}:delete")
    await _svc(req).release(req.ctx, req.path_params["fip_id"])
    return empty_response(202)


@until(LAST)
async def list_floating_ip_pools(req: Request):
    authz.own(req, f"{P}:os-floating-ip-pools")
    pools = await _svc(req).pools(req.ctx)
    return json_response({"floating_ip_pools": [{"name": n.get("name") or n["id"]} for n in pools]})


ADD_FIP = {"type": "object", "required": ["addFloatingIp"], "properties": {"addFloatingIp": {
    "type": "object", "required": ["address"], "additionalProperties": False,
    "properties": {"address": IP, "fixed_address": IP}}}}
REMOVE_FIP = {"type": "object", "required": ["removeFloatingIp"], "properties": {"removeFloatingIp": {
    "type": "object", "required": ["address"], "additionalProperties": False, "properties": {"address": IP}}}}


async def _server_row(req: Request) -> Any:
    state = req.rt.extra["compute"]
    async with state.db.reader() as s:
        return await state.server_actions.visible(s, req.ctx, req.path_params["server_id"])


@until(LAST_FIP_ACTIONS)
async def add_floating_ip(req: Request, arg: Any):
    body = _check_ips(v.validate({"addFloatingIp": arg}, ADD_FIP)["addFloatingIp"])
    await authz.server(req, f"{FIP}:add")
    await _svc(req).associate(req.ctx, await _server_row(req), body["address"], body.get("fixed_address"))
    return empty_response(202)


@until(LAST_FIP_ACTIONS)
async def remove_floating_ip(req: Request, arg: Any):
    body = _check_ips(v.validate({"removeFloatingIp": arg}, REMOVE_FIP)["removeFloatingIp"])
    await authz.server(req, f"{FIP}:remove")
    await _svc(req).disassociate(req.ctx, await _server_row(req), body["address"])
    return empty_response(202)


ACTIONS = {"addFloatingIp": add_floating_ip, "removeFloatingIp": remove_floating_ip}


# -- security groups and rules -------------------------------------------------------------------
def _from_body(body: Any, key: str) -> dict[str, Any]:
    if not body:
        raise exc.BadRequest("The request body can't be empty")
    value = body.get(key) if isinstance(body, dict) else None
    if not isinstance(value, dict):
        raise exc.BadRequest(f"Missing parameter {key}")
    return value


def _group_fields(group: dict[str, Any]) -> tuple[str, str]:
    out = []
    for prop in ("name", "description"):
        value = group.get(prop)
        if value is None:
            raise exc.BadRequest(f"Security group {prop} is not a string or unicode")
        if not isinstance(value, str):
            raise exc.BadRequest(f"Security group {prop} is not a string or unicode")
        if len(value) > 255:
            raise exc.BadRequest(f"Security group {prop} should not be greater than 255 characters.")
        out.append(value)
    return out[0], out[1]


def _group_id(value: Any, what: str = "Security group id") -> str:
    try:
        return str(uuid.UUID(str(value)))
    except ValueError:
        raise exc.BadRequest(f"{what} should be uuid") from None


@until(LAST)
async def list_security_groups(req: Request):
    authz.own(req, f"{SGR}:get")
    every = v.as_bool(req.query_params.get("all_tenants", "0")) and req.ctx.is_admin
    groups = await _svc(req).security_groups(req.ctx, every)
    names = {g["id"]: g.get("name") for g in groups}
    offset = _int(req.query_params.get("offset"), "offset") or 0
    limit = _int(req.query_params.get("limit"), "limit")
    groups = groups[offset:] if limit is None else groups[offset:offset + limit]
    return json_response({"security_groups": [nova_group(g, names) for g in groups]})


def _int(raw: str | None, name: str) -> int | None:
    if raw is None:
        return None
    if not raw.isdigit():
        raise exc.BadRequest(f"Invalid input for query parameters {name}. Value: {raw}. "
                             f"'{raw}' does not match '^[0-9]*$'")
    return int(raw)


@until(LAST)
async def show_security_group(req: Request):
    authz.own(req, f"{SGR}:show")
    gid = _group_id(req.path_params["group_id"])
    return json_response({"security_group": nova_group(await _svc(req).security_group(req.ctx, gid))})


@until(LAST)
async def create_security_group(req: Request):
    name, description = _group_fields(_from_body(await read_json(req, required=False), "security_group"))
    authz.own(req, f"{SGR}:create")
    return json_response({"security_group": nova_group(await _svc(req).create_group(req.ctx, name, description))})


@until(LAST)
async def update_security_group(req: Request):
    gid = _group_id(req.path_params["group_id"])
    name, description = _group_fields(_from_body(await read_json(req, required=False), "security_group"))
    authz.own(req, f"{SGR}:update")
    group = await _svc(req).update_group(req.ctx, gid, name, description)
    return json_response({"security_group": nova_group(group)})


@until(LAST)
async def delete_security_group(req: Request):
    gid = _group_id(req.path_params["group_id"])
    authz.own(req, f"{SGR}:delete")
    await _svc(req).delete_group(req.ctx, gid)
    return empty_response(202)


def _ports(protocol: str, lo: Any, hi: Any) -> tuple[int, int]:
    icmp = protocol.upper() == "ICMP"
    if lo is None and hi is None and icmp:
        lo = hi = -1
    try:
        lo, hi = int(lo), int(hi)
    except (TypeError, ValueError):
        raise exc.BadRequest("Type and Code must be integers for ICMP protocol type" if icmp
                             else "To and From ports must be integers") from None
    if protocol.upper() not in ("TCP", "UDP", "ICMP"):
        raise exc.BadRequest(f"Invalid IP protocol {protocol}.")
    if not icmp and lo > hi:
        raise exc.BadRequest(f"Invalid port range {lo}:{hi}. Former value cannot be greater than the later")
    if not icmp and (lo < 1 or hi > 65535):
        raise exc.BadRequest(f"Invalid port range {lo}:{hi}. Valid {protocol.upper()} ports should be "
                             "between 1-65535")
    if icmp and not (-1 <= lo <= 255 and -1 <= hi <= 255):
        raise exc.BadRequest(f"Invalid port range {lo}:{hi}. For ICMP, the type:code must be valid")
    return lo, hi


def _neutron_rule(rule: dict[str, Any], parent: str, group_id: str | None) -> dict[str, Any] | None:
    """Nova's rule arguments as a Neutron ingress rule; None when they do not make one."""
    out: dict[str, Any] = {"security_group_id": parent, "direction": "ingress", "ethertype": "IPv4"}
    if group_id is not None:
        out["remote_group_id"] = group_id
    else:
        cidr = rule.get("cidr") or "0.0.0.0/0"
        try:
            net = ipaddress.ip_network(str(cidr), strict=False)
        except ValueError:
            raise exc.BadRequest(f"{cidr} is not a valid IP network.") from None
        if net.prefixlen == 0 and not net.network_address.is_unspecified:
            raise exc.BadRequest(f"Bad prefix for network in cidr {cidr}")
        out["remote_ip_prefix"], out["ethertype"] = str(cidr), f"IPv{net.version}"
    protocol = rule.get("ip_protocol")
    if protocol:
        protocol = str(protocol)
        lo, hi = _ports(protocol, rule.get("from_port"), rule.get("to_port"))
        out["protocol"] = protocol.lower()
        out["port_range_min"] = None if lo == -1 else lo
        out["port_range_max"] = None if hi == -1 else hi
    elif group_id is None:
        return None
    return out


@until(LAST)
async def create_security_group_rule(req: Request):
    rule = _from_body(await read_json(req, required=False), "security_group_rule")
    parent = _group_id(rule.get("parent_group_id"))
    group_id = _group_id(rule["group_id"]) if rule.get("group_id") is not None else None
    wanted = _neutron_rule(rule, parent, group_id)
    if wanted is None:
        raise exc.BadRequest("Not enough parameters to build a valid rule.")
    authz.own(req, f"{SGR}:rule:create")
    names = {}
    if group_id is not None:
        names[group_id] = (await _svc(req).security_group(req.ctx, group_id)).get("name")
    made, group = await _svc(req).create_rule(req.ctx, wanted)
    return json_response({"security_group_rule": nova_group({**group, "security_group_rules": [made]},
                                                            names)["rules"][0]})


@until(LAST)
async def delete_security_group_rule(req: Request):
    rid = _group_id(req.path_params["rule_id"], "Security group rule id")
    authz.own(req, f"{SGR}:rule:delete")
    await _svc(req).delete_rule(req.ctx, rid)
    return empty_response(202)


# -- networks ------------------------------------------------------------------------------------
NETWORK_FIELDS = ("cidr", "netmask", "gateway", "broadcast", "dns1", "dns2", "cidr_v6", "gateway_v6", "netmask_v6")
ADMIN_NETWORK_FIELDS = ("created_at", "updated_at", "deleted_at", "deleted", "injected", "bridge", "vlan",
                        "vpn_public_address", "vpn_public_port", "vpn_private_address", "dhcp_start", "project_id",
                        "host", "bridge_interface", "multi_host", "priority", "rxtx_base", "mtu", "dhcp_server",
                        "enable_dhcp", "share_address")


def _network(req: Request, n: dict[str, Any]) -> dict[str, Any]:
    """Nova's os-networks view since nova-network is gone: the id and label, every other field null."""
    fields = NETWORK_FIELDS + (ADMIN_NETWORK_FIELDS if req.ctx.is_admin else ())
    return {"id": n["id"], "label": n.get("name"), **dict.fromkeys(fields)}


@until(LAST)
async def list_networks(req: Request):
    authz.own(req, f"{P}:os-networks:list")
    return json_response({"networks": [_network(req, n) for n in await _svc(req).networks(req.ctx)]})


@until(LAST)
async def show_network(req: Request):
    authz.own(req, f"{P}:os-networks:view")
    nid = req.path_params["network_id"]
    net = await _svc(req).network(req.ctx, nid)
    if net is None:
        raise exc.NetworkNotFound(nid)
    return json_response({"network": _network(req, net)})


def _tenant_network(n: dict[str, Any]) -> dict[str, Any]:
    return {"id": n["id"], "cidr": "None", "label": n.get("name")}


@until(LAST)
async def list_tenant_networks(req: Request):
    authz.own(req, f"{P}:os-tenant-networks:list")
    return json_response({"networks": [_tenant_network(n) for n in await _svc(req).networks(req.ctx, mine=True)]})


@until(LAST)
async def show_tenant_network(req: Request):
    authz.own(req, f"{P}:os-tenant-networks:show")
    net = await _svc(req).network(req.ctx, req.path_params["network_id"])
    if net is None:
        raise exc.NotFound("Network not found")
    return json_response({"network": _tenant_network(net)})


@until(LAST)
async def network_gone(req: Request):
    raise Gone("Network management through the compute API went with nova-network: use the network API.")
