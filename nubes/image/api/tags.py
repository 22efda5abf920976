"""Handlers for PUT/DELETE /v2/images/{image_id}/tags/{tag} (one tag at a time)."""

from __future__ import annotations

from nubes.core.api.http import Request, empty_response
from nubes.image.api.policy import ImagePolicy
from nubes.image.service import images


async def add_tag(req: Request):
    await images.change_tag(req.rt.extra["image"], req.ctx, ImagePolicy(req.ctx), req.path_params["image_id"],
                            req.path_params["tag"], add=True)
    return empty_response(204)


async def delete_tag(req: Request):
    await images.change_tag(req.rt.extra["image"], req.ctx, ImagePolicy(req.ctx), req.path_params["image_id"],
                            req.path_params["tag"], add=False)
    return empty_response(204)
