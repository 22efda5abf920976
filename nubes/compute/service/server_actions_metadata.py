"""A server's metadata (``/servers/{id}/metadata``) and tags (``/servers/{id}/tags``), as Nova keeps them:
metadata changes need an unlocked server in a settled state and stay within the ``metadata_items``
quota; tags change in Nova's tag states, 50 at most."""

from __future__ import annotations

from typing import Any

from nubes.core.context import RequestContext
from nubes.core.db.base import utcnow
from nubes.compute import exceptions as exc
from nubes.compute.db.models import Instance, InstanceMetadata, InstanceTag
from nubes.compute.db.queries import instances as qi
from nubes.compute.service.server_actions_rules import RULES, check, check_tags

MAX_TAGS = 50


def set_metadata(row: Instance, items: dict[str, str], *, replace: bool) -> None:
    """Change the loaded metadata rows in place (updated, added, and removed when ``replace``)."""
    by_key = {m.key: m for m in row.metadata_items}
    for key, value in items.items():
        if key in by_key:
            by_key[key].value = value
        else:
            row.metadata_items.append(InstanceMetadata(key=key, value=value))
    if replace:
        for m in [m for m in row.metadata_items if m.key not in items]:
            row.metadata_items.remove(m)


class ServerMetadata:
    def __init__(self, state: Any) -> None:
        self.state = state

    async def _row(self, s: Any, ctx: RequestContext, instance_id: str, *, for_update: bool = False) -> Instance:
        row = await qi.get(s, instance_id, for_update=for_update)
        if row is None or (row.project_id != ctx.project_id and not ctx.is_admin):
            raise exc.InstanceNotFound(instance_id)
        return row

    async def show(self, ctx: RequestContext, instance_id: str, key: str | None = None) -> dict[str, str]:
        async with self.state.db.reader() as s:
            row = await self._row(s, ctx, instance_id)
            items = {m.key: m.value for m in row.metadata_items}
        if key is None:
            return items
        if key not in items:
            raise exc.MetadataItemNotFound()
        return {key: items[key]}

    async def change(self, ctx: RequestContext, instance_id: str, items: dict[str, str], *, rule: str,
                     replace: bool) -> dict[str, str]:
        """``rule`` (its policy checked by the API): create (POST, merged), update_all (PUT, replaced)
        or update (one key)."""
        async with self.state.db.session() as s:
            row = await self._row(s, ctx, instance_id, for_update=True)
            check(row, RULES["update metadata"], lock_exempt=ctx.is_admin)
            merged = dict(items) if replace else {**{m.key: m.value for m in row.metadata_items}, **items}
            await self.state.quotas.check_metadata(s, row.project_id, len(merged))
            set_metadata(row, items, replace=replace)
            row.updated_at = utcnow()
            return {m.key: m.value for m in row.metadata_items} if rule != "update" else dict(items)

    async def delete(self, ctx: RequestContext, instance_id: str, key: str) -> None:
        async with self.state.db.session() as s:
            row = await self._row(s, ctx, instance_id, for_update=True)
            found = next((m for m in row.metadata_items if m.key == key), None)
            if found is None:
                raise exc.MetadataItemNotFound()
            check(row, RULES["delete metadata"], lock_exempt=ctx.is_admin)
            row.metadata_items.remove(found)
            row.updated_at = utcnow()

    # -- tags -----------------------------------------------------------------------------------
    async def tags(self, ctx: RequestContext, instance_id: str) -> list[str]:
        async with self.state.db.reader() as s:
            row = await self._row(s, ctx, instance_id)
            return [t.tag for t in row.tags]

    async def has_tag(self, ctx: RequestContext, instance_id: str, tag: str) -> bool:
        async with self.state.db.reader() as s:
            row = await self._row(s, ctx, instance_id)
            return any(t.tag == tag for t in row.tags)

    async def set_tags(self, ctx: RequestContext, instance_id: str, tags: list[str]) -> list[str]:
        wanted = list(dict.fromkeys(tags))
        async with self.state.db.session() as s:
            row = await self._row(s, ctx, instance_id, for_update=True)
            check_tags(row, "update tags")
            for t in [t for t in row.tags if t.tag not in wanted]:
                row.tags.remove(t)
            have = {t.tag for t in row.tags}
            row.tags.extend(InstanceTag(tag=t) for t in wanted if t not in have)
            row.updated_at = utcnow()
            return sorted(t.tag for t in row.tags)

    async def add_tag(self, ctx: RequestContext, instance_id: str, tag: str) -> bool:
        """True when the tag is new (201), False when it was there (204)."""
        async with self.state.db.session() as s:
            row = await self._row(s, ctx, instance_id, for_update=True)
            check_tags(row, "update tag")
            if any(t.tag == tag for t in row.tags):
                return False
            if len(row.tags) >= MAX_TAGS:
                raise exc.BadRequest(f"The number of tags exceeded the per-server limit {MAX_TAGS}")
            row.tags.append(InstanceTag(tag=tag))
            row.updated_at = utcnow()
            return True

    async def delete_tag(self, ctx: RequestContext, instance_id: str, tag: str | None) -> None:
        """One tag, or all of them (``tag`` None)."""
        async with self.state.db.session() as s:
            row = await self._row(s, ctx, instance_id, for_update=True)
            check_tags(row, "delete tag" if tag is not None else "delete tags")
            doomed = [t for t in row.tags if tag is None or t.tag == tag]
            if tag is not None and not doomed:
                raise exc.InstanceTagNotFound(instance_id, tag)
            for t in doomed:
                row.tags.remove(t)
            row.updated_at = utcnow()
