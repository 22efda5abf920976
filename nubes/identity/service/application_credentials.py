"""Application credentials: a user delegates a subset of their roles on one project to a secret.

The secret is generated when not given, returned once on create and stored only
as a bcrypt hash.  Authenticating with one is in service/authenticate.py; a
token made from one carries only the credential's roles (tokens.render).
"""

from __future__ import annotations

import re
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from nubes.identity.db.models import NULL_DOMAIN, ApplicationCredential, Role
from nubes.identity.db.queries import app_creds as app_cred_q
from nubes.identity.db.queries import roles as role_q
from nubes.identity.exceptions import Conflict, Forbidden, NotFound, ValidationError
from nubes.identity.service import access_rules as access_rule_svc
from nubes.identity.service import domains as rules

FIELDS = frozenset({"name", "description", "secret", "expires_at", "roles", "unrestricted",
                    "access_rules"})

RESTRICTED = ("Using method 'application_credential' is not allowed for managing additional "
              "application credentials.")

_ISO = re.compile(r"^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?)(Z|[+-]\d{2}:?\d{2})?$")


class InvalidApplicationCredential(ValidationError):
    code = "identity.invalid_application_credential"

    def __init__(self, detail: str) -> None:
        super().__init__(f"Invalid application credential: {detail}")


def generate_secret() -> str:
    """64 random bytes, URL-safe base64 without padding (86 characters), as Keystone makes them."""
    return secrets.token_urlsafe(64)


def expiry_text(dt: datetime | None) -> str | None:
    """Keystone's rendering of expires_at: microseconds, no zone designator (always UTC)."""
    if dt is None:
        return None
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")


def parse_expiry(value: Any, now: datetime | None = None) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, str) or not _ISO.match(value.strip()):
        raise rules.invalid("expires_at", f"{value!r} is not an ISO 8601 date and time "
                                          "(YYYY-MM-DDTHH:MM:SS[.ffffff][Z|+HH:MM])")
    text = value.strip().replace(" ", "T")
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    try:
        when = datetime.fromisoformat(text)
    except ValueError as exc:
        raise rules.invalid("expires_at", str(exc)) from None
    when = when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
    if when <= (now or datetime.now(UTC)):
        raise InvalidApplicationCredential("expires_at must be in the future")
    return when


@dataclass
class NewAppCred:
    """A checked create body; the secret is hashed separately, off the event loop."""

    name: str
    description: str
    secret: str
    generated_secret: bool
    expires_at: datetime | None
    unrestricted: bool
    requested_roles: list[dict[str, Any]] | None
    # [{service, method, path}] or [{id}] as asked; resolved to stored rules on create.
    access_rules: list[dict[str, Any]] = field(default_factory=list)


def check_create(body: dict[str, Any]) -> NewAppCred:
    if "name" not in body:
        raise ValidationError("'name' is a required property")
    unknown = sorted(set(body) - FIELDS - rules.READ_ONLY)
    if unknown:
        raise ValidationError(f"Additional properties are not allowed ({', '.join(map(repr, unknown))} "
                              "were unexpected)")
    secret = body.get("secret")
    generated = False
    if secret is None or secret == "":
        secret, generated = generate_secret(), True
    elif not isinstance(secret, str):
        raise rules.invalid("secret", "expected a string")
    roles = body.get("roles")
    if roles is not None:
        if not isinstance(roles, list) or not all(
                isinstance(r, dict) and (isinstance(r.get("id"), str) or isinstance(r.get("name"), str))
                for r in roles):
            raise rules.invalid("roles", "expected a list of objects with an id or a name")
    return NewAppCred(
        name=rules.name(body["name"], max_len=255),
        description=rules.text(body.get("description"), "description"),
        secret=secret, generated_secret=generated,
        expires_at=parse_expiry(body.get("expires_at")),
        unrestricted=rules.strict_boolean(body.get("unrestricted", False), "unrestricted"),
        requested_roles=roles or None,
        access_rules=access_rule_svc.check(body.get("access_rules")),
    )


def role_ref(role: Role) -> dict[str, Any]:
    return {"id": role.id, "name": role.name,
            "domain_id": None if role.domain_id == NULL_DOMAIN else role.domain_id}


async def resolve_roles(s: AsyncSession, requested: list[dict[str, Any]] | None,
                        available: list[Role]) -> list[dict[str, Any]]:
    """The roles the credential will carry: the requested ones (each must be among ``available``,
    the caller's roles on the project) or, by default, all of ``available``."""
    if not available:
        raise InvalidApplicationCredential("the token carries no role on its project")
    if not requested:
        return [role_ref(r) for r in available]
    by_id = {r.id: r for r in available}
    out: dict[str, Role] = {}
    for ref in requested:
        if isinstance(ref.get("id"), str):
            role = by_id.get(ref["id"])
            if role is None and (await role_q.by_ids(s, [ref["id"]])).get(ref["id"]) is None:
                raise NotFound("role", ref["id"])
        else:
            domain = ref.get("domain_id") or NULL_DOMAIN
            if not isinstance(domain, str):
                raise rules.invalid("roles", "domain_id must be a string")
            found = await role_q.by_name(s, ref["name"], domain)
            if found is None:
                raise NotFound("role", ref["name"])
            role = by_id.get(found.id)
        if role is None:
            raise InvalidApplicationCredential(
                "Cannot create an application credential with unassigned role")
        out[role.id] = role
    return [role_ref(r) for r in sorted(out.values(), key=lambda r: r.name)]


async def get_for_user(s: AsyncSession, user_id: str, app_cred_id: str) -> ApplicationCredential:
    cred = await app_cred_q.get(s, app_cred_id)
    if cred is None or cred.user_id != user_id:
        raise NotFound("Application Credential", app_cred_id)
    return cred


def duplicate(name: str) -> Conflict:
    return Conflict("application_credential", f"Duplicate entry found with name {name}")


async def create(s: AsyncSession, new: NewAppCred, *, user_id: str, project_id: str,
                 roles: list[dict[str, Any]], secret_hash: str) -> ApplicationCredential:
    if await app_cred_q.by_name(s, user_id, new.name) is not None:
        raise duplicate(new.name)
    access_rules = await access_rule_svc.resolve(s, user_id, new.access_rules)
    cred = ApplicationCredential(
        id=uuid.uuid4().hex, name=new.name, user_id=user_id, project_id=project_id, system=None,
        secret_hash=secret_hash, description=new.description, expires_at=new.expires_at,
        unrestricted=new.unrestricted, roles=roles, access_rules=access_rules, created_at=datetime.now(UTC))
    s.add(cred)
    try:
        await s.flush()
    except IntegrityError:
        raise duplicate(new.name) from None
    return cred


def check_unrestricted(parent: ApplicationCredential | None) -> None:
    """A token made from a restricted application credential cannot manage application credentials."""
    if parent is not None and not parent.unrestricted:
        raise Forbidden(f"You are not authorized to perform the requested action: {RESTRICTED}")
