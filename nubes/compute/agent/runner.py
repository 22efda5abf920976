"""Starts the compute agents this process runs: one per fake host (``fake_hosts``), or one for
this machine with a real driver.

Hosts are named after the ``host`` setting (this machine's hostname when empty), with
``-1`` .. ``-N`` appended when there are several fake ones. Each fake host keeps its guests
in ``<state_dir>/compute/fake-<host>.json``, so a restarted cloud finds them again.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from typing import Any

from nubes.compute.agent.manager import ComputeAgent
from nubes.compute.drivers.registry import choose, make_driver

LOG = logging.getLogger(__name__)


def host_names(conf: Any, driver: str | None = None) -> list[str]:
    base = conf.host or socket.gethostname()
    if (driver or conf.driver) != "fake":
        return [base]
    n = conf.fake_hosts
    if n <= 0:
        return []
    return [base] if n == 1 else [f"{base}-{i}" for i in range(1, n + 1)]


def make_agents(rt: Any) -> list[ComputeAgent]:
    conf = rt.service_conf
    driver, why = choose(conf)
    LOG.info("compute driver %s: %s", driver, why)
    agents = []
    for host in host_names(conf, driver):
        options: dict[str, Any] = {}
        if driver == "fake":
            options["state_file"] = rt.conf.core.state_dir / "compute" / f"fake-{host}.json"
        elif driver == "qemu":       # its state directory and service clients (for images)
            from nubes.compute.drivers import qemu

            options.update(qemu.driver_options(rt, host))
        agents.append(ComputeAgent(rt, host, make_driver(driver, host, conf, **options)))
    return agents


async def run_agents(rt: Any) -> None:
    """Run this process's compute agents until cancelled."""
    agents = make_agents(rt)
    started: list[ComputeAgent] = []
    try:
        for agent in agents:
            await agent.start()
            started.append(agent)
        rt.extra.setdefault("compute_agents", {}).update({a.host: a for a in started})
        if started:
            LOG.info("compute agents running: %s", ", ".join(a.host for a in started))
        await asyncio.Event().wait()
    except asyncio.CancelledError:
        raise
    except Exception:
        LOG.exception("compute agents failed to start")
        raise
    finally:
        for agent in started:
            await agent.stop()
