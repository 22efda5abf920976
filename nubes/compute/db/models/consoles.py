"""Console authorization tokens (Nova's ``console_auth_tokens``): one row per console URL handed
out, keyed by the token's SHA-256 (the token itself is never stored), used once by a console
proxy and refused after ``expires``."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from nubes.core.db.base import UTCDateTime, utcnow
from nubes.compute.db.models.base import UUID, Base


class ConsoleAuthToken(Base):
    __tablename__ = "console_auth_tokens"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    console_type: Mapped[str] = mapped_column(String(32))        # novnc, serial
    host: Mapped[str] = mapped_column(String(255))               # where the guest's console listens
    port: Mapped[int] = mapped_column(Integer)
    internal_access_path: Mapped[str | None] = mapped_column(String(255), nullable=True, default=None)
    instance_uuid: Mapped[str] = mapped_column(UUID, index=True)
    compute_host: Mapped[str] = mapped_column(String(255))       # the agent that owns the console
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True, default=None)
