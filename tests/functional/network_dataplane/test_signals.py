"""The agents enter namespaces through pyroute2, which forks a child and ends it with SIGTERM;
the process running the agents (``nubes up``, with asyncio signal handlers) must not take
that signal for its own. Found when ``nubes up`` stopped as a network's DHCP namespace opened."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

import pytest

pytestmark = pytest.mark.root

SCRIPT = r"""
import asyncio, signal, socket, sys
import nubes.network.agent.metadata_proxy as proxy

async def main():
    seen = []
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, lambda: seen.append("TERM"))
    for _ in range(20):
        proxy._listen_in(sys.argv[1], "127.0.0.1", 0).close()
    await asyncio.sleep(0.5)
    print("seen", len(seen))

asyncio.run(main())
"""


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root (network namespaces)")
def test_namespace_sockets_do_not_signal_the_agents_process():
    ns = f"nbs-sig-{uuid.uuid4().hex[:6]}"
    subprocess.run(["ip", "netns", "add", ns], check=True)
    try:
        subprocess.run(["ip", "-n", ns, "link", "set", "lo", "up"], check=True)
        out = subprocess.run([sys.executable, "-c", SCRIPT, ns], capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stderr
        assert out.stdout.split() == ["seen", "0"], out.stdout + out.stderr
    finally:
        subprocess.run(["ip", "netns", "del", ns], check=False)
