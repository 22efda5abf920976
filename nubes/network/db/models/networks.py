"""Networks, their segments (provider attributes) and the RBAC entries that share them."""

from __future__ import annotations

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from nubes.core.db.base import JSONText
from nubes.network.db.models.base import UUID, Base, StandardAttrs


class Network(StandardAttrs, Base):
    __tablename__ = "networks"
    id: Mapped[str] = mapped_column(UUID, primary_key=True)
    project_id: Mapped[str] = mapped_column(String(255), index=True)
    name: Mapped[str] = mapped_column(String(255), default="")
    status: Mapped[str] = mapped_column(String(16), default="ACTIVE")
    admin_state_up: Mapped[bool] = mapped_column(Boolean, default=True)
    mtu: Mapped[int] = mapped_column(Integer, default=1500)
    port_security_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    availability_zone_hints: Mapped[list] = mapped_column(JSONText, default=list)
    dns_domain: Mapped[str] = mapped_column(String(255), default="")
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)

    segments: Mapped[list[NetworkSegment]] = relationship(
        back_populates="network", lazy="raise", cascade="all, delete-orphan",
        order_by="NetworkSegment.segment_index")
    rbac_entries: Mapped[list[NetworkRbac]] = relationship(
        back_populates="network", lazy="raise", cascade="all, delete-orphan")


class NetworkSegment(Base):
    """One segment of a network; a network made with provider attributes has exactly one.

    ``physical_network`` is "" (not NULL) for tunnelled types so that the unique
    constraint stops two networks from taking the same segment on every backend.
    """

    __tablename__ = "network_segments"
    __table_args__ = (UniqueConstraint("network_type", "physical_network", "segmentation_id",
                                       name="uq_network_segments_allocation"),)
    id: Mapped[str] = mapped_column(UUID, primary_key=True)
    network_id: Mapped[str] = mapped_column(ForeignKey("networks.id", ondelete="CASCADE"), index=True)
    network_type: Mapped[str] = mapped_column(String(32))
    physical_network: Mapped[str] = mapped_column(String(64), default="")
    # 0 for flat segments (one flat network per physical network), NULL for local ones
    # (any number of them); the API shows None for both.
    segmentation_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    segment_index: Mapped[int] = mapped_column(Integer, default=0)

    network: Mapped[Network] = relationship(back_populates="segments", lazy="raise")


class NetworkRbac(Base):
    """access_as_shared / access_as_external of a network for one project or "*"."""

    __tablename__ = "network_rbacs"
    __table_args__ = (UniqueConstraint("object_id", "action", "target_project",
                                       name="uq_network_rbacs_target"),
                      Index("ix_network_rbacs_target_project", "target_project"))
    id: Mapped[str] = mapped_column(UUID, primary_key=True)
    project_id: Mapped[str] = mapped_column(String(255), index=True)
    object_id: Mapped[str] = mapped_column(ForeignKey("networks.id", ondelete="CASCADE"), index=True)
    action: Mapped[str] = mapped_column(String(32))
    target_project: Mapped[str] = mapped_column(String(255))

    network: Mapped[Network] = relationship(back_populates="rbac_entries", lazy="raise")
