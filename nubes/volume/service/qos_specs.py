"""QoS specs (admins'): key/value pairs with a consumer (front-end, back-end, both), associated
with volume types through the type's ``qos_specs_id`` (one spec per type)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from nubes.volume import exceptions as exc
from nubes.volume.db.models import QualityOfServiceSpecs, VolumeType

CONSUMERS = ("front-end", "back-end", "both")


def _check_consumer(consumer: Any) -> None:
    if consumer not in CONSUMERS:
        raise exc.InvalidQoSSpecs(f"Value {consumer} is not valid for consumer; it must be one of "
                                  f"{', '.join(CONSUMERS)}.")


class QosSpecs:
    def __init__(self, state: Any) -> None:
        self.db = state.db

    async def _get(self, s: AsyncSession, specs_id: str) -> QualityOfServiceSpecs:
        row = await s.get(QualityOfServiceSpecs, specs_id) if len(specs_id) <= 36 else None
        if row is None:
            raise exc.QoSSpecsNotFound(specs_id)
        return row

    async def create(self, name: str, consumer: str, specs: dict[str, str]) -> QualityOfServiceSpecs:
        _check_consumer(consumer)
        async with self.db.session() as s:
            if (await s.execute(select(QualityOfServiceSpecs).where(
                    QualityOfServiceSpecs.name == name))).scalars().first() is not None:
                raise exc.QoSSpecsExists(name)
            row = QualityOfServiceSpecs(id=str(uuid.uuid4()), name=name, consumer=consumer, specs=dict(specs))
            s.add(row)
            await s.flush()
            return row

    async def show(self, specs_id: str) -> QualityOfServiceSpecs:
        async with self.db.reader() as s:
            return await self._get(s, specs_id)

    async def list(self, *, sort: list[tuple[str, str]], limit: int | None,
                   marker: str | None) -> list[QualityOfServiceSpecs]:
        order = [getattr(QualityOfServiceSpecs, k).desc() if d == "desc" else getattr(QualityOfServiceSpecs, k).asc()
                 for k, d in sort]
        order.append(QualityOfServiceSpecs.id.asc())
        async with self.db.reader() as s:
            rows = list((await s.execute(select(QualityOfServiceSpecs).order_by(*order))).scalars())
        if marker is not None:
            at = next((i for i, r in enumerate(rows) if r.id == marker), None)
            if at is None:
                raise exc.NotFound(f"Marker {marker} could not be found.")
            rows = rows[at + 1:]
        return rows[:limit] if limit is not None else rows

    async def set_keys(self, specs_id: str, values: dict[str, str]) -> None:
        async with self.db.session() as s:
            row = await self._get(s, specs_id)
            specs = dict(row.specs or {})
            for key, value in values.items():
                if key == "consumer":
                    _check_consumer(value)
                    row.consumer = value
                else:
                    specs[key] = value
            row.specs = specs

    async def delete_keys(self, specs_id: str, keys: list[str]) -> None:
        async with self.db.session() as s:
            row = await self._get(s, specs_id)
            specs = dict(row.specs or {})
            for key in keys:
                if key not in specs:
                    raise exc.QoSSpecsKeyNotFound(specs_id, key)
                del specs[key]
            row.specs = specs

    async def _types(self, s: AsyncSession, specs_id: str) -> list[VolumeType]:
        return list((await s.execute(select(VolumeType).where(VolumeType.qos_specs_id == specs_id)
                                     .order_by(VolumeType.name))).scalars())

    async def delete(self, specs_id: str, *, force: bool) -> None:
        async with self.db.session() as s:
            row = await self._get(s, specs_id)
            types = await self._types(s, specs_id)
            if types and not force:
                raise exc.QoSSpecsInUse(specs_id)
            for vt in types:
                vt.qos_specs_id = None
            await s.delete(row)

    async def associations(self, specs_id: str) -> list[VolumeType]:
        async with self.db.reader() as s:
            await self._get(s, specs_id)
            return await self._types(s, specs_id)

    async def _type(self, s: AsyncSession, type_id: str | None) -> VolumeType:
        if not type_id:
            raise exc.InvalidVolumeType("Volume Type id must not be None.")
        vt = await s.get(VolumeType, type_id) if len(type_id) <= 36 else None
        if vt is None:
            raise exc.VolumeTypeNotFound(type_id)
        return vt

    async def associate(self, specs_id: str, type_id: str | None) -> None:
        async with self.db.session() as s:
            await self._get(s, specs_id)
            vt = await self._type(s, type_id)
            if vt.qos_specs_id and vt.qos_specs_id != specs_id:
                raise exc.InvalidVolumeType(f"Type {vt.id} is already associated with another qos specs: "
                                            f"{vt.qos_specs_id}")
            vt.qos_specs_id = specs_id

    async def disassociate(self, specs_id: str, type_id: str | None) -> None:
        async with self.db.session() as s:
            await self._get(s, specs_id)
            vt = await self._type(s, type_id)
            if vt.qos_specs_id == specs_id:
                vt.qos_specs_id = None

    async def disassociate_all(self, specs_id: str) -> None:
        async with self.db.session() as s:
            await self._get(s, specs_id)
            for vt in await self._types(s, specs_id):
                vt.qos_specs_id = None
