"""Which background work runs where (``nubes.launcher.roles``), and what `nubes agent` and
`nubes serve` refuse before they start anything."""

from __future__ import annotations

import json

from nubes import cli
from nubes.compute import SPEC, run_compute_agents, run_conductor
from nubes.launcher.roles import controller_agents, node_agent


def test_compute_runs_its_conductor_beside_the_api_and_its_agents_on_the_nodes():
    assert node_agent("compute") is run_compute_agents
    assert controller_agents(SPEC) == [run_conductor]
    assert node_agent("identity") is None


def test_agent_needs_a_shared_bus(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("NUBES_CORE__BUS_URL", raising=False)
    assert cli.main(["agent", "compute", "--state-dir", str(tmp_path)]) == 2
    assert "set [core] bus_url" in capsys.readouterr().out


def test_agent_needs_the_service_password_and_never_makes_one_up(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("NUBES_CORE__BUS_URL", "amqp://guest:guest@127.0.0.1:1/")
    monkeypatch.delenv("NUBES_CORE__SERVICE_PASSWORD", raising=False)
    assert cli.main(["agent", "compute", "--state-dir", str(tmp_path)]) == 2
    assert "no service password" in capsys.readouterr().out
    assert not (tmp_path / "secrets.json").exists()
    assert cli.main(["agent", "compute", "--state-dir", str(tmp_path), "--fake-hosts", "0"]) == 2
    assert "--fake-hosts must be 1 or more" in capsys.readouterr().out


def test_agent_reads_the_password_from_the_state_dir(tmp_path, monkeypatch):
    from nubes.launcher import node

    (tmp_path / "secrets.json").write_text(json.dumps({"service_password": "from-the-controller"}))
    seen = {}

    async def fake_run_node(conf, service, stop=None):
        seen.update(password=node.service_password(conf), host=conf.services["compute"].host,
                    hosts=conf.services["compute"].fake_hosts, run=conf.services["compute"].run_agents)
        return 0

    monkeypatch.setattr(node, "run_node", fake_run_node)
    monkeypatch.setenv("NUBES_CORE__BUS_URL", "amqp://guest:guest@127.0.0.1:1/")
    monkeypatch.setenv("NUBES_COMPUTE__RUN_AGENTS", "false")
    monkeypatch.delenv("NUBES_CORE__SERVICE_PASSWORD", raising=False)
    assert cli.main(["agent", "compute", "--state-dir", str(tmp_path), "--host", "node7",
                     "--fake-hosts", "2"]) == 0
    assert seen == {"password": "from-the-controller", "host": "node7", "hosts": 2, "run": True}
    assert (tmp_path / "agent-compute-node7.lock").exists()


def test_serve_compute_needs_a_shared_bus(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("NUBES_CORE__BUS_URL", raising=False)
    assert cli.main(["serve", "compute", "--state-dir", str(tmp_path)]) == 2
    assert "need a shared bus" in capsys.readouterr().out
    assert cli.main(["serve", "identity", "--no-api", "--state-dir", str(tmp_path)]) == 2
    assert "no background work" in capsys.readouterr().out


def test_network_runs_its_agents_on_the_nodes_and_nothing_beside_its_api():
    from nubes.network import SPEC as NETWORK
    from nubes.network import run_network_agents

    assert node_agent("network") is run_network_agents
    assert controller_agents(NETWORK) == []


def test_fake_hosts_are_compute_only(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("NUBES_CORE__BUS_URL", "amqp://guest:guest@127.0.0.1:1/")
    monkeypatch.setenv("NUBES_CORE__SERVICE_PASSWORD", "x")
    assert cli.main(["agent", "network", "--state-dir", str(tmp_path), "--fake-hosts", "2"]) == 2
    assert "--fake-hosts is compute's" in capsys.readouterr().out


def test_volume_runs_its_managers_on_the_nodes_and_its_scheduler_beside_its_api():
    from nubes.volume import SPEC as VOLUME
    from nubes.volume import run_scheduler, run_volume_managers

    assert node_agent("volume") is run_volume_managers
    assert controller_agents(VOLUME) == [run_scheduler]


def test_object_storage_daemons_run_on_the_storage_nodes_with_no_bus(tmp_path, monkeypatch, capsys):
    import asyncio

    from nubes.core.config import Config
    from nubes.launcher import node
    from nubes.object import SPEC as OBJECT, run_storage_daemons
    from nubes.object.proxy.conf import ProxyConfig

    assert node_agent("object") is run_storage_daemons
    assert controller_agents(OBJECT) == []          # `nubes serve object` needs no bus for them
    seen = {}

    async def fake_run_node(conf, service, stop=None):
        seen.update(service=service)
        return 0

    monkeypatch.setattr(node, "run_node", fake_run_node)
    monkeypatch.delenv("NUBES_CORE__BUS_URL", raising=False)
    monkeypatch.delenv("NUBES_CORE__SERVICE_PASSWORD", raising=False)
    assert cli.main(["agent", "object", "--state-dir", str(tmp_path)]) == 0
    assert seen == {"service": "object"} and "no bus" in capsys.readouterr().out

    monkeypatch.undo()
    conf = Config()
    conf.core.state_dir = tmp_path
    conf.services["object"] = ProxyConfig(replicator_interval=0, auditor_interval=0, db_replicator_interval=0,
                                          updater_interval=0, expirer_interval=0, reaper_interval=0)
    assert asyncio.run(node.run_node(conf, "object", asyncio.Event())) == 0   # all off: they end
