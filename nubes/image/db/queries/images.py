"""Image rows and their properties, tags and locations: lookups, writes, status transitions."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from nubes.core.db.base import utcnow
from nubes.image.db.models import Image, ImageLocation, ImageMember, ImageProperty, ImageTag, StagedData


async def get(s: AsyncSession, image_id: str, *, for_update: bool = False,
              include_deleted: bool = False) -> Image | None:
    q = select(Image).where(Image.id == image_id)
    if not include_deleted:
        q = q.where(Image.deleted.is_(False))
    if for_update:
        q = q.with_for_update()
    return (await s.execute(q)).scalars().first()


async def properties_of(s: AsyncSession, ids: Iterable[str]) -> dict[str, dict[str, str | None]]:
    ids = list(ids)
    out: dict[str, dict[str, str | None]] = {i: {} for i in ids}
    for chunk in _chunks(ids):
        rows = await s.execute(select(ImageProperty.image_id, ImageProperty.name, ImageProperty.value)
                               .where(ImageProperty.image_id.in_(chunk)))
        for image_id, name, value in rows.all():
            out[image_id][name] = value
    return out


async def tags_of(s: AsyncSession, ids: Iterable[str]) -> dict[str, list[str]]:
    ids = list(ids)
    out: dict[str, list[str]] = {i: [] for i in ids}
    for chunk in _chunks(ids):
        rows = await s.execute(select(ImageTag.image_id, ImageTag.value)
                               .where(ImageTag.image_id.in_(chunk)).order_by(ImageTag.id))
        for image_id, value in rows.all():
            out[image_id].append(value)
    return out


async def locations_of(s: AsyncSession, ids: Iterable[str]) -> dict[str, list[ImageLocation]]:
    ids = list(ids)
    out: dict[str, list[ImageLocation]] = {i: [] for i in ids}
    for chunk in _chunks(ids):
        rows = await s.execute(select(ImageLocation).where(ImageLocation.image_id.in_(chunk))
                               .order_by(ImageLocation.id))
        for loc in rows.scalars().all():
            out[loc.image_id].append(loc)
    return out


def _chunks(ids: list[str], n: int = 500) -> Iterable[list[str]]:
    for i in range(0, len(ids), n):
        yield ids[i:i + n]


async def set_properties(s: AsyncSession, image_id: str, props: dict[str, str | None]) -> None:
    current = (await properties_of(s, [image_id]))[image_id]
    gone = [k for k in current if k not in props]
    if gone:
        await s.execute(delete(ImageProperty).where(ImageProperty.image_id == image_id,
                                                    ImageProperty.name.in_(gone)))
    for name, value in props.items():
        if name not in current:
            s.add(ImageProperty(image_id=image_id, name=name, value=value))
        elif current[name] != value:
            await s.execute(update(ImageProperty).where(ImageProperty.image_id == image_id,
                                                        ImageProperty.name == name).values(value=value))
    await s.flush()


async def set_property(s: AsyncSession, image_id: str, name: str, value: str | None) -> None:
    props = (await properties_of(s, [image_id]))[image_id]
    if value is None:
        props.pop(name, None)
    else:
        props[name] = value
    await set_properties(s, image_id, props)


async def set_tags(s: AsyncSession, image_id: str, tags: list[str]) -> None:
    current = (await tags_of(s, [image_id]))[image_id]
    if current == tags:
        return
    await s.execute(delete(ImageTag).where(ImageTag.image_id == image_id))
    await s.flush()
    for value in dict.fromkeys(tags):
        s.add(ImageTag(image_id=image_id, value=value))
    await s.flush()


async def transition(s: AsyncSession, image_id: str, from_status: Iterable[str], to_status: str,
                     **values: object) -> bool:
    """Move an image between statuses only if it is still in one of ``from_status``."""
    res = await s.execute(update(Image).where(Image.id == image_id, Image.deleted.is_(False),
                                              Image.status.in_(list(from_status)))
                          .values(status=to_status, updated_at=utcnow(), **values))
    return (getattr(res, "rowcount", 0) or 0) > 0


async def add_location(s: AsyncSession, image_id: str, store_id: str, url: str, size: int) -> None:
    s.add(ImageLocation(image_id=image_id, store_id=store_id, url=url, size=size))
    await s.flush()


async def delete_location(s: AsyncSession, image_id: str, store_id: str) -> None:
    await s.execute(delete(ImageLocation).where(ImageLocation.image_id == image_id,
                                                ImageLocation.store_id == store_id))


async def delete_locations(s: AsyncSession, image_id: str) -> list[ImageLocation]:
    locs = (await locations_of(s, [image_id]))[image_id]
    await s.execute(delete(ImageLocation).where(ImageLocation.image_id == image_id))
    return locs


async def all_location_urls(s: AsyncSession) -> set[str]:
    rows = await s.execute(select(ImageLocation.url).join(Image, Image.id == ImageLocation.image_id)
                           .where(Image.deleted.is_(False)))
    return {u for (u,) in rows.all()}


async def staged(s: AsyncSession, image_id: str) -> StagedData | None:
    return await s.get(StagedData, image_id)


async def set_staged(s: AsyncSession, image_id: str, url: str, size: int, owner: str | None) -> None:
    await s.execute(delete(StagedData).where(StagedData.image_id == image_id))
    s.add(StagedData(image_id=image_id, url=url, size=size, owner=owner))
    await s.flush()


async def drop_staged(s: AsyncSession, image_id: str) -> StagedData | None:
    row = await s.get(StagedData, image_id)
    if row is not None:
        await s.delete(row)
        await s.flush()
    return row


async def all_staged(s: AsyncSession) -> list[StagedData]:
    return list((await s.execute(select(StagedData))).scalars().all())


async def soft_delete(s: AsyncSession, image_id: str) -> None:
    now = utcnow()
    await s.execute(update(Image).where(Image.id == image_id)
                    .values(status="deleted", deleted=True, deleted_at=now, updated_at=now))
    await s.execute(delete(ImageMember).where(ImageMember.image_id == image_id))


async def in_status(s: AsyncSession, statuses: Iterable[str]) -> list[Image]:
    q = select(Image).where(Image.deleted.is_(False), Image.status.in_(list(statuses)))
    return list((await s.execute(q)).scalars().all())


async def with_property(s: AsyncSession, name: str) -> list[str]:
    q = (select(ImageProperty.image_id).join(Image, Image.id == ImageProperty.image_id)
         .where(ImageProperty.name == name, Image.deleted.is_(False)))
    return [i for (i,) in (await s.execute(q)).all()]


# ------------------------------------------------------------------ usage (quotas)

async def count_images(s: AsyncSession, owner: str) -> int:
    q = select(func.count()).select_from(Image).where(Image.owner == owner, Image.deleted.is_(False))
    return int((await s.execute(q)).scalar_one())


async def count_uploading(s: AsyncSession, owner: str) -> int:
    q = select(func.count()).select_from(Image).where(
        Image.owner == owner, Image.deleted.is_(False),
        Image.status.in_(["saving", "uploading", "importing"]))
    return int((await s.execute(q)).scalar_one())


async def stored_bytes(s: AsyncSession, owner: str) -> int:
    """Bytes an owner's images occupy in stores: every copy counts, as Glance counts it."""
    q = (select(func.coalesce(func.sum(ImageLocation.size), 0))
         .join(Image, Image.id == ImageLocation.image_id)
         .where(Image.owner == owner, Image.deleted.is_(False)))
    return int((await s.execute(q)).scalar_one())


async def staged_bytes(s: AsyncSession, owner: str) -> int:
    q = select(func.coalesce(func.sum(StagedData.size), 0)).where(StagedData.owner == owner)
    return int((await s.execute(q)).scalar_one())


def touch_values() -> dict[str, datetime]:
    return {"updated_at": utcnow()}
