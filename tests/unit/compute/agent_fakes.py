"""Fakes for the compute agent's unit tests: a conductor on an in-process bus, and placement."""

from __future__ import annotations

import copy
import json
import uuid
from types import SimpleNamespace
from typing import Any

from nubes.compute import rpc
from nubes.compute.agent.manager import ComputeAgent
from nubes.compute.conf import ComputeConfig
from nubes.compute.drivers.fake import FakeDriver
from nubes.core.bus import InProcessBus


class FakeConductor:
    """Serves the conductor methods the agent calls; remembers every call."""

    def __init__(self) -> None:
        self.instances: dict[str, dict[str, Any]] = {}
        self.calls: list[tuple[str, dict]] = []
        self.service = {"disabled": False, "forced_down": False, "disabled_reason": None}

    def add(self, host: str, *, vm_state: str = "active", power_state: int = 1, task_state: str | None = None,
            **extra: Any) -> dict[str, Any]:
        rec = {"id": str(uuid.uuid4()), "host": host, "vm_state": vm_state, "power_state": power_state,
               "task_state": task_state, "hostname": "guest", "metadata": {},
               "flavor": {"vcpus": 2, "memory_mb": 1024, "root_gb": 10, "ephemeral_gb": 1, "swap": 1536}}
        rec.update(extra)
        self.instances[rec["id"]] = rec
        return rec

    def updates(self) -> list[dict]:
        return [p for m, p in self.calls if m == "instance_update"]

    def handlers(self) -> dict[str, Any]:
        async def instances_on_host(p: dict) -> dict:
            self.calls.append(("instances_on_host", p))
            def moving(r: dict) -> bool:        # a move under way from or to the host
                m = r.get("migration") or {}
                return p["host"] in (m.get("source_compute"), m.get("dest_compute"))

            return {"instances": [copy.deepcopy(r) for r in self.instances.values() if r["host"] == p["host"]
                                  or r.get("migration_source") == p["host"] or moving(r)]}

        async def instance_update(p: dict) -> dict:
            self.calls.append(("instance_update", p))
            rec = self.instances.get(p["instance_id"])
            if rec is None:
                return {"updated": False, "gone": True}
            for key, field in (("expected_task_state", "task_state"), ("expected_vm_state", "vm_state"),
                               ("expected_host", "host")):
                wanted = p.get(key, rec[field])
                if rec[field] not in (wanted if isinstance(wanted, list) else [wanted]):
                    return {"updated": False, "gone": False, "task_state": rec["task_state"],
                            "vm_state": rec["vm_state"], "host": rec["host"]}
            rec.update(p["updates"])
            return {"updated": True}

        def recorded(name: str) -> Any:
            async def handler(p: dict) -> dict:
                self.calls.append((name, p))
                return {"updated": True}
            return handler

        async def service_report(p: dict) -> dict:
            self.calls.append(("service_report", p))
            return dict(self.service)

        return {"instances_on_host": instances_on_host, "instance_update": instance_update,
                "service_report": service_report,
                **{m: recorded(m) for m in ("build_failed", "move_report", "instance_destroyed", "shelve_report",
                                            "network_info_update")}}


class _Resp:
    def __init__(self, status: int, body: Any = None) -> None:
        self.status_code = status
        self._body = body
        self.text = json.dumps(body) if body is not None else ""

    def json(self) -> Any:
        return self._body


class FakePlacement:
    """Resource providers with generations, inventories, traits and aggregates."""

    def __init__(self) -> None:
        self.providers: dict[str, dict[str, Any]] = {}
        self.requests: list[tuple[str, str]] = []
        self.conflicts = 0          # answer this many writes with a generation conflict first

    async def request(self, service: str, method: str, path: str, *, headers: dict | None = None,
                      json: Any = None, **_: Any) -> _Resp:
        assert service == "placement"
        self.requests.append((method, path))
        parts = path.strip("/").split("/")
        if parts == ["resource_providers"] and method == "POST":
            if any(p["name"] == json["name"] for p in self.providers.values()):
                return _Resp(409, {"errors": [{"title": "Conflict"}]})
            self.providers[json["uuid"]] = {"uuid": json["uuid"], "name": json["name"], "generation": 0,
                                            "inventories": {}, "traits": [], "aggregates": []}
            return _Resp(200, self.providers[json["uuid"]])
        rp = self.providers.get(parts[1]) if len(parts) > 1 else None
        if rp is None:
            return _Resp(404, {"errors": [{"title": "Not Found"}]})
        if len(parts) == 2:
            return _Resp(200, {k: rp[k] for k in ("uuid", "name", "generation")})
        what = parts[2]
        if method == "GET":
            return _Resp(200, {what: rp[what], "resource_provider_generation": rp["generation"]})
        if self.conflicts or json["resource_provider_generation"] != rp["generation"]:
            self.conflicts = max(0, self.conflicts - 1)
            return _Resp(409, {"errors": [{"code": "placement.concurrent_update"}]})
        rp[what] = json[what]
        rp["generation"] += 1
        return _Resp(200, {what: rp[what], "resource_provider_generation": rp["generation"]})


async def make_agent(host: str = "node-a", *, conductor: FakeConductor | None = None,
                     placement: FakePlacement | None = None, state_file: Any = None,
                     **conf: Any) -> tuple[ComputeAgent, FakeConductor, FakePlacement]:
    conductor = conductor or FakeConductor()
    placement = placement or FakePlacement()
    bus = InProcessBus()
    await bus.start()
    await bus.serve(rpc.CONDUCTOR_TOPIC, conductor.handlers())
    await bus.serve(rpc.CONDUCTOR_AGENTS_TOPIC, conductor.handlers())
    await bus.serve(rpc.CONDUCTOR_REPORT_TOPIC, conductor.handlers())
    compute_conf = ComputeConfig(**conf)
    rt = SimpleNamespace(service_conf=compute_conf, bus=bus, clients=placement, extra={})
    agent = ComputeAgent(rt, host, FakeDriver(host, compute_conf, state_file=state_file))
    return agent, conductor, placement
