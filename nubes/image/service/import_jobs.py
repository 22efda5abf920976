"""Import jobs: what an import does (``ImportJob``), kept with its image so that another process
can tell whether it still runs and resume it when not, and the tasks of this process running them.

While an import runs its image carries Glance's ``os_glance_import_task`` (the lock: the job's
task id) and ``os_glance_importing_to_stores``, and the hidden ``os_glance_import_job``: the job
as JSON with its owner (host, pid and a token of the process) and ``beat``, refreshed every
``recovery_lease / 4`` seconds while the job runs. ``owner_gone`` is the lease: the owner has not
refreshed it for ``recovery_lease`` seconds, or it is a process of this host that is gone.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from nubes.core.db.base import utcnow
from nubes.image.db.queries import images as q

LOG = logging.getLogger(__name__)

LOCK = "os_glance_import_task"
IMPORTING = "os_glance_importing_to_stores"
FAILED = "os_glance_failed_import"
JOB = "os_glance_import_job"          # hidden (api.views); the os_glance_ namespace is reserved
# This process, as an import's owner: a pid alone may come back (a container's pid 1 after a restart).
PROCESS = {"host": socket.gethostname(), "pid": os.getpid(), "token": uuid.uuid4().hex}


@dataclass
class ImportJob:
    image_id: str
    method: str
    stores: list[str]
    all_must_succeed: bool
    uri: str | None = None
    task_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    def dump(self) -> str:
        """The job as kept in ``os_glance_import_job``, owned by this process from now."""
        return json.dumps({**asdict(self), "owner": PROCESS, "beat": utcnow().isoformat()})

    @classmethod
    def load(cls, text: str | None) -> tuple[ImportJob, dict[str, Any]] | None:
        """(the job, its owner with ``beat``) from ``os_glance_import_job``, None if unreadable."""
        try:
            data = json.loads(text or "")
            job = cls(image_id=data["image_id"], method=data["method"], stores=list(data["stores"]),
                      all_must_succeed=bool(data["all_must_succeed"]), uri=data.get("uri"),
                      task_id=data["task_id"])
        except (ValueError, TypeError, KeyError):
            return None
        return job, {**dict(data.get("owner") or {}), "beat": data.get("beat")}


def owner_gone(owner: dict[str, Any], lease: float, now: datetime | None = None) -> bool:
    """Whether the process that owns an import no longer runs it: it has not refreshed the job for
    ``lease`` seconds, or it was a process of this host that is not there any more."""
    try:
        beat = datetime.fromisoformat(str(owner.get("beat")))
    except ValueError:
        return True
    if beat.tzinfo is None:
        beat = beat.replace(tzinfo=UTC)
    if (now or utcnow()) - beat > timedelta(seconds=lease):
        return True
    if owner.get("host") != PROCESS["host"]:
        return False
    if owner.get("token") == PROCESS["token"]:
        return False                    # this process: ImportManager knows whether it still runs
    pid = int(owner.get("pid") or 0)
    if pid == PROCESS["pid"] or pid <= 0:
        return True                     # our pid, an earlier process's token: that one is dead
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


class ImportManager:
    """The background tasks moving data for imports, one per image at most; while they run,
    their jobs' ``beat`` is refreshed (``heartbeats``), so other processes see them owned."""

    def __init__(self) -> None:
        self.tasks: dict[str, asyncio.Task[None]] = {}
        self.jobs: dict[str, ImportJob] = {}

    def running(self, image_id: str) -> bool:
        task = self.tasks.get(image_id)
        return task is not None and not task.done()

    async def heartbeats(self, state: Any, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            for image_id, job in list(self.jobs.items()):
                if not self.running(image_id):
                    self.jobs.pop(image_id, None)
                    continue
                try:
                    async with state.db.session() as s:
                        props = (await q.properties_of(s, [image_id])).get(image_id) or {}
                        if props.get(LOCK) == job.task_id:
                            await q.set_property(s, image_id, JOB, job.dump())
                except asyncio.CancelledError:
                    raise
                except Exception:      # the next beat tries again; a missed one only risks a resume
                    LOG.warning("refreshing the import job of image %s failed", image_id, exc_info=True)

    def start(self, image_id: str, work: Callable[[], Any]) -> None:
        task = asyncio.create_task(work(), name=f"image-import-{image_id}")
        self.tasks[image_id] = task
        task.add_done_callback(lambda t: self.tasks.pop(image_id, None) if self.tasks.get(image_id) is t
                               else None)

    def cancel(self, image_id: str) -> None:
        task = self.tasks.get(image_id)
        if task is not None:
            task.cancel()

    async def close(self) -> None:
        tasks = list(self.tasks.values())
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
