"""Handlers for /v2/images/{image_id}/members[/{member_id}]."""

from __future__ import annotations

from typing import Any

from nubes.core.api.http import Request, empty_response, json_response
from nubes.image.api import views
from nubes.image.api.body import read_json
from nubes.image.api.policy import ImagePolicy
from nubes.image.service import members


def _state(req: Request) -> Any:
    return req.rt.extra["image"]


async def create_member(req: Request):
    row = await members.add(_state(req), req.ctx, ImagePolicy(req.ctx), req.path_params["image_id"],
                            await read_json(req))
    return json_response(views.member(row))


async def list_members(req: Request):
    rows = await members.list_members(_state(req), req.ctx, ImagePolicy(req.ctx), req.path_params["image_id"])
    return json_response({"members": [views.member(r) for r in rows], "schema": "/v2/schemas/members"})


async def show_member(req: Request):
    row = await members.show(_state(req), req.ctx, ImagePolicy(req.ctx), req.path_params["image_id"],
                             req.path_params["member_id"])
    return json_response(views.member(row))


async def update_member(req: Request):
    row = await members.update(_state(req), req.ctx, ImagePolicy(req.ctx), req.path_params["image_id"],
                               req.path_params["member_id"], await read_json(req))
    return json_response(views.member(row))


async def delete_member(req: Request):
    await members.remove(_state(req), req.ctx, ImagePolicy(req.ctx), req.path_params["image_id"],
                         req.path_params["member_id"])
    return empty_response(204)
