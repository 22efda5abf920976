"""Instances and what hangs off them: metadata, tags, faults, actions and their events,
block device mappings, and the cached network info."""

from __future__ import annotations

from datetime import datetime
from uuid import uuid4

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from nubes.core.db.base import JSONText, UTCDateTime, utcnow
from nubes.compute.db.models.base import UUID, Base


class Instance(Base):
    __tablename__ = "instances"
    __table_args__ = (Index("ix_instances_project_deleted", "project_id", "deleted"),
                      Index("ix_instances_host_deleted", "host", "deleted"),
                      Index("ix_instances_updated_at", "updated_at"))
    id: Mapped[str] = mapped_column(UUID, primary_key=True)        # the server's uuid
    project_id: Mapped[str] = mapped_column(String(255))
    user_id: Mapped[str] = mapped_column(String(255))
    display_name: Mapped[str] = mapped_column(String(255), default="")
    display_description: Mapped[str | None] = mapped_column(Text, nullable=True)
    hostname: Mapped[str] = mapped_column(String(255), default="")
    host: Mapped[str | None] = mapped_column(String(255), nullable=True)
    node: Mapped[str | None] = mapped_column(String(255), nullable=True)
    availability_zone: Mapped[str | None] = mapped_column(String(255), nullable=True)
    # The flavor as it was at boot (and during a resize the old and the new one): a snapshot,
    # as Nova keeps it, so deleting or changing a flavor never changes a server.
    flavor: Mapped[dict] = mapped_column(JSONText)
    old_flavor: Mapped[dict | None] = mapped_column(JSONText, nullable=True)
    new_flavor: Mapped[dict | None] = mapped_column(JSONText, nullable=True)
    # The current flavor's sizes as columns, so quota usage is a SUM, not a JSON scan.
    flavorid: Mapped[str] = mapped_column(String(255), default="")
    vcpus: Mapped[int] = mapped_column(Integer, default=0)
    memory_mb: Mapped[int] = mapped_column(Integer, default=0)
    root_gb: Mapped[int] = mapped_column(Integer, default=0)
    ephemeral_gb: Mapped[int] = mapped_column(Integer, default=0)
    image_ref: Mapped[str] = mapped_column(String(255), default="")
    key_name: Mapped[str | None] = mapped_column(String(255), nullable=True)
    key_data: Mapped[str | None] = mapped_column(Text, nullable=True)
    user_data: Mapped[str | None] = mapped_column(Text, nullable=True)
    config_drive: Mapped[str] = mapped_column(String(255), default="")
    vm_state: Mapped[str] = mapped_column(String(255), default="building")
    task_state: Mapped[str | None] = mapped_column(String(255), nullable=True)
    power_state: Mapped[int] = mapped_column(Integer, default=0)
    progress: Mapped[int] = mapped_column(Integer, default=0)
    launch_index: Mapped[int] = mapped_column(Integer, default=0)
    reservation_id: Mapped[str] = mapped_column(String(255), default="")
    locked: Mapped[bool] = mapped_column(Boolean, default=False)
    locked_by: Mapped[str | None] = mapped_column(String(16), nullable=True)   # "owner" or "admin"
    locked_reason: Mapped[str | None] = mapped_column(String(255), nullable=True)
    access_ip_v4: Mapped[str | None] = mapped_column(String(64), nullable=True)
    access_ip_v6: Mapped[str | None] = mapped_column(String(64), nullable=True)
    auto_disk_config: Mapped[bool] = mapped_column(Boolean, default=False)
    root_device_name: Mapped[str | None] = mapped_column(String(255), nullable=True)
    security_groups: Mapped[list] = mapped_column(JSONText, default=list)      # names
    # What the API was asked for: networks, server group, scheduler hints, image properties...
    request: Mapped[dict] = mapped_column(JSONText, default=dict)
    system_metadata: Mapped[dict] = mapped_column(JSONText, default=dict)
    network_info: Mapped[list] = mapped_column(JSONText, default=list)         # the ports' addresses
    launched_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    terminated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)

    metadata_items: Mapped[list[InstanceMetadata]] = relationship(
        lazy="raise", cascade="all, delete-orphan", order_by="InstanceMetadata.key")
    tags: Mapped[list[InstanceTag]] = relationship(lazy="raise", cascade="all, delete-orphan",
                                                   order_by="InstanceTag.tag")
    # read-only: the volume attach code writes block_device_mappings rows itself
    block_devices: Mapped[list[BlockDeviceMapping]] = relationship(
        lazy="raise", viewonly=True, order_by="BlockDeviceMapping.id")


