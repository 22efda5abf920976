"""Conductor handlers for building instances: schedule, claim in placement, send to the host;
reschedule a failed build to an alternate (at most ``max_attempts`` builds in all), else ERROR.

The instance handlers every host reports through (``instance_update``, ``instance_destroyed``,
``delete_instance``) live in ``conductor.instances``; this module adds scheduling.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from typing import Any

from nubes.compute import exceptions as exc
from nubes.compute import rpc
from nubes.compute.conductor import build_volumes, instances
from nubes.compute.db.queries import actions as qa
from nubes.compute.db.queries import host_states as qh
from nubes.compute.db.queries import instances as qi
from nubes.compute.db.queries import server_groups as qg
from nubes.compute.scheduler import placement
from nubes.compute.scheduler.select import Selection, select
from nubes.compute.scheduler.spec import GroupSpec, RequestSpec, resources_of
from nubes.compute.service import server_records

LOG = logging.getLogger(__name__)
SCHEDULE_EVENT = "conductor_schedule_and_build_instances"
BUILD_EVENT = "compute_build_and_run_instance"


async def request_spec(s: Any, row: Any) -> RequestSpec:
    req = row.request or {}
    res, required, forbidden = resources_of(row.flavor, volume_backed=not row.image_ref)
    spec = RequestSpec(
        instance_id=row.id, project_id=row.project_id, user_id=row.user_id, resources=res,
        required_traits=required, forbidden_traits=forbidden, availability_zone=req.get("availability_zone"),
        force_host=req.get("force_host"), force_node=req.get("force_node"),
        requested_host=req.get("requested_host"), requested_node=req.get("requested_node"),
        image_properties=(req.get("image") or {}).get("properties") or {},
        extra_specs=dict(row.flavor.get("extra_specs") or {}), ignore_hosts=list(req.get("tried_hosts") or []),
        same_host=list(req.get("same_host") or []), different_host=list(req.get("different_host") or []))
    if req.get("group_id"):
        g = await qg.get(s, req["group_id"])
        if g is not None:
            hosts = [m.host for m in await qg.live_members(s, g.id) if m.host and m.id != row.id]
            spec.group = GroupSpec(g.id, g.name, g.policy, dict(g.rules or {}), hosts)
    return spec


class Builder:
    def __init__(self, conductor: Any) -> None:
        self.c = conductor
        self.conf = conductor.conf
        self.group_locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)

    async def build_instances(self, payload: dict) -> None:
        for iid in payload.get("instance_ids") or []:
            await self.schedule(iid)

    async def schedule(self, iid: str) -> None:
        resend = None
        async with self.c.db.session() as s:
            row = await qi.get(s, iid)
            if row is not None and row.vm_state == "building" and row.task_state is None and row.host:
                # Placed, not yet taken up by its host: this message came again because a conductor
                # stopped after placing it, maybe before its cast to the host went out. Send that
                # again (the host builds it once: a second copy finds the build begun and is dropped).
                resend = self._build_message(row)
            elif row is None or row.vm_state != "building" or row.task_state != "scheduling":
                return                     # deleted meanwhile, or this message came twice
            action = await qa.latest(s, iid, "create") if resend is None else None
            if action is not None and not any(e.event == SCHEDULE_EVENT for e in action.events):
                qa.event_start(action, SCHEDULE_EVENT, instances.controller(self.conf))
            group_id = (row.request or {}).get("group_id")
        if resend is not None:
            LOG.info("instance %s sent to %s again (attempt %s)", iid, resend[0], resend[1]["attempt"])
            await self.c.bus.cast(rpc.agent_topic(resend[0]), "build_and_run_instance", resend[1])
            return
        lock = self.group_locks[group_id] if group_id else asyncio.Lock()
        async with lock:                   # members of one group are placed one after the other
            await self._place(iid)

    async def _place(self, iid: str) -> None:
        async with self.c.db.reader() as s:
            row = await qi.get(s, iid)
            if row is None:
                return
            spec = await request_spec(s, row)
        try:
            chosen = await self._claim_first(spec, await select(self.c.db, self.c.clients, self.conf, spec))
        except exc.NoValidHost as e:
            LOG.info("no host for %s: %s", iid, e.message)
            await instances.set_error(self.c, iid, 500, e.message, e.message, event=SCHEDULE_EVENT)
            return
        sel, alternates = chosen
        await self._send(iid, sel, alternates, event=SCHEDULE_EVENT)

    async def _claim_first(self, spec: RequestSpec, ranked: list[Selection]
                           ) -> tuple[Selection, list[Selection]]:
        for i, sel in enumerate(ranked):
            if await placement.claim(self.c.clients, spec.instance_id, _candidate(sel), spec.project_id,
                                     spec.user_id):
                return sel, ranked[i + 1:self.conf.max_attempts + i]
        raise exc.NoValidHost(f"{len(ranked)} fitting host(s) were taken by other servers while this one "
                              "was being placed; try again.")

    async def _send(self, iid: str, sel: Selection, alternates: list[Selection], *, event: str) -> None:
        failed = await build_volumes.attach(self.c, iid, sel.host)
        if failed is not None:
            LOG.info("volumes of %s not ready for %s: %s", iid, sel.host, failed)
            await instances.set_error(self.c, iid, 500, f"Build of instance {iid} aborted: {failed}", failed,
                                      event=event)
            return
        async with self.c.db.session() as s:
            row = await qi.get(s, iid, for_update=True)
            if row is None or row.vm_state != "building" or row.task_state not in ("scheduling", None):
                await placement.release(self.c.clients, iid)
                return
            zones = (await qh.zones_of_hosts(s)).get(sel.host) or {self.conf.default_availability_zone}
            req = dict(row.request or {})
            req["attempts"] = int(req.get("attempts") or 0) + 1
            req["tried_hosts"] = [*(req.get("tried_hosts") or []), sel.host]
            req["alternates"] = [a.to_dict() for a in alternates]
            row.request = req
            row.host, row.node, row.task_state = sel.host, sel.node, None
            row.availability_zone = req.get("availability_zone") or min(zones)
            row.updated_at = instances.now()
            action = await qa.latest(s, iid, "create")
            if action is not None and event == SCHEDULE_EVENT:
                qa.event_finish(action, SCHEDULE_EVENT, instances.controller(self.conf), "Success")
            host, message = self._build_message(row)
        LOG.info("instance %s goes to %s (%s), attempt %d", iid, sel.host, sel.node, message["attempt"])
        await self.c.bus.cast(rpc.agent_topic(host), "build_and_run_instance", message)

    @staticmethod
    def _build_message(row: Any) -> tuple[str, dict[str, Any]]:
        """(host, payload) of the ``build_and_run_instance`` that sends a placed instance to its host."""
        req = row.request or {}
        return row.host, {
            "instance_id": row.id, "node": row.node, "alternates": list(req.get("alternates") or []),
            "attempt": int(req.get("attempts") or 1), "instance": server_records.record(row),
            "admin_password": req.get("admin_password")}

    async def build_failed(self, payload: dict) -> None:
        iid, host = payload["instance_id"], payload.get("host")
        reason = str(payload.get("reason") or "unknown failure")
        async with self.c.db.session() as s:
            row = await qi.get(s, iid, for_update=True)
            if row is None or row.vm_state != "building" or (host and row.host != host):
                return                     # deleted, already handled, or an old attempt
            action = await qa.latest(s, iid, "create")
            if action is not None:
                qa.event_finish(action, BUILD_EVENT, host, "Error", traceback=reason)
            req = dict(row.request or {})
            alternates = [Selection(**a) for a in req.get("alternates") or []]
            attempts = int(req.get("attempts") or 0)
            row.host = row.node = None
            row.task_state = "scheduling"
            row.updated_at = instances.now()
            spec = await request_spec(s, row)
        await placement.release(self.c.clients, iid)
        LOG.info("build of %s failed on %s (%s); attempt %d of %d", iid, host, reason, attempts,
                 self.conf.max_attempts)
        if not payload.get("retryable", True):
            msg = f"Build of instance {iid} aborted: {reason}"
            await instances.set_error(self.c, iid, 500, msg, reason)
            return
        if attempts >= self.conf.max_attempts:
            await self._exhausted(iid, reason)
            return
        await self._reschedule(iid, spec, alternates, reason)

    async def _reschedule(self, iid: str, spec: RequestSpec, alternates: list[Selection], reason: str) -> None:
        for i, alt in enumerate(alternates):
            if alt.host in spec.ignore_hosts:
                continue
            if await placement.claim(self.c.clients, iid, _candidate(alt), spec.project_id, spec.user_id):
                await self._send(iid, alt, alternates[i + 1:], event=BUILD_EVENT)
                return
        lock = self.group_locks[spec.group.id] if spec.group else asyncio.Lock()
        async with lock:
            try:
                sel, rest = await self._claim_first(spec, await select(self.c.db, self.c.clients, self.conf,
                                                                       spec))
            except exc.NoValidHost:
                await self._exhausted(iid, reason)
                return
            await self._send(iid, sel, rest, event=BUILD_EVENT)

    async def _exhausted(self, iid: str, reason: str) -> None:
        msg = (f"Exceeded maximum number of retries. Exhausted all hosts available for retrying build "
               f"failures for instance {iid}.")
        await instances.set_error(self.c, iid, 500, msg, f"{msg} Last failure: {reason}")


def _candidate(sel: Selection) -> placement.Candidate:
    return placement.Candidate(sel.uuid, sel.allocations)


def periodic(conductor: Any) -> list[tuple[str, Any]]:
    """The conductor's background loops of this module: (name, coroutine)."""
    return [("conductor-build-timeouts", instances.watch_builds(conductor))]


def handlers(conductor: Any) -> dict[str, Any]:
    builder = Builder(conductor)
    return {"build_instances": builder.build_instances, "build_failed": builder.build_failed,
            **instances.handlers(conductor)}
