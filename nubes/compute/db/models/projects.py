"""Per-project state: server groups and their members, quota limits and quota classes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from nubes.core.db.base import JSONText, UTCDateTime, utcnow
from nubes.compute.db.models.base import UUID, Base


class ServerGroup(Base):
    __tablename__ = "server_groups"
    id: Mapped[str] = mapped_column(UUID, primary_key=True)
    project_id: Mapped[str] = mapped_column(String(255), index=True)
    user_id: Mapped[str] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(255))
    policy: Mapped[str] = mapped_column(String(64))    # affinity, anti-affinity, soft-...
    rules: Mapped[dict] = mapped_column(JSONText, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    members: Mapped[list[ServerGroupMember]] = relationship(lazy="raise", cascade="all, delete-orphan")


class ServerGroupMember(Base):
    __tablename__ = "server_group_members"
    group_id: Mapped[str] = mapped_column(ForeignKey("server_groups.id", ondelete="CASCADE"), primary_key=True)
    instance_id: Mapped[str] = mapped_column(UUID, primary_key=True, unique=True)


class QuotaLimit(Base):
    """A project's (or, with user_id, a user's) limit; user_id "" is the project-wide one."""

    __tablename__ = "quotas"
    project_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(255), primary_key=True, default="")
    resource: Mapped[str] = mapped_column(String(255), primary_key=True)
    hard_limit: Mapped[int] = mapped_column(Integer)


class QuotaClass(Base):
    __tablename__ = "quota_classes"
    class_name: Mapped[str] = mapped_column(String(255), primary_key=True)
    resource: Mapped[str] = mapped_column(String(255), primary_key=True)
    hard_limit: Mapped[int] = mapped_column(Integer)


class QuotaLock(Base):
    """Locked (FOR UPDATE) by a create before it counts, so concurrent creates cannot both
    take the last unit of a project's quota on MariaDB and PostgreSQL."""

    __tablename__ = "quota_locks"
    project_id: Mapped[str] = mapped_column(String(255), primary_key=True)
