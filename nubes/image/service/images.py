"""Image records: create, show, update (JSON patch), delete, deactivate and reactivate."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from nubes.core.context import RequestContext
from nubes.core.db.base import utcnow
from nubes.core.exceptions import BadRequest, NotFound
from nubes.image import policies
from nubes.image.db.models import Image
from nubes.image.db.queries import images as q
from nubes.image.db.queries import members as mq
from nubes.image.exceptions import (
    ImageConflict,
    ImageForbidden,
    ImageNotFound,
    InvalidImage,
    LimitExceeded,
    ProtectedImageDelete,
    ReadOnlyAttribute,
    ReservedAttribute,
)
from nubes.image.service import access, patch, quotas, schemas
from nubes.image.service.access import Authorizer
from nubes.image.service.records import ImageRecord, load

LOG = logging.getLogger(__name__)


class TagNotFound(NotFound):
    code = "image.tag_not_found"

DISALLOWED = ("direct_url", "self", "file", "schema", "stores")
READ_ONLY_ON_CREATE = ("created_at", "updated_at", "status", "checksum", "size", "virtual_size",
                       "os_hash_algo", "os_hash_value")
BASE_KEYS = ("id", "name", "visibility", "protected", "os_hidden", "owner", "disk_format",
             "container_format", "min_disk", "min_ram", "tags")


async def visible(s: AsyncSession, ctx: RequestContext, image_id: str, *,
                  for_update: bool = False) -> tuple[ImageRecord, bool]:
    """The image and whether the caller's project is a member of it; 404 if the caller can't see it."""
    rec = await load(s, image_id, for_update=for_update)
    if rec is None:
        raise ImageNotFound(image_id)
    is_member = bool(ctx.project_id and await mq.find(s, image_id, ctx.project_id))
    if not access.can_see(ctx, rec, is_member):
        raise ImageNotFound(image_id)
    return rec, is_member


async def show(state: Any, ctx: RequestContext, authz: Authorizer, image_id: str) -> ImageRecord:
    async with state.db.reader() as s:
        rec, member = await visible(s, ctx, image_id)
    authz.image(policies.GET_IMAGE, rec, member)
    return rec


# ------------------------------------------------------------------ create

def _check_create_body(state: Any, body: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    if not isinstance(body, dict):
        raise BadRequest("Unexpected body type. Expected list/dict.")
    for key in DISALLOWED:
        if key in body:
            raise ReadOnlyAttribute(key)
    err = schemas.problem(state.image_schema, body)
    if err:
        raise InvalidImage(f"Provided object does not match schema 'image': {err}")
    if "locations" in body:
        raise ImageForbidden("It's not allowed to add locations if locations are invisible.")
    core = {k: body[k] for k in BASE_KEYS if k in body}
    extra = {k: v for k, v in body.items() if k not in BASE_KEYS and k not in READ_ONLY_ON_CREATE}
    for key in extra:
        if len(key) > 255:
            raise InvalidImage("Custom property should not be greater than 255 characters.")
        if key in patch.RESERVED or key.startswith(patch.RESERVED_NAMESPACE):
            raise ReservedAttribute(key)
    for key in READ_ONLY_ON_CREATE:
        if key in body:
            raise ReadOnlyAttribute(key)
    _check_numbers(core)
    return core, extra


# Glance's bound for the integer columns (a 4-byte INT in its databases, as in ours).
MAX_DB_INT = 2**31 - 1


def _check_numbers(core: dict[str, Any]) -> None:
    for key in ("min_ram", "min_disk"):
        value = core.get(key)
        if value is not None and value < 0:
            raise InvalidImage(f"Invalid value '{value}' for parameter '{key}': Cannot be a negative value")
        if value is not None and value > MAX_DB_INT:
            raise BadRequest(f"'{key}' value out of range, must not exceed {MAX_DB_INT}.")


def _check_limits(conf: Any, props: dict[str, Any], tags: list[str]) -> None:
    if conf.image_property_quota >= 0 and len(props) > conf.image_property_quota:
        raise LimitExceeded(f"Maximum number of properties exceeded: {len(props)} > "
                            f"{conf.image_property_quota}")
    if conf.image_tag_quota >= 0 and len(tags) > conf.image_tag_quota:
        raise LimitExceeded(f"Maximum number of tags exceeded: {len(tags)} > {conf.image_tag_quota}")


async def create(state: Any, ctx: RequestContext, authz: Authorizer, body: Any) -> ImageRecord:
    core, extra = _check_create_body(state, body)
    owner = core.get("owner", ctx.project_id)
    visibility = core.get("visibility", "shared")
    authz.new_image({"project_id": owner, "owner": owner, "visibility": visibility})
    tags = list(dict.fromkeys(core.get("tags", [])))
    _check_limits(state.conf, extra, tags)
    if owner:
        await state.quotas.enforce(owner, quotas.COUNT_TOTAL, lambda: state.count_images(owner), 1)
    image_id = core.get("id") or str(uuid.uuid4())
    now = utcnow()
    async with state.db.session() as s:
        if await q.get(s, image_id, include_deleted=True) is not None:
            raise ImageConflict(f"Image with identifier {image_id} already exists!")
        s.add(Image(id=image_id, name=core.get("name"), status="queued", visibility=visibility,
                    owner=owner, disk_format=core.get("disk_format"),
                    container_format=core.get("container_format"),
                    min_disk=core.get("min_disk", 0), min_ram=core.get("min_ram", 0),
                    protected=bool(core.get("protected", False)),
                    os_hidden=bool(core.get("os_hidden", False)), created_at=now, updated_at=now))
        await s.flush()
        await q.set_properties(s, image_id, extra)
        await q.set_tags(s, image_id, tags)
        rec = await load(s, image_id)
    assert rec is not None
    LOG.info("image %s created by project %s", image_id, ctx.project_id)
    return rec


# ------------------------------------------------------------------ update

async def update(state: Any, ctx: RequestContext, authz: Authorizer, image_id: str,
                 content_type: str | None, body: Any) -> ImageRecord:
    changes = patch.parse(body, patch.patch_version(content_type))
    for change in changes:
        patch.validate_value(state.image_schema, change)
    async with state.db.session() as s:
        rec, member = await visible(s, ctx, image_id, for_update=True)
        if changes:
            authz.image(policies.MODIFY_IMAGE, rec, member)
        draft = patch.Draft(core={k: getattr(rec, k) for k in patch.CORE_ATTRIBUTES},
                            properties=dict(rec.properties), tags=list(rec.tags))
        patch.apply(draft, changes)
        _check_core_changes(ctx, authz, rec, draft, member)
        _check_limits(state.conf, draft.properties, draft.tags)
        if changes:
            values = {k: draft.core[k] for k in patch.CORE_ATTRIBUTES if draft.core[k] != getattr(rec, k)}
            row = await q.get(s, image_id)
            assert row is not None
            for k, v in values.items():
                setattr(row, k, v)
            row.updated_at = utcnow()
            await q.set_properties(s, image_id, draft.properties)
            await q.set_tags(s, image_id, draft.tags)
            await s.flush()
        out = await load(s, image_id)
    assert out is not None
    return out


def _check_core_changes(ctx: RequestContext, authz: Authorizer, rec: ImageRecord, draft: patch.Draft,
                        member: bool) -> None:
    core = draft.core
    if core["owner"] != rec.owner and not ctx.is_admin:
        raise ImageForbidden("Owner can't be updated by non admin.")
    if core["visibility"] != rec.visibility:
        authz.visibility(core["visibility"], rec, member)
    for key in ("container_format", "disk_format"):
        if core[key] != getattr(rec, key) and rec.status != "queued":
            raise ImageForbidden(f"Attribute {key} can be only replaced for a queued image.")
    _check_numbers(core)


# ------------------------------------------------------------------ delete and actions

async def delete(state: Any, ctx: RequestContext, authz: Authorizer, image_id: str) -> None:
    async with state.db.session() as s:
        rec, member = await visible(s, ctx, image_id, for_update=True)
        authz.image(policies.DELETE_IMAGE, rec, member)
        if rec.protected:
            raise ProtectedImageDelete(image_id)
        locations = await q.delete_locations(s, image_id)
        staged = await q.drop_staged(s, image_id)
        await q.soft_delete(s, image_id)
    state.imports.cancel(image_id)
    for loc in locations:
        await state.discard(loc.store_id, loc.url)
    if staged is not None:
        await state.discard(state.stores.staging.store_id, staged.url)
    LOG.info("image %s deleted by project %s", image_id, ctx.project_id)


async def delete_from_store(state: Any, ctx: RequestContext, authz: Authorizer, store_id: str,
                            image_id: str) -> None:
    """DELETE /v2/stores/{store}/{image}: remove one store's copy of an active image (never its last)."""
    from nubes.image.service.import_jobs import LOCK

    if state.stores.get(store_id) is None:
        raise ImageConflict(f"The selected store {store_id} is not available on this node.")
    async with state.db.session() as s:
        try:
            rec, member = await visible(s, ctx, image_id, for_update=True)
        except ImageNotFound:
            raise ImageNotFound(image_id) from None
        authz.image(policies.DELETE_IMAGE_LOCATION, rec, member)
        if rec.status != "active":
            raise ImageConflict("It's not allowed to remove image data from store if image status is "
                                "not 'active'")
        if LOCK in rec.properties:
            raise ImageConflict(f"New operation on image '{image_id}' is not permitted as prior operation "
                                "is still in progress")
        loc = next((x for x in rec.locations if x.store_id == store_id), None)
        if loc is None:
            raise NotFound(f"Image {image_id} is not stored in store {store_id}.")
        if len(rec.locations) == 1:
            raise ImageForbidden("Cannot delete image data from the only store containing it. Consider "
                                 "deleting the image instead if you want to remove all image data")
        await q.delete_location(s, image_id, store_id)
        await q.transition(s, image_id, ["active"], "active")      # updated_at
    await state.discard(store_id, loc.url)
    LOG.info("image %s removed from store %s by project %s", image_id, store_id, ctx.project_id)


