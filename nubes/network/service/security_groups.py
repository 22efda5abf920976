"""Security groups: create (with the two egress rules every new group has), list, show, update, delete;
every project's ``default`` group, made on first use; the groups a new port gets.

Rules are in ``security_group_rules``; sharing a group with other projects is an RBAC entry
(``rbac``). A group a port uses cannot be deleted, nor can its statefulness change.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from nubes.core.context import RequestContext
from nubes.network.db.models import DefaultSecurityGroup, SecurityGroup, SecurityGroupRule
from nubes.network.db.queries import listing
from nubes.network.db.queries import security_groups as q
from nubes.network.db.queries import tags as tag_q
from nubes.network.exceptions import InUse, SecurityGroupInUse, SecurityGroupNotFound
from nubes.network.service import quotas, transactions

RESOURCE = "security-groups"          # the collection name tags are kept under
DEFAULT_NAME = "default"
DEFAULT_DESCRIPTION = "Default security group"


class SecurityGroupCannotRemoveDefault(InUse):
    code = "network.security_group_cannot_remove_default"
    neutron_type = "SecurityGroupCannotRemoveDefault"

    def __init__(self) -> None:
        super().__init__("Insufficient rights for removing default security group.")


class SecurityGroupCannotUpdateDefault(InUse):
    code = "network.security_group_cannot_update_default"
    neutron_type = "SecurityGroupCannotUpdateDefault"

    def __init__(self) -> None:
        super().__init__("Updating default security group not allowed.")


class SecurityGroupDefaultAlreadyExists(InUse):
    code = "network.security_group_default_already_exists"
    neutron_type = "SecurityGroupDefaultAlreadyExists"

    def __init__(self) -> None:
        super().__init__("Default security group already exists.")


def _rule(project_id: str, group_id: str, direction: str, ethertype: str,
          remote_group_id: str | None = None) -> SecurityGroupRule:
    return SecurityGroupRule(id=str(uuid.uuid4()), project_id=project_id, security_group_id=group_id,
                             direction=direction, ethertype=ethertype, remote_group_id=remote_group_id)


def _default_rules(project_id: str, group_id: str) -> list[SecurityGroupRule]:
    """Neutron's: all egress (IPv4 and IPv6), ingress only from members of the group itself."""
    return [_rule(project_id, group_id, direction, ethertype,
                  group_id if direction == "ingress" else None)
            for direction in ("egress", "ingress") for ethertype in ("IPv4", "IPv6")]


def _egress_rules(project_id: str, group_id: str) -> list[SecurityGroupRule]:
    """What every other new group starts with: all egress, no ingress."""
    return [_rule(project_id, group_id, "egress", ethertype) for ethertype in ("IPv4", "IPv6")]


async def ensure_default(s: AsyncSession, project_id: str) -> str:
    """The id of the project's default group, creating it (with its rules) if it has none.

    The ``default_security_groups`` primary key makes a concurrent second creation fail with
    an integrity error; the caller's transaction is then retried and finds the first one.
    """
    row = await s.get(DefaultSecurityGroup, project_id)
    if row is not None:
        return row.security_group_id
    group_id = str(uuid.uuid4())
    s.add(SecurityGroup(id=group_id, project_id=project_id, name=DEFAULT_NAME,
                        description=DEFAULT_DESCRIPTION, rules=_default_rules(project_id, group_id),
                        rbac_entries=[]))
    await s.flush()
    s.add(DefaultSecurityGroup(project_id=project_id, security_group_id=group_id))
    await s.flush()
    return group_id


def is_shared_for(row: SecurityGroup, project_id: str | None) -> bool:
    """Shared with everyone, or with this project by someone else (as Neutron shows ``shared``)."""
    for entry in row.rbac_entries:
        if entry.action == q.SHARED and (entry.target_project == "*" or (
                project_id and entry.target_project == project_id and row.project_id != project_id)):
            return True
    return False


def can_use(row: SecurityGroup, is_admin: bool, project_id: str | None) -> bool:
    return is_admin or row.project_id == project_id or any(
        e.action == q.SHARED and e.target_project in ("*", project_id) for e in row.rbac_entries)


async def resolve_for_port(s: AsyncSession, is_admin: bool, project_id: str,
                           ids: list[str] | None) -> list[str]:
    """The groups a new port of ``project_id`` gets: the ones named, or the project's default."""
    if ids is None:
        return [await ensure_default(s, project_id)]
    found = await q.groups(s, ids)
    for sg_id in ids:
        row = found.get(sg_id)
        if row is None or not can_use(row, is_admin, project_id):
            raise SecurityGroupNotFound(sg_id)
    return list(dict.fromkeys(ids))


async def visible(s: AsyncSession, ctx: RequestContext, group_id: str, *,
                  for_update: bool = False) -> SecurityGroup:
    row = await q.get_group(s, group_id, for_update=for_update)
    if row is None or not can_use(row, ctx.is_admin, ctx.project_id):
        raise SecurityGroupNotFound(group_id)
    return row


@dataclass
class GroupRecord:
    row: SecurityGroup
    rules: list[SecurityGroupRule] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    shared: bool = False
    is_default: bool = False

    def policy_target(self) -> dict[str, Any]:
        return {"project_id": self.row.project_id, "tenant_id": self.row.project_id, "shared": self.shared}


