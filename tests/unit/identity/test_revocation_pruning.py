"""Revocation events are pruned once no token can match them, and kept while one still could."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from nubes.identity.db.models import RevocationEvent
from nubes.identity.exceptions import TokenNotFound
from nubes.identity.service.token_format import TokenPayload, new_audit_id


async def _events(identity) -> set[str]:
    async with identity.rt.db.reader() as s:
        return {ev.user_id for ev in (await s.execute(select(RevocationEvent))).scalars()}


async def test_revoking_prunes_events_older_than_the_longest_token_lifetime(identity):
    now = datetime.now(UTC)
    longest = identity.tokens.longest_lifetime
    assert longest == timedelta(seconds=3600 + 172800)      # token_expiration + allow_expired_window
    async with identity.rt.db.session() as s:
        s.add_all([
            # made before any token alive now was issued, and past its expiry: no use any more
            RevocationEvent(user_id="old", issued_before=now - longest - timedelta(hours=1),
                            expires_at=now - timedelta(hours=1)),
            RevocationEvent(user_id="old-no-expiry", issued_before=now - longest - timedelta(minutes=1),
                            expires_at=None),
            # still refusing tokens
            RevocationEvent(user_id="active", issued_before=now - timedelta(hours=1),
                            expires_at=now + timedelta(hours=1)),
            # past its expiry, but a token issued before it could still be inside the window
            RevocationEvent(user_id="recent", issued_before=now - timedelta(hours=1),
                            expires_at=now - timedelta(minutes=1)),
        ])
    async with identity.rt.db.session() as s:
        await identity.tokens.revoke(s, user_id="new")
    assert await _events(identity) == {"active", "recent", "new"}


async def test_identity_prunes_at_start(identity):
    now = datetime.now(UTC)
    async with identity.rt.db.session() as s:
        s.add(RevocationEvent(user_id="old", issued_before=now - timedelta(days=30),
                              expires_at=now - timedelta(days=28)))
    await identity.start()
    assert await _events(identity) == set()


async def test_a_revoked_token_stays_refused_while_allow_expired_could_accept_it(identity):
    """An expired token is still valid to ``?allow_expired=1`` for allow_expired_window: its
    revocation must outlive its expiry by that window."""
    from nubes.identity.db.queries import users as user_q

    async with identity.rt.db.reader() as s:
        admin = (await user_q.user_by_name(s, "admin", "default")).id
    now = datetime.now(UTC)
    payload = TokenPayload(user_id=admin, methods=("password",), expires_at=now - timedelta(minutes=1),
                           audit_ids=(new_audit_id(),), issued_at=now - timedelta(hours=1))
    token = identity.tokens.encode(payload)
    await identity.tokens.validate(token, allow_expired=True)            # valid so far
    async with identity.rt.db.session() as s:
        await identity.tokens.revoke(s, audit_id=payload.audit_ids[0], expires_at=payload.expires_at)
    await identity.tokens.announce("token")
    with pytest.raises(TokenNotFound, match="revoked"):
        await identity.tokens.validate(token, allow_expired=True)
