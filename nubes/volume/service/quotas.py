"""Quotas as Cinder keeps them: limits (project, class ``default``, configuration), usages and
reservations.

An operation reserves what it will use in the same transaction that writes its record
(``reserve``: usage rows locked, limits checked against in_use + reserved, the reservation rows
and ``reserved`` written); when the work is done (a volume available, or gone) it commits
(``reserved`` moves into ``in_use``) or rolls back. Two creates of one project serialise on
the project's usage rows (SQLite: one writer; MariaDB/PostgreSQL: ``FOR UPDATE``), so together
they never pass a limit one of them alone would not.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from nubes.core.db.base import utcnow
from nubes.volume import exceptions as exc
from nubes.volume.db.models import Quota, QuotaClass, QuotaUsage, Reservation, VolumeType

# Cinder's resources that every project has (per-type ones are <resource>_<type name>).
BASE_RESOURCES = ("volumes", "snapshots", "gigabytes", "backups", "backup_gigabytes", "groups",
                  "per_volume_gigabytes")
PER_TYPE = ("volumes", "snapshots", "gigabytes")
RESERVATION_TTL = timedelta(days=1)


def defaults_from_conf(conf: Any) -> dict[str, int]:
    return {"volumes": conf.quota_volumes, "snapshots": conf.quota_snapshots,
            "gigabytes": conf.quota_gigabytes, "backups": conf.quota_backups,
            "backup_gigabytes": conf.quota_backup_gigabytes, "groups": conf.quota_groups,
            "per_volume_gigabytes": conf.per_volume_size_limit}


class Quotas:
    def __init__(self, state: Any) -> None:
        self.state = state
        self.db = state.db
        self.conf = state.conf

    async def resources(self, s: AsyncSession) -> list[str]:
        names = (await s.execute(select(VolumeType.name).order_by(VolumeType.name))).scalars().all()
        return list(BASE_RESOURCES) + [f"{r}_{n}" for n in names for r in PER_TYPE]

    async def defaults(self, s: AsyncSession) -> dict[str, int]:
        """The ``default`` quota class over the configuration; per-type resources -1 (no limit)."""
        base = defaults_from_conf(self.conf)
        out = {r: base.get(r, -1) for r in await self.resources(s)}
        rows = (await s.execute(select(QuotaClass).where(QuotaClass.class_name == "default"))).scalars()
        for row in rows:
            if row.resource in out:
                out[row.resource] = row.hard_limit
        return out

    async def class_limits(self, s: AsyncSession, class_name: str) -> dict[str, int]:
        out = await self.defaults(s)
        rows = (await s.execute(select(QuotaClass).where(QuotaClass.class_name == class_name))).scalars()
        for row in rows:
            if row.resource in out:
                out[row.resource] = row.hard_limit
        return out

    async def set_class_limits(self, s: AsyncSession, class_name: str, values: dict[str, int]) -> None:
        known = set(await self.resources(s))
        for resource, limit in values.items():
            if resource not in known:
                raise exc.InvalidInput(f"Bad key(s) in quota set: {resource}")
            row = await s.get(QuotaClass, (class_name, resource))
            if row is None:
                s.add(QuotaClass(class_name=class_name, resource=resource, hard_limit=limit))
            else:
                row.hard_limit = limit

    async def limits(self, s: AsyncSession, project_id: str) -> dict[str, int]:
        out = await self.defaults(s)
        rows = (await s.execute(select(Quota).where(Quota.project_id == project_id))).scalars()
        for row in rows:
            if row.resource in out:
                out[row.resource] = row.hard_limit
        return out

    async def usages(self, s: AsyncSession, project_id: str) -> dict[str, QuotaUsage]:
        rows = (await s.execute(select(QuotaUsage).where(QuotaUsage.project_id == project_id))).scalars()
        return {r.resource: r for r in rows}

    async def set_limits(self, s: AsyncSession, project_id: str, values: dict[str, int]) -> None:
        """Cinder refuses a limit below what the project already uses (in use + reserved)."""
        known = set(await self.resources(s))
        bad = sorted(set(values) - known)
        if bad:
            raise exc.InvalidInput(f"Bad key(s) in quota set: {', '.join(bad)}")
        usages = await self.usages(s, project_id)
        for resource, limit in values.items():
            if limit < -1:
                raise exc.InvalidInput(f"Quota limit {limit} for {resource} must be -1 or greater.")
            used = usages.get(resource)
            held = (used.in_use + used.reserved) if used else 0
            if limit != -1 and resource != "per_volume_gigabytes" and limit < held:
                raise exc.InvalidInput(f"Quota limit {limit} for {resource} must be greater than or "
                                       f"equal to already used and reserved {held}.")
            row = await s.get(Quota, (project_id, resource))
            if row is None:
                s.add(Quota(project_id=project_id, resource=resource, hard_limit=limit))
            else:
                row.hard_limit = limit

    async def delete_limits(self, s: AsyncSession, project_id: str) -> None:
        await s.execute(delete(Quota).where(Quota.project_id == project_id))

    async def _locked_usage(self, s: AsyncSession, project_id: str, resource: str) -> QuotaUsage:
        stmt = select(QuotaUsage).where(QuotaUsage.project_id == project_id,
                                        QuotaUsage.resource == resource).with_for_update()
        row = (await s.execute(stmt)).scalars().first()
        if row is not None:
            return row
        try:
            async with s.begin_nested():
                s.add(QuotaUsage(project_id=project_id, resource=resource, in_use=0, reserved=0))
        except IntegrityError:
            pass        # made meanwhile by another transaction: lock that one
        return (await s.execute(stmt)).scalars().one()

    async def reserve(self, s: AsyncSession, project_id: str, deltas: dict[str, int]) -> list[str]:
        """Reserve ``deltas`` (resource -> amount) or raise Cinder's 413; returns reservation ids."""
        limits = await self.limits(s, project_id)
        per_volume = limits.get("per_volume_gigabytes", -1)
        size = deltas.get("gigabytes", 0)
        if per_volume != -1 and size > per_volume:
            raise exc.OverQuota(f"VolumeSizeExceedsLimit: Requested volume size {size}G is larger than "
                                f"maximum allowed limit {per_volume}G.")
        ids = []
        expire = utcnow() + RESERVATION_TTL
        for resource in sorted(deltas):          # one lock order for every transaction
            delta = deltas[resource]
            if delta == 0:
                continue
            usage = await self._locked_usage(s, project_id, resource)
            limit = limits.get(resource, -1)
            if delta > 0 and limit != -1 and usage.in_use + usage.reserved + delta > limit:
                consumed = usage.in_use + usage.reserved
                raise _over_quota(resource, limit, delta, consumed)
            if delta > 0:
                usage.reserved += delta
            rid = str(uuid.uuid4())
            s.add(Reservation(id=rid, project_id=project_id, resource=resource, delta=delta, expire=expire))
            ids.append(rid)
        return ids

    async def commit(self, s: AsyncSession, reservation_ids: list[str]) -> None:
        await self._finish(s, reservation_ids, commit=True)

    async def rollback(self, s: AsyncSession, reservation_ids: list[str]) -> None:
        await self._finish(s, reservation_ids, commit=False)

    async def _finish(self, s: AsyncSession, reservation_ids: list[str], *, commit: bool) -> None:
        if not reservation_ids:
            return
        rows = (await s.execute(select(Reservation).where(Reservation.id.in_(reservation_ids))
                                .order_by(Reservation.resource))).scalars().all()
        for r in rows:      # a reservation already finished (a message delivered twice) is gone
            usage = await self._locked_usage(s, r.project_id, r.resource)
            if r.delta > 0:
                usage.reserved = max(0, usage.reserved - r.delta)
            if commit:
                usage.in_use = max(0, usage.in_use + r.delta)
            await s.delete(r)

    async def release_now(self, s: AsyncSession, project_id: str, deltas: dict[str, int]) -> None:
        """Give back what a record held (a volume deleted): in_use lowered at once."""
        for resource in sorted(deltas):
            if deltas[resource]:
                usage = await self._locked_usage(s, project_id, resource)
                usage.in_use = max(0, usage.in_use - deltas[resource])


def _over_quota(resource: str, limit: int, delta: int, consumed: int) -> exc.OverQuota:
    base = resource.split("_")[0] if resource.startswith(("volumes_", "snapshots_", "gigabytes_")) else resource
    if base in ("gigabytes", "backup_gigabytes"):
        return exc.OverQuota(
            "VolumeSizeExceedsAvailableQuota: Requested volume or snapshot exceeds allowed "
            f"{resource} quota. Requested {delta}G, quota is {limit}G and {consumed}G has been consumed.")
    kind = {"volumes": "volumes", "snapshots": "snapshots", "backups": "backups", "groups": "groups"}.get(base, base)
    cls = {"volumes": "VolumeLimitExceeded", "snapshots": "SnapshotLimitExceeded",
           "backups": "BackupLimitExceeded", "groups": "GroupLimitExceeded"}.get(base, "QuotaError")
    return exc.OverQuota(f"{cls}: Maximum number of {kind} allowed ({limit}) exceeded for quota '{resource}'.")


def volume_deltas(size: int, type_name: str | None) -> dict[str, int]:
    out = {"volumes": 1, "gigabytes": size}
    if type_name:
        out[f"volumes_{type_name}"] = 1
        out[f"gigabytes_{type_name}"] = size
    return out
