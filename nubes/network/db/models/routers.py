"""Routers, the ports they own, their static routes, and floating IPs."""

from __future__ import annotations

from sqlalchemy import Boolean, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from nubes.core.db.base import JSONText
from nubes.network.db.models.base import UUID, Base, StandardAttrs


class Router(StandardAttrs, Base):
    __tablename__ = "routers"
    id: Mapped[str] = mapped_column(UUID, primary_key=True)
    project_id: Mapped[str] = mapped_column(String(255), index=True)
    name: Mapped[str] = mapped_column(String(255), default="")
    status: Mapped[str] = mapped_column(String(16), default="ACTIVE")
    admin_state_up: Mapped[bool] = mapped_column(Boolean, default=True)
    gw_port_id: Mapped[str | None] = mapped_column(ForeignKey("ports.id"), nullable=True)
    enable_snat: Mapped[bool] = mapped_column(Boolean, default=True)
    availability_zone_hints: Mapped[list] = mapped_column(JSONText, default=list)
    # The host whose L3 agent runs this router (its namespace, gateway, NAT); chosen when an
    # L3 agent first asks for its state, moved when that agent is dead.
    agent_host: Mapped[str | None] = mapped_column(String(255), nullable=True, index=True)

    routes: Mapped[list[RouterRoute]] = relationship(lazy="raise", cascade="all, delete-orphan",
                                                     order_by="RouterRoute.position")
    ports: Mapped[list[RouterPort]] = relationship(lazy="raise", cascade="all, delete-orphan")


class RouterPort(Base):
    __tablename__ = "router_ports"
    router_id: Mapped[str] = mapped_column(ForeignKey("routers.id", ondelete="CASCADE"), primary_key=True)
    port_id: Mapped[str] = mapped_column(ForeignKey("ports.id", ondelete="CASCADE"), primary_key=True,
                                         unique=True)
    port_type: Mapped[str] = mapped_column(String(255))


class RouterRoute(Base):
    __tablename__ = "router_routes"
    router_id: Mapped[str] = mapped_column(ForeignKey("routers.id", ondelete="CASCADE"), primary_key=True)
    destination: Mapped[str] = mapped_column(String(64), primary_key=True)
    nexthop: Mapped[str] = mapped_column(String(64), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, default=0)


class FloatingIP(StandardAttrs, Base):
    __tablename__ = "floatingips"
    __table_args__ = (UniqueConstraint("floating_network_id", "fixed_port_id", "fixed_ip_address",
                                       name="uq_floatingips_fixed"),)
    id: Mapped[str] = mapped_column(UUID, primary_key=True)
    project_id: Mapped[str] = mapped_column(String(255), index=True)
    floating_ip_address: Mapped[str] = mapped_column(String(64))
    floating_network_id: Mapped[str] = mapped_column(ForeignKey("networks.id"), index=True)
    floating_port_id: Mapped[str] = mapped_column(ForeignKey("ports.id"), unique=True)
    fixed_port_id: Mapped[str | None] = mapped_column(ForeignKey("ports.id"), nullable=True, index=True)
    fixed_ip_address: Mapped[str | None] = mapped_column(String(64), nullable=True)
    router_id: Mapped[str | None] = mapped_column(ForeignKey("routers.id"), nullable=True, index=True)
    status: Mapped[str] = mapped_column(String(16), default="DOWN")
    dns_name: Mapped[str] = mapped_column(String(255), default="")
    dns_domain: Mapped[str] = mapped_column(String(255), default="")
