"""``evacuate``: rebuild a server whose host is down on another host, as Nova's.

The API checks what Nova checks — the server ACTIVE, STOPPED or ERROR with no task, its host's
compute service down (400 ``Compute service of <host> is still in use.`` otherwise), a named host
that exists and is not the server's own — then writes, in one transaction, the ``rebuilding``
task, the ``evacuate`` instance action and an ``evacuation`` migration, and hands it to the
conductor (``conductor.evacuate``): the scheduler picks another host (the named one is checked by
the filters; from 2.29 to 2.67 ``force`` skips them), it is claimed, and that host's agent binds
the ports, spawns the guest from the server's image and reports. No instance storage is shared
between this cloud's hosts, so an ``onSharedStorage`` of true (before 2.14) is refused.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from nubes.core.context import RequestContext
from nubes.compute import exceptions as exc
from nubes.compute import rpc
from nubes.compute.db.models import Instance
from nubes.compute.db.queries import host_states as qh
from nubes.compute.service.moves import _flavor_row_id
from nubes.compute.service.server_actions_rules import RULES

LOG = logging.getLogger(__name__)


@dataclass
class EvacuateRequest:
    host: str | None = None
    force: bool = False
    admin_password: str | None = None
    stopped: bool = False           # 2.95: the server ends STOPPED on its new host


class Evacuations:
    def __init__(self, state: Any, actions: Any) -> None:
        self.state = state
        self.actions = actions

    async def evacuate(self, ctx: RequestContext, instance_id: str, req: EvacuateRequest) -> None:
        servers, moves = self.state.servers, self.state.moves

        async def prepare(s: Any, row: Instance) -> str:
            if await servers._host_up(s, row.host):
                raise exc.BadRequest(f"Compute service of {row.host} is still in use.")
            if req.host:
                if not any(n.host == req.host for n in await qh.nodes(s)):
                    raise exc.NotFound(f"Compute host {req.host} could not be found.")
                if req.host == row.host:
                    raise exc.BadRequest("The target host can't be the same one.")
            fid = await _flavor_row_id(s, row.flavor["flavorid"])
            m = moves._migration(row, "evacuation", "accepted", fid, fid)
            s.add(m)
            return m.uuid

        args = {"host": req.host, "force": req.force, "stopped": req.stopped}
        begun = await self.actions.begin(ctx, instance_id, RULES["evacuate"], mutate=prepare,
                                         pending=("evacuate", args))
        await self.state.bus.cast(rpc.CONDUCTOR_TOPIC, "evacuate_instance", {
            "instance_id": instance_id, "migration_id": begun.result, "request_id": begun.request_id,
            "admin_password": req.admin_password, **args})
        LOG.info("evacuation of %s from %s requested", instance_id, begun.host)
