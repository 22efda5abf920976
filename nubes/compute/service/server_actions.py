"""Server actions in the API process: check them as Nova does, start them, hand them to the host.

The API layer has checked the action's policy first (``nubes.compute.api.authz``: the server's
owner is read, 404 when the caller cannot see it, then the rule). Every action then goes the same
way (``begin``): in one transaction the instance is read again, then the lock, the host and the
states are checked (``server_actions_rules``); the action's task state is set (``powering-off``,
``rebooting``...) and an instance action is recorded. After the commit the instance's host
gets ``instance_action`` (or the conductor a move); the host reports the end state through
the conductor (``instance_update``), with the action's events.

This module holds the power and lifecycle actions; ``server_actions_rebuild`` rebuild and
rescue, ``server_actions_shelve`` shelving, ``snapshots`` createImage, ``moves`` the moves.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from nubes.core.context import RequestContext
from nubes.core.exceptions import PolicyNotAuthorized
from nubes.core.db.base import utcnow
from nubes.compute import exceptions as exc
from nubes.compute import policies, rpc
from nubes.compute.db.models import BlockDeviceMapping, Instance
from nubes.compute.db.queries import actions as qa
from nubes.compute.db.queries import instances as qi
from nubes.compute.service import pending as pending_work
from nubes.compute.service import server_records
from nubes.compute.service.server_actions_rules import (MOVES_WITH_VOLUMES_UNSUPPORTED, RULES, Rule, check,
                                                       with_volumes)

LOG = logging.getLogger(__name__)
P = "os_compute_api"
Mutate = Callable[[Any, Instance], Awaitable[Any]]

# The simple actions: a driver call on the instance's host (their rules are named alike).
SIMPLE = ("start", "stop", "pause", "unpause", "suspend", "resume", "unrescue")


@dataclass(frozen=True)
class Owner:
    """What the API layer's policy checks read of a server: its project and user (the target),
    and who locked it (Nova's unlock_override applies to a lock of the other kind)."""

    id: str
    project_id: str
    user_id: str
    locked_by: str | None

    @property
    def target(self) -> dict[str, Any]:
        return {"project_id": self.project_id, "user_id": self.user_id}


@dataclass
class Begun:
    """An action started: the instance's record after the change, and what ``mutate`` returned."""

    record: dict[str, Any]
    host: str | None
    request_id: str
    result: Any = None


async def _check_volumes(s: Any, row: Instance, rule: Rule) -> None:
    if rule.name in MOVES_WITH_VOLUMES_UNSUPPORTED and row.image_ref:    # volume-backed: check() refused
        with_volumes(row, rule, await s.scalar(select(func.count()).select_from(BlockDeviceMapping).where(
            BlockDeviceMapping.instance_id == row.id, BlockDeviceMapping.destination_type == "volume")))


def expected_locker(row: Any, ctx: RequestContext) -> str:
    """Who a lock by this caller is recorded as: Nova's ``owner`` (the server's project) or ``admin``."""
    return "owner" if row.project_id == ctx.project_id else "admin"


class ServerActions:
    def __init__(self, state: Any) -> None:
        self.state = state

    # -- the common way in ------------------------------------------------------------------------
    async def visible(self, s: Any, ctx: RequestContext, instance_id: str, *, for_update: bool = False) -> Instance:
        row = await qi.get(s, instance_id, for_update=for_update)
        if row is None or (row.project_id != ctx.project_id and not ctx.is_admin):
            raise exc.InstanceNotFound(instance_id)
        return row

    async def owner(self, ctx: RequestContext, instance_id: str) -> Owner:
        """The server's owner, for the API layer's policy check; 404 when the caller cannot see it."""
        async with self.state.db.reader() as s:
            row = await self.visible(s, ctx, instance_id)
            return Owner(row.id, row.project_id, row.user_id, row.locked_by)

    async def precheck(self, ctx: RequestContext, instance_id: str, rule: Rule,
                       name: str | None = None) -> Instance:
        """The checks of ``begin`` without changing anything (before work outside the database)."""
        async with self.state.db.reader() as s:
            row = await self.visible(s, ctx, instance_id)
            check(row, rule, lock_exempt=ctx.is_admin, name=name)
            await _check_volumes(s, row, rule)
            return row

    async def begin(self, ctx: RequestContext, instance_id: str, rule: Rule, *,
                    name: str | None = None, mutate: Mutate | None = None, record: bool = True,
                    pending: tuple[str, dict[str, Any]] | None = None) -> Begun:
        """``pending``: the (action, args) of the message the action is handed on with, kept with
        the task state so that recovery can send it again (``service.pending``)."""
        async with self.state.db.session() as s:
            row = await self.visible(s, ctx, instance_id, for_update=True)
            check(row, rule, lock_exempt=ctx.is_admin, name=name)
            await _check_volumes(s, row, rule)
            result = await mutate(s, row) if mutate is not None else None
            if rule.task_state is not None:
                row.task_state = rule.task_state
            if pending is not None:
                pending_work.remember(row, pending[0], pending[1], ctx.request_id)
            row.updated_at = utcnow()
            if record:
                qa.start(s, row.id, rule.action, ctx.request_id, ctx.user_id, ctx.project_id)
            rec = server_records.record(row)
        return Begun(rec, rec.get("host"), ctx.request_id, result)

    async def to_host(self, begun: Begun, action: str, args: dict[str, Any] | None = None,
                      host: str | None = None) -> None:
        """Hand the action to the agent of the instance's host (see ``rpc``: ``instance_action``)."""
        where = host or begun.host
        if not where:
            raise exc.InstanceNotReady(begun.record["id"])
        await self.state.bus.cast(rpc.agent_topic(where), "instance_action", {
            "instance_id": begun.record["id"], "action": action, "request_id": begun.request_id,
            "args": args or {}, "instance": begun.record})

    # -- power and lifecycle ----------------------------------------------------------------------
    async def simple(self, ctx: RequestContext, instance_id: str, action: str) -> None:
        begun = await self.begin(ctx, instance_id, RULES[action], pending=(action, {}))
        await self.to_host(begun, action)

    async def reboot(self, ctx: RequestContext, instance_id: str, hard: bool) -> None:
        # Nova's outer check (any state a soft or hard reboot accepts), then the chosen one's.
        outer = Rule("reboot", tuple(dict.fromkeys(RULES["reboot_soft"].vm_states + RULES["reboot_hard"]
                                                   .vm_states)), RULES["reboot_hard"].task_states)
        await self.precheck(ctx, instance_id, outer)
        rule = RULES["reboot_hard" if hard else "reboot_soft"]
        begun = await self.begin(ctx, instance_id, rule, name="reboot", pending=("reboot", {"hard": hard}))
        await self.to_host(begun, "reboot", {"hard": hard})

    # -- the lock --------------------------------------------------------------------------------
    async def lock(self, ctx: RequestContext, instance_id: str, reason: str | None) -> None:
        async def locking(s: Any, row: Instance) -> None:
            row.locked = True
            row.locked_by = expected_locker(row, ctx)
            row.locked_reason = reason

        begun = await self.begin(ctx, instance_id, RULES["lock"], mutate=locking)
        await self._notify("lock", begun)

    async def unlock(self, ctx: RequestContext, instance_id: str, *, may_override: bool) -> None:
        """``may_override``: the API layer's unlock_override decision, for a lock of the other kind
        (the owner's lock undone by an admin, or an admin's by the owner)."""
        async def unlocking(s: Any, row: Instance) -> None:
            if row.locked_by and row.locked_by != expected_locker(row, ctx) and not may_override:
                # locked anew by the other kind since the API layer looked: its refusal, late
                raise PolicyNotAuthorized(policies.UNLOCK_OVERRIDE)
            row.locked, row.locked_by, row.locked_reason = False, None, None

        begun = await self.begin(ctx, instance_id, RULES["unlock"], mutate=unlocking)
        await self._notify("unlock", begun)

    async def reset_state(self, ctx: RequestContext, instance_id: str, state: str) -> None:
        """An admin's repair (``os-resetState``): the vm_state given, no task; nothing else is
        touched, and, as in Nova, no instance action is recorded."""
        async def resetting(s: Any, row: Instance) -> None:
            row.vm_state, row.task_state = state, None

        await self.begin(ctx, instance_id, RULES["os-resetState"], mutate=resetting, record=False)

    async def _notify(self, action: str, begun: Begun) -> None:
        async with self.state.db.reader() as s:
            row = await qi.get(s, begun.record["id"])
        if row is not None:
            await self.state.events.publish(action, "end", row)
