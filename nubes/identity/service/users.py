"""Users: CRUD, passwords and Keystone's [security_compliance] rules for them."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from nubes.core.context import RequestContext
from nubes.core.exceptions import NotImplementedYet
from nubes.identity.db.models import Domain, Password, User
from nubes.identity.db.queries import users as user_q
from nubes.identity.exceptions import (
    AuthenticationFailed,
    Conflict,
    NotFound,
    PasswordPolicyViolation,
    ValidationError,
)
from nubes.identity.service import domains as rules
from nubes.identity.service import passwords

USER_FIELDS = frozenset({"name", "domain_id", "enabled", "default_project_id", "description", "email",
                         "password", "options", "federated", "password_expires_at"})

USER_OPTIONS = {
    "ignore_change_password_upon_first_use": "bool",
    "ignore_password_expiry": "bool",
    "ignore_lockout_failure_attempts": "bool",
    "ignore_user_inactivity": "bool",
    "lock_password": "bool",
    "multi_factor_auth_enabled": "bool",
    "multi_factor_auth_rules": "rules",
}

_BAD_CREDENTIALS = "Error when changing user password: Invalid user / password"


async def get(s: AsyncSession, user_id: str) -> User:
    user = await s.get(User, user_id)
    if user is None:
        raise NotFound("user", user_id)
    return user


def _duplicate(user_name: str, domain_id: str) -> Conflict:
    return Conflict("user", f"Duplicate entry found with name {user_name} at domain ID {domain_id}")


def _options(value: Any, current: dict[str, Any] | None = None) -> dict[str, Any]:
    out = rules.options(value, USER_OPTIONS, current)
    if out.get("multi_factor_auth_enabled"):
        raise NotImplementedYet("Multi-factor authentication is not supported by this cloud: only "
                                "password, token and application credential methods exist, so "
                                "multi_factor_auth_enabled cannot be set to true.")
    return out


def _email(value: Any) -> str | None:
    if value is None:
        return None
    return rules.text(value, "email", max_len=255)


@dataclass
class UserChanges:
    """A checked create or PATCH body; the password is hashed separately, off the event loop."""

    values: dict[str, Any] = field(default_factory=dict)
    password: str | None = None
    has_password: bool = False


def check_password(conf: Any, password: Any) -> str:
    if not isinstance(password, str):
        raise rules.invalid("password", "expected a string")
    passwords.check_password_rules(password, conf.password_regex, conf.password_regex_description)
    return password


def check_create(ctx: RequestContext, body: dict[str, Any], conf: Any) -> UserChanges:
    if "name" not in body:
        raise ValidationError("'name' is a required property")
    if body.get("federated"):
        raise NotImplementedYet("Federated users are not supported by this cloud.")
    out = UserChanges()
    out.values = {
        "name": rules.name(body["name"], max_len=255),
        "domain_id": rules.domain_for_new(ctx, body),
        "enabled": rules.strict_boolean(body.get("enabled", True), "enabled"),
        "default_project_id": rules.ident(body.get("default_project_id"), "default_project_id"),
        "description": rules.text(body.get("description"), "description"),
        "email": _email(body.get("email")),
        "options": _options(body["options"]) if body.get("options") is not None else {},
        "extra": rules.extra(body, USER_FIELDS),
    }
    if body.get("password") is not None:
        out.password = check_password(conf, body["password"])
        out.has_password = True
    return out


def check_update(user: User, body: dict[str, Any], conf: Any) -> UserChanges:
    rules.require_some(body, "user")
    rules.require_same_id(body, user.id)
    if "domain_id" in body and body["domain_id"] != user.domain_id:
        raise ValidationError("Cannot change Domain ID")
    if body.get("federated"):
        raise NotImplementedYet("Federated users are not supported by this cloud.")
    out = UserChanges()
    v = out.values
    if "name" in body:
        v["name"] = rules.name(body["name"], max_len=255)
    if "enabled" in body:
        v["enabled"] = rules.strict_boolean(body["enabled"], "enabled")
    if "default_project_id" in body:
        v["default_project_id"] = rules.ident(body["default_project_id"], "default_project_id")
    if "description" in body:
        v["description"] = rules.text(body["description"], "description")
    if "email" in body:
        v["email"] = _email(body["email"])
    if "options" in body:
        v["options"] = _options(body["options"] or {}, user.options)
    v["extra"] = rules.extra(body, USER_FIELDS, user.extra)
    if "password" in body:
        out.has_password = True
        if body["password"] is not None:
            out.password = check_password(conf, body["password"])
    return out


async def hash_for(conf: Any, changes: UserChanges) -> str | None:
    if changes.password is None:
        return None
    return await passwords.hash_password(changes.password, conf.password_hash_rounds)


def new_password_row(user: User, pw_hash: str, conf: Any, *, self_service: bool) -> Password:
    """Keystone's expiry rules: password_expires_days, and change_password_upon_first_use for
    passwords an administrator set (they are born expired)."""
    opts = user.options or {}
    now = datetime.now(UTC)
    expires_at = None
    if conf.password_expires_days and not opts.get("ignore_password_expiry"):
        expires_at = (now + timedelta(days=conf.password_expires_days)).replace(microsecond=0)
    if (not self_service and conf.change_password_upon_first_use
            and not opts.get("ignore_change_password_upon_first_use")):
        expires_at = now
    return Password(user_id=user.id, password_hash=pw_hash, created_at=now, expires_at=expires_at,
                    self_service=self_service)


async def _check_default_project(s: AsyncSession, project_id: str | None) -> None:
    # Keystone accepts a project that does not exist (yet), but never a domain.
    if project_id is not None and await s.get(Domain, project_id) is not None:
        raise ValidationError(f"User's default project ID cannot be a domain ID: {project_id}")


async def create(s: AsyncSession, changes: UserChanges, pw_hash: str | None, conf: Any) -> User:
    v = changes.values
    if await s.get(Domain, v["domain_id"]) is None:
        raise NotFound("domain", v["domain_id"])
    await _check_default_project(s, v["default_project_id"])
    if await user_q.user_by_name(s, v["name"], v["domain_id"]) is not None:
        raise _duplicate(v["name"], v["domain_id"])
    user = User(id=uuid.uuid4().hex, **v)
    s.add(user)
    try:
        await s.flush()
    except IntegrityError:
        raise _duplicate(v["name"], v["domain_id"]) from None
    if pw_hash is not None:
        s.add(new_password_row(user, pw_hash, conf, self_service=False))
        await s.flush()
    return user


async def update(s: AsyncSession, user: User, changes: UserChanges, pw_hash: str | None,
                 conf: Any) -> bool:
    """Apply a checked PATCH; True when the user's tokens must be revoked."""
    v = changes.values
    was_enabled = user.enabled
    if "name" in v and v["name"] != user.name:
        other = await user_q.user_by_name(s, v["name"], user.domain_id)
        if other is not None and other.id != user.id:
            raise _duplicate(v["name"], user.domain_id)
    if "default_project_id" in v:
        await _check_default_project(s, v["default_project_id"])
    for key, value in v.items():
        setattr(user, key, value)
    try:
        await s.flush()
    except IntegrityError:
        raise _duplicate(user.name, user.domain_id) from None
    if changes.has_password:
        if pw_hash is None:  # "password": null clears it: the user can no longer authenticate
            s.add(Password(user_id=user.id, password_hash="", created_at=datetime.now(UTC),
                           self_service=False))
        else:
            s.add(new_password_row(user, pw_hash, conf, self_service=False))
        await s.flush()
    return changes.has_password or (was_enabled and not user.enabled)


