"""A server's interfaces (os-interface), security groups (add/remove, os-security-groups), console
output and diagnostics.

Ports are read and changed through the network API with the caller's token, as Nova does;
an attach is a call to the server's host (it creates or binds the port, plugs it through the
driver and answers the port), a detach a cast (it unplugs, then deletes the port Nova made or
unbinds the user's own).
"""

from __future__ import annotations

import logging
from typing import Any

from nubes.core.context import RequestContext
from nubes.core.db.base import utcnow
from nubes.compute import exceptions as exc
from nubes.compute import rpc
from nubes.compute.db.queries import instances as qi
from nubes.compute.service.server_actions import ServerActions
from nubes.compute.service.server_actions_rules import RULES, check
from nubes.compute.service.snapshots import message_of

LOG = logging.getLogger(__name__)
AMBIGUOUS = "More than one possible network found. Specify network ID(s) to select which one(s) to connect to."


class ServerNetwork:
    def __init__(self, state: Any, actions: ServerActions) -> None:
        self.state = state
        self.actions = actions

    @property
    def clients(self) -> Any:
        return self.state.rt.clients

    async def _net(self, ctx: RequestContext, method: str, path: str, **kw: Any) -> Any:
        return await self.clients.request("network", method, path, token=ctx.auth_token, **kw)

    async def _row(self, ctx: RequestContext, instance_id: str) -> Any:
        async with self.state.db.reader() as s:
            return await self.actions.visible(s, ctx, instance_id)

    async def ports(self, ctx: RequestContext, instance_id: str) -> list[dict[str, Any]]:
        r = await self._net(ctx, "GET", f"/v2.0/ports?device_id={instance_id}")
        if r.status_code != 200:
            raise exc.BadRequest(f"Can not list the server's ports (the network service answered "
                                 f"{r.status_code}).")
        return r.json().get("ports", [])

    # -- interfaces ----------------------------------------------------------------------------
    async def interfaces(self, ctx: RequestContext, instance_id: str) -> tuple[Any, list[dict[str, Any]]]:
        row = await self._row(ctx, instance_id)
        return row, await self.ports(ctx, instance_id)

    async def interface(self, ctx: RequestContext, instance_id: str, port_id: str) -> tuple[Any, dict[str, Any]]:
        row = await self._row(ctx, instance_id)
        r = await self._net(ctx, "GET", f"/v2.0/ports/{port_id}")
        if r.status_code != 200:
            raise exc.PortNotFound(port_id)
        port = r.json()["port"]
        if port.get("device_id") != instance_id:
            raise exc.NotFound(f"Instance {instance_id} does not have a port with id {port_id}")
        return row, port

    async def _requested(self, ctx: RequestContext, network_id: str | None, port_id: str | None,
                         fixed_ip: str | None, tag: str | None) -> dict[str, Any]:
        if port_id:
            r = await self._net(ctx, "GET", f"/v2.0/ports/{port_id}")
            if r.status_code != 200:
                raise exc.PortNotFound(port_id)
            port = r.json()["port"]
            if port.get("device_id"):
                raise exc.PortInUse(port_id)
            return {"network_id": port["network_id"], "port_id": port_id, "fixed_ip": None, "tag": tag}
        if not network_id:
            r = await self._net(ctx, "GET", "/v2.0/networks")
            nets = [n for n in (r.json().get("networks", []) if r.status_code == 200 else [])
                    if not n.get("router:external") and (n.get("shared") or n.get("project_id") == ctx.project_id)]
            if len(nets) > 1:
                raise exc.Conflict(AMBIGUOUS)
            if not nets:
                raise exc.BadRequest("No network is available to attach an interface to: pass net_id or port_id.")
            network_id = nets[0]["id"]
        elif (await self._net(ctx, "GET", f"/v2.0/networks/{network_id}")).status_code != 200:
            raise exc.NetworkNotFound(network_id)
        return {"network_id": network_id, "port_id": None, "fixed_ip": fixed_ip, "tag": tag}

    async def attach(self, ctx: RequestContext, instance_id: str, *, network_id: str | None,
                     port_id: str | None, fixed_ip: str | None, tag: str | None) -> tuple[Any, dict[str, Any]]:
        rule = RULES["attach_interface"]
        await self.actions.precheck(ctx, instance_id, rule)
        wanted = await self._requested(ctx, network_id, port_id, fixed_ip, tag)
        begun = await self.actions.begin(ctx, instance_id, rule)
        vif = await self.state.bus.call(rpc.agent_topic(begun.host), "attach_interface", {
            "instance_id": instance_id, "request_id": begun.request_id, "instance": begun.record,
            "network": wanted}, timeout=self.state.conf.rpc_timeout)
        return await self.interface(ctx, instance_id, vif["id"])

    async def detach(self, ctx: RequestContext, instance_id: str, port_id: str) -> None:
        rule = RULES["detach_interface"]
        row = await self.actions.precheck(ctx, instance_id, rule)
        if not any(v.get("id") == port_id for v in row.network_info or []):
            raise exc.PortNotFound(port_id)
        begun = await self.actions.begin(ctx, instance_id, rule,
                                         pending=("detach_interface", {"port_id": port_id}))
        await self.actions.to_host(begun, "detach_interface", {"port_id": port_id})

    # -- security groups -------------------------------------------------------------------------
    async def _group(self, ctx: RequestContext, name: str) -> dict[str, Any]:
        r = await self._net(ctx, "GET", "/v2.0/security-groups")
        groups = r.json().get("security_groups", []) if r.status_code == 200 else []
        found = [g for g in groups if g["id"] == name] or [
            g for g in groups if g["name"] == name and g.get("project_id", g.get("tenant_id")) == ctx.project_id]
        if len(found) > 1:
            raise exc.Conflict(f"Multiple security_group matches found for name '{name}', use an ID to be "
                               "more specific.")
        if not found:
            raise exc.SecurityGroupNotFound(f"Security group {name} is not found for project {ctx.project_id}")
        return found[0]

    async def change_group(self, ctx: RequestContext, instance_id: str, name: str, *, add: bool) -> None:
        row = await self._row(ctx, instance_id)
        check(row, RULES["addSecurityGroup" if add else "removeSecurityGroup"], lock_exempt=ctx.is_admin)
        group = await self._group(ctx, name)
        ports = await self.ports(ctx, instance_id)
        if not ports:
            raise exc.SecurityGroupNotFound(f"instance_id {instance_id} could not be found as device id on any ports")
        changed = False
        for port in ports:
            have = list(port.get("security_groups") or [])
            if add:
                if port.get("port_security_enabled") is False:
                    raise exc.BadRequest("Network requires port_security_enabled and subnet associated in order "
                                         "to apply security groups.")
                wanted = have if group["id"] in have else [*have, group["id"]]
            else:
                wanted = [g for g in have if g != group["id"]]
            if wanted == have:
                continue
            r = await self._net(ctx, "PUT", f"/v2.0/ports/{port['id']}", json={"port": {"security_groups": wanted}})
            if r.status_code != 200:
                raise exc.BadRequest(f"Security group {name} cannot be applied to port {port['id']}: {message_of(r)}")
            changed = True
        if not add and not changed:
            raise exc.SecurityGroupNotFound(f"Security group {name} not associated with the instance {instance_id}")
        await self._remember_group(instance_id, group["name"], add=add)

    async def _remember_group(self, instance_id: str, name: str, *, add: bool) -> None:
        async with self.state.db.session() as s:
            row = await qi.get(s, instance_id, for_update=True)
            if row is None:
                return
            names = [n for n in row.security_groups or [] if n != name]
            row.security_groups = [*names, name] if add else names
            row.updated_at = utcnow()

    async def groups(self, ctx: RequestContext, instance_id: str) -> list[dict[str, Any]]:
        """The server's security groups in Nova's format (ingress rules only)."""
        await self._row(ctx, instance_id)
        ids = sorted({g for p in await self.ports(ctx, instance_id) for g in p.get("security_groups") or []})
        found = []
        for gid in ids:
            r = await self._net(ctx, "GET", f"/v2.0/security-groups/{gid}")
            if r.status_code == 200:
                found.append(r.json()["security_group"])
        names = {g["id"]: g.get("name") for g in found}
        return [nova_group(g, names) for g in found]

    # -- console and diagnostics -----------------------------------------------------------------
    async def console_output(self, ctx: RequestContext, instance_id: str, length: int | None) -> str:
        row = await self._row(ctx, instance_id)
        if not row.host:
            raise exc.InstanceNotReady(row.id)
        if row.task_state in ("deleting", "migrating"):
            raise exc.Conflict(f"Instance {row.id} in task_state {row.task_state}. Cannot get_console_output "
                               "while the instance is in this state.")
        reply = await self._host_call(row, "get_console_output", {"length": length})
        return reply.get("output", "")

    async def diagnostics(self, ctx: RequestContext, instance_id: str) -> dict[str, Any]:
        row = await self._row(ctx, instance_id)
        if not row.host:
            raise exc.InstanceNotReady(row.id)
        if row.task_state in ("deleting", "migrating"):
            raise exc.Conflict(f"Instance {row.id} in task_state {row.task_state}. Cannot get_diagnostics "
                               "while the instance is in this state.")
        return await self._host_call(row, "get_diagnostics", {})

    async def _host_call(self, row: Any, method: str, extra: dict[str, Any]) -> Any:
        from nubes.compute.service import server_records
        from nubes.core.exceptions import Timeout

        try:
            return await self.state.bus.call(rpc.agent_topic(row.host), method, {
                "instance_id": row.id, "instance": server_records.record(row), **extra},
                timeout=min(30.0, float(self.state.conf.rpc_timeout)))
        except Timeout:
            raise exc.ComputeServiceUnavailable(row.host) from None


