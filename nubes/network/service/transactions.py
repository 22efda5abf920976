"""One transaction per service call, retried when a concurrent writer took what it wanted.

Allocation-style writes (the next free IP, VLAN or MAC) pick a value and insert it under a
unique constraint. Two writers racing for the same value on MariaDB or PostgreSQL make one of
them fail with an integrity error (or a deadlock / serialization failure); that writer's whole
transaction is rolled back and run again, so it picks another value. On SQLite writers are
serialised by BEGIN IMMEDIATE and the retry is never needed. A genuine conflict (a duplicate the
caller asked for) is checked before the insert and raised as a domain error, not retried.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from sqlalchemy.exc import DBAPIError, IntegrityError

from nubes.network.exceptions import Conflict

LOG = logging.getLogger(__name__)
T = TypeVar("T")

ATTEMPTS = 12


def _retriable(exc: DBAPIError) -> bool:
    if isinstance(exc, IntegrityError):
        return True
    text = str(getattr(exc, "orig", exc)).lower()
    return any(word in text for word in ("deadlock", "serialize", "lock wait timeout"))


async def write(db: Any, fn: Callable[..., Awaitable[T]], *args: Any, **kwargs: Any) -> T:
    """Run ``fn(session, *args, **kwargs)`` in a write transaction, again on a lost race."""
    for attempt in range(1, ATTEMPTS + 1):
        try:
            async with db.session() as s:
                return await fn(s, *args, **kwargs)
        except DBAPIError as exc:
            if not _retriable(exc) or attempt == ATTEMPTS:
                LOG.warning("write %s gave up after %d attempts: %s", getattr(fn, "__name__", fn),
                            attempt, exc.orig if hasattr(exc, "orig") else exc)
                raise Conflict("The request conflicted with concurrent changes; please retry.") from None
            await asyncio.sleep(random.uniform(0.001, 0.01) * attempt)
    raise AssertionError("unreachable")


async def read(db: Any, fn: Callable[..., Awaitable[T]], *args: Any, **kwargs: Any) -> T:
    async with db.reader() as s:
        return await fn(s, *args, **kwargs)


def bump(row: Any) -> None:
    """A changed resource: new revision number and update time."""
    from nubes.core.db.base import utcnow

    row.revision_number = (row.revision_number or 0) + 1
    row.updated_at = utcnow()

