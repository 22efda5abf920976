"""The identity service's long-lived state: key repositories, token service, authenticator."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from nubes.core.auth.tokens import REVOCATION_EVENT, context_from_token
from nubes.core.context import RequestContext
from nubes.core.exceptions import NotFound, Unauthorized
from nubes.identity.service import passwords
from nubes.identity.service.authenticate import Authenticator
from nubes.identity.service.fernet_keys import KeyRepository
from nubes.identity.service.token_format import TokenFormatter
from nubes.identity.service.tokens import TokenService

LOG = logging.getLogger(__name__)


def key_dir(rt: Any, configured: str, default: str) -> Path:
    return Path(configured) if configured else rt.conf.core.state_dir / default


class IdentityState:
    def __init__(self, rt: Any) -> None:
        conf = rt.service_conf
        self.keys = KeyRepository(key_dir(rt, conf.key_repository, "fernet-keys"), conf.max_active_keys)
        self.keys.initialize()
        self.credential_keys = KeyRepository(
            key_dir(rt, conf.credential_key_repository, "credential-keys"), conf.max_active_keys)
        self.credential_keys.initialize()
        self.tokens = TokenService(rt, TokenFormatter(self.keys))
        self.authenticator = Authenticator(rt, self.tokens)
        self.rt = rt

    async def start(self) -> None:
        if self.rt.bus is not None:
            await self.rt.bus.subscribe(REVOCATION_EVENT, self.tokens.on_revocation)
        await passwords.prepare(self.rt.service_conf.password_hash_rounds)
        try:
            async with self.rt.db.session() as s:
                await self.tokens.prune(s)
        except SQLAlchemyError as exc:  # a busy database must not keep identity from starting
            LOG.warning("identity: could not prune revocation events at start: %s", exc)

    async def authenticate(self, token: str, request_id: str) -> RequestContext:
        """X-Auth-Token of a request to identity itself, validated in-process."""
        try:
            _, body = await self.tokens.validate(token, include_catalog=False)
        except NotFound:
            raise Unauthorized("The request you have made requires authentication.") from None
        return context_from_token(body, token)
