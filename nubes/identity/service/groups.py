"""Groups: CRUD (names unique per domain) and membership."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from nubes.core.context import RequestContext
from nubes.core.exceptions import NotFound as PlainNotFound
from nubes.identity.db.models import Domain, Group
from nubes.identity.db.queries import groups as group_q
from nubes.identity.exceptions import Conflict, NotFound, ValidationError
from nubes.identity.service import domains as rules

GROUP_FIELDS = frozenset({"name", "domain_id", "description"})


async def get(s: AsyncSession, group_id: str) -> Group:
    group = await s.get(Group, group_id)
    if group is None:
        raise NotFound("group", group_id)
    return group


def _duplicate(group_name: str, domain_id: str) -> Conflict:
    return Conflict("group", f"Duplicate entry found with name {group_name} at domain ID {domain_id}")


async def create(s: AsyncSession, ctx: RequestContext, body: dict[str, Any]) -> Group:
    if "name" not in body:
        raise ValidationError("'name' is a required property")
    group_name = rules.name(body["name"], max_len=64)
    domain_id = rules.domain_for_new(ctx, body)
    description = rules.text(body.get("description"), "description")
    if await s.get(Domain, domain_id) is None:
        raise NotFound("domain", domain_id)
    if await group_q.by_name(s, group_name, domain_id) is not None:
        raise _duplicate(group_name, domain_id)
    group = Group(id=uuid.uuid4().hex, name=group_name, domain_id=domain_id, description=description,
                  extra=rules.extra(body, GROUP_FIELDS))
    s.add(group)
    try:
        await s.flush()
    except IntegrityError:
        raise _duplicate(group_name, domain_id) from None
    return group


async def update(s: AsyncSession, group: Group, body: dict[str, Any]) -> None:
    rules.require_some(body, "group")
    rules.require_same_id(body, group.id)
    if "domain_id" in body and body["domain_id"] != group.domain_id:
        raise ValidationError("Cannot change Domain ID")
    if "name" in body:
        new_name = rules.name(body["name"], max_len=64)
        if new_name != group.name:
            other = await group_q.by_name(s, new_name, group.domain_id)
            if other is not None and other.id != group.id:
                raise _duplicate(new_name, group.domain_id)
            group.name = new_name
    if "description" in body:
        group.description = rules.text(body["description"], "description")
    group.extra = rules.extra(body, GROUP_FIELDS, group.extra)
    try:
        await s.flush()
    except IntegrityError:
        raise _duplicate(group.name, group.domain_id) from None


async def delete(s: AsyncSession, group: Group) -> list[str]:
    """Delete the group; returns the members whose tokens lose roles (empty if it had no grants)."""
    members = await group_q.member_ids(s, group.id) if await group_q.has_grants(s, [group.id]) else []
    await group_q.delete_groups(s, [group.id])
    return members


def not_a_member(user_id: str, group_id: str) -> PlainNotFound:
    return PlainNotFound(f"User '{user_id}' not found in group '{group_id}'")
