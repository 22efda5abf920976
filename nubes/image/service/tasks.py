"""Tasks (Glance's ``/v2/tasks`` and ``/v2/images/{id}/tasks``): the record of an asynchronous job.

Every import an image goes through (``POST /v2/images/{id}/import``) is a task of type
``api_image_import``, made with the import's lock and finished with it, so
``GET /v2/images/{id}/tasks`` shows what happened (the message says why an import failed). The
tasks API's own ``import`` task (admins, by Glance's default ``tasks_api_access``) makes an image
from ``image_properties`` and fetches its data from ``import_from``: the same web-download job,
under the same operator allow-list (``[image] web_download_allowed``).

A task is ``pending`` when made, ``processing`` while its job runs, then ``success`` (``result``
names the image) or ``failure`` (``message`` says why); it then expires ``task_time_to_live``
hours later, as Glance's (expired tasks are kept, not scrubbed).
"""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from nubes.core.context import RequestContext
from nubes.core.db.base import utcnow
from nubes.core.exceptions import BadRequest, CloudError
from nubes.image.db.models import Task
from nubes.image.db.queries import tasks as tq
from nubes.image.exceptions import TaskNotFound
from nubes.image.service.metadefs import isotime

LOG = logging.getLogger(__name__)

TYPES = ("import", "api_image_import", "location_import")
STATUSES = ("pending", "processing", "success", "failure")
SORT_KEYS = ("created_at", "updated_at", "id", "type", "status", "expires_at", "owner")
TIME_TO_LIVE = timedelta(hours=48)      # Glance's task_time_to_live
IMPORT_TASK_FIELDS = ("import_from", "import_from_format", "image_properties")


def view(task: Task, *, stub: bool = False) -> dict[str, Any]:
    """A task on the wire; a list shows stubs (no input, result or message), as Glance's."""
    out: dict[str, Any] = {"id": task.id, "type": task.type, "status": task.status, "owner": task.owner,
                           "expires_at": isotime(task.expires_at), "created_at": isotime(task.created_at),
                           "updated_at": isotime(task.updated_at), "self": f"/v2/tasks/{task.id}",
                           "schema": "/v2/schemas/task"}
    if not stub:
        out.update(input=task.input or {}, result=task.result, message=task.message or "",
                   image_id=task.image_id, request_id=task.request_id, user_id=task.user_id)
    return out


# ------------------------------------------------------------------ what import jobs record

async def begin(s: AsyncSession, task_id: str, kind: str, ctx: RequestContext | None, owner: str | None,
                image_id: str | None, task_input: dict[str, Any]) -> None:
    """The task of an import that is starting (inside the transaction that takes the lock)."""
    now = utcnow()
    row = await tq.get(s, task_id)
    if row is None:
        s.add(Task(id=task_id, type=kind, status="processing", owner=owner, image_id=image_id,
                   user_id=ctx.user_id if ctx else None, request_id=ctx.request_id if ctx else None,
                   input=task_input, message="", created_at=now, updated_at=now))
    else:
        row.status, row.image_id, row.updated_at = "processing", image_id, now
    await s.flush()


async def finish(s: AsyncSession, task_id: str, ok: bool, message: str = "") -> None:
    """The import's job ended: success with the image as its result, or failure saying why. A job
    resumed from before tasks were recorded has none: nothing to record."""
    row = await tq.get(s, task_id)
    if row is None:
        return
    now = utcnow()
    row.status = "success" if ok else "failure"
    row.result = {"image_id": row.image_id} if ok else None
    row.message = "" if ok else message
    row.updated_at, row.expires_at = now, now + TIME_TO_LIVE
    await s.flush()


# ------------------------------------------------------------------ the API

def _check_new(body: Any, disk_formats: list[str]) -> tuple[str, dict[str, Any]]:
    if not isinstance(body, dict):
        raise BadRequest("Unexpected body type. Expected list/dict.")
    for key in ("id", "status", "owner", "result", "message", "created_at", "updated_at", "expires_at",
                "self", "schema"):
        if key in body:
            raise BadRequest(f"Attribute '{key}' is read-only.")
    kind, task_input = body.get("type"), body.get("input")
    if kind is None:
        raise BadRequest("Task type is required.")
    if kind not in ("import",):
        if kind in TYPES:
            raise BadRequest(f"Task type '{kind}' cannot be created through the tasks API.")
        raise BadRequest(f"Invalid type value: {kind}")
    if not isinstance(task_input, dict):
        raise BadRequest("Task input is required and must be an object.")
    for key in IMPORT_TASK_FIELDS:
        if key not in task_input:
            raise BadRequest(f"Input does not contain '{key}' field")
    if not isinstance(task_input["import_from"], str) or not task_input["import_from"]:
        raise BadRequest("'import_from' must be a URL.")
    if task_input["import_from_format"] not in disk_formats:
        raise BadRequest(f"Invalid value for 'import_from_format': {task_input['import_from_format']!r}; "
                         f"one of {', '.join(disk_formats)} is expected.")
    if not isinstance(task_input["image_properties"], dict):
        raise BadRequest("'image_properties' must be an object.")
    return kind, task_input


