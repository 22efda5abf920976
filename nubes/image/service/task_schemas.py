"""The schemas of tasks served at /v2/schemas/task and /v2/schemas/tasks."""

from __future__ import annotations

from typing import Any

from nubes.image.service.tasks import STATUSES, TYPES


def _props() -> dict[str, Any]:
    ro = {"readOnly": True}
    return {
        "id": {"type": "string", "description": "An identifier for the task",
               "pattern": "^([0-9a-fA-F]){8}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-"
                          "([0-9a-fA-F]){12}$"},
        "type": {"type": "string", "description": "The type of task represented by this content",
                 "enum": list(TYPES)},
        "status": {"type": "string", "description": "The current status of this task",
                   "enum": list(STATUSES)},
        "input": {"type": "object", "description": "The parameters required by task, JSON blob"},
        "result": {"type": ["null", "object"], "description": "The result of current task, JSON blob"},
        "owner": {"type": "string", "description": "An identifier for the owner of this task"},
        "message": {"type": "string", "description": "Human-readable informative message only included "
                                                     "when appropriate (usually on failure)"},
        "image_id": {"type": ["null", "string"], "description": "Image associated with the task", **ro},
        "request_id": {"type": ["null", "string"], "description": "Request ID of the task's request", **ro},
        "user_id": {"type": ["null", "string"], "description": "User associated with the task", **ro},
        "expires_at": {"type": ["null", "string"], "description": "Datetime when this resource would "
                                                                 "be subject to removal"},
        "created_at": {"type": "string", "description": "Datetime when this resource was created"},
        "updated_at": {"type": "string", "description": "Datetime when this resource was updated"},
        "self": {"type": "string", **ro},
        "schema": {"type": "string", **ro},
    }


def task() -> dict[str, Any]:
    return {"name": "task", "properties": _props(), "required": ["type", "input"],
            "additionalProperties": False,
            "links": [{"rel": "self", "href": "{self}"}, {"rel": "describedby", "href": "{schema}"}]}


def tasks() -> dict[str, Any]:
    stub = {k: v for k, v in _props().items() if k not in ("input", "result", "message", "image_id",
                                                            "request_id", "user_id")}
    return {"name": "tasks",
            "properties": {"tasks": {"type": "array", "items": {"name": "task", "properties": stub}},
                           "schema": {"type": "string"}, "first": {"type": "string"},
                           "next": {"type": "string"}},
            "links": [{"rel": "first", "href": "{first}"}, {"rel": "next", "href": "{next}"},
                      {"rel": "describedby", "href": "{schema}"}]}
