"""User messages (``/messages``): why an asynchronous operation failed, for the volume's owner.

Event, action and detail ids are Cinder's (cinder/message/message_field.py), so clients that
read them find what they expect."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from nubes.core.db.base import utcnow
from nubes.volume import exceptions as exc
from nubes.volume.db.models import Message

# Cinder's ids (cinder/message/message_field.py); 1xx are nubes' own, for failures Cinder writes
# no message about (docs/volume.md, "User messages").
ACTIONS = {"001": "schedule allocate volume", "002": "attach volume", "003": "copy volume to image",
           "004": "update attachment", "005": "copy image to volume", "006": "unmanage volume",
           "007": "extend volume", "008": "create volume from backend storage", "009": "create snapshot",
           "010": "delete snapshot", "011": "update snapshot", "012": "update snapshot metadata",
           "013": "create backup", "014": "delete backup", "015": "restore backup",
           "101": "delete volume", "102": "revert volume to snapshot"}
DETAILS = {"001": "An unknown error occurred.", "002": "Driver is not initialized at present.",
           "003": "Could not find any available weighted backend.",
           "004": "Failed to upload volume to image at backend.", "005": "Volume's attach mode is invalid.",
           "006": "Not enough quota resource for operation.",
           "007": "Image used for creating volume exceeds available space.",
           "009": "Compute service failed to extend volume.", "010": "Volume Driver failed to extend volume.",
           "012": "Driver failed to create the volume.", "013": "Snapshot failed to create.",
           "016": "Snapshot failed to delete.", "020": "Backup driver failed to create backup.",
           "021": "Failed to attach volume.", "022": "Failed to detach volume.",
           "025": "Backup driver failed to delete backup.", "026": "Backup driver failed to restore backup.",
           "101": "Driver failed to delete the volume."}
ACTION_SCHEDULE, ACTION_DELETE, ACTION_CREATE = "001", "101", "008"
ACTION_SNAPSHOT_CREATE, ACTION_SNAPSHOT_DELETE = "009", "010"
ACTION_COPY_IMAGE_TO_VOLUME, ACTION_EXTEND, ACTION_COPY_VOLUME_TO_IMAGE, ACTION_REVERT = "005", "007", "003", "102"
ACTION_ATTACH, ACTION_UPDATE_ATTACHMENT = "002", "004"
DETAIL_DRIVER_FAILED_EXTEND, DETAIL_DRIVER_FAILED_CREATE = "010", "012"
DETAIL_SNAPSHOT_CREATE, DETAIL_SNAPSHOT_DELETE, DETAIL_UPLOAD = "013", "016", "004"
DETAIL_ATTACH, DETAIL_DETACH = "021", "022"
DETAIL_UNKNOWN, DETAIL_NO_BACKEND, DETAIL_DELETE = "001", "003", "101"
MESSAGE_TTL = timedelta(days=30)


async def write(s: AsyncSession, *, project_id: str, resource_uuid: str, action_id: str, detail_id: str,
                request_id: str | None, text: str | None = None, resource_type: str = "VOLUME") -> Message:
    """Record a user message; ``text`` (a driver's reason) is said after Cinder's wording."""
    base = f"{ACTIONS.get(action_id, 'unknown action')}: {DETAILS.get(detail_id, DETAILS[DETAIL_UNKNOWN])}"
    row = Message(id=str(uuid.uuid4()), project_id=project_id, request_id=request_id, resource_type=resource_type,
                  resource_uuid=resource_uuid, event_id=f"VOLUME_{resource_type}_{action_id}_{detail_id}",
                  message_level="ERROR", action_id=action_id, detail_id=detail_id,
                  user_message=f"{base} ({text})" if text else base, created_at=utcnow(),
                  expires_at=utcnow() + MESSAGE_TTL)
    s.add(row)
    return row


class Messages:
    def __init__(self, state: Any) -> None:
        self.db = state.db

    async def list(self, see: set[str] | None, filters: dict[str, str], limit: int | None,
                   marker: str | None, sort_desc: bool) -> list[Message]:
        stmt = select(Message).where(Message.expires_at > utcnow())
        if see is not None:
            stmt = stmt.where(Message.project_id.in_(see))
        for key, value in filters.items():
            stmt = stmt.where(getattr(Message, key) == value)
        order = (Message.created_at.desc(), Message.id.desc()) if sort_desc else (Message.created_at, Message.id)
        async with self.db.reader() as s:
            rows = list((await s.execute(stmt.order_by(*order))).scalars())
        if marker:
            at = next((i for i, r in enumerate(rows) if r.id == marker), None)
            if at is None:
                raise exc.NotFound(f"Marker {marker} could not be found.")
            rows = rows[at + 1:]
        return rows[:limit] if limit is not None else rows

    async def get(self, message_id: str, see: set[str] | None) -> Message:
        async with self.db.reader() as s:
            row = await s.get(Message, message_id) if len(message_id) <= 36 else None
        if row is None or (see is not None and row.project_id not in see):
            raise exc.MessageNotFound(message_id)
        return row

    async def delete(self, message_id: str, see: set[str] | None) -> None:
        row = await self.get(message_id, see)
        async with self.db.session() as s:
            await s.execute(delete(Message).where(Message.id == row.id))
