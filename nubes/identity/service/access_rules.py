"""Access rules of application credentials: a user's (service, method, path) rules, shared by
the credentials that name them, kept until their owner deletes them (refused while one of their
credentials still names them).  Their enforcement is in nubes/core/auth/access_rules.py."""

from __future__ import annotations

import re
import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from nubes.identity.db.models import AccessRule, ApplicationCredential
from nubes.identity.exceptions import Forbidden, NotFound
from nubes.identity.service import domains as rules

METHODS = ("POST", "GET", "HEAD", "PATCH", "PUT", "DELETE")
_SERVICE = re.compile(r"^[a-zA-Z0-9-]+$")     # Keystone's id_string: a service type
_FIELDS = frozenset({"id", "service", "method", "path"})


def check(value: Any) -> list[dict[str, Any]]:
    """Keystone's access_rules schema: a list of {service, method, path} or {id} objects."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise rules.invalid("access_rules", "expected a list of {service, method, path} objects")
    out = []
    for i, rule in enumerate(value):
        where = f"access_rules[{i}]"
        if not isinstance(rule, dict):
            raise rules.invalid(where, "expected an object")
        unknown = sorted(set(rule) - _FIELDS)
        if unknown:
            raise rules.invalid(where, f"unknown properties {', '.join(map(repr, unknown))}")
        if "id" in rule:
            if not isinstance(rule["id"], str) or not rule["id"]:
                raise rules.invalid(f"{where}.id", "expected an access rule id")
            out.append({"id": rule["id"]})
            continue
        service, method, path = rule.get("service"), rule.get("method"), rule.get("path")
        if not isinstance(service, str) or not _SERVICE.match(service) or len(service) > 64:
            raise rules.invalid(f"{where}.service", f"{service!r} is not a service type")
        if method not in METHODS:
            raise rules.invalid(f"{where}.method", f"{method!r} is not one of {', '.join(METHODS)}")
        if not isinstance(path, str) or not path.startswith("/") or len(path) > 225:
            raise rules.invalid(f"{where}.path", f"{path!r} is not a path (it starts with /, at "
                                                 "most 225 characters)")
        out.append({"service": service, "method": method, "path": path})
    return out


def ref(rule: AccessRule) -> dict[str, Any]:
    return {"id": rule.id, "service": rule.service, "method": rule.method, "path": rule.path}


async def resolve(s: AsyncSession, user_id: str, wanted: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rules a new credential names: existing rules of the user by id (404 for another's or
    a missing one), others found by value or created."""
    out: dict[str, dict[str, Any]] = {}
    for w in wanted:
        if "id" in w:
            rule = await s.get(AccessRule, w["id"])
            if rule is None or rule.user_id != user_id:
                raise NotFound("access rule", w["id"])
        else:
            rule = (await s.execute(select(AccessRule).where(
                AccessRule.user_id == user_id, AccessRule.service == w["service"],
                AccessRule.method == w["method"], AccessRule.path == w["path"]))).scalars().first()
            if rule is None:
                rule = AccessRule(id=uuid.uuid4().hex, user_id=user_id, **w)
                s.add(rule)
                await s.flush()
        out[rule.id] = ref(rule)
    return list(out.values())


async def list_for_user(s: AsyncSession, user_id: str, *, service: str | None = None,
                        method: str | None = None, path: str | None = None) -> list[AccessRule]:
    q = select(AccessRule).where(AccessRule.user_id == user_id)
    if service is not None:
        q = q.where(AccessRule.service == service)
    if method is not None:
        q = q.where(AccessRule.method == method)
    if path is not None:
        q = q.where(AccessRule.path == path)
    return list((await s.execute(q.order_by(AccessRule.service, AccessRule.path,
                                            AccessRule.method, AccessRule.id))).scalars())


async def get(s: AsyncSession, user_id: str, rule_id: str) -> AccessRule:
    rule = await s.get(AccessRule, rule_id)
    if rule is None or rule.user_id != user_id:
        raise NotFound("access rule", rule_id)
    return rule


async def delete(s: AsyncSession, rule: AccessRule) -> None:
    """Delete a rule no credential names any more; 403 while one does (Keystone's rule)."""
    creds = (await s.execute(select(ApplicationCredential).where(
        ApplicationCredential.user_id == rule.user_id))).scalars()
    for cred in creds:
        if any(r.get("id") == rule.id for r in cred.access_rules or []):
            raise Forbidden(f"You are not authorized to perform the requested action: cannot "
                            f"delete access rule {rule.id}: application credential {cred.id} "
                            "still uses it.")
    await s.delete(rule)
