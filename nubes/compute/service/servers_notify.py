"""``compute.instance.<action>.<start|end|error>`` events on the bus, for telemetry."""

from __future__ import annotations

import logging
from typing import Any

from nubes.core.db.base import utcnow
from nubes.core.exceptions import CloudError
from nubes.compute import rpc

LOG = logging.getLogger(__name__)


def payload(row: Any, **extra: Any) -> dict[str, Any]:
    return {"instance_id": row.id, "project_id": row.project_id, "user_id": row.user_id,
            "display_name": row.display_name, "host": row.host, "node": row.node,
            "availability_zone": row.availability_zone,
            "flavor": {k: row.flavor.get(k) for k in ("flavorid", "name", "vcpus", "memory_mb", "root_gb",
                                                      "ephemeral_gb", "swap")},
            "image_ref": row.image_ref, "state": row.vm_state, "task_state": row.task_state,
            "launched_at": row.launched_at.isoformat() if row.launched_at else None,
            "timestamp": utcnow().isoformat(), **extra}


class Notifier:
    def __init__(self, bus: Any) -> None:
        self.bus = bus

    async def publish(self, action: str, phase: str, row: Any, **extra: Any) -> None:
        try:
            await self.bus.publish(rpc.event_type(action, phase), payload(row, **extra))
        except CloudError:   # telemetry must never fail the operation it reports
            LOG.warning("could not publish %s", rpc.event_type(action, phase), exc_info=True)
