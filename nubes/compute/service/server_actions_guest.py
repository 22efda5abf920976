"""Server actions that reach into the guest through its host's driver: ``changePassword`` (the
administrator's password, through an agent in the guest) and ``injectNetworkInfo`` (the current
network configuration). Both go API → the host's agent → driver, as Nova's do.

``changePassword`` is asked and answered (Nova's ``set_admin_password`` is an RPC call): the task
state ``updating_password`` and the instance action are written first, the agent then runs the
driver and ends the task with the action's event; a guest without an agent is the caller's 409.
The password is carried by that one message and kept nowhere.
"""

from __future__ import annotations

from typing import Any

from nubes.core.context import RequestContext
from nubes.core.exceptions import Timeout
from nubes.compute import exceptions as exc
from nubes.compute import rpc
from nubes.compute.service.server_actions_rules import RULES


class GuestActions:
    def __init__(self, state: Any, actions: Any) -> None:
        self.state = state
        self.actions = actions

    async def change_password(self, ctx: RequestContext, instance_id: str, password: str) -> None:
        begun = await self.actions.begin(ctx, instance_id, RULES["changePassword"],
                                         pending=("changePassword", {}))
        try:
            await self.state.bus.call(rpc.agent_topic(begun.host), "set_admin_password", {
                "instance_id": instance_id, "instance": begun.record, "password": password,
                "request_id": begun.request_id}, timeout=float(self.state.conf.rpc_timeout))
        except Timeout:
            # The host's agent rolls the task back when it comes back (agent.resume).
            raise exc.ComputeServiceUnavailable(begun.host) from None

    async def inject_network_info(self, ctx: RequestContext, instance_id: str) -> None:
        begun = await self.actions.begin(ctx, instance_id, RULES["injectNetworkInfo"], record=False)
        await self.state.bus.cast(rpc.agent_topic(begun.host), "inject_network_info", {
            "instance_id": instance_id, "instance": begun.record})
