"""An image as the service handles it: the row plus its properties, tags and locations."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from nubes.image.db.models import Image
from nubes.image.db.queries import images as q

# Attributes Glance keeps as columns ("core" properties), in the order it renders them.
CORE = ("name", "disk_format", "container_format", "visibility", "size", "virtual_size", "status",
        "checksum", "protected", "min_ram", "min_disk", "owner", "os_hidden", "os_hash_algo",
        "os_hash_value")
MUTABLE_CORE = ("name", "disk_format", "container_format", "visibility", "protected", "min_ram",
                "min_disk", "owner", "os_hidden", "tags")


@dataclass
class Location:
    store_id: str
    url: str
    size: int


@dataclass
class ImageRecord:
    id: str
    name: str | None
    status: str
    visibility: str
    owner: str | None
    size: int | None
    virtual_size: int | None
    checksum: str | None
    os_hash_algo: str | None
    os_hash_value: str | None
    disk_format: str | None
    container_format: str | None
    min_disk: int
    min_ram: int
    protected: bool
    os_hidden: bool
    created_at: datetime
    updated_at: datetime
    properties: dict[str, str | None] = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)
    locations: list[Location] = field(default_factory=list)

    @property
    def stores(self) -> list[str]:
        return [loc.store_id for loc in self.locations]

    def core(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in CORE}


def from_row(row: Image, props: dict[str, str | None], tags: list[str],
             locations: list[Any]) -> ImageRecord:
    return ImageRecord(
        id=row.id, name=row.name, status=row.status, visibility=row.visibility, owner=row.owner,
        size=row.size, virtual_size=row.virtual_size, checksum=row.checksum,
        os_hash_algo=row.os_hash_algo, os_hash_value=row.os_hash_value, disk_format=row.disk_format,
        container_format=row.container_format, min_disk=row.min_disk or 0, min_ram=row.min_ram or 0,
        protected=bool(row.protected), os_hidden=bool(row.os_hidden), created_at=row.created_at,
        updated_at=row.updated_at, properties=dict(props), tags=list(tags),
        locations=[Location(loc.store_id, loc.url, loc.size) for loc in locations])


async def load_many(s: AsyncSession, rows: list[Image]) -> list[ImageRecord]:
    ids = [r.id for r in rows]
    props, tags, locs = await q.properties_of(s, ids), await q.tags_of(s, ids), await q.locations_of(s, ids)
    return [from_row(r, props[r.id], tags[r.id], locs[r.id]) for r in rows]


async def load(s: AsyncSession, image_id: str, *, for_update: bool = False) -> ImageRecord | None:
    row = await q.get(s, image_id, for_update=for_update)
    if row is None:
        return None
    return (await load_many(s, [row]))[0]
