"""Placement's tables: providers and their trees, inventories, traits, aggregates, consumers, allocations.

``placement_state`` and ``provider_changes`` are the change log: every write transaction
bumps ``placement_state.seq`` (a row lock, so commits are numbered in commit order) and
records which providers it touched, so each process's in-memory index can catch up with
one cheap query instead of re-reading everything.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Float, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from nubes.core.db.base import UTCDateTime, make_base, utcnow

Base = make_base("placement")


class ResourceProvider(Base):
    __tablename__ = "resource_providers"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    generation: Mapped[int] = mapped_column(Integer, default=0)
    parent_provider_id: Mapped[int | None] = mapped_column(
        ForeignKey("resource_providers.id"), nullable=True, index=True)
    root_provider_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ResourceClass(Base):
    __tablename__ = "resource_classes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Trait(Base):
    __tablename__ = "traits"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Inventory(Base):
    __tablename__ = "inventories"
    __table_args__ = (UniqueConstraint("resource_provider_id", "resource_class_id"),
                      Index("ix_inventories_rc_rp", "resource_class_id", "resource_provider_id"))
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    resource_provider_id: Mapped[int] = mapped_column(ForeignKey("resource_providers.id"))
    resource_class_id: Mapped[int] = mapped_column(ForeignKey("resource_classes.id"))
    total: Mapped[int] = mapped_column(BigInteger)
    reserved: Mapped[int] = mapped_column(BigInteger, default=0)
    min_unit: Mapped[int] = mapped_column(BigInteger, default=1)
    max_unit: Mapped[int] = mapped_column(BigInteger)
    step_size: Mapped[int] = mapped_column(BigInteger, default=1)
    allocation_ratio: Mapped[float] = mapped_column(Float, default=1.0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Aggregate(Base):
    __tablename__ = "placement_aggregates"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True)


class ProviderAggregate(Base):
    __tablename__ = "resource_provider_aggregates"
    resource_provider_id: Mapped[int] = mapped_column(ForeignKey("resource_providers.id"), primary_key=True)
    aggregate_id: Mapped[int] = mapped_column(ForeignKey("placement_aggregates.id"), primary_key=True,
                                              index=True)


class ProviderTrait(Base):
    __tablename__ = "resource_provider_traits"
    resource_provider_id: Mapped[int] = mapped_column(ForeignKey("resource_providers.id"), primary_key=True)
    trait_id: Mapped[int] = mapped_column(ForeignKey("traits.id"), primary_key=True, index=True)


class ConsumerType(Base):
    __tablename__ = "consumer_types"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)


class Consumer(Base):
    __tablename__ = "consumers"
    __table_args__ = (Index("ix_consumers_project_user", "project_id", "user_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True)
    project_id: Mapped[str] = mapped_column(String(255))
    user_id: Mapped[str] = mapped_column(String(255))
    generation: Mapped[int] = mapped_column(Integer, default=0)
    consumer_type_id: Mapped[int | None] = mapped_column(ForeignKey("consumer_types.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Allocation(Base):
    __tablename__ = "allocations"
    __table_args__ = (Index("ix_allocations_rp_rc_used", "resource_provider_id", "resource_class_id",
                            "used"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    resource_provider_id: Mapped[int] = mapped_column(ForeignKey("resource_providers.id"))
    consumer_id: Mapped[str] = mapped_column(String(36), index=True)
    resource_class_id: Mapped[int] = mapped_column(ForeignKey("resource_classes.id"))
    used: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PlacementState(Base):
    __tablename__ = "placement_state"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(BigInteger, default=0)
    pruned_below: Mapped[int] = mapped_column(BigInteger, default=0)


class ProviderChange(Base):
    """One row per provider touched by the write numbered ``seq``; provider 0 means names changed."""

    __tablename__ = "provider_changes"
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    resource_provider_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
