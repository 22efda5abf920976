"""Token issue and validation: Fernet payloads turned into Keystone token bodies, with revocation.

Validation is the hottest path of the cloud (every API call of every service
ends here), so the rendered body of a valid token is cached in memory until
the token's expiry, ``validation_cache_ttl`` or any revocation, whichever
comes first.  Revocations are announced on the bus so every process drops its
cache at once.
"""

from __future__ import annotations

import logging
import os
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from nubes.core.auth.tokens import REVOCATION_EVENT, TokenCache
from nubes.identity.db.models import (
    ApplicationCredential,
    Domain,
    Project,
    RevocationEvent,
    Trust,
    User,
)
from nubes.identity.db.queries import assignments as assignment_q
from nubes.identity.db.queries import catalog as catalog_q
from nubes.identity.db.queries import revocations as revocation_q
from nubes.identity.exceptions import AuthenticationFailed, Forbidden, TokenNotFound
from nubes.identity.service import trusts as trust_svc
from nubes.identity.service.token_format import TokenFormatter, TokenInvalid, TokenPayload, new_audit_id

LOG = logging.getLogger(__name__)

PRUNE_INTERVAL = 300.0      # seconds between two prunings of revocation events by one process


def isotime(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f") + "Z"


class TokenService:
    def __init__(self, rt: Any, formatter: TokenFormatter) -> None:
        self.rt = rt
        self.conf = rt.service_conf
        self.formatter = formatter
        self.cache = TokenCache(ttl=float(self.conf.validation_cache_ttl))
        self._events: list[RevocationEvent] | None = None
        self._events_loaded = 0.0
        self._catalog: list[dict[str, Any]] | None = None
        self._catalog_loaded = 0.0
        # Worker processes of one host share this file: touching it tells the
        # others to drop their caches even without a shared bus.
        self._stamp = rt.conf.core.state_dir / "identity-revocations.stamp"
        self._stamp_seen = self._stamp_mtime()
        self._fernet_seen: Any = None
        self._next_prune = 0.0

    def _stamp_mtime(self) -> int:
        try:
            return os.stat(self._stamp).st_mtime_ns
        except FileNotFoundError:
            return 0

    def _check_stamp(self) -> None:
        mtime = self._stamp_mtime()
        if mtime != self._stamp_seen:
            self._stamp_seen = mtime
            self.invalidate()

    # -- cache invalidation -------------------------------------------------
    def invalidate(self) -> None:
        self.cache.clear()
        self._events = None
        self._catalog = None

    async def on_revocation(self, _event: str, _payload: dict[str, Any]) -> None:
        self.invalidate()

    @property
    def longest_lifetime(self) -> timedelta:
        """How long after its issue a token may still validate: its lifetime, then the window in
        which ``?allow_expired=1`` accepts it."""
        return timedelta(seconds=self.conf.token_expiration + self.conf.allow_expired_window)

    async def revoke(self, s: AsyncSession, *, expires_at: datetime | None = None, **fields: Any) -> None:
        """Record a revocation event; call ``announce`` after the transaction commits.

        ``expires_at`` is when the last token it revokes expires (default: that of a token issued
        now); the event is kept past it for the allow_expired window, in which that token could
        still be validated.
        """
        now = datetime.now(UTC)
        fields.setdefault("issued_before", now)
        last = expires_at or now + timedelta(seconds=self.conf.token_expiration)
        fields["expires_at"] = last + timedelta(seconds=self.conf.allow_expired_window)
        await revocation_q.add_event(s, **fields)
        if time.monotonic() >= self._next_prune:
            await self.prune(s)

    async def prune(self, s: AsyncSession) -> int:
        """Forget the revocation events older than any token they could refuse; revoking calls it
        (at most every PRUNE_INTERVAL seconds per process), and so does identity's start."""
        self._next_prune = time.monotonic() + PRUNE_INTERVAL
        now = datetime.now(UTC)
        removed = await revocation_q.prune(s, now, now - self.longest_lifetime)
        if removed:
            LOG.info("pruned %d revocation event(s) older than the longest token lifetime", removed)
        return removed

    async def announce(self, reason: str = "revocation") -> None:
        self.invalidate()
        self._stamp.parent.mkdir(parents=True, exist_ok=True)
        self._stamp.touch()
        self._stamp_seen = self._stamp_mtime()
        if self.rt.bus is not None:
            await self.rt.bus.publish(REVOCATION_EVENT, {"reason": reason})

    async def catalog_changed(self) -> None:
        await self.announce("catalog")

    # -- issue ----------------------------------------------------------------
    def new_payload(self, user_id: str, methods: list[str], *, parent: TokenPayload | None = None,
                    expires_at: datetime | None = None, **scope: Any) -> TokenPayload:
        now = datetime.now(UTC)
        now = now.replace(microsecond=now.microsecond // 1000 * 1000)  # payloads keep milliseconds
        expiry = now + timedelta(seconds=self.conf.token_expiration)
        if expires_at is not None:
            expiry = min(expiry, expires_at)
        audit_ids = (new_audit_id(),) if parent is None else (new_audit_id(), parent.audit_ids[-1])
        if parent is not None:
            expiry = min(expiry, parent.expires_at)
        return TokenPayload(user_id=user_id, methods=tuple(methods), expires_at=expiry,
                            audit_ids=audit_ids, issued_at=now, **scope)

    def encode(self, payload: TokenPayload) -> str:
        return self.formatter.issue(payload)

    # -- validate -------------------------------------------------------------
    def decode(self, token: str) -> TokenPayload:
        try:
            return self.formatter.validate(token)
        except TokenInvalid:
            raise TokenNotFound("Could not recognize the token.") from None

    async def validate(self, token: str, *, allow_expired: bool = False,
                       include_catalog: bool = True) -> tuple[TokenPayload, dict[str, Any]]:
        """Return the payload and the rendered body, or raise TokenNotFound (404)."""
        key = f"{int(include_catalog)}:{token}"
        now = datetime.now(UTC)
        self._check_stamp()
        fernet = self.formatter.keys.fernet()
        if fernet is not self._fernet_seen:  # keys rotated: a retired key's tokens must fail now
            self._fernet_seen = fernet
            self.cache.clear()
        cached = None if allow_expired else self.cache.get(key)
        if cached is not None:        # the cache drops an entry the instant its token expires
            return cached
        payload = self.decode(token)
        if payload.expires_at <= now:
            window = timedelta(seconds=self.conf.allow_expired_window)
            if not allow_expired or payload.expires_at + window <= now:
                raise TokenNotFound("The token has expired.")
        async with self.rt.db.reader() as s:
            # A trust's token is also revoked with its trustor's tokens (Keystone matches a revocation
            # of a user against a token's user, trustor and trustee).
            trust = await s.get(Trust, payload.trust_id) if payload.trust_id else None
            users = (payload.user_id,) if trust is None else (payload.user_id, trust.trustor_user_id)
            if await self._is_revoked(s, payload, users):
                raise TokenNotFound("The token has been revoked.")
            body = await self.render(s, payload, include_catalog=include_catalog)
        if not allow_expired:
            self.cache.put(key, (payload, body), payload.expires_at.timestamp())
        return payload, body

    async def _is_revoked(self, s: AsyncSession, payload: TokenPayload,
                          users: tuple[str, ...] | None = None) -> bool:
        users = users or (payload.user_id,)
        if self._events is None or time.monotonic() - self._events_loaded > 5:
            self._events = await revocation_q.active_events(s, datetime.now(UTC))
            self._events_loaded = time.monotonic()
        for ev in self._events:
            if payload.issued_at > ev.issued_before:
                continue
            if ev.audit_id and ev.audit_id not in payload.audit_ids:
                continue
            if ev.audit_chain_id and ev.audit_chain_id != payload.audit_ids[-1]:
                continue
            if ev.user_id and ev.user_id not in users:
                continue
            if ev.project_id and ev.project_id != payload.project_id:
                continue
            if ev.domain_id and ev.domain_id != payload.domain_id:
                continue
            if ev.app_cred_id and ev.app_cred_id != payload.app_cred_id:
                continue
            return True
        return False

    async def catalog(self, s: AsyncSession, *, project_id: str | None = None,
                      user_id: str | None = None) -> list[dict[str, Any]]:
        """The catalog as a token of that project and user sees it (URLs substituted)."""
        if self._catalog is None or time.monotonic() - self._catalog_loaded > 30:
            self._catalog = await catalog_q.token_catalog(s)
            self._catalog_loaded = time.monotonic()
        values = {"project_id": project_id or "", "tenant_id": project_id or "", "user_id": user_id or ""}
        return catalog_q.substituted(self._catalog, values)

    async def render(self, s: AsyncSession, payload: TokenPayload, *,
                     include_catalog: bool = True) -> dict[str, Any]:
        """The token body Keystone returns; raises TokenNotFound if the token lost its meaning."""
        trust = None
        user_id = payload.user_id
        if payload.trust_id:
            trust = await self._live_trust(s, payload)
            if trust.impersonation:
                user_id = trust.trustor_user_id       # the token acts as the trustor
        user = await s.get(User, user_id)
        if user is None or not user.enabled:
            raise TokenNotFound("The token's user is disabled or gone.")
        user_domain = await s.get(Domain, user.domain_id)
        if user_domain is None or not user_domain.enabled:
            raise TokenNotFound("The token's user domain is disabled.")
        t: dict[str, Any] = {
            "methods": list(payload.methods),
            "user": {"id": user.id, "name": user.name,
                     "domain": {"id": user_domain.id, "name": user_domain.name},
                     "password_expires_at": await self._password_expiry(s, user)},
            "audit_ids": list(payload.audit_ids),
            "expires_at": isotime(payload.expires_at),
            "issued_at": isotime(payload.issued_at),
        }
        roles: list[Any] = []
        if payload.project_id:
            project = await s.get(Project, payload.project_id)
            if project is None or not project.enabled:
                raise TokenNotFound("The token's project is disabled or gone.")
            pdomain = await s.get(Domain, project.domain_id)
            if pdomain is None or not pdomain.enabled:
                raise TokenNotFound("The token's project domain is disabled.")
            t["project"] = {"id": project.id, "name": project.name,
                            "domain": {"id": pdomain.id, "name": pdomain.name}}
            t["is_domain"] = False
            if trust is not None:
                try:
                    roles = await trust_svc.delegated_roles(s, trust)
                except Forbidden:
                    raise TokenNotFound("The trustor no longer holds a role the trust delegates.") from None
            else:
                roles = await assignment_q.effective_roles(s, user.id, project=project)
        elif payload.domain_id:
            domain = await s.get(Domain, payload.domain_id)
            if domain is None or not domain.enabled:
                raise TokenNotFound("The token's domain is disabled or gone.")
            t["domain"] = {"id": domain.id, "name": domain.name}
            roles = await assignment_q.effective_roles(s, user.id, domain_id=domain.id)
        elif payload.system:
            t["system"] = {"all": True}
            roles = await assignment_q.effective_roles(s, user.id, system=True)
        if payload.app_cred_id:
            cred = await s.get(ApplicationCredential, payload.app_cred_id)
            if cred is None:
                raise TokenNotFound("The token's application credential was deleted.")
            allowed = {r["id"] for r in cred.roles}
            roles = [r for r in roles if r.id in allowed]
            t["application_credential"] = {"id": cred.id, "name": cred.name,
                                           "restricted": not cred.unrestricted}
            if cred.access_rules:     # what every service's token middleware enforces
                t["application_credential"]["access_rules"] = [
                    {k: r[k] for k in ("id", "service", "method", "path")} for r in cred.access_rules]
        if trust is not None:
            t["OS-TRUST:trust"] = {"id": trust.id, "impersonation": bool(trust.impersonation),
                                   "trustee_user": {"id": trust.trustee_user_id},
                                   "trustor_user": {"id": trust.trustor_user_id}}
        if payload.project_id or payload.domain_id or payload.system:
            if not roles:
                raise TokenNotFound("The token's user no longer has a role on its scope.")
            t["roles"] = [{"id": r.id, "name": r.name} for r in roles]
            if include_catalog:
                t["catalog"] = await self.catalog(s, project_id=payload.project_id, user_id=user_id)
        return {"token": t}

    async def _password_expiry(self, s: AsyncSession, user: User) -> str | None:
        from nubes.identity.db.queries import users as user_q

        pw = await user_q.current_password(s, user.id)
        if pw is None or pw.expires_at is None or user.options.get("ignore_password_expiry"):
            return None
        return isotime(pw.expires_at)

    async def _live_trust(self, s: AsyncSession, payload: TokenPayload) -> Trust:
        """The trust of a trust-scoped token, if it still holds: not deleted, not expired, the
        token's user its trustee, every trustor and trustee of its chain enabled."""
        trust = await s.get(Trust, payload.trust_id)
        if trust is None:
            raise TokenNotFound("The token's trust was deleted.")
        if trust.expires_at is not None and trust.expires_at <= datetime.now(UTC):
            raise TokenNotFound("The token's trust has expired.")
        if trust.trustee_user_id != payload.user_id:
            raise TokenNotFound("The token's user is not the trustee of its trust.")
        if not await trust_svc.agents_enabled(s, trust):
            raise TokenNotFound("The trustor or the trustee of the token's trust is disabled or gone.")
        return trust

    def rescoped(self, parent: TokenPayload, methods: list[str], **scope: Any) -> TokenPayload:
        if parent.app_cred_id:
            raise AuthenticationFailed("A token issued for an application credential cannot be rescoped.")
        return self.new_payload(parent.user_id, methods, parent=parent, **scope)
