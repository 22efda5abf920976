"""The worker's handlers of the managers' reports on volume sources and actions (extend, revert,
upload to image). Each checks the record's ``task`` first, so a second delivery or a stale
report changes nothing; each ends the task (status back, ``task_args`` gone, quota committed or
rolled back, a user message on failure)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete

from nubes.volume.db.models import Snapshot, Volume, VolumeGlanceMetadata
from nubes.volume.service import messages, volume_tasks

CREATE_TASKS = ("creating", "cloning", "downloading")


class ActionReports:
    def __init__(self, worker: Any) -> None:
        self.w = worker

    @property
    def db(self) -> Any:
        return self.w.db

    def handlers(self) -> dict[str, Any]:
        return {"volume_extended": self.volume_extended, "volume_extend_failed": self.volume_extend_failed,
                "volume_reverted": self.volume_reverted, "volume_revert_failed": self.volume_revert_failed,
                "volume_uploaded": self.volume_uploaded, "volume_upload_failed": self.volume_upload_failed}

    async def created_from_source(self, s: Any, row: Volume, payload: dict) -> None:
        """A volume made from an image carries the image's metadata and is bootable."""
        metadata = payload.get("image_metadata")
        if metadata:
            await s.execute(delete(VolumeGlanceMetadata).where(VolumeGlanceMetadata.volume_id == row.id))
            for key, value in metadata.items():
                s.add(VolumeGlanceMetadata(volume_id=row.id, key=key, value=str(value)))
        if payload.get("bootable"):
            row.bootable = True
        await volume_tasks.clear_args(s, row.id)

    async def _row(self, s: Any, volume_id: str, task: str) -> Volume | None:
        row = await s.get(Volume, volume_id)
        return row if row is not None and row.task == task else None

    async def _fail_message(self, s: Any, row: Volume, action: str, payload: dict,
                            detail: str = messages.DETAIL_UNKNOWN) -> None:
        await messages.write(s, project_id=row.project_id, resource_uuid=row.id, action_id=action,
                             detail_id=detail, request_id=payload.get("request_id"),
                             text=payload.get("message"))

    # extend
    async def volume_extended(self, payload: dict) -> None:
        async with self.db.session() as s:
            row = await self._row(s, payload["volume_id"], "extending")
            if row is None:
                return
            args = await volume_tasks.clear_args(s, row.id)
            row.size = int(payload.get("new_size") or args.get("new_size") or row.size)
            row.status, row.task = args.get("previous_status") or "available", None
            await self.w.state.quotas.commit(s, args.get("reservations") or [])

    async def volume_extend_failed(self, payload: dict) -> None:
        async with self.db.session() as s:
            row = await self._row(s, payload["volume_id"], "extending")
            if row is None:
                return
            args = await volume_tasks.clear_args(s, row.id)
            row.status, row.task = "error_extending", None
            await self.w.state.quotas.rollback(s, args.get("reservations") or [])
            await self._fail_message(s, row, messages.ACTION_EXTEND, payload, messages.DETAIL_DRIVER_FAILED_EXTEND)

    # revert
    async def _end_revert(self, payload: dict, ok: bool) -> None:
        async with self.db.session() as s:
            row = await self._row(s, payload["volume_id"], "reverting")
            if row is None:
                return
            await volume_tasks.clear_args(s, row.id)
            row.status, row.task = ("available" if ok else "error"), None
            snap = await s.get(Snapshot, payload.get("snapshot_id") or "")
            if snap is not None and snap.status == "restoring":
                snap.status = "available"
            if not ok:
                await self._fail_message(s, row, messages.ACTION_REVERT, payload)

    async def volume_reverted(self, payload: dict) -> None:
        await self._end_revert(payload, True)

    async def volume_revert_failed(self, payload: dict) -> None:
        await self._end_revert(payload, False)

    # upload to image
    async def _end_upload(self, payload: dict, ok: bool) -> None:
        async with self.db.session() as s:
            row = await self._row(s, payload["volume_id"], "uploading")
            if row is None:
                return
            args = await volume_tasks.clear_args(s, row.id)
            row.status, row.task = args.get("previous_status") or "available", None
            if not ok:
                await self._fail_message(s, row, messages.ACTION_COPY_VOLUME_TO_IMAGE, payload, messages.DETAIL_UPLOAD)

    async def volume_uploaded(self, payload: dict) -> None:
        await self._end_upload(payload, True)

    async def volume_upload_failed(self, payload: dict) -> None:
        await self._end_upload(payload, False)
