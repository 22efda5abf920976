"""RBAC policies: open a network (access_as_shared, access_as_external) or a security group
(access_as_shared) to one project or to every project ("*").

The entries are the same rows the ``shared`` and ``router:external`` attributes of networks
read and write, so a wildcard access_as_shared entry is what makes a network ``shared``.
Removing or retargeting an entry is refused while the project losing access still uses the
object (its ports on the network or in the group, its routers' gateways and floating IPs on
an external network): ``RbacPolicyInUse``.
"""

from __future__ import annotations

import functools
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from nubes.core.context import RequestContext
from nubes.network.db.models import Network, SecurityGroup
from nubes.network.db.queries import networks as net_q
from nubes.network.db.queries import rbac as q
from nubes.network.db.queries import security_groups as sg_q
from nubes.network.exceptions import BadRequest, Conflict, InvalidInput, RbacPolicyNotFound
from nubes.network.service import quotas, transactions

SHARED, EXTERNAL = "access_as_shared", "access_as_external"
ACTIONS = {"network": (EXTERNAL, SHARED), "security_group": (SHARED,)}
OBJECT_TYPES = tuple(ACTIONS)
PARENT_LABEL = {"network": "networks", "security_group": "objects"}


class InvalidActionForType(BadRequest):
    code = "network.rbac_invalid_action_for_type"
    neutron_type = "InvalidActionForType"

    def __init__(self, action: str, object_type: str) -> None:
        super().__init__(f"Invalid action '{action}' for object type '{object_type}'. "
                         f"Valid actions: {list(ACTIONS[object_type])}")


class DuplicateRbacPolicy(Conflict):
    code = "network.duplicate_rbac_policy"
    neutron_type = "DuplicateRbacPolicy"

    def __init__(self) -> None:
        super().__init__("An RBAC policy already exists with those values.")


class RbacPolicyInUse(Conflict):
    code = "network.rbac_policy_in_use"
    neutron_type = "RbacPolicyInUse"

    def __init__(self, object_id: str, details: str) -> None:
        super().__init__(f"RBAC policy on object {object_id} cannot be removed because other objects "
                         f"depend on it.\nDetails: {details}")


@dataclass
class RbacRecord:
    object_type: str
    row: Any

    def policy_target(self) -> dict[str, Any]:
        return {"project_id": self.row.project_id, "tenant_id": self.row.project_id,
                "target_tenant": self.row.target_project, "object_type": self.object_type,
                "object_id": self.row.object_id, "action": self.row.action}


async def _parent(s: AsyncSession, ctx: RequestContext, object_type: str, object_id: str) -> Any:
    """The object an entry opens, which a non-admin must own."""
    if object_type == "network":
        row = await net_q.get(s, object_id, for_update=True)
        missing = f"Network {object_id} could not be found"
    else:
        row = await sg_q.get_group(s, object_id, for_update=True)
        missing = f"Security group {object_id} does not exist"
    if row is None:
        raise InvalidInput(missing)
    if not ctx.is_admin and row.project_id != ctx.project_id:
        visible = row.project_id == ctx.project_id or any(
            e.target_project in ("*", ctx.project_id) for e in row.rbac_entries)
        if not visible:
            raise InvalidInput(missing)
        raise InvalidInput(f"Only admins can manipulate policies on {PARENT_LABEL[object_type]} "
                           "they do not own")
    return row


async def _users_losing_access(s: AsyncSession, object_type: str, entry: Any, owner: str) -> list[str]:
    """What the entry's target project(s) still have on the object if it went away."""
    target = entry.target_project
    if target == owner:
        return []
    others = await q.targets(s, object_type, entry.object_id, entry.action, exclude_id=entry.id)
    if target == "*":
        only, allowed = None, {*others, owner}
    else:
        if "*" in others:
            return []
        only, allowed = {target}, None
    if object_type == "security_group":
        return await q.group_ports(s, entry.object_id, only, allowed)
    if entry.action == SHARED:
        return await q.network_ports(s, entry.object_id, only, allowed)
    return await q.external_users(s, entry.object_id, only, allowed)


def _in_use_details(object_type: str, entry: Any) -> str:
    if object_type == "security_group":
        return f"Security Group {entry.object_id} in use."
    if entry.action == SHARED:
        return (f"Unable to reconfigure sharing settings for network {entry.object_id}. "
                "Multiple tenants are using it.")
    return (f"External network {entry.object_id} cannot be updated to be made non-external, "
            "since it has existing gateway ports or floating IPs.")


def _compare(keys: list[tuple[str, bool]], a: RbacRecord, b: RbacRecord) -> int:
    for name, asc in keys:
        av = a.object_type if name == "object_type" else getattr(a.row, q.SORT_KEYS[name])
        bv = b.object_type if name == "object_type" else getattr(b.row, q.SORT_KEYS[name])
        if av != bv:
            less = (av or "") < (bv or "")
            return (-1 if less else 1) * (1 if asc else -1)
    return 0