async def delete(s: AsyncSession, user: User) -> None:
    await user_q.delete_users(s, [user.id])


def password_expires_at(user: User, pw: Password | None) -> datetime | None:
    if pw is None or pw.expires_at is None or (user.options or {}).get("ignore_password_expiry"):
        return None
    return pw.expires_at


# -- self-service password change ----------------------------------------------------------------


def check_change_body(body: Any) -> tuple[str, str]:
    if not isinstance(body, dict) or not isinstance(body.get("user"), dict):
        raise ValidationError("Expecting to find user in the request body.")
    user = body["user"]
    for key in ("original_password", "password"):
        if key not in user:
            raise ValidationError(f"'{key}' is a required property")
        if not isinstance(user[key], str):
            raise rules.invalid(key, "expected a string")
    unknown = set(user) - {"original_password", "password"}
    if unknown:
        raise ValidationError(f"Additional properties are not allowed ({', '.join(sorted(unknown))} "
                              "were unexpected)")
    return user["original_password"], user["password"]


async def change_password(rt: Any, user_id: str, original: str, new: str) -> None:
    """POST /v3/users/{id}/password: the caller proves who it is with the original password."""
    conf = rt.service_conf
    state = rt.extra["identity"]
    auth = state.authenticator
    async with rt.db.reader() as s:
        user = await s.get(User, user_id)
        current = await user_q.current_password(s, user_id) if user else None
        history = (await user_q.recent_passwords(s, user_id, conf.unique_last_password_count)
                   if user and conf.unique_last_password_count > 0 else [])
    # one bcrypt verification whether or not the user exists (see passwords)
    matches = await passwords.verify_password(original, current.password_hash if current else None,
                                              rounds=conf.password_hash_rounds)
    if user is None:
        raise AuthenticationFailed(_BAD_CREDENTIALS)
    auth._check_lockout(user)
    if not matches:
        await auth._record_failure(user)
        raise AuthenticationFailed(_BAD_CREDENTIALS)
    if not user.enabled:
        raise AuthenticationFailed(f"The account is disabled for user: {user_id}.")
    if user.failed_auth_count:
        await auth._reset_failures(user)
    passwords.check_password_rules(new, conf.password_regex, conf.password_regex_description)
    if (user.options or {}).get("lock_password"):
        raise PasswordPolicyViolation(
            "You cannot change your password at this time due to password policy disallowing "
            "password changes. Please contact your administrator to reset your password.")
    if conf.minimum_password_age and current is not None and current.self_service:
        allowed_at = current.created_at + timedelta(days=conf.minimum_password_age)
        now = datetime.now(UTC)
        if now < allowed_at:
            raise PasswordPolicyViolation(
                "You cannot change your password at this time due to the minimum password age. "
                f"Once you change your password, it must be used for {conf.minimum_password_age} "
                f"day(s) before it can be changed. Please try again in {(allowed_at - now).days} "
                "day(s) or contact your administrator to reset your password.")
    for old in history:
        if await passwords.verify_password(new, old.password_hash, rounds=conf.password_hash_rounds):
            raise PasswordPolicyViolation(
                "The new password cannot be identical to a previous password. The total number "
                f"which includes the new password must be unique is {conf.unique_last_password_count}.")
    pw_hash = await passwords.hash_password(new, conf.password_hash_rounds)
    async with rt.db.session() as s:
        user = await s.get(User, user_id)
        if user is None:
            raise AuthenticationFailed(_BAD_CREDENTIALS)
        s.add(new_password_row(user, pw_hash, conf, self_service=True))
        await state.tokens.revoke(s, user_id=user_id)
    await state.tokens.announce("password")