async def create(state: Any, ctx: RequestContext, authz: Any, body: Any) -> dict[str, Any]:
    """POST /v2/tasks: an ``import`` task. What its job finds wrong (a URL the operator does not
    allow, image properties the image schema refuses) fails the task, as in Glance."""
    from nubes.image.service import images, imports

    kind, task_input = _check_new(body, list(state.conf.disk_formats))
    task_id = str(uuid.uuid4())
    now = utcnow()
    async with state.db.session() as s:
        s.add(Task(id=task_id, type=kind, status="pending", owner=ctx.project_id, user_id=ctx.user_id,
                   request_id=ctx.request_id, input=task_input, message="", created_at=now, updated_at=now))
    failure = None
    uri = task_input["import_from"]
    if not imports.allowed_url(uri, state.conf.web_download_allowed):
        failure = (f"URI for import_from does not pass filtering: {uri} (the operator allows only URLs "
                   "listed in [image] web_download_allowed)")
    else:
        props = {"disk_format": task_input["import_from_format"], "container_format": "bare",
                 **task_input["image_properties"]}
        try:
            image = await images.create(state, ctx, authz, props)
            await imports.start_task_import(state, ctx, image, uri, task_id)
        except CloudError as exc:
            failure = exc.message
    if failure is not None:
        async with state.db.session() as s:
            await finish(s, task_id, False, failure)
    return await show(state, ctx, task_id)


async def show(state: Any, ctx: RequestContext, task_id: str) -> dict[str, Any]:
    async with state.db.reader() as s:
        row = await tq.get(s, task_id)
    if row is None or not (ctx.is_admin or row.owner == ctx.project_id):
        raise TaskNotFound(task_id)
    return view(row)


async def listing(state: Any, ctx: RequestContext,
                  params: dict[str, str]) -> tuple[list[dict[str, Any]], str | None]:
    filters: dict[str, Any] = {}
    if "type" in params:
        if params["type"] not in TYPES:
            raise BadRequest(f"Invalid type value: {params['type']}")
        filters["type"] = params["type"]
    if "status" in params:
        if params["status"] not in STATUSES:
            raise BadRequest(f"Invalid status value: {params['status']}")
        filters["status"] = params["status"]
    sort_key, sort_dir = params.get("sort_key", "created_at"), params.get("sort_dir", "desc")
    if sort_key not in SORT_KEYS:
        raise BadRequest(f"Invalid sort key: {sort_key}")
    if sort_dir not in ("asc", "desc"):
        raise BadRequest(f"Invalid sort direction: {sort_dir}")
    limit = state.conf.limit_param_default
    if "limit" in params:
        try:
            limit = int(params["limit"])
        except ValueError:
            raise BadRequest("limit param must be an integer") from None
        if limit < 0:
            raise BadRequest("limit param must be positive")
    limit = min(limit, state.conf.api_limit_max)
    async with state.db.reader() as s:
        marker = None
        if params.get("marker"):
            marker = await tq.get(s, params["marker"])
            if marker is None or not (ctx.is_admin or marker.owner == ctx.project_id):
                raise TaskNotFound(params["marker"])
        rows = await tq.listing(s, owner=ctx.project_id, see_all=ctx.is_admin, filters=filters,
                                sort_key=sort_key, sort_dir=sort_dir, marker=marker, limit=limit)
    out = [view(r, stub=True) for r in rows]
    return out, (out[-1]["id"] if out and len(out) == limit else None)


async def of_image(state: Any, ctx: RequestContext, authz: Any, image_id: str) -> list[dict[str, Any]]:
    """GET /v2/images/{id}/tasks: whoever may get the image sees its tasks (Glance's rule)."""
    from nubes.image.service import images

    await images.show(state, ctx, authz, image_id)
    async with state.db.reader() as s:
        return [view(t) for t in await tq.for_image(s, image_id)]
