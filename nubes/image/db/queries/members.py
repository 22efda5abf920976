"""Image members: the projects a shared image is offered to, and their answer."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from nubes.image.db.models import ImageMember


async def find(s: AsyncSession, image_id: str, member: str) -> ImageMember | None:
    q = select(ImageMember).where(ImageMember.image_id == image_id, ImageMember.member == member)
    return (await s.execute(q)).scalars().first()


async def list_for(s: AsyncSession, image_id: str, member: str | None = None) -> list[ImageMember]:
    q = select(ImageMember).where(ImageMember.image_id == image_id)
    if member is not None:
        q = q.where(ImageMember.member == member)
    return list((await s.execute(q.order_by(ImageMember.id))).scalars().all())


async def count(s: AsyncSession, image_id: str) -> int:
    q = select(func.count()).select_from(ImageMember).where(ImageMember.image_id == image_id)
    return int((await s.execute(q)).scalar_one())
