"""GET /v2.0/availability_zones: the zones of the DHCP (network) and L3 (router) agents."""

from __future__ import annotations

from nubes.core.api.http import Request, json_response
from nubes.network.exceptions import BadRequest

FILTERS = ("name", "resource", "state")
_CONTROL = ("fields", "sort_key", "sort_dir", "limit", "marker", "page_reverse")


async def list_availability_zones(req: Request):
    ctx = req.ctx
    params = req.query_params
    bad = sorted({k for k in params if k not in FILTERS and k not in _CONTROL})
    if bad:
        raise BadRequest(f"[{', '.join(bad)}] is invalid attribute for filtering")
    zones = await req.rt.extra["network"].agents.availability_zones()
    for name in FILTERS:
        wanted = params.getlist(name)
        if wanted:
            zones = [z for z in zones if z[name] in wanted]
    zones = [z for z in zones if ctx.allowed("get_availability_zone", {"project_id": ctx.project_id})]
    fields = [f for value in params.getlist("fields") for f in value.split(",") if f]
    if fields:
        zones = [{k: z[k] for k in z if k in fields} for z in zones]
    return json_response({"availability_zones": zones})
