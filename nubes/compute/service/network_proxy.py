"""Nova's network proxy APIs (microversions below 2.36): floating IPs and their pools, security
groups and their rules, networks — each a call to the network API with the caller's token, as
Nova's neutronv2 API makes it; Neutron's refusals become Nova's errors. The server actions
addFloatingIp / removeFloatingIp (below 2.44) associate through the same calls."""

from __future__ import annotations

import ipaddress
import logging
from typing import Any
from urllib.parse import urlencode

from nubes.core.context import RequestContext
from nubes.compute import exceptions as exc
from nubes.compute.service.snapshots import message_of

LOG = logging.getLogger(__name__)


def _neutron_type(r: Any) -> str:
    try:
        return r.json()["NeutronError"]["type"]
    except (ValueError, KeyError, TypeError):
        return ""


class NetworkProxy:
    def __init__(self, state: Any) -> None:
        self.state = state

    async def _net(self, ctx: RequestContext, method: str, path: str, **kw: Any) -> Any:
        return await self.state.rt.clients.request("network", method, path, token=ctx.auth_token, **kw)

    async def _get(self, ctx: RequestContext, path: str, key: str) -> list[dict[str, Any]]:
        r = await self._net(ctx, "GET", path)
        if r.status_code != 200:
            raise exc.BadRequest(f"The network service refused the request: {message_of(r)}")
        return r.json().get(key, [])

    # -- networks --------------------------------------------------------------------------------
    async def networks(self, ctx: RequestContext, *, mine: bool = False) -> list[dict[str, Any]]:
        """The networks the caller may use (its project's and shared ones, with ``mine``)."""
        nets = await self._get(ctx, "/v2.0/networks", "networks")
        if mine:
            nets = [n for n in nets if n.get("shared") or n.get("project_id", n.get("tenant_id")) == ctx.project_id]
        return nets

    async def network(self, ctx: RequestContext, network_id: str) -> dict[str, Any] | None:
        r = await self._net(ctx, "GET", f"/v2.0/networks/{network_id}")
        return r.json()["network"] if r.status_code == 200 else None

    # -- floating IPs ----------------------------------------------------------------------------
    async def pools(self, ctx: RequestContext) -> list[dict[str, Any]]:
        return await self._get(ctx, "/v2.0/networks?router%3Aexternal=True", "networks")

    async def _with_details(self, ctx: RequestContext, fips: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Each floating IP with its pool's name and its port's server (Nova's view needs both)."""
        nets = {n["id"]: n for n in await self._get(ctx, "/v2.0/networks", "networks")}
        port_ids = sorted({f["port_id"] for f in fips if f.get("port_id")})
        ports: dict[str, dict[str, Any]] = {}
        if port_ids:
            query = urlencode([("id", p) for p in port_ids])
            ports = {p["id"]: p for p in await self._get(ctx, f"/v2.0/ports?{query}", "ports")}
        out = []
        for f in fips:
            net = nets.get(f["floating_network_id"], {})
            port = ports.get(f.get("port_id") or "", {})
            out.append({**f, "pool": net.get("name") or f["floating_network_id"],
                        "instance_id": port.get("device_id") or None if f.get("port_id") else None})
        return out

    async def floating_ips(self, ctx: RequestContext) -> list[dict[str, Any]]:
        query = urlencode({"project_id": ctx.project_id})
        return await self._with_details(ctx, await self._get(ctx, f"/v2.0/floatingips?{query}", "floatingips"))

    async def floating_ip(self, ctx: RequestContext, fip_id: str) -> dict[str, Any]:
        r = await self._net(ctx, "GET", f"/v2.0/floatingips/{fip_id}")
        if r.status_code != 200:
            raise exc.NotFound(f"Floating IP not found for ID {fip_id}")
        return (await self._with_details(ctx, [r.json()["floatingip"]]))[0]

    async def allocate(self, ctx: RequestContext, pool: str | None) -> dict[str, Any]:
        pools = await self.pools(ctx)
        if pool is None:
            found = pools if len(pools) == 1 else []
        else:
            found = [n for n in pools if n["id"] == pool] or [n for n in pools if n.get("name") == pool]
        if len(found) > 1:
            raise exc.Conflict(f"Multiple floating IP pools matches found for name '{pool}'")
        if not found:
            raise exc.NotFound("Floating IP pool not found.")
        net = found[0]
        r = await self._net(ctx, "POST", "/v2.0/floatingips", json={"floatingip": {
            "floating_network_id": net["id"], "project_id": ctx.project_id}})
        if r.status_code == 201:
            return (await self._with_details(ctx, [r.json()["floatingip"]]))[0]
        kind = _neutron_type(r)
        if kind == "OverQuota":
            raise exc.OverQuota(f"IP allocation over quota in pool {net.get('name') or net['id']}.")
        if kind in ("IpAddressGenerationFailure", "ExternalIpAddressExhausted"):
            raise exc.NotFound(f"No more floating IPs in pool {net.get('name') or net['id']}.")
        raise exc.BadRequest(f"Floating IP allocation failed: {message_of(r)}")

    async def release(self, ctx: RequestContext, fip_id: str) -> None:
        await self.floating_ip(ctx, fip_id)
        r = await self._net(ctx, "DELETE", f"/v2.0/floatingips/{fip_id}")
        if r.status_code == 404:
            raise exc.NotFound(f"Floating IP not found for ID {fip_id}")
        if r.status_code not in (200, 204):
            raise exc.BadRequest(f"Floating IP release failed: {message_of(r)}")

    async def _by_address(self, ctx: RequestContext, address: str) -> dict[str, Any]:
        query = urlencode({"floating_ip_address": address})
        found = await self._get(ctx, f"/v2.0/floatingips?{query}", "floatingips")
        if not found:
            raise exc.NotFound("floating IP not found")
        return found[0]

    async def associate(self, ctx: RequestContext, row: Any, address: str, fixed: str | None) -> None:
        """addFloatingIp: the floating IP ``address`` to the server's port with ``fixed`` (or its
        first fixed IPv4 address), with Nova's 400s and 404s."""
        vifs = row.network_info or []
        if not vifs:
            raise exc.BadRequest("Instance network is not ready yet")
        ips = [(v["id"], ip["address"]) for v in vifs for ip in v.get("fixed_ips") or []]
        if not ips:
            raise exc.BadRequest("No fixed IPs associated to instance")
        if fixed is not None:
            chosen = [x for x in ips if x[1] == fixed]
            if not chosen:
                raise exc.BadRequest("Specified fixed address not assigned to instance")
        else:
            chosen = [x for x in ips if ipaddress.ip_address(x[1]).version == 4]
            if not chosen:
                raise exc.BadRequest(f"Unable to associate floating IP {address} to any fixed IPs for instance "
                                     f"{row.id}. Instance has no fixed IPv4 addresses to associate.")
        port_id, fixed_ip = chosen[0]
        fip = await self._by_address(ctx, address)
        r = await self._net(ctx, "PUT", f"/v2.0/floatingips/{fip['id']}", json={"floatingip": {
            "port_id": port_id, "fixed_ip_address": fixed_ip}})
        if r.status_code == 404:
            raise exc.NotFound("floating IP not found")
        if r.status_code == 403:
            raise exc.Forbidden(message_of(r))
        if r.status_code != 200:
            raise exc.BadRequest(f"Unable to associate floating IP {address} to fixed IP {fixed_ip} for instance "
                                 f"{row.id}. Error: {message_of(r)}")

    async def disassociate(self, ctx: RequestContext, row: Any, address: str) -> None:
        """removeFloatingIp: 409 when ``address`` is not associated with this server."""
        fip = await self._by_address(ctx, address)
        ports = {v["id"] for v in row.network_info or []}
        if not fip.get("port_id") or fip["port_id"] not in ports:
            raise exc.Conflict(f"Floating IP {address} is not associated with instance {row.id}.")
        r = await self._net(ctx, "PUT", f"/v2.0/floatingips/{fip['id']}", json={"floatingip": {"port_id": None}})
        if r.status_code != 200:
            raise exc.BadRequest(f"Unable to disassociate floating IP {address}: {message_of(r)}")

    # -- security groups -------------------------------------------------------------------------
    async def security_groups(self, ctx: RequestContext, all_projects: bool) -> list[dict[str, Any]]:
        path = "/v2.0/security-groups"
        if not all_projects:
            path += "?" + urlencode({"project_id": ctx.project_id})
        return await self._get(ctx, path, "security_groups")

    async def security_group(self, ctx: RequestContext, group_id: str) -> dict[str, Any]:
        r = await self._net(ctx, "GET", f"/v2.0/security-groups/{group_id}")
        if r.status_code != 200:
            raise exc.SecurityGroupNotFound(f"Security group {group_id} not found.")
        return r.json()["security_group"]

    async def create_group(self, ctx: RequestContext, name: str, description: str) -> dict[str, Any]:
        r = await self._net(ctx, "POST", "/v2.0/security-groups", json={"security_group": {
            "name": name, "description": description}})
        if r.status_code == 201:
            return r.json()["security_group"]
        if _neutron_type(r) == "OverQuota":
            raise exc.OverQuota(f"Quota exceeded, too many security groups: {message_of(r)}")
        raise exc.BadRequest(message_of(r))

    async def update_group(self, ctx: RequestContext, group_id: str, name: str, description: str) -> dict[str, Any]:
        await self.security_group(ctx, group_id)
        r = await self._net(ctx, "PUT", f"/v2.0/security-groups/{group_id}", json={"security_group": {
            "name": name, "description": description}})
        if r.status_code != 200:
            raise exc.BadRequest(message_of(r))
        return r.json()["security_group"]

    async def delete_group(self, ctx: RequestContext, group_id: str) -> None:
        await self.security_group(ctx, group_id)
        r = await self._net(ctx, "DELETE", f"/v2.0/security-groups/{group_id}")
        if r.status_code == 409:
            raise exc.BadRequest(message_of(r))
        if r.status_code not in (200, 204):
            raise exc.BadRequest(message_of(r))

    async def create_rule(self, ctx: RequestContext, rule: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        """A Neutron ingress rule; returns (rule, its group) for Nova's view."""
        group = await self.security_group(ctx, rule["security_group_id"])
        r = await self._net(ctx, "POST", "/v2.0/security-group-rules", json={"security_group_rule": rule})
        if r.status_code == 201:
            return r.json()["security_group_rule"], group
        kind = _neutron_type(r)
        if kind == "SecurityGroupRuleExists":
            raise exc.BadRequest(f"This rule already exists in group {rule['security_group_id']}")
        if kind == "OverQuota":
            raise exc.OverQuota(f"Quota exceeded, too many security group rules: {message_of(r)}")
        raise exc.BadRequest(message_of(r))

    async def delete_rule(self, ctx: RequestContext, rule_id: str) -> None:
        r = await self._net(ctx, "GET", f"/v2.0/security-group-rules/{rule_id}")
        if r.status_code != 200:
            raise exc.SecurityGroupNotFound(f"Security group rule {rule_id} could not be found.")
        r = await self._net(ctx, "DELETE", f"/v2.0/security-group-rules/{rule_id}")
        if r.status_code not in (200, 204):
            raise exc.BadRequest(message_of(r))
