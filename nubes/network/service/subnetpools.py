"""Subnet pools: prefixes that subnets are carved from, prefix-length bounds, per-project quota.

A subnet made with ``subnetpool_id`` (or ``use_default_subnetpool``) gets its CIDR here:
``allocate`` locks the pool row, subtracts the CIDRs already taken from the pool's prefixes and
takes the first block that fits (most specific blocks first, as Neutron's SubnetAllocator), or
checks that a requested CIDR lies wholly in a free block. One default pool per IP version.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from nubes.core.context import RequestContext
from nubes.network.db.models import SubnetPool, SubnetPoolPrefix
from nubes.network.db.queries import listing
from nubes.network.db.queries import subnetpools as q
from nubes.network.db.queries import tags as tag_q
from nubes.network.exceptions import (
    BadRequest,
    EmptySubnetPoolPrefixList,
    IllegalSubnetPoolPrefixBounds,
    IllegalSubnetPoolPrefixUpdate,
    InvalidInput,
    MaxPrefixSubnetAllocationError,
    MinPrefixSubnetAllocationError,
    PrefixVersionMismatch,
    SubnetAllocationError,
    SubnetPoolDeleteError,
    SubnetPoolNotFound,
    SubnetPoolQuotaExceeded,
    UnsupportedMinSubnetPoolPrefix,
)
from nubes.network.service import addresses, quotas, transactions

RESOURCE = "subnetpools"
BITS = {4: 32, 6: 128}
DEFAULT_MIN = {4: 8, 6: 64}
QUOTA_UNIT = {4: 32, 6: 64}     # IPv4 quota counts /32s, IPv6 quota counts /64s
BOUNDS = ("min_prefixlen", "max_prefixlen", "default_prefixlen")


@dataclass
class PoolRecord:
    row: SubnetPool
    tags: list[str] = field(default_factory=list)

    @property
    def prefixes(self) -> list[str]:
        return addresses.collapse(p.cidr for p in self.row.prefixes)

    def policy_target(self) -> dict[str, Any]:
        return {"project_id": self.row.project_id, "tenant_id": self.row.project_id,
                "shared": self.row.shared, "is_default": self.row.is_default}


def read_spec(values: dict[str, Any]) -> dict[str, Any]:
    """Neutron's SubnetPoolReader: IP version from the prefixes, bounds defaulted and checked."""
    prefixes = values.get("prefixes") or []
    if not prefixes:
        raise EmptySubnetPoolPrefixList()
    versions = {addresses.network(p).version for p in prefixes}
    if len(versions) > 1:
        raise PrefixVersionMismatch()
    version = versions.pop()
    spec = {"ip_version": version, "prefixes": addresses.collapse(prefixes),
            "default_quota": values.get("default_quota")}
    spec["min_prefixlen"] = values.get("min_prefixlen", DEFAULT_MIN[version])
    spec["max_prefixlen"] = values.get("max_prefixlen", BITS[version])
    spec["default_prefixlen"] = values.get("default_prefixlen", spec["min_prefixlen"])
    lo, hi, default = spec["min_prefixlen"], spec["max_prefixlen"], spec["default_prefixlen"]
    if lo < 0:
        raise UnsupportedMinSubnetPoolPrefix(lo, 4)
    if lo > hi:
        raise IllegalSubnetPoolPrefixBounds("min_prefixlen", lo, "max_prefixlen", hi)
    if hi > BITS[version]:
        raise IllegalSubnetPoolPrefixBounds("max_prefixlen", hi, "ip_version_max", BITS[version])
    if default < lo:
        raise IllegalSubnetPoolPrefixBounds("default_prefixlen", default, "min_prefixlen", lo)
    if default > hi:
        raise IllegalSubnetPoolPrefixBounds("default_prefixlen", default, "max_prefixlen", hi)
    return spec


async def visible(s: AsyncSession, ctx: RequestContext, pool_id: str, *,
                  for_update: bool = False) -> SubnetPool:
    row = await q.get(s, pool_id, for_update=for_update)
    if row is None or not (ctx.is_admin or row.project_id == ctx.project_id or row.shared):
        raise SubnetPoolNotFound(pool_id)
    return row


