"""Quotas: per-project limits over the configured defaults, checked inside the creating transaction.

A create first locks the project's row for that resource (``quota_locks``), then counts and
compares, then inserts, all in one transaction: two concurrent creates for the last unit
serialise on the lock, so the second one sees the first one's row and is refused.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from nubes.network.db.queries import quotas as q
from nubes.network.exceptions import OverQuota

RESOURCES = ("network", "subnet", "port", "router", "floatingip", "security_group",
             "security_group_rule", "subnetpool", "rbac_policy")


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
