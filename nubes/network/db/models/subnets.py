"""Subnets with their allocation pools, DNS servers and host routes; subnet pools and prefixes."""

from __future__ import annotations

from sqlalchemy import Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from nubes.network.db.models.base import UUID, Base, StandardAttrs


class Subnet(StandardAttrs, Base):
    __tablename__ = "subnets"
    id: Mapped[str] = mapped_column(UUID, primary_key=True)
    project_id: Mapped[str] = mapped_column(String(255), index=True)
    network_id: Mapped[str] = mapped_column(ForeignKey("networks.id"), index=True)
    name: Mapped[str] = mapped_column(String(255), default="")
    ip_version: Mapped[int] = mapped_column(Integer)
    cidr: Mapped[str] = mapped_column(String(64))
    gateway_ip: Mapped[str | None] = mapped_column(String(64), nullable=True)
    enable_dhcp: Mapped[bool] = mapped_column(Boolean, default=True)
    ipv6_ra_mode: Mapped[str | None] = mapped_column(String(16), nullable=True)
    ipv6_address_mode: Mapped[str | None] = mapped_column(String(16), nullable=True)
    subnetpool_id: Mapped[str | None] = mapped_column(ForeignKey("subnetpools.id"), nullable=True,
                                                      index=True)
    segment_id: Mapped[str | None] = mapped_column(UUID, nullable=True)
    dns_publish_fixed_ip: Mapped[bool] = mapped_column(Boolean, default=False)

    allocation_pools: Mapped[list[AllocationPool]] = relationship(
        lazy="raise", cascade="all, delete-orphan", order_by="AllocationPool.position")
    dns_nameservers: Mapped[list[DnsNameserver]] = relationship(
        lazy="raise", cascade="all, delete-orphan", order_by="DnsNameserver.position")
    host_routes: Mapped[list[SubnetRoute]] = relationship(
        lazy="raise", cascade="all, delete-orphan", order_by="SubnetRoute.position")


class AllocationPool(Base):
    __tablename__ = "subnet_allocation_pools"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    subnet_id: Mapped[str] = mapped_column(ForeignKey("subnets.id", ondelete="CASCADE"), index=True)
    first_ip: Mapped[str] = mapped_column(String(64))
    last_ip: Mapped[str] = mapped_column(String(64))
    position: Mapped[int] = mapped_column(Integer, default=0)


class DnsNameserver(Base):
    __tablename__ = "subnet_dns_nameservers"
    subnet_id: Mapped[str] = mapped_column(ForeignKey("subnets.id", ondelete="CASCADE"), primary_key=True)
    address: Mapped[str] = mapped_column(String(128), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, default=0)


class SubnetRoute(Base):
    __tablename__ = "subnet_routes"
    subnet_id: Mapped[str] = mapped_column(ForeignKey("subnets.id", ondelete="CASCADE"), primary_key=True)
    destination: Mapped[str] = mapped_column(String(64), primary_key=True)
    nexthop: Mapped[str] = mapped_column(String(64), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, default=0)


class SubnetPool(StandardAttrs, Base):
    __tablename__ = "subnetpools"
    id: Mapped[str] = mapped_column(UUID, primary_key=True)
    project_id: Mapped[str] = mapped_column(String(255), index=True)
    name: Mapped[str] = mapped_column(String(255), default="")
    ip_version: Mapped[int] = mapped_column(Integer)
    default_prefixlen: Mapped[int] = mapped_column(Integer)
    min_prefixlen: Mapped[int] = mapped_column(Integer)
    max_prefixlen: Mapped[int] = mapped_column(Integer)
    shared: Mapped[bool] = mapped_column(Boolean, default=False)
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    default_quota: Mapped[int | None] = mapped_column(Integer, nullable=True)
    address_scope_id: Mapped[str | None] = mapped_column(UUID, nullable=True)

    prefixes: Mapped[list[SubnetPoolPrefix]] = relationship(lazy="raise", cascade="all, delete-orphan",
                                                            order_by="SubnetPoolPrefix.cidr")


class SubnetPoolPrefix(Base):
    __tablename__ = "subnetpool_prefixes"
    subnetpool_id: Mapped[str] = mapped_column(ForeignKey("subnetpools.id", ondelete="CASCADE"),
                                               primary_key=True)
    cidr: Mapped[str] = mapped_column(String(64), primary_key=True)