class RbacPolicies:
    def __init__(self, state: Any) -> None:
        self.state = state

    # -- read -----------------------------------------------------------------------------
    async def show(self, ctx: RequestContext, entry_id: str) -> RbacRecord:
        async with self.state.db.reader() as s:
            found = await q.find(s, entry_id)
        if found is None or not (ctx.is_admin or found[1].project_id == ctx.project_id):
            raise RbacPolicyNotFound(entry_id)
        return RbacRecord(*found)

    async def list(self, ctx: RequestContext, query: Any) -> tuple[list[RbacRecord], bool]:
        """Entries of every type in one order; RBAC tables are small (a quota per project)."""
        wanted = {k: v for k, v in query.filters.items()}
        types = [t for t in OBJECT_TYPES if "object_type" not in wanted or t in wanted["object_type"]]
        owner = None if ctx.is_admin else (ctx.project_id or "")
        recs: list[RbacRecord] = []
        async with self.state.db.reader() as s:
            for object_type in types:
                recs += [RbacRecord(object_type, r) for r in await q.entries(s, object_type, wanted, owner)]
        keys = list(query.sorts) or []
        if not any(k == "id" for k, _ in keys):
            keys.append(("id", keys[-1][1] if keys else True))
        if query.page_reverse:
            keys = [(k, not asc) for k, asc in keys]
        recs.sort(key=functools.cmp_to_key(functools.partial(_compare, keys)))
        if query.marker:
            ids = [r.row.id for r in recs]
            if query.marker not in ids:
                marker = await self._marker(ctx, query.marker)
                recs = [r for r in recs if _compare(keys, r, marker) > 0]
            else:
                recs = recs[ids.index(query.marker) + 1:]
        more = bool(query.limit) and len(recs) > query.limit
        if query.limit:
            recs = recs[:query.limit]
        if query.page_reverse:
            recs.reverse()
        return recs, more

    async def _marker(self, ctx: RequestContext, entry_id: str) -> RbacRecord:
        try:
            return await self.show(ctx, entry_id)
        except RbacPolicyNotFound:
            raise RbacPolicyNotFound(entry_id) from None

    # -- create ---------------------------------------------------------------------------
    async def create(self, ctx: RequestContext, values: dict[str, Any], project_id: str) -> RbacRecord:
        object_type, action = values["object_type"], values["action"]
        if action not in ACTIONS[object_type]:
            raise InvalidActionForType(action, object_type)
        object_id, target = values["object_id"], values["target_tenant"]

        async def tx(s: AsyncSession) -> str:
            parent = await _parent(s, ctx, object_type, object_id)
            if await q.same(s, object_type, object_id, action, target) is not None:
                raise DuplicateRbacPolicy()
            await quotas.check(s, self.state.conf, project_id, "rbac_policy")
            entry = q.MODELS[object_type](id=str(uuid.uuid4()), project_id=project_id, object_id=object_id,
                                          action=action, target_project=target)
            s.add(entry)
            transactions.bump(parent)
            await s.flush()
            return entry.id

        entry_id = await transactions.write(self.state.db, tx)
        await self._announce("create", entry_id, object_type, object_id)
        return await self.show(ctx, entry_id)

    # -- update (the target only) ------------------------------------------------------------
    async def update(self, ctx: RequestContext, entry_id: str, values: dict[str, Any],
                     check: Any = None) -> RbacRecord:
        async def tx(s: AsyncSession) -> tuple[str, str]:
            object_type, entry = await self._own(s, ctx, entry_id)
            if check is not None:
                check(RbacRecord(object_type, entry))
            target = values.get("target_tenant", entry.target_project)
            if target != entry.target_project:
                parent = await self._parent_row(s, object_type, entry.object_id)
                if await q.same(s, object_type, entry.object_id, entry.action, target) is not None:
                    raise DuplicateRbacPolicy()
                if await _users_losing_access(s, object_type, entry, parent.project_id):
                    raise RbacPolicyInUse(entry.object_id, _in_use_details(object_type, entry))
                entry.target_project = target
                transactions.bump(parent)
            return object_type, entry.object_id

        object_type, object_id = await transactions.write(self.state.db, tx)
        await self._announce("update", entry_id, object_type, object_id)
        return await self.show(ctx, entry_id)

    # -- delete ---------------------------------------------------------------------------
    async def delete(self, ctx: RequestContext, entry_id: str, check: Any = None) -> None:
        async def tx(s: AsyncSession) -> tuple[str, str]:
            object_type, entry = await self._own(s, ctx, entry_id)
            if check is not None:
                check(RbacRecord(object_type, entry))
            parent = await self._parent_row(s, object_type, entry.object_id)
            if await _users_losing_access(s, object_type, entry, parent.project_id):
                raise RbacPolicyInUse(entry.object_id, _in_use_details(object_type, entry))
            await s.delete(entry)
            transactions.bump(parent)
            return object_type, entry.object_id

        object_type, object_id = await transactions.write(self.state.db, tx)
        await self._announce("delete", entry_id, object_type, object_id)

    # -- helpers --------------------------------------------------------------------------
    async def _own(self, s: AsyncSession, ctx: RequestContext, entry_id: str) -> tuple[str, Any]:
        found = await q.find(s, entry_id, for_update=True)
        if found is None or not (ctx.is_admin or found[1].project_id == ctx.project_id):
            raise RbacPolicyNotFound(entry_id)
        return found

    async def _parent_row(self, s: AsyncSession, object_type: str, object_id: str) -> Any:
        model = Network if object_type == "network" else SecurityGroup
        return await s.get(model, object_id, with_for_update=True)

    async def _announce(self, action: str, entry_id: str, object_type: str, object_id: str) -> None:
        await self.state.notifier.emit("rbac_policy", action, entry_id, object_type=object_type,
                                       object_id=object_id)
        await self.state.notifier.emit(object_type, "update", object_id)
