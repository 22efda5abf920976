"""OS-TRUST: a trustor delegates some of their roles on a project to a trustee, as Keystone does.

A trust is checked when it is made (the trustor holds every delegated role, a redelegation stays
within what its parent trust grants and within ``max_redelegation_count``), when a token is
issued from it (not expired, uses left: one is consumed per token) and every time such a token
is validated (the trust still exists, the trustor and trustee are enabled and the trustor still
holds every delegated role), so deleting the trust, removing a delegated role from the trustor
or disabling either user ends its tokens at once.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from nubes.identity.db.models import NULL_DOMAIN, Domain, Project, Role, Trust, User
from nubes.identity.db.queries import assignments as assignment_q
from nubes.identity.db.queries import roles as role_q
from nubes.identity.exceptions import Forbidden, NotFound, ValidationError
from nubes.identity.service import domains as rules
from nubes.identity.service.application_credentials import parse_expiry

REQUIRED = ("trustor_user_id", "trustee_user_id", "impersonation")
KNOWN = frozenset({*REQUIRED, "project_id", "roles", "expires_at", "remaining_uses",
                   "allow_redelegation", "redelegation_count"})
# What the API computes itself: never kept in ``extra``.
COMPUTED = frozenset({"id", "links", "roles_links", "redelegated_trust_id", "deleted_at"})


class TrustUnusable(NotFound):
    """Expired or used up: Keystone answers 404 for such a trust, as for a missing one."""

    def __init__(self, trust_id: str) -> None:
        super().__init__("trust", trust_id)


def forbidden(why: str) -> Forbidden:
    return Forbidden(f"You are not authorized to perform the requested action: {why}.")


def _id(value: Any, field_name: str) -> str:
    if not isinstance(value, str) or not value or len(value) > 64:
        raise rules.invalid(field_name, f"{value!r} is not an id (a string of 1 to 64 characters)")
    return value


def _count(value: Any, field_name: str, minimum: int) -> int | None:
    if value is None:
        return None
    if type(value) is not int or value < minimum:
        raise rules.invalid(field_name, f"{value!r} is not an integer of at least {minimum}")
    if value > 2**31 - 1:
        raise rules.invalid(field_name, f"{value} is too large")
    return value


@dataclass
class NewTrust:
    trustor_user_id: str
    trustee_user_id: str
    impersonation: bool
    project_id: str | None
    role_refs: list[dict[str, Any]]
    expires_at: datetime | None
    remaining_uses: int | None
    allow_redelegation: bool
    redelegation_count: int | None
    extra: dict[str, Any] = field(default_factory=dict)


def check_create(body: dict[str, Any]) -> NewTrust:
    """Keystone's trust_create schema: the three required fields, typed optional ones; other
    properties are kept as extra attributes."""
    for name in REQUIRED:
        if name not in body:
            raise ValidationError(f"'{name}' is a required property")
    roles = body.get("roles")
    if roles is None:
        roles = []
    if not isinstance(roles, list) or not all(
            isinstance(r, dict) and (isinstance(r.get("id"), str) or isinstance(r.get("name"), str))
            for r in roles):
        raise rules.invalid("roles", "expected a list of objects with an id or a name")
    project_id = body.get("project_id")
    if project_id is not None:
        project_id = _id(project_id, "project_id") if project_id != "" else None
    allow = body.get("allow_redelegation")
    extra = {k: v for k, v in body.items() if k not in KNOWN and k not in COMPUTED}
    return NewTrust(
        trustor_user_id=_id(body["trustor_user_id"], "trustor_user_id"),
        trustee_user_id=_id(body["trustee_user_id"], "trustee_user_id"),
        impersonation=rules.strict_boolean(body["impersonation"], "impersonation"),
        project_id=project_id,
        role_refs=roles,
        expires_at=parse_expiry(body.get("expires_at")),
        remaining_uses=_count(body.get("remaining_uses"), "remaining_uses", 1),
        allow_redelegation=False if allow is None else rules.strict_boolean(allow, "allow_redelegation"),
        redelegation_count=_count(body.get("redelegation_count"), "redelegation_count", 0),
        extra=extra,
    )


async def resolve_roles(s: AsyncSession, refs: list[dict[str, Any]]) -> list[Role]:
    """The roles a create body names (by id, or by the name of a global role); 404 if one is not."""
    out: dict[str, Role] = {}
    for ref in refs:
        if isinstance(ref.get("id"), str):
            role = (await role_q.by_ids(s, [ref["id"]])).get(ref["id"])
            if role is None:
                raise NotFound("role", ref["id"])
        else:
            role = await role_q.by_name(s, ref["name"], NULL_DOMAIN)
            if role is None:
                raise NotFound("role", ref["name"])
        out[role.id] = role
    return list(out.values())


async def pedigree(s: AsyncSession, trust: Trust) -> list[Trust]:
    """The trust, then the trust it was redelegated from, up to the original one."""
    chain = [trust]
    seen = {trust.id}
    while chain[-1].redelegated_trust_id and chain[-1].redelegated_trust_id not in seen:
        parent = await s.get(Trust, chain[-1].redelegated_trust_id)
        if parent is None:
            break
        seen.add(parent.id)
        chain.append(parent)
    return chain


def usable(trust: Trust, now: datetime | None = None) -> bool:
    now = now or datetime.now(UTC)
    if trust.expires_at is not None and trust.expires_at <= now:
        return False
    return trust.remaining_uses is None or trust.remaining_uses > 0


async def get(s: AsyncSession, trust_id: str) -> Trust:
    """A trust that can still be used: missing, expired or used-up ones are 404, as in Keystone."""
    trust = await s.get(Trust, trust_id)
    if trust is None:
        raise NotFound("trust", trust_id)
    if not usable(trust):
        raise TrustUnusable(trust_id)
    return trust


def _check_redelegation(parent: Trust, new: NewTrust, role_ids: set[str], max_count: int) -> None:
    """Keystone's rules for a trust made from ``parent`` (checked against each trust of its chain)."""
    if not 0 < parent.redelegation_count <= max_count:
        raise forbidden(f"Remaining redelegation depth of {parent.redelegation_count} out of "
                        f"allowed range of [0..{max_count}]")
    if new.remaining_uses is not None:
        raise forbidden(f'Field "remaining_uses" is set to {new.remaining_uses} while it must not '
                        "be set in order to redelegate a trust")
    if parent.expires_at is not None:
        if new.expires_at is None:
            new.expires_at = parent.expires_at
        elif parent.expires_at < new.expires_at:
            raise forbidden("Requested expiration time is more than redelegated trust can provide")
    if not role_ids <= set(parent.roles or []):
        raise forbidden("Some of requested roles are not in redelegated trust")
    if new.project_id != parent.project_id:
        raise forbidden("A redelegated trust must delegate the project of the trust it comes from")
    if new.impersonation and not parent.impersonation:
        raise forbidden("Impersonation is not allowed by the redelegated trust")


