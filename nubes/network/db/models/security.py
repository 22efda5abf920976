"""Security groups, their rules, the one default group per project, and the RBAC entries that share them."""

from __future__ import annotations

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from nubes.network.db.models.base import UUID, Base, StandardAttrs


class SecurityGroup(StandardAttrs, Base):
    __tablename__ = "security_groups"
    id: Mapped[str] = mapped_column(UUID, primary_key=True)
    project_id: Mapped[str] = mapped_column(String(255), index=True)
    name: Mapped[str] = mapped_column(String(255), default="")
    stateful: Mapped[bool] = mapped_column(Boolean, default=True)

    rules: Mapped[list[SecurityGroupRule]] = relationship(
        lazy="raise", cascade="all, delete-orphan", foreign_keys="SecurityGroupRule.security_group_id",
        order_by="SecurityGroupRule.created_at", passive_deletes=True)
    rbac_entries: Mapped[list[SecurityGroupRbac]] = relationship(
        back_populates="security_group", lazy="raise", cascade="all, delete-orphan", passive_deletes=True)


class SecurityGroupRule(StandardAttrs, Base):
    __tablename__ = "security_group_rules"
    id: Mapped[str] = mapped_column(UUID, primary_key=True)
    # Always the group's project (also when an admin adds the rule), so rules count against
    # the quota of the project that owns the group.
    project_id: Mapped[str] = mapped_column(String(255), index=True)
    security_group_id: Mapped[str] = mapped_column(ForeignKey("security_groups.id", ondelete="CASCADE"),
                                                   index=True)
    remote_group_id: Mapped[str | None] = mapped_column(
        ForeignKey("security_groups.id", ondelete="CASCADE"), nullable=True, index=True)
    direction: Mapped[str] = mapped_column(String(16))
    ethertype: Mapped[str] = mapped_column(String(8))
    protocol: Mapped[str | None] = mapped_column(String(40), nullable=True)
    port_range_min: Mapped[int | None] = mapped_column(Integer, nullable=True)
    port_range_max: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # As the client gave it, with a prefix length added ("10.0.0.5/24", "10.0.0.5/32"); the
    # network address it matches is shown as normalized_cidr.
    remote_ip_prefix: Mapped[str | None] = mapped_column(String(64), nullable=True)


class DefaultSecurityGroup(Base):
    """Which group is a project's ``default``; the primary key makes its creation race-free."""

    __tablename__ = "default_security_groups"
    project_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    security_group_id: Mapped[str] = mapped_column(ForeignKey("security_groups.id", ondelete="CASCADE"),
                                                   unique=True)


class SecurityGroupRbac(Base):
    """access_as_shared of a security group for one project or "*" (Neutron's rbac-security-groups)."""

    __tablename__ = "security_group_rbacs"
    __table_args__ = (UniqueConstraint("object_id", "action", "target_project",
                                       name="uq_security_group_rbacs_target"),
                      Index("ix_security_group_rbacs_target_project", "target_project"))
    id: Mapped[str] = mapped_column(UUID, primary_key=True)
    project_id: Mapped[str] = mapped_column(String(255), index=True)
    object_id: Mapped[str] = mapped_column(ForeignKey("security_groups.id", ondelete="CASCADE"), index=True)
    action: Mapped[str] = mapped_column(String(32))
    target_project: Mapped[str] = mapped_column(String(255))

    security_group: Mapped[SecurityGroup] = relationship(back_populates="rbac_entries", lazy="raise")
