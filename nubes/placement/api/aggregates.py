"""Handlers for /resource_providers/{uuid}/aggregates (1.1; generations from 1.19)."""

from __future__ import annotations

from nubes.core.api.http import Request, read_json
from nubes.placement import policies
from nubes.placement.api import schemas, views
from nubes.placement.api.validation import validate
from nubes.placement.service import providers


def _view(req: Request, aggs: list[str], gen: int) -> dict:
    out: dict = {"aggregates": aggs}
    if req.ctx.api_version >= (1, 19):
        out["resource_provider_generation"] = gen
    return out


async def list_aggregates(req: Request):
    req.ctx.can(policies.AGG_LIST)
    aggs, gen = await providers.aggregates(views.placement(req), req.path_params["uuid"])
    return views.respond(req, _view(req, aggs, gen))


async def update_aggregates(req: Request):
    req.ctx.can(policies.AGG_UPDATE)
    body = await read_json(req)
    if req.ctx.api_version >= (1, 19):
        validate(body, schemas.AGGREGATES_1_19)
        aggs, generation = body["aggregates"], body["resource_provider_generation"]
    else:
        aggs, generation = validate(body, schemas.AGGREGATE_LIST), None
    aggs, gen = await providers.set_aggregates(views.placement(req), req.path_params["uuid"], generation,
                                               aggs, bump=req.ctx.api_version >= (1, 19))
    return views.respond(req, _view(req, aggs, gen))
