"""Handlers for /servers/{id}/os-interface[/{port_id}] (Nova's attach_interfaces) and the server's
security groups, /servers/{id}/os-security-groups."""

from __future__ import annotations

from typing import Any

from nubes.core.api.http import Request, empty_response, json_response, read_json
from nubes.compute import exceptions as exc
from nubes.compute.api import authz
from nubes.compute.api import validation as v
from nubes.compute.api.server_schemas import UUID

IP = {"type": "string"}


def _create_schema(version: tuple[int, int]) -> dict[str, Any]:
    props: dict[str, Any] = {
        "net_id": UUID, "port_id": UUID,
        "fixed_ips": {"type": "array", "minItems": 1, "maxItems": 1, "items": {
            "type": "object", "required": ["ip_address"], "additionalProperties": False,
            "properties": {"ip_address": IP}}}}
    if version >= (2, 49):
        props["tag"] = {"type": "string", "maxLength": 60, "pattern": r"^[^,/]*$"}
    return {"type": "object", "additionalProperties": False, "properties": {
        "interfaceAttachment": {"type": "object", "additionalProperties": False, "properties": props}}}


def _svc(req: Request) -> Any:
    return req.rt.extra["compute"].server_network


def _sid(req: Request) -> str:
    return req.path_params["server_id"]


def attachment(req: Request, row: Any, port: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "fixed_ips": [{"subnet_id": ip.get("subnet_id"), "ip_address": ip.get("ip_address")}
                      for ip in port.get("fixed_ips", [])],
        "mac_addr": port.get("mac_address"), "net_id": port.get("network_id"), "port_id": port["id"],
        "port_state": port.get("status")}
    if req.ctx.api_version >= (2, 70):
        vif = next((x for x in row.network_info or [] if x.get("id") == port["id"]), {})
        out["tag"] = vif.get("tag")
    return out


IF = f"{authz.P}:os-attach-interfaces"


async def list_interfaces(req: Request):
    await authz.server(req, f"{IF}:list")
    row, ports = await _svc(req).interfaces(req.ctx, _sid(req))
    return json_response({"interfaceAttachments": [attachment(req, row, p) for p in ports]})


async def show_interface(req: Request):
    await authz.server(req, f"{IF}:show")
    row, port = await _svc(req).interface(req.ctx, _sid(req), req.path_params["port_id"])
    return json_response({"interfaceAttachment": attachment(req, row, port)})


async def create_interface(req: Request):
    body = await read_json(req, required=False)
    body = v.validate({} if body is None else body, _create_schema(req.ctx.api_version))
    att = body.get("interfaceAttachment") or {}
    net, port = att.get("net_id"), att.get("port_id")
    ips = att.get("fixed_ips") or []
    if net and port:
        raise exc.BadRequest("Must not input both network_id and port_id")
    if ips and not net:
        raise exc.BadRequest("Must input network_id when request IP address")
    for ip in ips:
        try:
            import ipaddress

            ipaddress.ip_address(ip["ip_address"])
        except ValueError:
            raise exc.BadRequest(f"Invalid input for field/attribute ip_address. Value: {ip['ip_address']}. "
                                 f"'{ip['ip_address']}' is not a 'ipv4' or 'ipv6'") from None
    await authz.server(req, f"{IF}:create")
    row, p = await _svc(req).attach(req.ctx, _sid(req), network_id=net, port_id=port,
                                    fixed_ip=ips[0]["ip_address"] if ips else None, tag=att.get("tag"))
    return json_response({"interfaceAttachment": attachment(req, row, p)})


async def delete_interface(req: Request):
    await authz.server(req, f"{IF}:delete")
    await _svc(req).detach(req.ctx, _sid(req), req.path_params["port_id"])
    return empty_response(202)


async def list_server_security_groups(req: Request):
    await authz.server(req, f"{authz.P}:os-security-groups:list")
    return json_response({"security_groups": await _svc(req).groups(req.ctx, _sid(req))})
