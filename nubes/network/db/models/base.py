"""The network service's declarative base and the standard attributes every Neutron resource has."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from nubes.core.db.base import UTCDateTime, make_base, utcnow

Base = make_base("network")

UUID = String(36)


class StandardAttrs:
    """description, revision_number, created_at and updated_at (Neutron's standard attributes)."""

    description: Mapped[str] = mapped_column(String(255), default="")
    revision_number: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Tag(Base):
    """A tag on any taggable resource, keyed by the resource's collection name and id."""

    __tablename__ = "tags"
    resource_type: Mapped[str] = mapped_column(String(32), primary_key=True)
    resource_id: Mapped[str] = mapped_column(UUID, primary_key=True)
    tag: Mapped[str] = mapped_column(String(255), primary_key=True)
