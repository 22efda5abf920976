"""Handlers for /v2/tasks, /v2/images/{image_id}/tasks and the task schemas."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from nubes.core.api.http import Request, json_response
from nubes.image import policies
from nubes.image.api.body import read_json
from nubes.image.api.policy import ImagePolicy
from nubes.image.service import task_schemas, tasks


def _state(req: Request) -> Any:
    return req.rt.extra["image"]


def _allowed(req: Request, rule: str) -> ImagePolicy:
    authz = ImagePolicy(req.ctx)
    authz.plain(policies.TASKS_API_ACCESS)
    authz.plain(rule)
    return authz


async def list_tasks(req: Request):
    _allowed(req, policies.GET_TASKS)
    rows, nxt = await tasks.listing(_state(req), req.ctx, dict(req.query_params))
    rest = [(k, v) for k, v in req.query_params.multi_items() if k != "marker"]
    body: dict[str, Any] = {"tasks": rows, "first": "/v2/tasks" + (f"?{urlencode(rest)}" if rest else ""),
                            "schema": "/v2/schemas/tasks"}
    if nxt:
        body["next"] = "/v2/tasks?" + urlencode([*rest, ("marker", nxt)])
    return json_response(body)


async def create_task(req: Request):
    authz = _allowed(req, policies.ADD_TASK)
    task = await tasks.create(_state(req), req.ctx, authz, await read_json(req))
    return json_response(task, 201, headers={"location": task["self"]})


async def show_task(req: Request):
    _allowed(req, policies.GET_TASK)
    return json_response(await tasks.show(_state(req), req.ctx, req.path_params["task_id"]))


async def image_tasks(req: Request):
    rows = await tasks.of_image(_state(req), req.ctx, ImagePolicy(req.ctx), req.path_params["image_id"])
    return json_response({"tasks": rows})


async def task_schema(req: Request):
    return json_response(task_schemas.task())


async def tasks_schema(req: Request):
    return json_response(task_schemas.tasks())