async def locations(state: Any, ctx: RequestContext, authz: Authorizer,
                    image_id: str) -> list[dict[str, Any]]:
    """GET /v2/images/{id}/locations (2.17, for service users): where the image's data is."""
    async with state.db.reader() as s:
        rec, member = await visible(s, ctx, image_id)
    authz.image(policies.FETCH_IMAGE_LOCATION, rec, member)
    return [{"url": loc.url, "metadata": {"store": loc.store_id}} for loc in rec.locations]


async def set_active(state: Any, ctx: RequestContext, authz: Authorizer, image_id: str, active: bool) -> None:
    """Deactivate (active -> deactivated) or reactivate (deactivated -> active); the same is a no-op."""
    rule, verb = (policies.REACTIVATE, "reactivate") if active else (policies.DEACTIVATE, "deactivate")
    want, source = ("active", "deactivated") if active else ("deactivated", "active")
    async with state.db.session() as s:
        rec, member = await visible(s, ctx, image_id, for_update=True)
        authz.image(rule, rec, member)
        if rec.status == want:
            return
        if rec.status != source:
            raise ImageForbidden(f"Not allowed to {verb} image in status '{rec.status}'")
        await q.transition(s, image_id, [source], want)
    LOG.info("image %s %sd by project %s", image_id, verb, ctx.project_id)


async def change_tag(state: Any, ctx: RequestContext, authz: Authorizer, image_id: str, tag: str, *,
                     add: bool) -> None:
    if add and len(tag) > 255:
        raise InvalidImage(f"Provided object does not match schema 'image': {tag!r} is too long")
    async with state.db.session() as s:
        rec, member = await visible(s, ctx, image_id, for_update=True)
        authz.image(policies.MODIFY_IMAGE, rec, member)
        tags = list(rec.tags)
        if add:
            if tag in tags:
                return
            tags.append(tag)
            _check_limits(state.conf, rec.properties, tags)
        else:
            if tag not in tags:
                raise TagNotFound(f"Tag {tag} not found")
            tags.remove(tag)
        await q.set_tags(s, image_id, tags)
        row = await q.get(s, image_id)
        assert row is not None
        row.updated_at = utcnow()
