"""Every table of the block storage service (Cinder's resources), made once so later work adds none.

Rows are deleted outright (Cinder soft-deletes; nothing here reads deleted rows back), except
that a volume row stays while its backend deletes it (status ``deleting``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from nubes.core.db.base import JSONText, UTCDateTime, make_base, utcnow

Base = make_base("volume")

UUID = String(36)


class _Times:
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None, onupdate=utcnow)


# volumes and what hangs off them
class Volume(_Times, Base):
    __tablename__ = "volumes"
    __table_args__ = (Index("ix_volumes_project_status", "project_id", "status"),
                      Index("ix_volumes_host", "host"))

    id: Mapped[str] = mapped_column(UUID, primary_key=True)
    project_id: Mapped[str] = mapped_column(String(255))
    user_id: Mapped[str] = mapped_column(String(255), default="")
    name: Mapped[str | None] = mapped_column(String(255), default=None)
    description: Mapped[str | None] = mapped_column(Text, default=None)
    size: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(36), default="creating")
    attach_status: Mapped[str] = mapped_column(String(36), default="detached")
    migration_status: Mapped[str | None] = mapped_column(String(36), default=None)
    replication_status: Mapped[str | None] = mapped_column(String(36), default=None)
    availability_zone: Mapped[str] = mapped_column(String(255), default="nova")
    # host@backend#pool once scheduled (Cinder's os-vol-host-attr:host)
    host: Mapped[str | None] = mapped_column(String(255), default=None)
    volume_type_id: Mapped[str] = mapped_column(UUID)
    bootable: Mapped[bool] = mapped_column(Boolean, default=False)
    multiattach: Mapped[bool] = mapped_column(Boolean, default=False)
    encrypted: Mapped[bool] = mapped_column(Boolean, default=False)
    snapshot_id: Mapped[str | None] = mapped_column(UUID, default=None)
    source_volid: Mapped[str | None] = mapped_column(UUID, default=None)
    backup_id: Mapped[str | None] = mapped_column(UUID, default=None)
    group_id: Mapped[str | None] = mapped_column(UUID, default=None)
    consistencygroup_id: Mapped[str | None] = mapped_column(UUID, default=None)
    provider_location: Mapped[str | None] = mapped_column(String(255), default=None)
    provider_id: Mapped[str | None] = mapped_column(String(255), default=None)
    use_quota: Mapped[bool] = mapped_column(Boolean, default=True)
    launched_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    terminated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    # what a manager asked for and has not confirmed (create, delete): the reconcile state
    task: Mapped[str | None] = mapped_column(String(36), default=None)


class VolumeMetadata(Base):
    __tablename__ = "volume_metadata"

    volume_id: Mapped[str] = mapped_column(UUID, ForeignKey("volumes.id", ondelete="CASCADE"), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    value: Mapped[str] = mapped_column(String(255))


class VolumeAdminMetadata(Base):
    __tablename__ = "volume_admin_metadata"

    volume_id: Mapped[str] = mapped_column(UUID, ForeignKey("volumes.id", ondelete="CASCADE"), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    value: Mapped[str] = mapped_column(String(255))


class VolumeGlanceMetadata(Base):
    """The image properties a volume made from an image carries (``volume_image_metadata``)."""

    __tablename__ = "volume_glance_metadata"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    volume_id: Mapped[str | None] = mapped_column(UUID, default=None, index=True)
    snapshot_id: Mapped[str | None] = mapped_column(UUID, default=None, index=True)
    key: Mapped[str] = mapped_column(String(255))
    value: Mapped[str] = mapped_column(Text)


class VolumeAttachment(_Times, Base):
    __tablename__ = "volume_attachment"

    id: Mapped[str] = mapped_column(UUID, primary_key=True)
    volume_id: Mapped[str] = mapped_column(UUID, ForeignKey("volumes.id", ondelete="CASCADE"), index=True)
    instance_uuid: Mapped[str | None] = mapped_column(UUID, default=None)
    attached_host: Mapped[str | None] = mapped_column(String(255), default=None)
    mountpoint: Mapped[str | None] = mapped_column(String(255), default=None)
    attach_mode: Mapped[str] = mapped_column(String(36), default="rw")
    attach_status: Mapped[str] = mapped_column(String(36), default="reserved")
    connector: Mapped[dict[str, Any] | None] = mapped_column(JSONText, default=None)
    connection_info: Mapped[dict[str, Any] | None] = mapped_column(JSONText, default=None)
    attach_time: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    detach_time: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)


# volume types, their extra specs and access, default types, QoS
class VolumeType(_Times, Base):
    __tablename__ = "volume_types"

    id: Mapped[str] = mapped_column(UUID, primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    description: Mapped[str | None] = mapped_column(String(255), default=None)
    is_public: Mapped[bool] = mapped_column(Boolean, default=True)
    qos_specs_id: Mapped[str | None] = mapped_column(UUID, default=None)


class VolumeTypeExtraSpec(Base):
    __tablename__ = "volume_type_extra_specs"

    volume_type_id: Mapped[str] = mapped_column(UUID, ForeignKey("volume_types.id", ondelete="CASCADE"),
                                                primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    value: Mapped[str] = mapped_column(String(255))


class VolumeTypeProject(Base):
    __tablename__ = "volume_type_projects"

    volume_type_id: Mapped[str] = mapped_column(UUID, ForeignKey("volume_types.id", ondelete="CASCADE"),
                                                primary_key=True)
    project_id: Mapped[str] = mapped_column(String(255), primary_key=True)


class DefaultVolumeType(_Times, Base):
    __tablename__ = "default_volume_types"

    project_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    volume_type_id: Mapped[str] = mapped_column(UUID, ForeignKey("volume_types.id", ondelete="CASCADE"))


class QualityOfServiceSpecs(_Times, Base):
    """A QoS spec (its key/value pairs in ``specs``); types point at it through ``qos_specs_id``."""

    __tablename__ = "quality_of_service_specs"

    id: Mapped[str] = mapped_column(UUID, primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    consumer: Mapped[str] = mapped_column(String(36), default="back-end")
    specs: Mapped[dict[str, Any]] = mapped_column(JSONText, default=dict)


# snapshots
class Snapshot(_Times, Base):
    __tablename__ = "snapshots"

    id: Mapped[str] = mapped_column(UUID, primary_key=True)
    volume_id: Mapped[str] = mapped_column(UUID, index=True)
    project_id: Mapped[str] = mapped_column(String(255), index=True)
    user_id: Mapped[str] = mapped_column(String(255), default="")
    name: Mapped[str | None] = mapped_column(String(255), default=None)
    description: Mapped[str | None] = mapped_column(Text, default=None)
    status: Mapped[str] = mapped_column(String(36), default="creating")
    progress: Mapped[str | None] = mapped_column(String(255), default=None)
    volume_size: Mapped[int] = mapped_column(Integer)
    volume_type_id: Mapped[str | None] = mapped_column(UUID, default=None)
    group_snapshot_id: Mapped[str | None] = mapped_column(UUID, default=None)
    provider_location: Mapped[str | None] = mapped_column(String(255), default=None)
    provider_id: Mapped[str | None] = mapped_column(String(255), default=None)
    use_quota: Mapped[bool] = mapped_column(Boolean, default=True)
    task: Mapped[str | None] = mapped_column(String(36), default=None)


class SnapshotMetadata(Base):
    __tablename__ = "snapshot_metadata"

    snapshot_id: Mapped[str] = mapped_column(UUID, ForeignKey("snapshots.id", ondelete="CASCADE"),
                                             primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    value: Mapped[str] = mapped_column(String(255))


# backups and transfers
class Backup(_Times, Base):
    __tablename__ = "backups"

    id: Mapped[str] = mapped_column(UUID, primary_key=True)
    project_id: Mapped[str] = mapped_column(String(255), index=True)
    user_id: Mapped[str] = mapped_column(String(255), default="")
    volume_id: Mapped[str] = mapped_column(UUID, index=True)
    snapshot_id: Mapped[str | None] = mapped_column(UUID, default=None)
    name: Mapped[str | None] = mapped_column(String(255), default=None)
    description: Mapped[str | None] = mapped_column(Text, default=None)
    status: Mapped[str] = mapped_column(String(36), default="creating")
    fail_reason: Mapped[str | None] = mapped_column(Text, default=None)
    size: Mapped[int] = mapped_column(Integer)
    object_count: Mapped[int] = mapped_column(Integer, default=0)
    container: Mapped[str | None] = mapped_column(String(255), default=None)
    availability_zone: Mapped[str | None] = mapped_column(String(255), default=None)
    host: Mapped[str | None] = mapped_column(String(255), default=None)
    service: Mapped[str | None] = mapped_column(String(255), default=None)       # the store (store.SERVICES)
    # What the store needs beyond the container (Cinder's column): the object-storage account
    service_metadata: Mapped[str | None] = mapped_column(String(255), default=None)
    is_incremental: Mapped[bool] = mapped_column(Boolean, default=False)
    parent_id: Mapped[str | None] = mapped_column(UUID, default=None)
    num_dependent_backups: Mapped[int] = mapped_column(Integer, default=0)
    data_timestamp: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    restore_volume_id: Mapped[str | None] = mapped_column(UUID, default=None)
    checksum: Mapped[str | None] = mapped_column(String(255), default=None)
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata", JSONText, default=dict)


class Transfer(_Times, Base):
    __tablename__ = "transfers"

    id: Mapped[str] = mapped_column(UUID, primary_key=True)
    volume_id: Mapped[str] = mapped_column(UUID, index=True)
    name: Mapped[str | None] = mapped_column(String(255), default=None)
    salt: Mapped[str] = mapped_column(String(255))
    crypt_hash: Mapped[str] = mapped_column(String(255))
    source_project_id: Mapped[str] = mapped_column(String(255))
    destination_project_id: Mapped[str | None] = mapped_column(String(255), default=None)
    accepted: Mapped[bool] = mapped_column(Boolean, default=False)
    no_snapshots: Mapped[bool] = mapped_column(Boolean, default=False)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)


# quotas
class Quota(_Times, Base):
    """A project's own limit of one resource (``volumes``, ``gigabytes_<type>`` ...)."""

    __tablename__ = "quotas"

    project_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    resource: Mapped[str] = mapped_column(String(300), primary_key=True)
    hard_limit: Mapped[int] = mapped_column(Integer)


