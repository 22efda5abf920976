"""Security group rules: create (one or a bulk for one group), list, show, update the description, delete.

A rule belongs to its group's project whoever adds it, so it counts against that project's
``security_group_rule`` quota. Creating rules locks the group row, so two concurrent creates of
the same rule cannot both pass the duplicate check. Every change to a group's rules is announced
as ``security_group.update`` of the group, which is what agents watch.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from nubes.core.context import RequestContext
from nubes.network.db.models import SecurityGroup, SecurityGroupRule
from nubes.network.db.queries import listing
from nubes.network.db.queries import security_groups as q
from nubes.network.exceptions import SecurityGroupNotFound, SecurityGroupRuleExists, SecurityGroupRuleNotFound
from nubes.network.service import quotas, transactions
from nubes.network.service import security_group_rule_values as rv
from nubes.network.service.security_groups import can_use, ensure_default, target_of, visible

RULE_ATTRS = ("direction", "ethertype", "protocol", "port_range_min", "port_range_max",
              "remote_ip_prefix", "remote_group_id", "description")


@dataclass
class RuleRecord:
    row: SecurityGroupRule
    group_project_id: str
    belongs_to_default: bool = False

    def policy_target(self) -> dict[str, Any]:
        return {"project_id": self.row.project_id, "tenant_id": self.row.project_id,
                "security_group:tenant_id": self.group_project_id,
                "security_group_id": self.row.security_group_id}


async def records(s: AsyncSession, rows: list[SecurityGroupRule]) -> list[RuleRecord]:
    group_ids = [r.security_group_id for r in rows]
    groups = await q.groups(s, group_ids)
    defaults = await q.default_ids(s, group_ids)
    return [RuleRecord(r, groups[r.security_group_id].project_id if r.security_group_id in groups
                       else r.project_id, r.security_group_id in defaults) for r in rows]


class SecurityGroupRules:
    def __init__(self, state: Any) -> None:
        self.state = state

    # -- read -----------------------------------------------------------------------------
    async def show(self, ctx: RequestContext, rule_id: str) -> RuleRecord:
        async with self.state.db.reader() as s:
            row = await q.get_rule(s, rule_id)
            if row is None:
                raise SecurityGroupRuleNotFound(rule_id)
            rec = (await records(s, [row]))[0]
        if not ctx.is_admin and rec.group_project_id != ctx.project_id:
            raise SecurityGroupRuleNotFound(rule_id)
        return rec

    async def list(self, ctx: RequestContext, query: Any) -> tuple[list[RuleRecord], bool]:
        wanted = (query.filters.get("project_id") or query.filters.get("tenant_id") or [None])[0]
        await self.state.security_groups.ensure_default_for(
            wanted if ctx.is_admin and wanted else ctx.project_id)
        stmt = select(SecurityGroupRule)
        if not ctx.is_admin:
            stmt = stmt.where(q.rules_visible_to(ctx.project_id))
        async with self.state.db.reader() as s:
            rows, more = await listing.page(s, stmt, SecurityGroupRule, q.RULE_FILTERS, query,
                                            "security-group-rules", not_found=SecurityGroupRuleNotFound)
            return await records(s, rows), more

    # -- create ---------------------------------------------------------------------------
    async def create(self, ctx: RequestContext, rules: list[dict[str, Any]], check: Any = None,
                     requested_project: str | None = None) -> list[RuleRecord]:
        """Create ``rules`` (all in one group) in one transaction: all of them or none.

        ``check(group_row, target)`` runs the caller's policy check once the group is known.
        """
        rules = [rv.canonical(r) for r in rules]
        groups = {r["security_group_id"] for r in rules}
        if len(groups) > 1:
            raise rv.SecurityGroupNotSingleGroupRules()
        for rule in rules:
            rv.check(rule)
        keys: set[tuple] = set()
        for rule in rules:
            k = rv.key(rule)
            if k in keys:
                raise rv.DuplicateSecurityGroupRuleInPost()
            keys.add(k)
        group_id = groups.pop()

        async def tx(s: AsyncSession) -> list[str]:
            group = await visible(s, ctx, group_id, for_update=True)   # the lock that orders creates
            if check is not None:
                check(group, target_of(group, ctx.project_id))
            if requested_project is not None and requested_project != group.project_id and not ctx.is_admin:
                raise SecurityGroupNotFound(group_id)
            await ensure_default(s, group.project_id)
            for remote in {r["remote_group_id"] for r in rules if r.get("remote_group_id")}:
                other = await q.get_group(s, remote)
                if other is None or not can_use(other, ctx.is_admin, group.project_id):
                    raise SecurityGroupNotFound(remote)
            existing = (await q.rules_of(s, [group.id]))[group.id]
            for have in existing:
                if rv.key(have) in keys:
                    raise SecurityGroupRuleExists(have.id)
            await quotas.check(s, self.state.conf, group.project_id, "security_group_rule", len(rules))
            ids = []
            for rule in rules:
                row = SecurityGroupRule(id=str(uuid.uuid4()), project_id=group.project_id,
                                        security_group_id=group.id,
                                        **{k: rule.get(k) for k in RULE_ATTRS if k != "description"},
                                        description=rule.get("description") or "")
                s.add(row)
                ids.append(row.id)
            transactions.bump(group)
            await s.flush()
            return ids

        ids = await transactions.write(self.state.db, tx)
        for rule_id in ids:
            await self.state.notifier.emit("security_group_rule", "create", rule_id,
                                           security_group_id=group_id)
        await self.state.notifier.emit("security_group", "update", group_id)
        async with self.state.db.reader() as s:
            rows = [await q.get_rule(s, i) for i in ids]
            return await records(s, [r for r in rows if r is not None])

    # -- update (the description only) -----------------------------------------------------
    async def update(self, ctx: RequestContext, rule_id: str, values: dict[str, Any],
                     check: Any = None) -> RuleRecord:
        async def tx(s: AsyncSession) -> None:
            row = await q.get_rule(s, rule_id)
            if row is None:
                raise SecurityGroupRuleNotFound(rule_id)
            rec = (await records(s, [row]))[0]
            if not ctx.is_admin and rec.group_project_id != ctx.project_id:
                raise SecurityGroupRuleNotFound(rule_id)
            if check is not None:
                check(row, rec)
            if "description" in values:
                row.description = values["description"]
            transactions.bump(row)

        await transactions.write(self.state.db, tx)
        await self.state.notifier.emit("security_group_rule", "update", rule_id)
        return await self.show(ctx, rule_id)

    # -- delete ---------------------------------------------------------------------------
    async def delete(self, ctx: RequestContext, rule_id: str, check: Any = None) -> None:
        async def tx(s: AsyncSession) -> str:
            row = await q.get_rule(s, rule_id)
            if row is None:
                raise SecurityGroupRuleNotFound(rule_id)
            rec = (await records(s, [row]))[0]
            if not ctx.is_admin and rec.group_project_id != ctx.project_id:
                raise SecurityGroupRuleNotFound(rule_id)
            if check is not None:
                check(row, rec)
            group = await s.get(SecurityGroup, row.security_group_id)
            await s.delete(row)
            if group is not None:
                transactions.bump(group)
            return row.security_group_id

        group_id = await transactions.write(self.state.db, tx)
        await self.state.notifier.emit("security_group_rule", "delete", rule_id, security_group_id=group_id)
        await self.state.notifier.emit("security_group", "update", group_id)
