"""Agents (one row per agent type and host) and per-project quota limits."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from nubes.core.db.base import JSONText, UTCDateTime, utcnow
from nubes.network.db.models.base import UUID, Base


class Agent(Base):
    __tablename__ = "agents"
    __table_args__ = (UniqueConstraint("agent_type", "host", name="uq_agents_type_host"),)
    id: Mapped[str] = mapped_column(UUID, primary_key=True)
    agent_type: Mapped[str] = mapped_column(String(255))
    binary: Mapped[str] = mapped_column(String(255))
    topic: Mapped[str] = mapped_column(String(255))
    host: Mapped[str] = mapped_column(String(255), index=True)
    availability_zone: Mapped[str | None] = mapped_column(String(255), nullable=True)
    admin_state_up: Mapped[bool] = mapped_column(Boolean, default=True)
    description: Mapped[str | None] = mapped_column(String(255), nullable=True, default=None)
    configurations: Mapped[dict] = mapped_column(JSONText, default=dict)
    resource_versions: Mapped[dict] = mapped_column(JSONText, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    heartbeat_timestamp: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Quota(Base):
    __tablename__ = "quotas"
    project_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    resource: Mapped[str] = mapped_column(String(255), primary_key=True)
    limit: Mapped[int] = mapped_column(Integer)


class QuotaLock(Base):
    """A row per (project, resource) that creates lock (FOR UPDATE) before counting, so that
    concurrent creates on MariaDB and PostgreSQL cannot both pass the same last free unit."""

    __tablename__ = "quota_locks"
    project_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    resource: Mapped[str] = mapped_column(String(255), primary_key=True)