class InstanceMetadata(Base):
    __tablename__ = "instance_metadata"
    instance_id: Mapped[str] = mapped_column(ForeignKey("instances.id", ondelete="CASCADE"), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    value: Mapped[str] = mapped_column(String(255))


class InstanceTag(Base):
    __tablename__ = "instance_tags"
    instance_id: Mapped[str] = mapped_column(ForeignKey("instances.id", ondelete="CASCADE"), primary_key=True)
    tag: Mapped[str] = mapped_column(String(80), primary_key=True)


class InstanceFault(Base):
    __tablename__ = "instance_faults"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    instance_id: Mapped[str] = mapped_column(ForeignKey("instances.id", ondelete="CASCADE"), index=True)
    code: Mapped[int] = mapped_column(Integer)
    message: Mapped[str] = mapped_column(String(255))
    details: Mapped[str | None] = mapped_column(Text, nullable=True)
    host: Mapped[str | None] = mapped_column(String(255), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class InstanceAction(Base):
    __tablename__ = "instance_actions"
    __table_args__ = (Index("ix_instance_actions_instance_request", "instance_id", "request_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    instance_id: Mapped[str] = mapped_column(ForeignKey("instances.id", ondelete="CASCADE"))
    action: Mapped[str] = mapped_column(String(255))
    request_id: Mapped[str] = mapped_column(String(255))
    user_id: Mapped[str | None] = mapped_column(String(255), nullable=True)
    project_id: Mapped[str | None] = mapped_column(String(255), nullable=True)
    message: Mapped[str | None] = mapped_column(String(255), nullable=True)
    start_time: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finish_time: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    events: Mapped[list[InstanceActionEvent]] = relationship(
        lazy="raise", cascade="all, delete-orphan", order_by="InstanceActionEvent.id")


class InstanceActionEvent(Base):
    __tablename__ = "instance_action_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    action_id: Mapped[int] = mapped_column(ForeignKey("instance_actions.id", ondelete="CASCADE"), index=True)
    event: Mapped[str] = mapped_column(String(255))
    result: Mapped[str | None] = mapped_column(String(255), nullable=True)
    traceback: Mapped[str | None] = mapped_column(Text, nullable=True)
    host: Mapped[str | None] = mapped_column(String(255), nullable=True)
    details: Mapped[str | None] = mapped_column(Text, nullable=True)
    start_time: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finish_time: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class BlockDeviceMapping(Base):
    __tablename__ = "block_device_mappings"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    instance_id: Mapped[str] = mapped_column(ForeignKey("instances.id", ondelete="CASCADE"), index=True)
    boot_index: Mapped[int | None] = mapped_column(Integer, nullable=True)
    source_type: Mapped[str] = mapped_column(String(32))          # image, volume, snapshot, blank
    destination_type: Mapped[str] = mapped_column(String(32))     # local, volume
    device_name: Mapped[str | None] = mapped_column(String(255), nullable=True)
    device_type: Mapped[str | None] = mapped_column(String(32), nullable=True)
    disk_bus: Mapped[str | None] = mapped_column(String(32), nullable=True)
    guest_format: Mapped[str | None] = mapped_column(String(32), nullable=True)
    image_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    volume_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    snapshot_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    volume_size: Mapped[int | None] = mapped_column(Integer, nullable=True)
    delete_on_termination: Mapped[bool] = mapped_column(Boolean, default=False)
    tag: Mapped[str | None] = mapped_column(String(255), nullable=True)
    attachment_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    connection_info: Mapped[dict | None] = mapped_column(JSONText, nullable=True)
    uuid: Mapped[str | None] = mapped_column(String(36), nullable=True, default=lambda: str(uuid4()))
