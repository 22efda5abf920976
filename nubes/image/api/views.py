"""How images and members look on the wire (Glance's field names, times and links)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from nubes.image.db.models import ImageMember
from nubes.image.service.records import ImageRecord

# Kept by the service for itself: never shown (os_glance_* cannot be set by users either).
HIDDEN_PROPERTIES = ("os_glance_stage_host", "os_glance_import_job")


def isotime(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def image(rec: ImageRecord, schema_props: dict[str, Any]) -> dict[str, Any]:
    view: dict[str, Any] = {}
    for key, value in rec.properties.items():
        if key in HIDDEN_PROPERTIES:
            continue
        # Glance shows a null free-form property as "" (only declared ones may be null).
        view[key] = "" if value is None and key not in schema_props else value
    view.update(rec.core())
    view["id"] = rec.id
    view["created_at"] = isotime(rec.created_at)
    view["updated_at"] = isotime(rec.updated_at)
    view["tags"] = list(rec.tags)
    view["self"] = f"/v2/images/{rec.id}"
    view["file"] = f"/v2/images/{rec.id}/file"
    view["schema"] = "/v2/schemas/image"
    if rec.stores:
        view["stores"] = ",".join(rec.stores)
    return view


def member(row: ImageMember) -> dict[str, Any]:
    return {"created_at": isotime(row.created_at), "updated_at": isotime(row.updated_at),
            "image_id": row.image_id, "member_id": row.member, "status": row.status,
            "schema": "/v2/schemas/member"}
