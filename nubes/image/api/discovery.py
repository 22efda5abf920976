"""Discovery and schemas: /v2/info/import, /v2/info/stores[/detail], /v2/info/usage, /v2/schemas/*."""

from __future__ import annotations

import copy
from typing import Any

from nubes.core.api.http import Request, json_response
from nubes.image import policies
from nubes.image.api.policy import ImagePolicy
from nubes.image.service import quotas, schemas


def _state(req: Request) -> Any:
    return req.rt.extra["image"]


async def show_import_info(req: Request):
    methods = list(_state(req).conf.enabled_import_methods)
    return json_response({"import-methods": {"description": "Import methods available.",
                                             "type": "array", "value": methods}})


def _stores(req: Request, detail: bool) -> list[dict[str, Any]]:
    state = _state(req)
    out = []
    for sid, store in state.stores.by_id.items():
        item: dict[str, Any] = {"id": sid}
        if store.description:
            item["description"] = store.description
        if sid == state.stores.default_id:
            item["default"] = True
        if detail:
            item.update(type=store.store_type, weight=0, properties=store.properties())
        out.append(item)
    return out


async def list_stores(req: Request):
    return json_response({"stores": _stores(req, detail=False)})


async def list_stores_detail(req: Request):
    ImagePolicy(req.ctx).plain(policies.STORES_INFO_DETAIL)
    return json_response({"stores": _stores(req, detail=True)})


async def show_usage(req: Request):
    state, project = _state(req), req.ctx.project_id or ""
    usage = {
        quotas.COUNT_TOTAL: await state.count_images(project),
        quotas.COUNT_UPLOADING: await state.count_uploading(project),
        quotas.SIZE_TOTAL: await state.stored_bytes(project) // quotas.MIB,
        quotas.STAGE_TOTAL: await state.staged_bytes(project) // quotas.MIB,
    }
    body = {}
    for name, used in usage.items():
        limit = await state.quotas.limit(project, name)
        body[name] = {"limit": -1 if limit is None else limit, "usage": used}
    return json_response({"usage": body})


async def image_schema(req: Request):
    return json_response(copy.deepcopy(_state(req).image_schema))


async def images_schema(req: Request):
    return json_response(schemas.collection("images", copy.deepcopy(_state(req).image_schema)))


async def member_schema(req: Request):
    return json_response(schemas.member_schema())


async def members_schema(req: Request):
    return json_response(schemas.collection("members", schemas.member_schema()))