def _units(cidr: str, version: int) -> int:
    return 2 ** max(0, QUOTA_UNIT[version] - addresses.network(cidr).prefixlen)


async def _check_quota(s: AsyncSession, pool: SubnetPool, project_id: str, prefixlen: int) -> None:
    if not pool.default_quota:
        return
    used = sum(_units(c, pool.ip_version) for c in await q.allocated(s, pool.id, project_id))
    if used + 2 ** max(0, QUOTA_UNIT[pool.ip_version] - prefixlen) > pool.default_quota:
        raise SubnetPoolQuotaExceeded()


async def allocate(s: AsyncSession, pool_id: str, project_id: str, *, prefixlen: int | None = None,
                   cidr: str | None = None) -> str:
    """A CIDR from the pool for a new subnet (inside the subnet's transaction; locks the pool)."""
    pool = await q.get(s, pool_id, for_update=True)
    if pool is None:
        raise SubnetPoolNotFound(pool_id)
    wanted = addresses.network(cidr).prefixlen if cidr else (prefixlen if prefixlen is not None
                                                             else pool.default_prefixlen)
    if wanted > pool.max_prefixlen:
        raise MaxPrefixSubnetAllocationError(wanted, pool.max_prefixlen)
    if wanted < pool.min_prefixlen:
        raise MinPrefixSubnetAllocationError(wanted, pool.min_prefixlen)
    await _check_quota(s, pool, project_id, wanted)
    free = addresses.subtract([p.cidr for p in pool.prefixes], await q.allocated(s, pool.id))
    if cidr:
        net = addresses.network(cidr)
        matched = [b for b in free
                   if b.version == net.version and b.supernet_of(net)]  # type: ignore[arg-type]
        if len(matched) == 1:
            return str(net)
        raise SubnetAllocationError("Cannot allocate requested subnet from the available set of prefixes")
    for candidate in addresses.carve(free, wanted):
        return str(candidate)
    raise SubnetAllocationError(f"Insufficient prefix space to allocate subnet size /{wanted}")


async def _check_default_free(s: AsyncSession, version: int, exclude: str | None = None) -> None:
    if await q.default_pool(s, version, exclude=exclude) is not None:
        raise InvalidInput("A default subnetpool for this IP family has already been set. "
                           "Only one default may exist per IP family")


