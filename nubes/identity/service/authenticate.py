"""POST /v3/auth/tokens: identify the caller by its methods, resolve the scope, build the payload."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from nubes.core.exceptions import NotFound
from nubes.identity.db.models import ApplicationCredential, Domain, Project, Trust, User
from nubes.identity.db.queries import assignments as assignment_q
from nubes.identity.db.queries import users as user_q
from nubes.identity.exceptions import (
    AccountLocked,
    AuthenticationFailed,
    PasswordExpired,
    ValidationError,
)
from nubes.identity.service import passwords
from nubes.identity.service import trusts as trust_svc
from nubes.identity.service.token_format import TokenPayload
from nubes.identity.service.tokens import TokenService

LOG = logging.getLogger(__name__)

METHODS = ("password", "token", "application_credential")


def _obj(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ValidationError(f"Invalid input for field '{where}': expected an object.")
    return value


def _str(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value:
        raise ValidationError(f"Invalid input for field '{where}': expected a non-empty string.")
    return value


async def _domain_ref(s: AsyncSession, ref: Any, where: str) -> Domain:
    domain = await _find_domain(s, ref, where)
    if domain is None:
        raise AuthenticationFailed("Could not find domain.")
    return domain


async def _find_domain(s: AsyncSession, ref: Any, where: str) -> Domain | None:
    ref = _obj(ref, where)
    if "id" in ref:
        return await s.get(Domain, _str(ref["id"], f"{where}.id"))
    if "name" in ref:
        return await user_q.domain_by_name(s, _str(ref["name"], f"{where}.name"))
    raise ValidationError(f"Expecting to find id or name in {where}.")


async def _find_user(s: AsyncSession, ref: Any, where: str) -> User | None:
    """The user a request names, or None when it (or the domain it names) does not exist: the
    caller still checks the secret (against a dummy hash) before it fails, so that an unknown
    user costs what a wrong password costs."""
    ref = _obj(ref, where)
    if "id" in ref:
        return await s.get(User, _str(ref["id"], f"{where}.id"))
    if "name" not in ref:
        raise ValidationError(f"Expecting to find id or name in {where}.")
    if "domain" not in ref:
        raise ValidationError(f"Expecting to find domain in {where}.")
    name = _str(ref["name"], f"{where}.name")
    domain = await _find_domain(s, ref["domain"], f"{where}.domain")
    return None if domain is None else await user_q.user_by_name(s, name, domain.id)


class Authenticator:
    def __init__(self, rt: Any, tokens: TokenService) -> None:
        self.rt = rt
        self.conf = rt.service_conf
        self.tokens = tokens

    async def authenticate(self, auth: Any) -> TokenPayload:
        auth = _obj(auth, "auth")
        identity = _obj(auth.get("identity"), "auth.identity")
        methods = identity.get("methods")
        if not isinstance(methods, list) or not methods:
            raise ValidationError("Expecting to find methods in auth.identity.")
        for m in methods:
            if m not in METHODS:
                raise AuthenticationFailed(f"Attempted to authenticate with an unsupported method: {m}.")
            if m not in identity:
                raise ValidationError(f"Expecting to find {m} in auth.identity.")
        scope = auth.get("scope")
        if "token" in methods:
            return await self._by_token(identity["token"], methods, scope)
        if "application_credential" in methods:
            if scope not in (None, "unscoped"):
                raise ValidationError("An application credential token is scoped by the credential; "
                                      "remove the scope from the request.")
            return await self._by_app_cred(identity["application_credential"])
        return await self._by_password(identity["password"], scope)

    # -- password -------------------------------------------------------------
    async def _by_password(self, body: Any, scope: Any) -> TokenPayload:
        body = _obj(body, "auth.identity.password")
        password = body.get("user", {}).get("password") if isinstance(body.get("user"), dict) else None
        if not isinstance(password, str):
            raise ValidationError("Expecting to find password in auth.identity.password.user.")
        async with self.rt.db.reader() as s:
            user = await _find_user(s, body.get("user"), "auth.identity.password.user")
            pw = await user_q.current_password(s, user.id) if user else None
            domain = await s.get(Domain, user.domain_id) if user else None
        # First the one bcrypt verification every attempt costs, known user or not.
        matches = await passwords.verify_password(password, pw.password_hash if pw else None,
                                                  rounds=self.conf.password_hash_rounds)
        if user is None:
            LOG.info("authentication failed: no such user")
            raise AuthenticationFailed("The request you have made requires authentication.")
        self._check_enabled(user, domain)
        self._check_lockout(user)
        if not matches:
            await self._record_failure(user)
            LOG.info("authentication failed for user %s: wrong password", user.id)
            raise AuthenticationFailed("The request you have made requires authentication.")
        if user.failed_auth_count:
            await self._reset_failures(user)
        now = datetime.now(UTC)
        if pw and pw.expires_at and pw.expires_at <= now and not user.options.get("ignore_password_expiry"):
            raise PasswordExpired(f"The password is expired and needs to be changed for user: {user.id}.")
        if (self.conf.change_password_upon_first_use and pw and not pw.self_service
                and not user.options.get("ignore_change_password_upon_first_use")):
            raise PasswordExpired(
                f"You must change your password before using the cloud (user {user.id}): "
                f"POST /v3/users/{user.id}/password.")
        return await self._scoped(user, ["password"], scope)

    def _check_enabled(self, user: User, domain: Domain | None) -> None:
        if not user.enabled or domain is None or not domain.enabled:
            LOG.info("authentication refused: user %s or its domain is disabled", user.id)
            raise AuthenticationFailed("The request you have made requires authentication.")

    def _check_lockout(self, user: User) -> None:
        limit = self.conf.lockout_failure_attempts
        if not limit or user.options.get("ignore_lockout_failure_attempts"):
            return
        if user.failed_auth_count >= limit and user.failed_auth_at:
            until = user.failed_auth_at + timedelta(seconds=self.conf.lockout_duration)
            if datetime.now(UTC) < until:
                raise AccountLocked(f"The account is locked for user: {user.id}.")

    async def _record_failure(self, user: User) -> None:
        if not self.conf.lockout_failure_attempts:
            return
        async with self.rt.db.session() as s:
            row = await s.get(User, user.id)
            if row is None:
                return
            expired = row.failed_auth_at and datetime.now(UTC) > row.failed_auth_at + timedelta(
                seconds=self.conf.lockout_duration)
            row.failed_auth_count = 1 if expired else row.failed_auth_count + 1
            row.failed_auth_at = datetime.now(UTC)

    async def _reset_failures(self, user: User) -> None:
        async with self.rt.db.session() as s:
            row = await s.get(User, user.id)
            if row is not None:
                row.failed_auth_count = 0
                row.failed_auth_at = None

    # -- token ----------------------------------------------------------------
    async def _by_token(self, body: Any, methods: list[str], scope: Any) -> TokenPayload:
        body = _obj(body, "auth.identity.token")
        parent, _ = await self.tokens.validate(_str(body.get("id"), "auth.identity.token.id"),
                                               include_catalog=False)
        async with self.rt.db.reader() as s:
            user = await s.get(User, parent.user_id)
        if user is None:
            raise AuthenticationFailed()
        if parent.app_cred_id:
            raise AuthenticationFailed("A token issued for an application credential cannot be rescoped.")
        if parent.trust_id:
            raise trust_svc.forbidden("Using trust-scoped token to create another token. Create a "
                                      "new trust-scoped token instead")
        # Keystone's rescoped tokens carry the parent's methods after "token".
        return await self._scoped(user, list(dict.fromkeys(["token", *parent.methods])), scope,
                                  parent=parent)

    # -- application credential -------------------------------------------------
    async def _by_app_cred(self, body: Any) -> TokenPayload:
        body = _obj(body, "auth.identity.application_credential")
        secret = _str(body.get("secret"), "auth.identity.application_credential.secret")
        cred: ApplicationCredential | None = None
        async with self.rt.db.reader() as s:
            if "id" in body:
                cred = await s.get(ApplicationCredential, _str(body["id"], "application_credential.id"))
            elif "name" in body:
                name = _str(body["name"], "application_credential.name")
                owner = await _find_user(s, body.get("user"), "application_credential.user")
                if owner is not None:
                    cred = (await s.execute(select(ApplicationCredential).where(
                        ApplicationCredential.user_id == owner.id,
                        ApplicationCredential.name == name))).scalars().first()
            else:
                raise ValidationError("Expecting to find id or name in application_credential.")
            user = await s.get(User, cred.user_id) if cred else None
            domain = await s.get(Domain, user.domain_id) if user else None
        # The secret is checked first, and costs the same whether or not the credential exists;
        # only its holder learns that it expired.
        matches = await passwords.verify_password(secret, cred.secret_hash if cred else None,
                                                  rounds=self.conf.password_hash_rounds)
        if cred is None or user is None or not matches:
            raise AuthenticationFailed()
        self._check_enabled(user, domain)
        if cred.expires_at and cred.expires_at <= datetime.now(UTC):
            raise AuthenticationFailed(f"The application credential {cred.id} has expired.")
        payload = self.tokens.new_payload(user.id, ["application_credential"], project_id=cred.project_id,
                                          app_cred_id=cred.id, expires_at=cred.expires_at)
        await self._require_roles(user, payload)
        return payload

    # -- scope ----------------------------------------------------------------
    async def _scoped(self, user: User, methods: list[str], scope: Any, *,
                      parent: TokenPayload | None = None) -> TokenPayload:
        if isinstance(scope, dict) and "OS-TRUST:trust" in scope:
            return await self._trust_scoped(user, methods, scope, parent=parent)
        target: dict[str, Any] = {}
        async with self.rt.db.reader() as s:
            if scope is None and parent is None and user.default_project_id:
                project = await s.get(Project, user.default_project_id)
                if project is not None and project.enabled and await assignment_q.effective_roles(
                        s, user.id, project=project):
                    target = {"project_id": project.id}
            elif scope is None and parent is not None:
                target = {"project_id": parent.project_id, "domain_id": parent.domain_id,
                          "system": parent.system}
                target = {k: v for k, v in target.items() if v}
            elif scope is not None and scope != "unscoped":
                target = await self._resolve_scope(s, scope)
        if parent is not None:
            payload = self.tokens.rescoped(parent, methods, **target)
        else:
            payload = self.tokens.new_payload(user.id, methods, **target)
        await self._require_roles(user, payload)
        return payload

    async def _trust_scoped(self, user: User, methods: list[str], scope: dict[str, Any], *,
                            parent: TokenPayload | None) -> TokenPayload:
        """A token of the trust's trustee, scoped to the trust's project; consumes one use."""
        if len([k for k in ("project", "domain", "system", "OS-TRUST:trust") if k in scope]) != 1:
            raise ValidationError("Specify exactly one of project, domain, system or OS-TRUST:trust "
                                  "in auth.scope.")
        ref = _obj(scope["OS-TRUST:trust"], "auth.scope.OS-TRUST:trust")
        trust_id = _str(ref.get("id"), "auth.scope.OS-TRUST:trust.id")
        async with self.rt.db.reader() as s:
            trust = await trust_svc.get(s, trust_id)
            if trust.trustee_user_id != user.id:
                raise trust_svc.forbidden("User is not a trustee")
            if not await trust_svc.agents_enabled(s, trust):
                raise trust_svc.forbidden("One of the trust agents is disabled or deleted")
            if trust.project_id:
                project = await s.get(Project, trust.project_id)
                if project is None or not project.enabled:
                    raise AuthenticationFailed(f"Project {trust.project_id} is disabled.")
                await trust_svc.delegated_roles(s, trust)      # 403 if the trustor lost a role
        payload = self.tokens.new_payload(user.id, methods, parent=parent, project_id=trust.project_id,
                                          trust_id=trust.id, expires_at=trust.expires_at)
        await self._require_roles(user, payload)
        async with self.rt.db.session() as s:
            row = await s.get(Trust, trust.id)
            if row is None:
                raise NotFound("trust", trust.id)
            await trust_svc.consume_use(s, row)
        return payload

    async def _resolve_scope(self, s: AsyncSession, scope: Any) -> dict[str, Any]:
        scope = _obj(scope, "auth.scope")
        if len([k for k in ("project", "domain", "system", "OS-TRUST:trust") if k in scope]) != 1:
            raise ValidationError("Specify exactly one of project, domain or system in auth.scope.")
        if "system" in scope:
            system = _obj(scope["system"], "auth.scope.system")
            if system.get("all") is not True:
                raise ValidationError("auth.scope.system must be {\"all\": true}.")
            return {"system": "all"}
        if "domain" in scope:
            domain = await _domain_ref(s, scope["domain"], "auth.scope.domain")
            if not domain.enabled:
                raise AuthenticationFailed(f"Domain {domain.id} is disabled.")
            return {"domain_id": domain.id}
        ref = _obj(scope["project"], "auth.scope.project")
        if "id" in ref:
            project = await s.get(Project, _str(ref["id"], "auth.scope.project.id"))
        elif "name" in ref:
            if "domain" not in ref:
                raise ValidationError("Expecting to find domain in auth.scope.project.")
            domain = await _domain_ref(s, ref["domain"], "auth.scope.project.domain")
            project = (await s.execute(select(Project).where(
                Project.name == ref["name"], Project.domain_id == domain.id))).scalars().first()
        else:
            raise ValidationError("Expecting to find id or name in auth.scope.project.")
        if project is None:
            raise AuthenticationFailed("Could not find the project to scope to.")
        if not project.enabled:
            raise AuthenticationFailed(f"Project {project.id} is disabled.")
        return {"project_id": project.id}

    async def _require_roles(self, user: User, payload: TokenPayload) -> None:
        if not (payload.project_id or payload.domain_id or payload.system):
            return
        async with self.rt.db.reader() as s:
            try:
                await self.tokens.render(s, payload, include_catalog=False)
            except NotFound:
                what = (f"project {payload.project_id}" if payload.project_id else
                        f"domain {payload.domain_id}" if payload.domain_id else "the system")
                raise AuthenticationFailed(f"User {user.id} has no access to {what}.") from None
