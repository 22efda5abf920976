"""Security groups and their rules; every project's ``default`` group, made on first use."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from nubes.network.db.models import DefaultSecurityGroup, SecurityGroup, SecurityGroupRule
from nubes.network.exceptions import SecurityGroupNotFound

DEFAULT_NAME = "default"
DEFAULT_DESCRIPTION = "Default security group"


def _default_rules(project_id: str, group_id: str) -> list[SecurityGroupRule]:
    """Neutron's: all egress (IPv4 and IPv6), ingress only from members of the group itself."""
    rules = []
    for direction in ("egress", "ingress"):
        for ethertype in ("IPv4", "IPv6"):
            rules.append(SecurityGroupRule(
                id=str(uuid.uuid4()), project_id=project_id, security_group_id=group_id,
                direction=direction, ethertype=ethertype,
                remote_group_id=group_id if direction == "ingress" else None))
    return rules


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
                        description=DEFAULT_DESCRIPTION, rules=_default_rules(project_id, group_id)))
    await s.flush()
    s.add(DefaultSecurityGroup(project_id=project_id, security_group_id=group_id))
    await s.flush()
    return group_id


async def resolve_for_port(s: AsyncSession, is_admin: bool, project_id: str,
                           ids: list[str] | None) -> list[str]:
    """The groups a new port of ``project_id`` gets: the ones named, or the project's default."""
    if ids is None:
        return [await ensure_default(s, project_id)]
    found = {r.id: r for r in (await s.execute(select(SecurityGroup).where(
        SecurityGroup.id.in_(ids)))).scalars().all()}
    for sg_id in ids:
        row = found.get(sg_id)
        if row is None or not (is_admin or row.project_id == project_id or row.shared):
            raise SecurityGroupNotFound(sg_id)
    return list(dict.fromkeys(ids))


class SecurityGroups:
    """The security group API's service object (groups and rules); see the functions above
    for what ports use."""

    def __init__(self, state: Any) -> None:
        self.state = state
