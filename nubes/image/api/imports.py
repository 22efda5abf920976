"""Handler for POST /v2/images/{image_id}/import (interoperable image import)."""

from __future__ import annotations

from nubes.core.api.http import Request, empty_response
from nubes.image.api.body import read_json
from nubes.image.api.policy import ImagePolicy
from nubes.image.service import imports


async def import_image(req: Request):
    await imports.start_import(req.rt.extra["image"], req.ctx, ImagePolicy(req.ctx),
                               req.path_params["image_id"],
                               await read_json(req), req.headers.get("x-image-meta-store"))
    return empty_response(202)
