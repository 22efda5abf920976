"""Grants: a role given to a user or group on a project, a domain (maybe inherited) or the system."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from nubes.core.exceptions import NotFound as PlainNotFound
from nubes.identity.db.models import SYSTEM_TARGET, Domain, Group, Project, Role, User
from nubes.identity.db.queries import assignments as assignment_q
from nubes.identity.db.queries import roles as role_q
from nubes.identity.exceptions import Conflict, Forbidden, NotFound, ValidationError
from nubes.identity.service import roles as roles_svc

# URL segment -> (kind used in messages, Assignment.type part)
TARGETS = {"projects": ("project", "Project"), "domains": ("domain", "Domain")}
ACTORS = {"users": ("user", "User"), "groups": ("group", "Group")}


@dataclass
class Grant:
    """Who (actor) holds roles where (target); ``kind`` is the Assignment.type."""

    actor_kind: str                       # "user" | "group"
    actor_id: str
    actor: User | Group | None            # None when revoking a grant of a vanished actor
    target_kind: str                      # "project" | "domain" | "system"
    target_id: str
    target: Project | Domain | None       # None for the system
    inherited: bool = False

    @property
    def kind(self) -> str:
        return f"{self.actor_kind.capitalize()}{self.target_kind.capitalize()}"

    @property
    def domain_id(self) -> str | None:
        """The domain the target belongs to (policy checks domain readers against it)."""
        if isinstance(self.target, Project):
            return self.target.domain_id
        if isinstance(self.target, Domain):
            return self.target.id
        return None

    def policy_target(self, role: Role | None = None) -> dict[str, Any]:
        t: dict[str, Any] = {"domain_id": self.domain_id}
        if isinstance(self.target, Project):
            t["project"] = {"id": self.target.id, "domain_id": self.target.domain_id}
        elif isinstance(self.target, Domain):
            t["domain"] = {"id": self.target.id}
        if self.actor is not None:
            t[self.actor_kind] = {"id": self.actor.id, "domain_id": self.actor.domain_id}
        else:
            t[self.actor_kind] = {"id": self.actor_id}
        if role is not None:
            t["role"] = {"id": role.id, "name": role.name, "domain_id": roles_svc.api_domain_id(role)}
        return {"target": t}


def _unknown_path() -> PlainNotFound:
    return PlainNotFound("The resource could not be found.")


def assignment_not_found(role_id: str, actor_id: str, target_id: str) -> PlainNotFound:
    return PlainNotFound(f"Could not find role assignment with role: {role_id}, user or group: "
                         f"{actor_id}, project, domain, or system: {target_id}.")


async def _actor(s: AsyncSession, kind: str, actor_id: str, allow_missing: bool) -> User | Group | None:
    row = await s.get(User if kind == "user" else Group, actor_id)
    if row is None and not allow_missing:
        raise NotFound(kind, actor_id)
    return row


async def resolve(s: AsyncSession, target_seg: str | None, target_id: str, actor_seg: str, actor_id: str,
                  *, role_id: str | None = None, inherited: bool = False,
                  allow_missing_actor: bool = False) -> tuple[Grant, Role | None]:
    """Check the path names real things, in Keystone's order: role, actor, then target.

    ``target_seg`` None means the system.  Unknown path segments are a plain 404.
    """
    if actor_seg not in ACTORS or (target_seg is not None and target_seg not in TARGETS):
        raise _unknown_path()
    actor_kind = ACTORS[actor_seg][0]
    role = await roles_svc.get(s, role_id) if role_id is not None else None
    actor = await _actor(s, actor_kind, actor_id, allow_missing_actor)
    if target_seg is None:
        return Grant(actor_kind, actor_id, actor, "system", SYSTEM_TARGET, None), role
    target_kind = TARGETS[target_seg][0]
    target = await s.get(Project if target_kind == "project" else Domain, target_id)
    if target is None:
        raise NotFound(target_kind, target_id)
    return Grant(actor_kind, actor_id, actor, target_kind, target_id, target, inherited), role


def _check_role_fits(grant: Grant, role: Role) -> None:
    """A domain-specific role is only granted inside its domain, and never on the system."""
    if not roles_svc.is_domain_specific(role):
        return
    if grant.target_kind == "system":
        raise ValidationError(f"Role {role.id} is a domain-specific role. Unable to use a "
                              "domain-specific role in a system assignment.")
    if grant.target_kind == "project" and grant.domain_id != role.domain_id:
        raise Forbidden(f"Project {grant.target_id} must be in the same domain as the role "
                        f"{role.id} being assigned.")
    if grant.target_kind == "domain" and grant.target_id != role.domain_id:
        raise Forbidden(f"Domain {grant.target_id} must be the domain of the role {role.id} "
                        "being assigned.")


async def create(s: AsyncSession, grant: Grant, role: Role) -> bool:
    """Grant the role; True when it was new (PUT of an existing grant is a no-op)."""
    _check_role_fits(grant, role)
    try:
        return await assignment_q.add_grant(s, grant.kind, grant.actor_id, grant.target_id, role.id,
                                            grant.inherited)
    except IntegrityError:  # the same grant written at the same moment, or the role just deleted
        raise Conflict("role assignment", "the grant changed while it was being written; "
                                          "try again") from None


async def check(s: AsyncSession, grant: Grant, role: Role) -> None:
    if await assignment_q.get_grant(s, grant.kind, grant.actor_id, grant.target_id, role.id,
                                    grant.inherited) is None:
        raise assignment_not_found(role.id, grant.actor_id, grant.target_id)


async def revoke(s: AsyncSession, grant: Grant, role: Role) -> None:
    if not await assignment_q.delete_grant(s, grant.kind, grant.actor_id, grant.target_id, role.id,
                                           grant.inherited):
        raise assignment_not_found(role.id, grant.actor_id, grant.target_id)


async def roles_of(s: AsyncSession, grant: Grant) -> list[Role]:
    role_ids = await assignment_q.grant_role_ids(s, grant.kind, grant.actor_id, grant.target_id,
                                                 grant.inherited)
    found = await role_q.by_ids(s, role_ids)
    return sorted(found.values(), key=lambda r: (r.name, r.id))
