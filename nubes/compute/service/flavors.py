"""Flavors: create, list (public and shared private ones), describe, delete; extra specs; access."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from nubes.core.context import RequestContext
from nubes.core.db.base import utcnow
from nubes.compute import exceptions as exc
from nubes.compute.db.models import Flavor, FlavorExtraSpec, FlavorProject
from nubes.compute.db.queries import flavors as q

MAX_EXTRA_SPECS = 255


@dataclass
class NewFlavor:
    name: str
    memory_mb: int
    vcpus: int
    root_gb: int
    flavorid: str | None = None
    ephemeral_gb: int = 0
    swap: int = 0
    rxtx_factor: float = 1.0
    is_public: bool = True
    description: str | None = None


async def visible(s: AsyncSession, ctx: RequestContext, flavorid: str) -> Flavor:
    row = await q.get(s, flavorid)
    if row is None or not (ctx.is_admin or row.is_public or
                           any(p.project_id == ctx.project_id for p in row.projects)):
        raise exc.FlavorNotFound(flavorid)
    return row


class Flavors:
    def __init__(self, state: Any) -> None:
        self.state = state

    async def create(self, new: NewFlavor) -> Flavor:
        flavorid = new.flavorid or str(uuid.uuid4())
        async with self.state.db.session() as s:
            if await q.get(s, flavorid) is not None:
                raise exc.FlavorExists(f"Flavor with ID {flavorid} already exists.")
            if await q.by_name(s, new.name) is not None:
                raise exc.FlavorExists(f"Flavor with name {new.name} already exists.")
            s.add(Flavor(flavorid=flavorid, name=new.name, memory_mb=new.memory_mb, vcpus=new.vcpus,
                         root_gb=new.root_gb, ephemeral_gb=new.ephemeral_gb, swap=new.swap,
                         rxtx_factor=new.rxtx_factor, is_public=new.is_public,
                         description=new.description, extra_specs=[], projects=[]))
        return await self.show_any(flavorid)

    async def show_any(self, flavorid: str) -> Flavor:
        async with self.state.db.reader() as s:
            row = await q.get(s, flavorid)
        if row is None:
            raise exc.FlavorNotFound(flavorid)
        return row

    async def show(self, ctx: RequestContext, flavorid: str) -> Flavor:
        async with self.state.db.reader() as s:
            return await visible(s, ctx, flavorid)

    async def list(self, ctx: RequestContext, *, is_public: bool | None, min_ram: int | None,
                   min_disk: int | None, sort_key: str, sort_dir: str, limit: int | None,
                   marker: str | None) -> list[Flavor]:
        where: list[ColumnElement] = [Flavor.disabled.is_(False)]
        if ctx.is_admin:
            if is_public is not None:
                where.append(Flavor.is_public.is_(is_public))
        elif is_public is False:
            where.append(Flavor.is_public.is_(False))
            where.append(q.accessible(ctx.project_id))
        elif is_public is True:
            where.append(Flavor.is_public.is_(True))
        else:
            where.append(q.accessible(ctx.project_id))
        if min_ram is not None:
            where.append(Flavor.memory_mb >= min_ram)
        if min_disk is not None:
            where.append(Flavor.root_gb >= min_disk)
        async with self.state.db.reader() as s:
            try:
                return await q.page(s, where=where, sort_key=sort_key, sort_dir=sort_dir, limit=limit,
                                    marker=marker)
            except LookupError:
                raise exc.BadRequest(f"marker [{marker}] not found") from None

    async def update_description(self, flavorid: str, description: str | None) -> Flavor:
        async with self.state.db.session() as s:
            row = await q.get(s, flavorid)
            if row is None:
                raise exc.FlavorNotFound(flavorid)
            row.description = description
            row.updated_at = utcnow()
        return await self.show_any(flavorid)

    async def delete(self, flavorid: str) -> None:
        async with self.state.db.session() as s:
            row = await q.get(s, flavorid)
            if row is None:
                raise exc.FlavorNotFound(flavorid)
            await s.delete(row)

    # -- extra specs ------------------------------------------------------------------------
    async def extra_specs(self, ctx: RequestContext, flavorid: str) -> dict[str, str]:
        row = await self.show(ctx, flavorid)
        return {e.key: e.value for e in row.extra_specs}

    async def set_extra_specs(self, flavorid: str, specs: dict[str, str]) -> dict[str, str]:
        async with self.state.db.session() as s:
            row = await q.get(s, flavorid)
            if row is None:
                raise exc.FlavorNotFound(flavorid)
            current = {e.key: e for e in row.extra_specs}
            if len(set(current) | set(specs)) > MAX_EXTRA_SPECS:
                raise exc.OverQuota(f"Quota exceeded for extra specs: at most {MAX_EXTRA_SPECS}.")
            for key, value in specs.items():
                if key in current:
                    current[key].value = value
                else:
                    row.extra_specs.append(FlavorExtraSpec(key=key, value=value))
            row.updated_at = utcnow()
        return specs

    async def delete_extra_spec(self, flavorid: str, key: str) -> None:
        async with self.state.db.session() as s:
            row = await q.get(s, flavorid)
            if row is None:
                raise exc.FlavorNotFound(flavorid)
            spec = next((e for e in row.extra_specs if e.key == key), None)
            if spec is None:
                raise exc.FlavorExtraSpecNotFound(flavorid, key)
            row.extra_specs.remove(spec)

    # -- access -----------------------------------------------------------------------------
    async def access(self, flavorid: str) -> list[str]:
        row = await self.show_any(flavorid)
        if row.is_public:
            raise exc.NotFound("Access list not available for public flavors.")
        return sorted(p.project_id for p in row.projects)

    async def add_access(self, flavorid: str, project_id: str) -> list[str]:
        try:
            async with self.state.db.session() as s:
                row = await q.get(s, flavorid)
                if row is None:
                    raise exc.FlavorNotFound(flavorid)
                if row.is_public:
                    raise exc.Conflict("Can not add access to a public flavor.")
                if any(p.project_id == project_id for p in row.projects):
                    raise exc.FlavorAccessExists(flavorid, project_id)
                row.projects.append(FlavorProject(project_id=project_id))
        except IntegrityError:
            raise exc.FlavorAccessExists(flavorid, project_id) from None
        return await self.access(flavorid)

    async def remove_access(self, flavorid: str, project_id: str) -> list[str]:
        async with self.state.db.session() as s:
            row = await q.get(s, flavorid)
            if row is None:
                raise exc.FlavorNotFound(flavorid)
            entry = next((p for p in row.projects if p.project_id == project_id), None)
            if entry is None:
                raise exc.FlavorAccessNotFound(flavorid, project_id)
            row.projects.remove(entry)
        return await self.access(flavorid)
