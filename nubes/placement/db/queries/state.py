"""The change log: a global sequence bumped by every write, and the providers each write touched."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from nubes.placement.db.models import PlacementState, ProviderChange

STATE_ID = 1
_S = PlacementState.__table__
_BUMP = update(_S).where(_S.c.id == STATE_ID).values(seq=_S.c.seq + 1)
_BUMP_RETURNING = _BUMP.returning(_S.c.seq)
_SEQ = select(_S.c.seq).where(_S.c.id == STATE_ID)
_LOG = insert(ProviderChange.__table__)
NAMES_CHANGED = 0   # a pseudo provider id: resource class or trait names changed


def ensure_state(s: Session) -> None:
    if (s.execute(select(PlacementState.id).where(PlacementState.id == STATE_ID))).first() is None:
        try:
            with s.begin_nested():
                s.execute(insert(PlacementState).values(id=STATE_ID, seq=0, pruned_below=0))
        except IntegrityError:
            pass  # another process created it first


def record_change(s: Session, provider_ids: Iterable[int], *, horizon: int = 20000) -> int:
    """Number this write and log the providers it touched. Call last, just before commit.

    The UPDATE takes the state row's lock until commit, so sequence numbers become
    visible in order; taking it last keeps that global section as short as possible
    and, since no other lock is taken after it, free of deadlocks.
    """
    if s.get_bind().dialect.update_returning:
        seq = s.execute(_BUMP_RETURNING).scalar_one()
    else:
        s.execute(_BUMP)
        seq = s.execute(_SEQ).scalar_one()
    ids = sorted(set(provider_ids))
    if ids:
        s.execute(_LOG, [{"seq": seq, "resource_provider_id": i} for i in ids])
    if horizon and seq % 1000 == 0 and seq > horizon:
        floor = seq - horizon
        s.execute(delete(ProviderChange).where(ProviderChange.seq < floor))
        s.execute(update(PlacementState).where(PlacementState.id == STATE_ID)
                        .values(pruned_below=floor))
    return int(seq)


def current(s: Session) -> tuple[int, int]:
    row = (s.execute(select(PlacementState.seq, PlacementState.pruned_below)
                           .where(PlacementState.id == STATE_ID))).first()
    return (int(row[0]), int(row[1])) if row else (0, 0)


def changes_since(s: Session, seq: int) -> list[tuple[int, int]]:
    rows = s.execute(select(ProviderChange.seq, ProviderChange.resource_provider_id)
                           .where(ProviderChange.seq > seq))
    return [(int(a), int(b)) for a, b in rows]