def target_of(row: SecurityGroup, project_id: str | None) -> dict[str, Any]:
    return GroupRecord(row, shared=is_shared_for(row, project_id)).policy_target()


async def records(s: AsyncSession, ctx: RequestContext, rows: list[SecurityGroup]) -> list[GroupRecord]:
    ids = [r.id for r in rows]
    rules = await q.rules_of(s, ids)
    tags = await tag_q.of(s, RESOURCE, ids)
    defaults = await q.default_ids(s, ids)
    return [GroupRecord(r, rules[r.id], tags[r.id], is_shared_for(r, ctx.project_id), r.id in defaults)
            for r in rows]


class SecurityGroups:
    def __init__(self, state: Any) -> None:
        self.state = state

    async def ensure_default_for(self, project_id: str | None) -> None:
        """Make the project's default group if it has none yet (cheap when it has one)."""
        if not project_id:
            return
        async with self.state.db.reader() as s:
            if await q.default_group_id(s, project_id) is not None:
                return

        async def tx(s: AsyncSession) -> str | None:
            had = await q.default_group_id(s, project_id)
            made = await ensure_default(s, project_id)
            return None if had else made

        group_id = await transactions.write(self.state.db, tx)
        if group_id is not None:        # another request may have made it meanwhile
            await self.state.notifier.emit("security_group", "create", group_id)

    # -- read -----------------------------------------------------------------------------
    async def show(self, ctx: RequestContext, group_id: str) -> GroupRecord:
        await self.ensure_default_for(ctx.project_id)
        async with self.state.db.reader() as s:
            return (await records(s, ctx, [await visible(s, ctx, group_id)]))[0]

    async def list(self, ctx: RequestContext, query: Any) -> tuple[list[GroupRecord], bool]:
        wanted = (query.filters.get("project_id") or query.filters.get("tenant_id") or [None])[0]
        await self.ensure_default_for(wanted if ctx.is_admin and wanted else ctx.project_id)
        stmt = q.group_select()
        if not ctx.is_admin:
            stmt = stmt.where(q.visible_to(ctx.project_id))
        async with self.state.db.reader() as s:
            rows, more = await listing.page(s, stmt, SecurityGroup, q.group_filters(ctx.project_id), query,
                                            RESOURCE, not_found=SecurityGroupNotFound)
            return await records(s, ctx, rows), more

    # -- create ---------------------------------------------------------------------------
    async def create(self, ctx: RequestContext, values: dict[str, Any], project_id: str) -> GroupRecord:
        async def tx(s: AsyncSession) -> str:
            await ensure_default(s, project_id)
            await quotas.check(s, self.state.conf, project_id, "security_group")
            await quotas.check(s, self.state.conf, project_id, "security_group_rule", 2)
            group_id = str(uuid.uuid4())
            s.add(SecurityGroup(id=group_id, project_id=project_id, name=values.get("name", ""),
                                description=values.get("description", ""),
                                stateful=values.get("stateful", True),
                                rules=_egress_rules(project_id, group_id), rbac_entries=[]))
            await s.flush()
            if values.get("tags"):
                await tag_q.replace(s, RESOURCE, group_id, values["tags"])
            return group_id

        group_id = await transactions.write(self.state.db, tx)
        await self.state.notifier.emit("security_group", "create", group_id)
        async with self.state.db.reader() as s:
            return (await records(s, ctx, [await visible(s, ctx, group_id)]))[0]

    # -- update ---------------------------------------------------------------------------
    async def update(self, ctx: RequestContext, group_id: str, values: dict[str, Any],
                     check: Any = None) -> GroupRecord:
        async def tx(s: AsyncSession) -> None:
            row = await visible(s, ctx, group_id, for_update=True)
            if check is not None:
                check(row, target_of(row, ctx.project_id))
            if "name" in values and await q.default_ids(s, [row.id]):
                raise SecurityGroupCannotUpdateDefault()
            if "stateful" in values and values["stateful"] != row.stateful and await q.ports_using(s, row.id):
                raise SecurityGroupInUse(group_id)
            for key in ("name", "description", "stateful"):
                if key in values:
                    setattr(row, key, values[key])
            transactions.bump(row)

        await transactions.write(self.state.db, tx)
        await self.state.notifier.emit("security_group", "update", group_id)
        async with self.state.db.reader() as s:
            return (await records(s, ctx, [await visible(s, ctx, group_id)]))[0]

    # -- delete ---------------------------------------------------------------------------
    async def delete(self, ctx: RequestContext, group_id: str, check: Any = None) -> None:
        async def tx(s: AsyncSession) -> list[str]:
            row = await visible(s, ctx, group_id, for_update=True)
            if check is not None:
                check(row, target_of(row, ctx.project_id))
            if await q.ports_using(s, row.id):
                raise SecurityGroupInUse(group_id)
            if not ctx.is_admin and await q.default_ids(s, [row.id]):
                raise SecurityGroupCannotRemoveDefault()
            referencing = await q.groups_referencing(s, row.id)
            await tag_q.delete_all(s, RESOURCE, row.id)
            await q.delete_group_rows(s, row.id)
            return referencing

        referencing = await transactions.write(self.state.db, tx)
        await self.state.notifier.emit("security_group", "delete", group_id)
        for other in referencing:      # their rules naming this group as remote are gone
            await self.state.notifier.emit("security_group", "update", other)
