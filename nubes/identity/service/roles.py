"""Roles: global and domain-specific roles, the immutable option, and implied roles (inference rules)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from nubes.core.exceptions import NotFound as PlainNotFound
from nubes.identity.db.models import NULL_DOMAIN, Domain, Role
from nubes.identity.db.queries import roles as role_q
from nubes.identity.exceptions import Conflict, Forbidden, NotFound, ValidationError
from nubes.identity.service import domains as rules

ROLE_FIELDS = frozenset({"name", "domain_id", "description", "options"})
ROLE_OPTIONS = {"immutable": "bool"}
# Keystone's [assignment] prohibited_implied_role: no rule may make these roles implied.
PROHIBITED_IMPLIED_ROLES = ("admin",)


def api_domain_id(role: Role) -> str | None:
    """The domain_id the API shows: null for a global role."""
    return None if role.domain_id == NULL_DOMAIN else role.domain_id


def is_domain_specific(role: Role) -> bool:
    return role.domain_id != NULL_DOMAIN


async def get(s: AsyncSession, role_id: str) -> Role:
    role = await s.get(Role, role_id)
    if role is None:
        raise NotFound("role", role_id)
    return role


async def find(s: AsyncSession, role_id: str) -> Role | None:
    return await s.get(Role, role_id)


async def list_roles(s: AsyncSession, *, domain_id: str, name: str | None = None) -> list[Role]:
    """The roles of one domain (NULL_DOMAIN: the global roles), optionally of one name."""
    return await role_q.list_roles(s, domain_id=domain_id, name=name)


def _duplicate(role_name: str, domain_id: str) -> Conflict:
    if domain_id == NULL_DOMAIN:
        return Conflict("role", f"Duplicate entry found with name {role_name}")
    return Conflict("role", f"Duplicate entry found with name {role_name} at domain ID {domain_id}")


def _name(value: Any) -> str:
    return rules.name(value, max_len=255)


async def create(s: AsyncSession, body: dict[str, Any]) -> Role:
    if "name" not in body:
        raise ValidationError("'name' is a required property")
    role_name = _name(body["name"])
    domain_id = rules.ident(body.get("domain_id"), "domain_id") or NULL_DOMAIN
    description = rules.text(body.get("description"), "description", max_len=255)
    opts = rules.options(body["options"], ROLE_OPTIONS) if body.get("options") is not None else {}
    if domain_id != NULL_DOMAIN and await s.get(Domain, domain_id) is None:
        raise NotFound("domain", domain_id)
    if await role_q.by_name(s, role_name, domain_id) is not None:
        raise _duplicate(role_name, domain_id)
    row = Role(id=uuid.uuid4().hex, name=role_name, domain_id=domain_id, description=description,
               options=opts, extra=rules.extra(body, ROLE_FIELDS))
    s.add(row)
    try:
        await s.flush()
    except IntegrityError:
        raise _duplicate(role_name, domain_id) from None
    return row


async def update(s: AsyncSession, role: Role, body: dict[str, Any]) -> None:
    rules.require_some(body, "role")
    rules.require_same_id(body, role.id)
    rules.check_immutable_update("role", role.id, role.options, body)
    if "domain_id" in body and (body["domain_id"] or NULL_DOMAIN) != role.domain_id:
        raise ValidationError("Update of `domain_id` is not allowed.")
    if "name" in body:
        new_name = _name(body["name"])
        if new_name != role.name:
            other = await role_q.by_name(s, new_name, role.domain_id)
            if other is not None and other.id != role.id:
                raise _duplicate(new_name, role.domain_id)
            role.name = new_name
    if "description" in body:
        role.description = rules.text(body["description"], "description", max_len=255)
    if "options" in body:
        role.options = rules.options(body["options"] or {}, ROLE_OPTIONS, role.options)
    role.extra = rules.extra(body, ROLE_FIELDS, role.extra)
    try:
        await s.flush()
    except IntegrityError:
        raise _duplicate(role.name, role.domain_id) from None


async def delete(s: AsyncSession, role: Role) -> None:
    """Delete the role with its assignments and inference rules (tokens re-compute their roles)."""
    rules.check_immutable_delete("role", role.id, role.options)
    await role_q.delete_role(s, role.id)


# -- implied roles ------------------------------------------------------------------------------


def _implies(graph: dict[str, list[str]], start: str, goal: str) -> bool:
    """Whether ``start`` implies ``goal`` through the rules in ``graph``."""
    seen, todo = {start}, [start]
    while todo:
        for nxt in graph.get(todo.pop(), ()):
            if nxt == goal:
                return True
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return False


async def create_rule(s: AsyncSession, prior: Role, implied: Role,
                      prohibited: tuple[str, ...] | list[str] = PROHIBITED_IMPLIED_ROLES) -> None:
    if implied.name in prohibited:
        raise Forbidden(f"{implied.id} cannot be an implied roles.")
    if not is_domain_specific(prior) and is_domain_specific(implied):
        raise Forbidden("Global role cannot imply a domain-specific role")
    if await role_q.get_rule(s, prior.id, implied.id) is not None:
        raise Conflict("implied_role", "Duplicate entry")
    if prior.id == implied.id or _implies(await role_q.implication_graph(s), implied.id, prior.id):
        raise Forbidden(f"{implied.id} cannot be an implied role of {prior.id}: {implied.name} "
                        f"already implies {prior.name}, and inference rules may not form a cycle.")
    try:
        await role_q.add_rule(s, prior.id, implied.id)
    except IntegrityError:
        raise Conflict("implied_role", "Duplicate entry") from None


def rule_not_found(prior_role_id: str, implied_role_id: str) -> PlainNotFound:
    return PlainNotFound(f"{prior_role_id} does not imply {implied_role_id}.")


async def check_rule(s: AsyncSession, prior: Role, implied: Role) -> None:
    if await role_q.get_rule(s, prior.id, implied.id) is None:
        raise rule_not_found(prior.id, implied.id)


async def delete_rule(s: AsyncSession, prior: Role, implied: Role) -> None:
    if not await role_q.delete_rule(s, prior.id, implied.id):
        raise rule_not_found(prior.id, implied.id)


async def implied_by(s: AsyncSession, prior: Role) -> list[Role]:
    """The roles ``prior`` implies directly, by name."""
    found = await role_q.by_ids(s, [implied for _, implied in await role_q.rules(s, prior.id)])
    return sorted(found.values(), key=lambda r: (r.name, r.id))


async def inference_rules(s: AsyncSession) -> list[tuple[Role, list[Role]]]:
    """Every prior role with the roles it implies directly."""
    pairs = await role_q.rules(s)
    found = await role_q.by_ids(s, [r for pair in pairs for r in pair])
    grouped: dict[str, list[Role]] = {}
    for prior, implied in pairs:
        if prior in found and implied in found:
            grouped.setdefault(prior, []).append(found[implied])
    out = [(found[prior], sorted(implied, key=lambda r: (r.name, r.id)))
           for prior, implied in grouped.items()]
    return sorted(out, key=lambda pair: (pair[0].name, pair[0].id))
