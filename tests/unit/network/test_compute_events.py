"""The network service's events to compute (Neutron's nova notifier): which ports' changes are
told, in what event, batched into one request, and that a failing compute never raises."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

from nubes.core.exceptions import ServiceUnavailable
from nubes.network.service import compute_events as ce


class FakeClients:
    def __init__(self, fail: bool = False, status: int = 200) -> None:
        self.sent: list[dict[str, Any]] = []
        self.fail = fail
        self.status = status

    async def request(self, service: str, method: str, path: str, **kw: Any) -> Any:
        assert (service, method, path) == ("compute", "POST", "/os-server-external-events")
        if self.fail:
            raise ServiceUnavailable("The compute service is unreachable: refused")
        self.sent.append(kw["json"])
        return SimpleNamespace(status_code=self.status, text="{}")


def events(clients: FakeClients) -> ce.ComputeEvents:
    return ce.ComputeEvents(SimpleNamespace(rt=SimpleNamespace(clients=clients), db=None))


def test_only_ports_of_servers_are_told():
    assert ce.server_of("compute:nova", "srv") == "srv"
    assert ce.server_of("compute:nova", "") is None
    assert ce.server_of("network:router_interface", "r1") is None
    assert ce.server_of(None, "x") is None


async def test_events_of_one_moment_go_in_one_request():
    clients = FakeClients()
    e = events(clients)
    e.port_deleted("p1", "compute:nova", "s1")
    e.port_status("p2", "compute:nova", "s2", "DOWN", "ACTIVE")
    e.port_deleted("p3", "network:dhcp", "dhcp-1")                     # not a server's
    await asyncio.sleep(ce.BATCH_WINDOW * 3)
    assert clients.sent == [{"events": [
        {"name": "network-vif-deleted", "server_uuid": "s1", "tag": "p1", "status": "completed"},
        {"name": "network-vif-plugged", "server_uuid": "s2", "tag": "p2", "status": "completed"}]}]


async def test_status_changes_as_neutron_tells_them():
    clients = FakeClients()
    e = events(clients)
    e.port_status("p", "compute:nova", "s", "ACTIVE", "ACTIVE")          # no change: nothing
    e.port_status("p", "compute:nova", "s", "ACTIVE", "DOWN")
    e.port_status("p", "compute:nova", "s", "DOWN", "ERROR")
    e.port_status("p", "compute:nova", "s", "BUILD", "DOWN")             # never was up: nothing
    await asyncio.sleep(ce.BATCH_WINDOW * 3)
    assert [(x["name"], x["status"]) for x in clients.sent[0]["events"]] == [
        ("network-vif-unplugged", "completed"), ("network-vif-plugged", "failed")]


async def test_an_unreachable_compute_loses_the_events_without_raising(caplog):
    clients = FakeClients(fail=True)
    e = events(clients)
    await e.send([ce.event("network-changed", "s", "p")])
    assert "could not send 1 event(s)" in caplog.text
    e.port_deleted("p", "compute:nova", "s")
    await asyncio.sleep(ce.BATCH_WINDOW * 3)
    assert e._pending == []


async def test_no_clients_no_events():
    e = ce.ComputeEvents(SimpleNamespace(rt=SimpleNamespace(), db=None))
    e.port_deleted("p", "compute:nova", "s")
    await e.ports_changed(["p"])
    assert e._pending == []
