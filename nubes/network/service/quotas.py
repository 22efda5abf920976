"""Quotas: per-project limits over the configured defaults, checked inside the creating transaction.

A create first locks the project's row for that resource (``quota_locks``), then counts and
compares, then inserts, all in one transaction: two concurrent creates for the last unit
serialise on the lock, so the second one sees the first one's row and is refused.

The ``Quotas`` object serves /v2.0/quotas: the limits a project has, the defaults, its usage,
setting limits (refused below the usage when the client asks for ``check_limit``) and
resetting them to the defaults.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from nubes.network.db.queries import quotas as q
from nubes.network.exceptions import BadRequest, NotFound, OverQuota
from nubes.network.service import transactions

RESOURCES = ("network", "subnet", "port", "router", "floatingip", "security_group",
             "security_group_rule", "subnetpool", "rbac_policy")
MAX_LIMIT = 2**31 - 1


class TenantQuotaNotFound(NotFound):
    code = "network.tenant_quota_not_found"
    neutron_type = "TenantQuotaNotFound"

    def __init__(self, project_id: str) -> None:
        super().__init__(f"Quota for tenant {project_id} could not be found.")


def defaults(conf: Any) -> dict[str, int]:
    return {r: int(getattr(conf, f"quota_{r}")) for r in RESOURCES}


async def effective(s: AsyncSession, conf: Any, project_id: str) -> dict[str, int]:
    return {**defaults(conf), **{k: v for k, v in (await q.limits(s, project_id)).items() if k in RESOURCES}}


async def check(s: AsyncSession, conf: Any, project_id: str, resource: str, count: int = 1) -> None:
    """Refuse (409 OverQuota) if ``count`` more of ``resource`` would exceed the project's limit."""
    limit = (await effective(s, conf, project_id))[resource]
    if limit < 0:
        return
    await q.lock(s, project_id, resource)
    if await q.usage(s, project_id, resource) + count > limit:
        raise OverQuota(resource)


async def details(s: AsyncSession, conf: Any, project_id: str) -> dict[str, dict[str, int]]:
    limits = await effective(s, conf, project_id)
    return {r: {"limit": limits[r], "used": await q.usage(s, project_id, r), "reserved": 0}
            for r in RESOURCES}


class Quotas:
    def __init__(self, state: Any) -> None:
        self.state = state

    @property
    def conf(self) -> Any:
        return self.state.conf

    def defaults(self) -> dict[str, int]:
        return defaults(self.conf)

    async def all(self) -> dict[str, dict[str, int]]:
        """Every project that has a limit of its own, with all its effective limits."""
        async with self.state.db.reader() as s:
            own = await q.all_limits(s)
        base = self.defaults()
        return {p: {**base, **{k: v for k, v in lim.items() if k in RESOURCES}} for p, lim in own.items()}

    async def show(self, project_id: str) -> dict[str, int]:
        async with self.state.db.reader() as s:
            return await effective(s, self.conf, project_id)

    async def details(self, project_id: str) -> dict[str, dict[str, int]]:
        async with self.state.db.reader() as s:
            return await details(s, self.conf, project_id)

    async def update(self, project_id: str, values: dict[str, int], check_limit: bool = False) -> dict[str, int]:
        async def tx(s: AsyncSession) -> dict[str, int]:
            if check_limit:
                for resource, limit in values.items():
                    used = await q.usage(s, project_id, resource)
                    if limit >= 0 and used > limit:
                        raise BadRequest(f"Quota limit {limit} for {resource} must be greater than or "
                                         f"equal to already used {used}")
            for resource, limit in values.items():
                await q.set_limit(s, project_id, resource, limit)
            await s.flush()
            return await effective(s, self.conf, project_id)

        limits = await transactions.write(self.state.db, tx)
        await self.state.notifier.emit("quota", "update", project_id)
        return limits

    async def reset(self, project_id: str) -> None:
        async def tx(s: AsyncSession) -> None:
            if not await q.delete_limits(s, project_id):
                raise TenantQuotaNotFound(project_id)

        await transactions.write(self.state.db, tx)
        await self.state.notifier.emit("quota", "delete", project_id)
