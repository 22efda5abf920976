"""Ports with their IP allocations, allowed address pairs, extra DHCP options and security groups."""

from __future__ import annotations

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from nubes.core.db.base import JSONText
from nubes.network.db.models.base import UUID, Base, StandardAttrs


class Port(StandardAttrs, Base):
    __tablename__ = "ports"
    __table_args__ = (UniqueConstraint("network_id", "mac_address", name="uq_ports_network_mac"),
                      Index("ix_ports_device_id", "device_id"),
                      Index("ix_ports_binding_host_id", "binding_host_id"))
    id: Mapped[str] = mapped_column(UUID, primary_key=True)
    project_id: Mapped[str] = mapped_column(String(255), index=True)
    network_id: Mapped[str] = mapped_column(ForeignKey("networks.id"), index=True)
    name: Mapped[str] = mapped_column(String(255), default="")
    mac_address: Mapped[str] = mapped_column(String(32))
    admin_state_up: Mapped[bool] = mapped_column(Boolean, default=True)
    status: Mapped[str] = mapped_column(String(16), default="DOWN")
    device_id: Mapped[str] = mapped_column(String(255), default="")
    device_owner: Mapped[str] = mapped_column(String(255), default="")
    port_security_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    binding_host_id: Mapped[str] = mapped_column(String(255), default="")
    binding_vnic_type: Mapped[str] = mapped_column(String(64), default="normal")
    binding_profile: Mapped[dict] = mapped_column(JSONText, default=dict)
    binding_vif_type: Mapped[str] = mapped_column(String(64), default="unbound")
    binding_vif_details: Mapped[dict] = mapped_column(JSONText, default=dict)
    dns_name: Mapped[str] = mapped_column(String(255), default="")

    fixed_ips: Mapped[list[IPAllocation]] = relationship(
        lazy="raise", cascade="all, delete-orphan", order_by="IPAllocation.position")
    allowed_address_pairs: Mapped[list[AllowedAddressPair]] = relationship(
        lazy="raise", cascade="all, delete-orphan", order_by="AllowedAddressPair.position")
    extra_dhcp_opts: Mapped[list[ExtraDhcpOpt]] = relationship(
        lazy="raise", cascade="all, delete-orphan", order_by="ExtraDhcpOpt.opt_name")
    security_groups: Mapped[list[PortSecurityGroup]] = relationship(
        lazy="raise", cascade="all, delete-orphan")


class IPAllocation(Base):
    """One fixed IP of a port; unique per subnet, so two ports can never hold the same address."""

    __tablename__ = "ip_allocations"
    __table_args__ = (Index("ix_ip_allocations_ip_address", "ip_address"),)
    subnet_id: Mapped[str] = mapped_column(ForeignKey("subnets.id"), primary_key=True)
    ip_address: Mapped[str] = mapped_column(String(64), primary_key=True)
    port_id: Mapped[str] = mapped_column(ForeignKey("ports.id", ondelete="CASCADE"), index=True)
    network_id: Mapped[str] = mapped_column(UUID, index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)


class AllowedAddressPair(Base):
    __tablename__ = "port_allowed_address_pairs"
    port_id: Mapped[str] = mapped_column(ForeignKey("ports.id", ondelete="CASCADE"), primary_key=True)
    mac_address: Mapped[str] = mapped_column(String(32), primary_key=True)
    ip_address: Mapped[str] = mapped_column(String(64), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, default=0)


class ExtraDhcpOpt(Base):
    __tablename__ = "port_extra_dhcp_opts"
    port_id: Mapped[str] = mapped_column(ForeignKey("ports.id", ondelete="CASCADE"), primary_key=True)
    opt_name: Mapped[str] = mapped_column(String(64), primary_key=True)
    ip_version: Mapped[int] = mapped_column(Integer, primary_key=True, default=4)
    opt_value: Mapped[str] = mapped_column(String(255))


class PortSecurityGroup(Base):
    __tablename__ = "port_security_groups"
    port_id: Mapped[str] = mapped_column(ForeignKey("ports.id", ondelete="CASCADE"), primary_key=True)
    security_group_id: Mapped[str] = mapped_column(ForeignKey("security_groups.id"), primary_key=True,
                                                   index=True)
