"""What a compute agent does when it starts, before it serves its topic: the builds a previous
run of the agent on this host left half done (it was killed, or the machine went down) are
undone and handed back to the conductor.

An instance the conductor places on this host that is still building with task ``networking``
or ``spawning`` was being built by that previous run: no build of this run has begun, since
the agent does not serve its topic yet. Its guest (if the driver has one) is destroyed, its
ports bound to this host are removed (the user's own are only unbound), and ``build_failed``
(retryable) goes to the conductor, which reschedules it to another host or sets ERROR with a
fault, its claim released — as for any failed build. (Nova sets such instances to ERROR at
once.) A build still waiting (task None) is left alone: its ``build_and_run_instance`` waits in
this host's queue and runs once the agent serves.

When the conductor cannot be reached at start, the agent keeps trying every
``report_interval`` and serves only once it has: nothing can be built without the conductor
anyway, and messages for this host wait in its queue meanwhile.

Once it serves, the rest of this host's unfinished work (actions, deletes, move steps) is
resumed (``agent.resume``), as soon as the services those steps call (network, image) answer.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from nubes.core.exceptions import CloudError
from nubes.compute import rpc
from nubes.compute.drivers.base import DriverError
from nubes.compute.service import server_ports

LOG = logging.getLogger(__name__)

INTERRUPTED_TASKS = ("networking", "spawning")
# How long a start waits for the conductor before it goes on in the background.
FIRST_TRY_TIMEOUT = 10.0


def interrupted(agent: Any, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in records if r.get("host") == agent.host and r.get("vm_state") == "building"
            and r.get("task_state") in INTERRUPTED_TASKS]


async def recover(agent: Any, *, timeout: float | None = None) -> int:
    """Hand back this host's interrupted builds; how many. Raises when the conductor is unreachable."""
    reply = await agent.call_conductor("instances_on_host", {"host": agent.host}, timeout=timeout)
    todo = interrupted(agent, reply.get("instances") or [])
    for rec in todo:
        await _hand_back(agent, rec)
    return len(todo)


async def _hand_back(agent: Any, rec: dict[str, Any]) -> None:
    iid = rec["id"]
    reason = (f"The compute service of host {agent.host} restarted while it was building instance {iid} "
              f"(task {rec.get('task_state')}); the build was abandoned there.")
    LOG.warning("%s", reason)
    try:
        await agent.driver.destroy(rec, rec.get("network_info") or [])
    except DriverError as e:          # not there (never defined) is the usual case
        LOG.debug("no guest of %s to remove on %s: %s", iid, agent.host, e)
    try:
        await server_ports.unplug_from_host(agent.rt.clients, rec, agent.host)
    except CloudError as e:           # the conductor's rescheduled build still gets its own ports
        LOG.warning("could not remove the ports of %s on %s: %s", iid, agent.host, e.message)
    await agent.cast_conductor("build_failed", {"instance_id": iid, "host": agent.host, "reason": reason,
                                                "retryable": True})


async def serve_when_recovered(agent: Any) -> None:
    """Recover, then serve the agent's topic; if the conductor does not answer now, both happen
    in a task of the agent's (``agent._tasks``) once it does."""
    try:
        await _recover_and_serve(agent, FIRST_TRY_TIMEOUT)
        return
    except CloudError as e:
        LOG.warning("compute agent %s cannot reach the conductor to check its unfinished builds (%s); "
                    "it serves %s once it can", agent.host, e.message, rpc.agent_topic(agent.host))
    agent._tasks.append(asyncio.create_task(_keep_trying(agent), name=f"compute-recover-{agent.host}"))


async def _recover_and_serve(agent: Any, timeout: float) -> None:
    n = await recover(agent, timeout=timeout)
    if n:
        LOG.info("compute agent %s handed %d unfinished build(s) back to the conductor", agent.host, n)
    await agent.bus.serve(rpc.agent_topic(agent.host), agent.handlers())
    agent.serving = True
    agent._tasks.append(asyncio.create_task(resume_unfinished(agent), name=f"compute-resume-{agent.host}"))


# The services a resumed step may call; a cloud that comes back starts them beside the agents.
NEEDED = ("network", "image", "placement")


async def resume_unfinished(agent: Any) -> int:
    """Resume what the previous run of this host left unfinished (see ``agent.resume``); how many."""
    wait = getattr(agent.rt.clients, "wait_until_reachable", None)
    if wait is not None:
        missing = await wait(NEEDED, timeout=float(agent.conf.rpc_timeout))
        if missing:
            LOG.warning("compute agent %s: %s still not answering; resuming its unfinished work anyway",
                        agent.host, ", ".join(missing))
    try:
        reply = await agent.call_conductor("instances_on_host", {"host": agent.host})
    except CloudError as e:        # the host's reconcile loop resumes it later
        LOG.warning("compute agent %s could not list its unfinished work: %s", agent.host, e.message)
        return 0
    n = await agent.resumer.resume_all(reply.get("instances") or [])
    if n:
        LOG.info("compute agent %s resumed %d unfinished action(s)", agent.host, n)
    return n


async def _keep_trying(agent: Any) -> None:
    while True:
        await asyncio.sleep(agent.conf.report_interval)
        try:
            await _recover_and_serve(agent, agent.conf.rpc_timeout)
        except CloudError:
            continue
        LOG.info("compute agent %s reached the conductor; serving %s", agent.host, rpc.agent_topic(agent.host))
        return
