"""Which compute agents a process runs: host names, their drivers and state files, ``--fake-hosts``."""

from __future__ import annotations

from types import SimpleNamespace

from nubes import cli
from nubes.compute.agent.runner import host_names, make_agents
from nubes.compute.conf import ComputeConfig
from nubes.compute.drivers.fake import FakeDriver
from nubes.core.config import Config, CoreConfig


def test_host_names():
    conf = ComputeConfig(host="box", fake_hosts=1, driver="fake")
    assert host_names(conf) == ["box"]
    conf.fake_hosts = 3
    assert host_names(conf) == ["box-1", "box-2", "box-3"]
    conf.fake_hosts = 0
    assert host_names(conf) == []
    assert host_names(ComputeConfig(fake_hosts=2, driver="fake"))[0].endswith("-1")      # this machine's hostname


def test_each_fake_host_has_its_driver_and_state_file(tmp_path):
    conf = ComputeConfig(host="box", fake_hosts=2, driver="fake")
    rt = SimpleNamespace(service_conf=conf, bus=None, conf=Config(core=CoreConfig(state_dir=tmp_path)))
    agents = make_agents(rt)
    assert [a.host for a in agents] == ["box-1", "box-2"]
    assert all(isinstance(a.driver, FakeDriver) and a.driver.host == a.host for a in agents)
    assert agents[0].driver.state_file == tmp_path / "compute" / "fake-box-1.json"
    assert agents[0].node_uuid != agents[1].node_uuid


def test_up_takes_fake_hosts(tmp_path, monkeypatch):
    seen = {}

    async def fake_up(conf, specs):
        seen["fake_hosts"] = conf.services["compute"].fake_hosts
        return 0

    monkeypatch.setattr(cli, "_up", fake_up)
    assert cli.main(["up", "--state-dir", str(tmp_path), "--fake-hosts", "4"]) == 0
    assert seen == {"fake_hosts": 4}
    assert cli.main(["up", "--state-dir", str(tmp_path), "--fake-hosts", "-1"]) == 2


def test_auto_is_qemu_only_where_qemu_can_run(monkeypatch):
    from nubes.compute.drivers import qemu, registry

    monkeypatch.setattr(qemu, "usable", lambda: (False, "the qemu driver needs root"))
    assert registry.choose(ComputeConfig()) == ("fake", "the qemu driver needs root; set [compute] driver = qemu "
                                                "to insist ([compute] driver = auto)")
    monkeypatch.setattr(qemu, "usable", lambda: (True, ""))
    assert registry.choose(ComputeConfig())[0] == "qemu"
    assert registry.choose(ComputeConfig(driver="fake")) == ("fake", "configured")
