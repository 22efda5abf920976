"""Instance rows: lookups, Nova's list filters with sorting and marker paging, quota usage, faults."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from nubes.compute.db.models import Instance, InstanceFault, InstanceMetadata, InstanceTag

SORT_KEYS: dict[str, Any] = {
    "created_at": Instance.created_at, "updated_at": Instance.updated_at, "uuid": Instance.id,
    "display_name": Instance.display_name, "display_description": Instance.display_description,
    "hostname": Instance.hostname, "host": Instance.host, "node": Instance.node,
    "launched_at": Instance.launched_at, "terminated_at": Instance.terminated_at,
    "vm_state": Instance.vm_state, "task_state": Instance.task_state, "power_state": Instance.power_state,
    "availability_zone": Instance.availability_zone, "key_name": Instance.key_name,
    "image_ref": Instance.image_ref, "project_id": Instance.project_id, "user_id": Instance.user_id,
    "launch_index": Instance.launch_index, "locked": Instance.locked, "progress": Instance.progress,
    "config_drive": Instance.config_drive, "vcpus": Instance.vcpus, "memory_mb": Instance.memory_mb,
    "root_gb": Instance.root_gb, "ephemeral_gb": Instance.ephemeral_gb,
    "access_ip_v4": Instance.access_ip_v4, "access_ip_v6": Instance.access_ip_v6,
    "reservation_id": Instance.reservation_id, "instance_type_id": Instance.flavorid,
    "kernel_id": Instance.image_ref, "ramdisk_id": Instance.image_ref,
    "root_device_name": Instance.root_device_name, "deleted": Instance.deleted,
}

EQUAL_COLUMNS = {"host": Instance.host, "node": Instance.node, "image_ref": Instance.image_ref,
                 "reservation_id": Instance.reservation_id, "key_name": Instance.key_name,
                 "availability_zone": Instance.availability_zone, "config_drive": Instance.config_drive,
                 "power_state": Instance.power_state, "progress": Instance.progress,
                 "user_id": Instance.user_id, "launch_index": Instance.launch_index,
                 "hostname": Instance.hostname, "uuid": Instance.id,
                 "access_ip_v4": Instance.access_ip_v4, "access_ip_v6": Instance.access_ip_v6}


@dataclass
class InstanceFilters:
    """What a list asks for; None means "not filtered on"."""

    project_id: str | None = None
    deleted: bool | None = False          # None: deleted and live ones
    equal: dict[str, Any] = field(default_factory=dict)        # EQUAL_COLUMNS keys
    vm_states: list[str] | None = None
    task_states: list[str | None] | None = None
    flavor_id: str | None = None
    locked: bool | None = None
    changes_since: datetime | None = None
    changes_before: datetime | None = None
    created_at: datetime | None = None
    launched_at: datetime | None = None
    terminated_at: datetime | None = None
    tags: list[str] = field(default_factory=list)
    tags_any: list[str] = field(default_factory=list)
    not_tags: list[str] = field(default_factory=list)
    not_tags_any: list[str] = field(default_factory=list)


def _loaded() -> Any:
    return select(Instance).options(selectinload(Instance.metadata_items), selectinload(Instance.tags),
                                    selectinload(Instance.block_devices))


async def get(s: AsyncSession, instance_id: str, *, deleted: bool | None = False,
              for_update: bool = False) -> Instance | None:
    stmt = _loaded().where(Instance.id == instance_id)
    if deleted is not None:
        stmt = stmt.where(Instance.deleted.is_(deleted))
    if for_update:
        stmt = stmt.with_for_update()
    return (await s.execute(stmt)).scalars().first()


async def get_many(s: AsyncSession, ids: Sequence[str]) -> list[Instance]:
    if not ids:
        return []
    return list((await s.execute(_loaded().where(Instance.id.in_(list(ids))))).scalars().all())


def _has_tag(tag: str) -> ColumnElement:
    return exists().where(InstanceTag.instance_id == Instance.id, InstanceTag.tag == tag)


def where(f: InstanceFilters) -> list[ColumnElement]:
    out: list[ColumnElement] = []
    if f.project_id is not None:
        out.append(Instance.project_id == f.project_id)
    if f.deleted is not None:
        out.append(Instance.deleted.is_(f.deleted))
    for key, value in f.equal.items():
        col = EQUAL_COLUMNS[key]
        out.append(col.in_(value) if isinstance(value, list) else col == value)
    if f.vm_states is not None:
        out.append(Instance.vm_state.in_(f.vm_states))
    if f.task_states is not None:
        named = [t for t in f.task_states if t is not None]
        cond = Instance.task_state.in_(named)
        out.append(or_(cond, Instance.task_state.is_(None)) if None in f.task_states else cond)
    if f.flavor_id is not None:
        out.append(Instance.flavorid == f.flavor_id)
    if f.locked is not None:
        out.append(Instance.locked.is_(f.locked))
    if f.changes_since is not None:
        out.append(Instance.updated_at >= f.changes_since)
    if f.changes_before is not None:
        out.append(Instance.updated_at <= f.changes_before)
    for name, col in (("created_at", Instance.created_at), ("launched_at", Instance.launched_at),
                      ("terminated_at", Instance.terminated_at)):
        value = getattr(f, name)
        if value is not None:
            out.append(col >= value)
    out += [_has_tag(t) for t in f.tags]
    if f.tags_any:
        out.append(or_(*[_has_tag(t) for t in f.tags_any]))
    if f.not_tags:
        out.append(~and_(*[_has_tag(t) for t in f.not_tags]))
    if f.not_tags_any:
        out += [~_has_tag(t) for t in f.not_tags_any]
    return out


async def page(s: AsyncSession, f: InstanceFilters, *, sort: list[tuple[str, str]], limit: int | None,
               marker: str | None) -> list[Instance]:
    """Rows matching ``f`` in ``sort`` order (then by id), after the row ``marker`` if given."""
    stmt = _loaded().where(*where(f))
    keys = [(SORT_KEYS[k], d == "asc") for k, d in sort] + [(Instance.id, sort[-1][1] == "asc" if sort else False)]
    if marker is not None:
        row = (await s.execute(select(Instance).where(Instance.id == marker))).scalars().first()
        if row is None:
            raise LookupError(marker)
        stmt = stmt.where(_after(row, keys))
    stmt = stmt.order_by(*[(c.asc() if asc else c.desc()) for c, asc in keys])
    if limit is not None:
        stmt = stmt.limit(limit)
    return list((await s.execute(stmt)).scalars().all())


def _after(row: Instance, keys: list[tuple[Any, bool]]) -> ColumnElement:
    """Rows strictly after ``row`` in the lexicographic order of ``keys`` (NULLs first, as SQLite)."""
    clauses = []
    for i, (col, asc) in enumerate(keys):
        value = getattr(row, col.key)
        prefix = [_equal(c, getattr(row, c.key)) for c, _a in keys[:i]]
        if value is None:
            step = col.is_not(None) if asc else None
        else:
            step = (col > value) if asc else or_(col < value, col.is_(None))
        if step is not None:
            clauses.append(and_(*prefix, step))
    return or_(*clauses) if clauses else Instance.id.is_(None)


def _equal(col: Any, value: Any) -> ColumnElement:
    return col.is_(None) if value is None else col == value


@dataclass
class Usage:
    instances: int = 0
    cores: int = 0
    ram: int = 0


async def usage(s: AsyncSession, project_id: str, user_id: str | None = None) -> Usage:
    stmt = select(func.count(), func.coalesce(func.sum(Instance.vcpus), 0),
                  func.coalesce(func.sum(Instance.memory_mb), 0)).where(
        Instance.project_id == project_id, Instance.deleted.is_(False))
    if user_id is not None:
        stmt = stmt.where(Instance.user_id == user_id)
    n, cores, ram = (await s.execute(stmt)).one()
    return Usage(int(n), int(cores), int(ram))


async def latest_faults(s: AsyncSession, ids: Sequence[str]) -> dict[str, InstanceFault]:
    if not ids:
        return {}
    rows = (await s.execute(select(InstanceFault).where(InstanceFault.instance_id.in_(list(ids)))
                            .order_by(InstanceFault.instance_id, InstanceFault.id))).scalars().all()
    return {r.instance_id: r for r in rows}


def add_fault(s: AsyncSession, instance_id: str, code: int, message: str, details: str | None,
              host: str | None) -> None:
    s.add(InstanceFault(instance_id=instance_id, code=code, message=message[:255], details=details,
                        host=host))


def metadata_rows(items: dict[str, str]) -> list[InstanceMetadata]:
    return [InstanceMetadata(key=k, value=v) for k, v in items.items()]


def tag_rows(tags: Sequence[str]) -> list[InstanceTag]:
    return [InstanceTag(tag=t) for t in dict.fromkeys(tags)]


async def on_host(s: AsyncSession, host: str) -> list[Instance]:
    return list((await s.execute(_loaded().where(Instance.host == host, Instance.deleted.is_(False))))
                .scalars().all())


async def stale_builds(s: AsyncSession, before: datetime) -> list[Instance]:
    """Instances still building whose last change is older than ``before``."""
    return list((await s.execute(select(Instance).where(
        Instance.deleted.is_(False), Instance.vm_state == "building", Instance.updated_at < before)))
        .scalars().all())


async def soft_deleted_before(s: AsyncSession, before: datetime) -> list[Instance]:
    """Soft-deleted instances with no task under way, soft-deleted before ``before`` (due for reclaim)."""
    return list((await s.execute(_loaded().where(
        Instance.deleted.is_(False), Instance.vm_state == "soft-delete", Instance.task_state.is_(None),
        Instance.deleted_at < before).with_for_update())).scalars().all())