async def create(s: AsyncSession, new: NewTrust, *, parent: Trust | None, max_count: int) -> Trust:
    """Check ``new`` against the database and store it; ``parent`` is the trust of the token that
    asks (a redelegation), None for a token that is not trust-scoped."""
    if new.project_id and not new.role_refs:
        raise forbidden("At least one role should be specified")
    if await s.get(User, new.trustee_user_id) is None:
        raise NotFound("user", new.trustee_user_id)
    roles = await resolve_roles(s, new.role_refs)
    role_ids = {r.id for r in roles}
    chain = await pedigree(s, parent) if parent is not None else []
    trustor_id = chain[-1].trustor_user_id if chain else new.trustor_user_id
    held: set[str] = set()
    if new.project_id:
        project = await s.get(Project, new.project_id)
        if project is None:
            raise NotFound("project", new.project_id)
        held = {r.id for r in await assignment_q.effective_roles(s, trustor_id, project=project)}
    for role in roles:
        if role.id not in held:
            raise NotFound("role", role.id)
    requested = new.redelegation_count
    redelegatable = new.allow_redelegation and requested != 0
    if not redelegatable:
        count = 0
    else:
        if requested is not None and requested > max_count:
            raise forbidden(f"Requested redelegation depth of {requested} is greater than allowed "
                            f"{max_count}")
        if new.remaining_uses is not None:
            raise ValidationError("remaining_uses must not be set if redelegation is allowed")
        count = requested if requested is not None else max_count
    if parent is not None:
        remaining = parent.redelegation_count - 1
        if redelegatable and requested and requested != remaining:
            raise forbidden('Modifying "redelegation_count" upon redelegation is forbidden. '
                            "Omitting this parameter is advised")
        if redelegatable:
            count = remaining if requested is None else requested
        for ancestor in chain:
            _check_redelegation(ancestor, new, role_ids, max_count)
    trust = Trust(id=uuid.uuid4().hex, trustor_user_id=new.trustor_user_id,
                  trustee_user_id=new.trustee_user_id, project_id=new.project_id,
                  impersonation=new.impersonation, expires_at=new.expires_at,
                  remaining_uses=new.remaining_uses, redelegation_count=max(count, 0),
                  redelegated_trust_id=parent.id if parent is not None else None,
                  roles=sorted(role_ids), extra=new.extra, created_at=datetime.now(UTC))
    s.add(trust)
    await s.flush()
    return trust