def nova_group(g: dict[str, Any], names: dict[str, str] | None = None) -> dict[str, Any]:
    """A Neutron security group as Nova shows it: its ingress rules, ports 1-65535 for TCP/UDP and
    -1 for other protocols when none are given, the remote group by name or the remote prefix."""
    names = {g["id"]: g.get("name"), **(names or {})}
    rules = []
    for rule in g.get("security_group_rules", []):
        if rule.get("direction") != "ingress":
            continue
        proto = rule.get("protocol")
        lo, hi = rule.get("port_range_min"), rule.get("port_range_max")
        if proto and lo is None:
            lo, hi = (1, 65535) if str(proto).upper() in ("TCP", "UDP") else (-1, -1)
        out: dict[str, Any] = {"id": rule["id"], "parent_group_id": g["id"], "ip_protocol": proto,
                               "from_port": lo, "to_port": hi, "group": {}, "ip_range": {}}
        remote = rule.get("remote_group_id")
        if remote:
            out["group"] = {"name": names.get(remote, remote), "tenant_id": g.get("project_id", g.get("tenant_id"))}
        else:
            out["ip_range"] = {"cidr": rule.get("remote_ip_prefix")}
        rules.append(out)
    return {"id": g["id"], "name": g.get("name"), "description": g.get("description") or "",
            "tenant_id": g.get("project_id", g.get("tenant_id")), "rules": rules}
