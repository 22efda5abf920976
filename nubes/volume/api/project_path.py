"""Cinder's URLs carry the project id (``/v3/{project_id}/volumes``), optional from 3.67: this
wrapper takes it out of the path so one route table serves both forms. A project id that is not
the token's is refused later, by the handlers' policy checks (it only says which URL form)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

# The first path segments under /v3/ that are collections, not project ids.
COLLECTIONS = frozenset({
    "volumes", "types", "snapshots", "backups", "attachments", "os-volume-transfer", "volume-transfers",
    "qos-specs", "os-quota-sets", "os-quota-class-sets", "limits", "os-availability-zone", "os-services",
    "scheduler-stats", "messages", "default-types", "groups", "group_types", "group_snapshots",
    "extensions", "resource_filters", "os-hosts", "clusters", "workers", "manageable_volumes",
    "manageable_snapshots", "os-volume-manage", "os-snapshot-manage", "capabilities", "os-backup-services",
    "consistencygroups", "cgsnapshots", "os-volume-type-access", "os-types-manage",
})


class ProjectPath:
    def __init__(self, app: Any) -> None:
        self.app = app

    def __getattr__(self, name: str) -> Any:
        return getattr(self.app, name)

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] == "http":
            path = scope["path"]
            parts = path.split("/", 3)      # "", "v3", project?, rest
            if len(parts) >= 4 and parts[1] == "v3" and parts[2] and parts[2] not in COLLECTIONS:
                scope = {**scope, "path": f"/v3/{parts[3]}", "raw_path": f"/v3/{parts[3]}".encode(),
                         "url_project_id": parts[2]}
        await self.app(scope, receive, send)
