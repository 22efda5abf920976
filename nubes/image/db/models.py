"""Image tables: images (soft-deleted, as Glance keeps them), properties, tags, members, locations;
the tasks that import data; metadata definitions (namespaces and what they hold)."""

from __future__ import annotations

from datetime import datetime

from typing import Any

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from nubes.core.db.base import JSONText, UTCDateTime, make_base, utcnow

Base = make_base("image")


class Image(Base):
    __tablename__ = "images"
    __table_args__ = (
        Index("ix_images_owner_deleted", "owner", "deleted"),
        Index("ix_images_visibility_deleted", "visibility", "deleted"),
        Index("ix_images_created_at", "created_at"),
    )
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str | None] = mapped_column(String(255), nullable=True)
    status: Mapped[str] = mapped_column(String(30), default="queued")
    visibility: Mapped[str] = mapped_column(String(20), default="shared")
    owner: Mapped[str | None] = mapped_column(String(255), nullable=True)
    size: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    virtual_size: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    checksum: Mapped[str | None] = mapped_column(String(32), nullable=True)
    os_hash_algo: Mapped[str | None] = mapped_column(String(64), nullable=True)
    os_hash_value: Mapped[str | None] = mapped_column(String(128), nullable=True)
    disk_format: Mapped[str | None] = mapped_column(String(20), nullable=True)
    container_format: Mapped[str | None] = mapped_column(String(20), nullable=True)
    min_disk: Mapped[int] = mapped_column(Integer, default=0)
    min_ram: Mapped[int] = mapped_column(Integer, default=0)
    protected: Mapped[bool] = mapped_column(Boolean, default=False)
    os_hidden: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class ImageProperty(Base):
    __tablename__ = "image_properties"
    __table_args__ = (UniqueConstraint("image_id", "name"), Index("ix_image_properties_name", "name"))
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    image_id: Mapped[str] = mapped_column(ForeignKey("images.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(255))
    value: Mapped[str | None] = mapped_column(Text, nullable=True)


class ImageTag(Base):
    __tablename__ = "image_tags"
    __table_args__ = (UniqueConstraint("image_id", "value"), Index("ix_image_tags_value", "value"))
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    image_id: Mapped[str] = mapped_column(ForeignKey("images.id", ondelete="CASCADE"), index=True)
    value: Mapped[str] = mapped_column(String(255))


class ImageMember(Base):
    __tablename__ = "image_members"
    __table_args__ = (UniqueConstraint("image_id", "member"), Index("ix_image_members_member", "member"))
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    image_id: Mapped[str] = mapped_column(ForeignKey("images.id", ondelete="CASCADE"), index=True)
    member: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(20), default="pending")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ImageLocation(Base):
    """Where an image's data lives: one row per store holding a complete copy."""

    __tablename__ = "image_locations"
    __table_args__ = (UniqueConstraint("image_id", "store_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    image_id: Mapped[str] = mapped_column(ForeignKey("images.id", ondelete="CASCADE"), index=True)
    store_id: Mapped[str] = mapped_column(String(255))
    url: Mapped[str] = mapped_column(Text)
    size: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class StagedData(Base):
    """Data staged for a glance-direct import (PUT .../stage), kept until the import or a delete."""

    __tablename__ = "image_staging"
    image_id: Mapped[str] = mapped_column(ForeignKey("images.id", ondelete="CASCADE"), primary_key=True)
    url: Mapped[str] = mapped_column(Text)
    size: Mapped[int] = mapped_column(BigInteger, default=0)
    owner: Mapped[str | None] = mapped_column(String(255), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Task(Base):
    """An asynchronous job of the tasks API (``POST /v2/tasks``) or one an image import runs."""

    __tablename__ = "image_tasks"
    __table_args__ = (Index("ix_image_tasks_owner", "owner"), Index("ix_image_tasks_image_id", "image_id"),
                      Index("ix_image_tasks_created_at", "created_at"))
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    type: Mapped[str] = mapped_column(String(30))
    status: Mapped[str] = mapped_column(String(30), default="pending")
    owner: Mapped[str | None] = mapped_column(String(255), nullable=True)
    image_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    user_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    request_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    input: Mapped[Any] = mapped_column(JSONText, nullable=True)
    result: Mapped[Any] = mapped_column(JSONText, nullable=True)
    message: Mapped[str] = mapped_column(Text, default="")
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class MetadefNamespace(Base):
    __tablename__ = "metadef_namespaces"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    namespace: Mapped[str] = mapped_column(String(80), unique=True)
    display_name: Mapped[str | None] = mapped_column(String(80), nullable=True)
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
    visibility: Mapped[str] = mapped_column(String(32), default="private")
    protected: Mapped[bool] = mapped_column(Boolean, default=False)
    owner: Mapped[str | None] = mapped_column(String(255), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class MetadefObject(Base):
    __tablename__ = "metadef_objects"
    __table_args__ = (UniqueConstraint("namespace_id", "name"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    namespace_id: Mapped[int] = mapped_column(ForeignKey("metadef_namespaces.id", ondelete="CASCADE"),
                                              index=True)
    name: Mapped[str] = mapped_column(String(80))
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
    required: Mapped[Any] = mapped_column(JSONText, nullable=True)      # list of property names
    properties: Mapped[Any] = mapped_column(JSONText, nullable=True)    # name -> property definition
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class MetadefProperty(Base):
    __tablename__ = "metadef_properties"
    __table_args__ = (UniqueConstraint("namespace_id", "name"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    namespace_id: Mapped[int] = mapped_column(ForeignKey("metadef_namespaces.id", ondelete="CASCADE"),
                                              index=True)
    name: Mapped[str] = mapped_column(String(80))
    definition: Mapped[Any] = mapped_column(JSONText)                   # title, type, enum ...
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class MetadefTag(Base):
    __tablename__ = "metadef_tags"
    __table_args__ = (UniqueConstraint("namespace_id", "name"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    namespace_id: Mapped[int] = mapped_column(ForeignKey("metadef_namespaces.id", ondelete="CASCADE"),
                                              index=True)
    name: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class MetadefResourceType(Base):
    __tablename__ = "metadef_resource_types"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    protected: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class MetadefAssociation(Base):
    """A namespace applies to a resource type, its property names prefixed there (``hw:``)."""

    __tablename__ = "metadef_namespace_resource_types"
    resource_type_id: Mapped[int] = mapped_column(
        ForeignKey("metadef_resource_types.id", ondelete="CASCADE", name="fk_metadef_assoc_resource_type"),
        primary_key=True)
    namespace_id: Mapped[int] = mapped_column(
        ForeignKey("metadef_namespaces.id", ondelete="CASCADE", name="fk_metadef_assoc_namespace"),
        primary_key=True, index=True)
    prefix: Mapped[str | None] = mapped_column(String(80), nullable=True)
    properties_target: Mapped[str | None] = mapped_column(String(80), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