async def list_trusts(s: AsyncSession, *, trustor_user_id: str | None = None,
                      trustee_user_id: str | None = None) -> list[Trust]:
    q = select(Trust)
    if trustor_user_id is not None:
        q = q.where(Trust.trustor_user_id == trustor_user_id)
    if trustee_user_id is not None:
        q = q.where(Trust.trustee_user_id == trustee_user_id)
    # As Keystone's lists: every trust not deleted, expired and used-up ones included (showing one
    # of those is a 404).
    return list((await s.execute(q.order_by(Trust.created_at, Trust.id))).scalars())


async def consume_use(s: AsyncSession, trust: Trust) -> None:
    """One token issued from a trust with limited uses takes one; none left is a 404."""
    if trust.remaining_uses is None:
        return
    result = await s.execute(update(Trust).where(Trust.id == trust.id, Trust.remaining_uses > 0)
                             .values(remaining_uses=Trust.remaining_uses - 1))
    if result.rowcount != 1:
        raise TrustUnusable(trust.id)


async def delegated_roles(s: AsyncSession, trust: Trust) -> list[Role]:
    """The roles a token of ``trust`` carries: the delegated ones and those they imply, each of
    which the (original) trustor must still hold on the project; raises Forbidden otherwise."""
    chain = await pedigree(s, trust)
    trustor_id = chain[-1].trustor_user_id
    wanted = await assignment_q.expand_implied(s, set(trust.roles or []))
    held: set[str] = set()
    if trust.project_id:
        project = await s.get(Project, trust.project_id)
        if project is not None and project.enabled:
            held = {r.id for r in await assignment_q.effective_roles(s, trustor_id, project=project)}
    if not wanted or not wanted <= held:
        raise forbidden("Trustee has no delegated roles")
    rows = await role_q.by_ids(s, wanted)
    return sorted((r for r in rows.values() if r.domain_id == NULL_DOMAIN), key=lambda r: r.name)


async def agents_enabled(s: AsyncSession, trust: Trust) -> bool:
    """Whether every trustor and trustee of the trust's chain exists and is enabled (with its
    domain)."""
    for t in await pedigree(s, trust):
        for user_id in (t.trustor_user_id, t.trustee_user_id):
            user = await s.get(User, user_id)
            if user is None or not user.enabled:
                return False
            domain = await s.get(Domain, user.domain_id)
            if domain is None or not domain.enabled:
                return False
    return True


def expiry_text(dt: datetime | None) -> str | None:
    """Keystone's isotime with microseconds and a Z."""
    if dt is None:
        return None
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f") + "Z"
