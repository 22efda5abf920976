"""Handler for /limits: the project's absolute limits and what it uses (rate limits are gone)."""

from __future__ import annotations

from nubes.core.api.http import Request, json_response

P = "os_compute_api:limits"


async def show_limits(req: Request):
    ctx, version = req.ctx, req.ctx.api_version
    ctx.can(P, {"project_id": ctx.project_id})
    pid = ctx.project_id or ""       # a token without a project sees the defaults, as in Nova
    wanted = req.query_params.get("tenant_id")
    if wanted and wanted != ctx.project_id:
        ctx.can(f"{P}:other_project", {"project_id": wanted})
        pid = wanted
    detail = await req.rt.extra["compute"].quotas.detail(pid, None, ctx.user_id)
    lim = {r: d.limit for r, d in detail.items()}
    used = {r: d.in_use for r, d in detail.items()}
    absolute = {"maxServerMeta": lim["metadata_items"], "maxTotalInstances": lim["instances"],
                "maxTotalRAMSize": lim["ram"], "maxTotalCores": lim["cores"], "maxTotalKeypairs": lim["key_pairs"],
                "maxServerGroups": lim["server_groups"], "maxServerGroupMembers": lim["server_group_members"],
                "totalRAMUsed": used["ram"], "totalCoresUsed": used["cores"],
                "totalInstancesUsed": used["instances"], "totalServerGroupsUsed": used["server_groups"]}
    if version < (2, 57):
        absolute.update(maxPersonality=lim["injected_files"], maxPersonalitySize=lim["injected_file_content_bytes"])
    if version < (2, 39):
        absolute["maxImageMeta"] = lim["metadata_items"]
    if version < (2, 36):
        absolute.update(maxTotalFloatingIps=10, maxSecurityGroups=10, maxSecurityGroupRules=20,
                        totalFloatingIpsUsed=0, totalSecurityGroupsUsed=0)
    return json_response({"limits": {"rate": [], "absolute": absolute}})
