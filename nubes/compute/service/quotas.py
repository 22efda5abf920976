"""Compute quotas as Nova's legacy driver keeps them: limits per project (and per user), quota
classes, defaults from the configuration, usage counted from the rows themselves.

A limit resolves user override → project override → quota class ``default`` → configuration.
Instances, cores and RAM are counted and checked inside the transaction that creates the
instances, after taking the project's lock row, so concurrent creates cannot overshoot.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from nubes.compute import exceptions as exc
from nubes.compute.db.queries import instances as qi
from nubes.compute.db.queries import keypairs as qk
from nubes.compute.db.queries import quotas as q
from nubes.compute.db.queries import server_groups as qg

# resource -> the configuration field holding its default
RESOURCES: dict[str, str] = {
    "instances": "quota_instances", "cores": "quota_cores", "ram": "quota_ram",
    "metadata_items": "quota_metadata_items", "key_pairs": "quota_key_pairs",
    "server_groups": "quota_server_groups", "server_group_members": "quota_server_group_members",
    "injected_files": "quota_injected_files",
    "injected_file_content_bytes": "quota_injected_file_content_bytes",
    "injected_file_path_bytes": "quota_injected_file_path_length",
}
# Network quotas Nova still shows (fixed values) below 2.36 (2.50 for quota classes).
LEGACY_NETWORK = {"fixed_ips": -1, "floating_ips": 10, "security_groups": 10, "security_group_rules": 20}
DEFAULT_CLASS = "default"


@dataclass
class QuotaDetail:
    limit: int
    in_use: int
    reserved: int = 0


class Quotas:
    def __init__(self, state: Any) -> None:
        self.state = state

    # -- limits --------------------------------------------------------------------------------
    def conf_defaults(self) -> dict[str, int]:
        return {r: int(getattr(self.state.conf, f)) for r, f in RESOURCES.items()}

    async def class_limits(self, s: AsyncSession, class_name: str = DEFAULT_CLASS) -> dict[str, int]:
        out = self.conf_defaults()
        for name in dict.fromkeys((DEFAULT_CLASS, class_name)):
            out.update({k: v for k, v in (await q.class_limits(s, name)).items() if k in RESOURCES})
        return out

    async def limits_in(self, s: AsyncSession, project_id: str, user_id: str | None = None) -> dict[str, int]:
        out = await self.class_limits(s)
        out.update({k: v for k, v in (await q.limits(s, project_id)).items() if k in RESOURCES})
        if user_id:
            out.update({k: v for k, v in (await q.limits(s, project_id, user_id)).items() if k in RESOURCES})
        return out

    async def usage_in(self, s: AsyncSession, project_id: str, user_id: str | None,
                       keypair_user: str | None) -> dict[str, int]:
        u = await qi.usage(s, project_id, user_id)
        used = {r: 0 for r in RESOURCES}
        used.update(instances=u.instances, cores=u.cores, ram=u.ram,
                    server_groups=await qg.count(s, project_id, user_id))
        if keypair_user:
            used["key_pairs"] = await qk.count(s, keypair_user)
        return used

    async def show(self, project_id: str, user_id: str | None = None) -> dict[str, int]:
        async with self.state.db.reader() as s:
            return await self.limits_in(s, project_id, user_id)

    async def detail(self, project_id: str, user_id: str | None, keypair_user: str | None
                     ) -> dict[str, QuotaDetail]:
        async with self.state.db.reader() as s:
            limits = await self.limits_in(s, project_id, user_id)
            used = await self.usage_in(s, project_id, user_id, keypair_user)
        return {r: QuotaDetail(limits[r], used.get(r, 0)) for r in limits}

    async def defaults(self) -> dict[str, int]:
        async with self.state.db.reader() as s:
            return await self.class_limits(s)

    async def update(self, project_id: str, user_id: str | None, values: dict[str, int], *,
                     force: bool) -> dict[str, int]:
        async with self.state.db.session() as s:
            await q.lock(s, project_id)
            if not force:
                used = await self.usage_in(s, project_id, user_id, None)
                for resource, limit in values.items():
                    if limit != -1 and limit < used.get(resource, 0):
                        raise exc.BadRequest(
                            f"Quota limit {limit} for {resource} must be greater than or equal to "
                            f"already used and reserved {used[resource]}.")
            if user_id:
                project = await self.limits_in(s, project_id)
                for resource, limit in values.items():
                    if project[resource] != -1 and (limit == -1 or limit > project[resource]):
                        raise exc.BadRequest(
                            f"Quota limit {limit} for {resource} must be less than or equal to "
                            f"{project[resource]}.")
            for resource, limit in values.items():
                await q.set_limit(s, project_id, user_id or "", resource, limit)
        return await self.show(project_id, user_id)

    async def delete(self, project_id: str, user_id: str | None) -> None:
        async with self.state.db.session() as s:
            await q.delete_limits(s, project_id, user_id)

    async def update_class(self, class_name: str, values: dict[str, int]) -> dict[str, int]:
        async with self.state.db.session() as s:
            for resource, limit in values.items():
                await q.set_class_limit(s, class_name, resource, limit)
        return await self.show_class(class_name)

    async def show_class(self, class_name: str) -> dict[str, int]:
        async with self.state.db.reader() as s:
            return await self.class_limits(s, class_name)

    # -- checks inside a creating transaction -------------------------------------------------------
    async def allowed_instances(self, s: AsyncSession, project_id: str, user_id: str, *, min_count: int,
                                max_count: int, vcpus: int, ram: int) -> int:
        """How many of ``max_count`` instances fit (at least ``min_count``), or OverQuota as Nova."""
        await q.lock(s, project_id)
        allowed = max_count
        for scope_user in (None, user_id):
            limits = await self.limits_in(s, project_id, scope_user)
            u = await qi.usage(s, project_id, scope_user)
            used = {"instances": u.instances, "cores": u.cores, "ram": u.ram}
            per = {"instances": 1, "cores": vcpus, "ram": ram}
            fits = {r: (max_count if limits[r] < 0 or per[r] == 0
                        else max(0, (limits[r] - used[r]) // per[r])) for r in per}
            n = min(fits.values())
            if n < min_count:
                overs = [r for r in ("instances", "cores", "ram") if fits[r] < min_count]
                requested = {"instances": str(min_count) if min_count == max_count
                             else f"{min_count}-{max_count}", "cores": str(vcpus * max_count),
                             "ram": str(ram * max_count)}
                raise exc.OverQuota(
                    f"Quota exceeded for {', '.join(overs)}: Requested "
                    f"{', '.join(requested[r] for r in overs)}, but already used "
                    f"{', '.join(str(used[r]) for r in overs)} of "
                    f"{', '.join(str(limits[r]) for r in overs)} {', '.join(overs)}")
            allowed = min(allowed, n)
        return allowed

    async def check_metadata(self, s: AsyncSession, project_id: str, count: int) -> None:
        limit = (await self.limits_in(s, project_id))["metadata_items"]
        if 0 <= limit < count:
            raise exc.OverQuota(f"Maximum number of metadata items exceeds {limit}")

    async def check_key_pairs(self, s: AsyncSession, user_id: str, project_id: str | None) -> None:
        limits = await self.limits_in(s, project_id, user_id) if project_id else await self.class_limits(s)
        limit = limits["key_pairs"]
        if limit >= 0 and await qk.count(s, user_id) >= limit:
            raise exc.OverQuota("Quota exceeded, too many key pairs.")

    async def check_server_groups(self, s: AsyncSession, project_id: str, user_id: str) -> None:
        await q.lock(s, project_id)
        for scope_user in (None, user_id):
            limit = (await self.limits_in(s, project_id, scope_user))["server_groups"]
            if limit >= 0 and await qg.count(s, project_id, scope_user) >= limit:
                raise exc.OverQuota("Quota exceeded, too many server groups.")

    async def check_group_members(self, s: AsyncSession, project_id: str, user_id: str, group_id: str,
                                  adding: int) -> None:
        limit = (await self.limits_in(s, project_id, user_id))["server_group_members"]
        if limit >= 0 and len(await qg.live_members(s, group_id)) + adding > limit:
            raise exc.OverQuota("Quota exceeded, too many servers in group")
