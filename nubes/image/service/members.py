"""Image sharing: the owner offers a shared image to projects, which accept, reject or leave it pending."""

from __future__ import annotations

import logging
from typing import Any

from nubes.core.context import RequestContext
from nubes.core.db.base import utcnow
from nubes.core.exceptions import BadRequest
from nubes.image import policies
from nubes.image.db.models import ImageMember
from nubes.image.db.queries import members as mq
from nubes.image.exceptions import ImageConflict, ImageForbidden, LimitExceeded, MemberNotFound
from nubes.image.service.access import Authorizer
from nubes.image.service.images import visible
from nubes.image.service.records import ImageRecord
from nubes.image.service.schemas import MEMBER_STATUSES

LOG = logging.getLogger(__name__)


def _sees_all(ctx: RequestContext, image: ImageRecord) -> bool:
    """Whether the caller sees every member of the image (its owner, or an admin), not only itself."""
    return ctx.is_admin or bool(ctx.project_id and image.owner == ctx.project_id)


def _shared_only(image: ImageRecord) -> None:
    if image.visibility != "shared":
        raise ImageForbidden("Only shared images have members.")


async def add(state: Any, ctx: RequestContext, authz: Authorizer, image_id: str, body: Any) -> ImageMember:
    member_id = body.get("member") if isinstance(body, dict) else None
    if member_id is None:
        raise BadRequest("Member to be added not specified")
    if not isinstance(member_id, str) or not member_id or len(member_id) > 255:
        raise BadRequest(f"Invalid member: {member_id!r}")
    async with state.db.session() as s:
        image, is_member = await visible(s, ctx, image_id, for_update=True)
        authz.image(policies.ADD_MEMBER, image, is_member)
        _shared_only(image)
        if await mq.find(s, image_id, member_id) is not None:
            raise ImageConflict(f"Member {member_id} is duplicated for image {image_id}")
        quota = state.conf.image_member_quota
        if quota >= 0 and await mq.count(s, image_id) >= quota:
            raise LimitExceeded(f"Image member limit exceeded for image {image_id}: "
                                f"attempted: 1, maximum: {quota}")
        now = utcnow()
        row = ImageMember(image_id=image_id, member=member_id, status="pending", created_at=now,
                          updated_at=now)
        s.add(row)
        await s.flush()
    LOG.info("image %s shared with project %s", image_id, member_id)
    return row


async def list_members(state: Any, ctx: RequestContext, authz: Authorizer,
                       image_id: str) -> list[ImageMember]:
    async with state.db.reader() as s:
        image, is_member = await visible(s, ctx, image_id)
        authz.member(policies.GET_MEMBERS, image, ctx.project_id if is_member else None)
        _shared_only(image)
        return await mq.list_for(s, image_id, None if _sees_all(ctx, image) else (ctx.project_id or ""))


async def show(state: Any, ctx: RequestContext, authz: Authorizer, image_id: str,
               member_id: str) -> ImageMember:
    async with state.db.reader() as s:
        image, is_member = await visible(s, ctx, image_id)
        row = await mq.find(s, image_id, member_id)
        if row is None or not (_sees_all(ctx, image) or member_id == ctx.project_id):
            raise MemberNotFound(f"Member {member_id} not found for image {image_id}.")
        authz.member(policies.GET_MEMBER, image, member_id if is_member else None)
        _shared_only(image)
        return row


async def update(state: Any, ctx: RequestContext, authz: Authorizer, image_id: str, member_id: str,
                 body: Any) -> ImageMember:
    status = body.get("status") if isinstance(body, dict) else None
    if status is None:
        raise BadRequest("Status not specified")
    if status not in MEMBER_STATUSES:
        raise BadRequest(f"Invalid status: {status}")
    async with state.db.session() as s:
        image, _ = await visible(s, ctx, image_id)
        row = await mq.find(s, image_id, member_id)
        if row is None or not (_sees_all(ctx, image) or member_id == ctx.project_id):
            raise MemberNotFound(f"Member {member_id} not found for image {image_id}.")
        authz.member(policies.MODIFY_MEMBER, image, member_id)
        row.status = status
        row.updated_at = utcnow()
        await s.flush()
    LOG.info("project %s set membership of image %s to %s", member_id, image_id, status)
    return row


async def remove(state: Any, ctx: RequestContext, authz: Authorizer, image_id: str, member_id: str) -> None:
    async with state.db.session() as s:
        image, is_member = await visible(s, ctx, image_id)
        authz.image(policies.DELETE_MEMBER, image, is_member)
        row = await mq.find(s, image_id, member_id)
        if row is None:
            raise MemberNotFound(f"Member {member_id} not found for image {image_id}.")
        await s.delete(row)