class QuotaClass(_Times, Base):
    __tablename__ = "quota_classes"

    class_name: Mapped[str] = mapped_column(String(255), primary_key=True)
    resource: Mapped[str] = mapped_column(String(300), primary_key=True)
    hard_limit: Mapped[int] = mapped_column(Integer)


class QuotaUsage(_Times, Base):
    """What a project holds (``in_use``) and has reserved for operations under way."""

    __tablename__ = "quota_usages"

    project_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    resource: Mapped[str] = mapped_column(String(300), primary_key=True)
    in_use: Mapped[int] = mapped_column(Integer, default=0)
    reserved: Mapped[int] = mapped_column(Integer, default=0)


class Reservation(_Times, Base):
    __tablename__ = "reservations"
    __table_args__ = (Index("ix_reservations_project_resource", "project_id", "resource"),)

    id: Mapped[str] = mapped_column(UUID, primary_key=True)
    project_id: Mapped[str] = mapped_column(String(255))
    resource: Mapped[str] = mapped_column(String(300))
    delta: Mapped[int] = mapped_column(Integer)
    expire: Mapped[datetime] = mapped_column(UTCDateTime)


# user messages and services
class Message(Base):
    __tablename__ = "messages"
    __table_args__ = (Index("ix_messages_project", "project_id"),)

    id: Mapped[str] = mapped_column(UUID, primary_key=True)
    project_id: Mapped[str] = mapped_column(String(255))
    request_id: Mapped[str | None] = mapped_column(String(255), default=None)
    resource_type: Mapped[str | None] = mapped_column(String(255), default=None)
    resource_uuid: Mapped[str | None] = mapped_column(String(255), default=None)
    event_id: Mapped[str] = mapped_column(String(255))
    message_level: Mapped[str] = mapped_column(String(255), default="ERROR")
    action_id: Mapped[str | None] = mapped_column(String(10), default=None)
    detail_id: Mapped[str | None] = mapped_column(String(10), default=None)
    user_message: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)


class Service(_Times, Base):
    """A volume manager (``cinder-volume``, host ``<host>@<backend>``) or the scheduler, with the
    capacity its backend last reported (``capabilities``: the pool's stats)."""

    __tablename__ = "services"
    __table_args__ = (UniqueConstraint("host", "binary"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    uuid: Mapped[str] = mapped_column(UUID, unique=True)
    host: Mapped[str] = mapped_column(String(255))
    binary: Mapped[str] = mapped_column(String(255))
    topic: Mapped[str] = mapped_column(String(255))
    availability_zone: Mapped[str] = mapped_column(String(255), default="nova")
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    disabled_reason: Mapped[str | None] = mapped_column(String(255), default=None)
    frozen: Mapped[bool] = mapped_column(Boolean, default=False)
    forced_down: Mapped[bool] = mapped_column(Boolean, default=False)
    report_count: Mapped[int] = mapped_column(Integer, default=0)
    replication_status: Mapped[str] = mapped_column(String(36), default="disabled")
    active_backend_id: Mapped[str | None] = mapped_column(String(255), default=None)
    cluster_name: Mapped[str | None] = mapped_column(String(255), default=None)
    capabilities: Mapped[dict[str, Any] | None] = mapped_column(JSONText, default=None)
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
