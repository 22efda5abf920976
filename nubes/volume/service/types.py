"""Volume types: extra specs, project access of private types, and the default type.

``__DEFAULT__`` exists from the first start (Cinder's migration makes it); a project's default
(``/default-types``) wins over ``[volume] default_volume_type``.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from nubes.volume import exceptions as exc
from nubes.volume.db.models import (
    DefaultVolumeType,
    Volume,
    VolumeType,
    VolumeTypeExtraSpec,
    VolumeTypeProject,
)

DEFAULT_TYPE = "__DEFAULT__"


def _is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True


class Types:
    def __init__(self, state: Any) -> None:
        self.state = state
        self.db = state.db
        self.conf = state.conf

    async def ensure_default(self) -> None:
        async with self.db.session() as s:
            found = (await s.execute(select(VolumeType).where(VolumeType.name == DEFAULT_TYPE))).scalars().first()
            if found is None:
                s.add(VolumeType(id=str(uuid.uuid4()), name=DEFAULT_TYPE, description="Default Volume Type",
                                 is_public=True))

    async def specs(self, s: AsyncSession, type_id: str) -> dict[str, str]:
        rows = (await s.execute(select(VolumeTypeExtraSpec).where(
            VolumeTypeExtraSpec.volume_type_id == type_id))).scalars()
        return {r.key: r.value for r in rows}

    async def specs_of(self, s: AsyncSession, type_ids: list[str]) -> dict[str, dict[str, str]]:
        out: dict[str, dict[str, str]] = {t: {} for t in type_ids}
        if type_ids:
            rows = (await s.execute(select(VolumeTypeExtraSpec).where(
                VolumeTypeExtraSpec.volume_type_id.in_(type_ids)))).scalars()
            for r in rows:
                out[r.volume_type_id][r.key] = r.value
        return out

    async def projects(self, s: AsyncSession, type_id: str) -> list[str]:
        return list((await s.execute(select(VolumeTypeProject.project_id).where(
            VolumeTypeProject.volume_type_id == type_id))).scalars())

    async def visible(self, s: AsyncSession, row: VolumeType, project_id: str | None, see_all: bool) -> bool:
        if row.is_public or see_all:
            return True
        return project_id in await self.projects(s, row.id)

    async def get(self, s: AsyncSession, type_id: str, *, project_id: str | None = None,
                  see_all: bool = True) -> VolumeType:
        row = await s.get(VolumeType, type_id) if _is_uuid(type_id) else None
        if row is None or not await self.visible(s, row, project_id, see_all):
            raise exc.VolumeTypeNotFound(type_id)
        return row

    async def find(self, s: AsyncSession, name_or_id: str, *, project_id: str | None,
                   see_all: bool) -> VolumeType:
        """A type by id or name, as volume create names it (Cinder looks up the id first)."""
        row = await s.get(VolumeType, name_or_id) if _is_uuid(name_or_id) else None
        if row is None:
            row = (await s.execute(select(VolumeType).where(VolumeType.name == name_or_id))).scalars().first()
        if row is None or not await self.visible(s, row, project_id, see_all):
            raise exc.VolumeTypeNotFoundByName(name_or_id)
        return row

    async def list(self, s: AsyncSession, *, project_id: str | None, see_all: bool,
                   is_public: bool | None) -> list[VolumeType]:
        rows = (await s.execute(select(VolumeType).order_by(VolumeType.created_at, VolumeType.id))).scalars().all()
        out = []
        access = set((await s.execute(select(VolumeTypeProject.volume_type_id).where(
            VolumeTypeProject.project_id == project_id))).scalars()) if project_id else set()
        for r in rows:
            if see_all:
                if is_public is None or r.is_public == is_public:
                    out.append(r)
            elif r.is_public or r.id in access:
                out.append(r)
        return out

    async def create(self, s: AsyncSession, name: str, description: str | None, is_public: bool,
                     extra_specs: dict[str, str]) -> VolumeType:
        if (await s.execute(select(VolumeType).where(VolumeType.name == name))).scalars().first():
            raise exc.VolumeTypeExists(name)
        row = VolumeType(id=str(uuid.uuid4()), name=name, description=description, is_public=is_public)
        s.add(row)
        await s.flush()
        for key, value in extra_specs.items():
            s.add(VolumeTypeExtraSpec(volume_type_id=row.id, key=key, value=value))
        await s.flush()
        return row

    async def update(self, s: AsyncSession, type_id: str, changes: dict[str, Any]) -> VolumeType:
        row = await self.get(s, type_id)
        name = changes.get("name")
        if name is not None and name != row.name:
            if row.name == DEFAULT_TYPE:
                raise exc.BadRequest("The volume type __DEFAULT__ cannot be renamed.")
            if (await s.execute(select(VolumeType).where(VolumeType.name == name))).scalars().first():
                raise exc.VolumeTypeExists(name)
            row.name = name
        if "description" in changes:
            row.description = changes["description"]
        if changes.get("is_public") is not None:
            row.is_public = changes["is_public"]
        await s.flush()
        return row

    async def delete(self, s: AsyncSession, type_id: str) -> None:
        row = await self.get(s, type_id)
        if row.name == DEFAULT_TYPE:
            raise exc.BadRequest("Default volume type can not be deleted.")
        in_use = (await s.execute(select(func.count()).select_from(Volume).where(
            Volume.volume_type_id == row.id))).scalar_one()
        if in_use:
            raise exc.BadRequest(f"Target volume type is still in use. Volume Type {row.id} deletion is "
                                 "not allowed with volumes present with the type.")
        if (await s.execute(select(DefaultVolumeType).where(DefaultVolumeType.volume_type_id == row.id))).first():
            raise exc.BadRequest(f"Volume Type {row.id} deletion is not allowed: it is the default type "
                                 "of a project.")
        await s.execute(delete(VolumeTypeExtraSpec).where(VolumeTypeExtraSpec.volume_type_id == row.id))
        await s.execute(delete(VolumeTypeProject).where(VolumeTypeProject.volume_type_id == row.id))
        await s.delete(row)

    async def set_specs(self, s: AsyncSession, type_id: str, specs: dict[str, str]) -> None:
        row = await self.get(s, type_id)
        for key, value in specs.items():
            found = await s.get(VolumeTypeExtraSpec, (row.id, key))
            if found is None:
                s.add(VolumeTypeExtraSpec(volume_type_id=row.id, key=key, value=value))
            else:
                found.value = value

    async def delete_spec(self, s: AsyncSession, type_id: str, key: str) -> None:
        row = await self.get(s, type_id)
        found = await s.get(VolumeTypeExtraSpec, (row.id, key))
        if found is None:
            raise exc.NotFound(f"Volume Type {row.id} has no extra specs with key {key}.")
        await s.delete(found)

    async def add_access(self, s: AsyncSession, type_id: str, project_id: str) -> None:
        row = await self.get(s, type_id)
        if row.is_public:
            raise exc.BadRequest("Invalid volume type: Type access modification is not applicable to "
                                 "public volume type.")
        if await s.get(VolumeTypeProject, (row.id, project_id)) is not None:
            raise exc.Conflict(f"Volume type access for {row.id} / {project_id} combination already exists.")
        s.add(VolumeTypeProject(volume_type_id=row.id, project_id=project_id))

    async def remove_access(self, s: AsyncSession, type_id: str, project_id: str) -> None:
        row = await self.get(s, type_id)
        if row.is_public:
            raise exc.BadRequest("Invalid volume type: Type access modification is not applicable to "
                                 "public volume type.")
        found = await s.get(VolumeTypeProject, (row.id, project_id))
        if found is None:
            raise exc.NotFound(f"Volume type access not found for {row.id} / {project_id} combination.")
        await s.delete(found)

    # default types
    async def default_for(self, s: AsyncSession, project_id: str | None) -> VolumeType:
        if project_id:
            d = await s.get(DefaultVolumeType, project_id)
            if d is not None:
                row = await s.get(VolumeType, d.volume_type_id)
                if row is not None:
                    return row
        name = self.conf.default_volume_type or DEFAULT_TYPE
        row = (await s.execute(select(VolumeType).where(VolumeType.name == name))).scalars().first()
        if row is None:
            row = (await s.execute(select(VolumeType).where(VolumeType.name == DEFAULT_TYPE))).scalars().first()
        if row is None:
            raise exc.VolumeTypeNotFoundByName(name)
        return row

    async def set_default(self, s: AsyncSession, project_id: str, name_or_id: str) -> DefaultVolumeType:
        vt = await self.find(s, name_or_id, project_id=None, see_all=True)
        row = await s.get(DefaultVolumeType, project_id)
        if row is None:
            row = DefaultVolumeType(project_id=project_id, volume_type_id=vt.id)
            s.add(row)
        else:
            row.volume_type_id = vt.id
        await s.flush()
        return row

    async def get_default(self, s: AsyncSession, project_id: str) -> DefaultVolumeType:
        row = await s.get(DefaultVolumeType, project_id)
        if row is None:
            raise exc.NotFound(f"Default type for project {project_id} could not be found.")
        return row

    async def list_defaults(self, s: AsyncSession) -> list[DefaultVolumeType]:
        return list((await s.execute(select(DefaultVolumeType).order_by(DefaultVolumeType.project_id))).scalars())

    async def unset_default(self, s: AsyncSession, project_id: str) -> None:
        await s.execute(delete(DefaultVolumeType).where(DefaultVolumeType.project_id == project_id))