class SubnetPools:
    def __init__(self, state: Any) -> None:
        self.state = state

    async def _record(self, s: AsyncSession, row: SubnetPool) -> PoolRecord:
        return PoolRecord(row, (await tag_q.of(s, RESOURCE, [row.id]))[row.id])

    async def create(self, ctx: RequestContext, values: dict[str, Any], project_id: str) -> PoolRecord:
        spec = read_spec(values)
        if values.get("address_scope_id"):
            raise BadRequest("Address scopes are not supported by this cloud")

        async def tx(s: AsyncSession) -> str:
            await quotas.check(s, self.state.conf, project_id, "subnetpool")
            if values.get("is_default"):
                await _check_default_free(s, spec["ip_version"])
            row = SubnetPool(id=str(uuid.uuid4()), project_id=project_id, name=values["name"],
                             description=values.get("description", ""), ip_version=spec["ip_version"],
                             default_prefixlen=spec["default_prefixlen"], min_prefixlen=spec["min_prefixlen"],
                             max_prefixlen=spec["max_prefixlen"], shared=bool(values.get("shared")),
                             is_default=bool(values.get("is_default")), default_quota=spec["default_quota"],
                             prefixes=[SubnetPoolPrefix(cidr=c) for c in spec["prefixes"]])
            s.add(row)
            if values.get("tags"):
                await tag_q.replace(s, RESOURCE, row.id, values["tags"])
            return row.id

        pool_id = await transactions.write(self.state.db, tx)
        await self.state.notifier.emit("subnetpool", "create", pool_id)
        return await self.show(ctx, pool_id)

    async def show(self, ctx: RequestContext, pool_id: str) -> PoolRecord:
        async with self.state.db.reader() as s:
            return await self._record(s, await visible(s, ctx, pool_id))

    async def list(self, ctx: RequestContext, query: Any) -> tuple[list[PoolRecord], bool]:
        stmt = q.base_select()
        if not ctx.is_admin:
            stmt = stmt.where(q.visible_to(ctx.project_id))
        async with self.state.db.reader() as s:
            rows, more = await listing.page(s, stmt, SubnetPool, q.FILTERS, query, RESOURCE,
                                            not_found=SubnetPoolNotFound)
            tags = await tag_q.of(s, RESOURCE, [r.id for r in rows])
            return [PoolRecord(r, tags[r.id]) for r in rows], more

    async def update(self, ctx: RequestContext, pool_id: str, values: dict[str, Any],
                     check: Any) -> PoolRecord:
        async def tx(s: AsyncSession) -> None:
            row = await visible(s, ctx, pool_id, for_update=True)
            check(row, PoolRecord(row))
            if values.get("address_scope_id"):
                raise BadRequest("Address scopes are not supported by this cloud")
            current = addresses.collapse(p.cidr for p in row.prefixes)
            merged = {"prefixes": current, **{k: getattr(row, k) for k in BOUNDS},
                      "default_quota": row.default_quota}
            merged.update({k: v for k, v in values.items() if k in ("prefixes", "default_quota", *BOUNDS)})
            spec = read_spec(merged)
            if spec["ip_version"] != row.ip_version or addresses.subtract(current, spec["prefixes"]):
                raise IllegalSubnetPoolPrefixUpdate("Existing prefixes must be a subset of the new prefixes")
            if values.get("is_default") and not row.is_default:
                await _check_default_free(s, row.ip_version, exclude=row.id)
            for key in ("name", "description", "is_default"):
                if key in values:
                    setattr(row, key, values[key])
            for key in (*BOUNDS, "default_quota"):
                setattr(row, key, spec[key])
            if spec["prefixes"] != current:
                await q.set_prefixes(s, row, spec["prefixes"])
            transactions.bump(row)

        await transactions.write(self.state.db, tx)
        await self.state.notifier.emit("subnetpool", "update", pool_id)
        return await self.show(ctx, pool_id)

    async def delete(self, ctx: RequestContext, pool_id: str, check: Any) -> None:
        async def tx(s: AsyncSession) -> None:
            row = await visible(s, ctx, pool_id, for_update=True)
            check(row, PoolRecord(row))
            if await q.in_use(s, pool_id):
                raise SubnetPoolDeleteError("Subnet pool has existing allocations")
            await tag_q.delete_all(s, RESOURCE, pool_id)
            await s.delete(row)

        await transactions.write(self.state.db, tx)
        await self.state.notifier.emit("subnetpool", "delete", pool_id)

    async def change_prefixes(self, ctx: RequestContext, pool_id: str, prefixes: list[str], *, add: bool,
                              check: Any) -> list[str]:
        """PUT .../add_prefixes and .../remove_prefixes: the pool's prefixes afterwards."""
        async def tx(s: AsyncSession) -> list[str]:
            row = await visible(s, ctx, pool_id, for_update=True)
            check(row, PoolRecord(row))
            current = addresses.collapse(p.cidr for p in row.prefixes)
            if any(addresses.network(p).version != row.ip_version for p in prefixes):
                raise PrefixVersionMismatch()
            if add:
                new = addresses.collapse([*current, *prefixes])
            else:
                if not any(addresses.cidrs_overlap(p, c) for p in prefixes for c in current):
                    return current
                taken = await q.allocated(s, pool_id)
                if any(addresses.cidrs_overlap(p, t) for p in prefixes for t in taken):
                    raise IllegalSubnetPoolPrefixUpdate("One or more the prefixes to be removed is in use "
                                                        "by a subnet")
                new = addresses.collapse(str(n) for n in addresses.subtract(current, prefixes))
            if new != current:
                await q.set_prefixes(s, row, new)
                transactions.bump(row)
            return new

        result = await transactions.write(self.state.db, tx)
        await self.state.notifier.emit("subnetpool", "update", pool_id)
        return result
