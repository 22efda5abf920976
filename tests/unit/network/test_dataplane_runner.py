"""Whether and how a host starts its data-plane agents, and how they tell their own status echoes
from real changes (no kernel is touched here)."""

from __future__ import annotations

import logging
import time

import pytest

from nubes.core.config import Config, CoreConfig
from nubes.core.service import Runtime
from nubes.network.agent import runner
from nubes.network.agent.base import OwnReports
from nubes.network.conf import NetworkConfig


def _rt(tmp_path, **conf) -> Runtime:
    config = Config(core=CoreConfig(state_dir=tmp_path))
    config.services["network"] = NetworkConfig(**conf)
    return Runtime(name="network", conf=config)


async def test_off_starts_nothing(tmp_path, caplog):
    caplog.set_level(logging.INFO, "nubes.network.agent.runner")
    rt = _rt(tmp_path, dataplane="off")
    await runner.run(rt)
    assert "data plane is off" in caplog.text and "network_agents" not in rt.extra


async def test_auto_says_why_not_and_on_refuses(tmp_path, caplog, monkeypatch):
    monkeypatch.setattr(runner, "preflight", lambda kinds: ["not running as root (bridges ...)"])
    await runner.run(_rt(tmp_path, dataplane="auto"))
    assert "data plane is OFF on this host: not running as root" in caplog.text
    assert "ports and floating IPs stay DOWN" in caplog.text
    with pytest.raises(RuntimeError, match="not running as root"):
        await runner.run(_rt(tmp_path, dataplane="on"))


async def test_a_bad_interface_mapping_is_named(tmp_path, caplog, monkeypatch):
    monkeypatch.setattr(runner, "preflight", lambda kinds: [])
    await runner.run(_rt(tmp_path, dataplane="auto", physical_interface_mappings=["provider-eth1"]))
    assert "'provider-eth1' is not physnet:interface" in caplog.text
    with pytest.raises(ValueError, match="physnet:interface"):
        await runner.run(_rt(tmp_path, dataplane="on", physical_interface_mappings=["provider:"]))


def test_preflight_names_unknown_agents_and_a_missing_root(monkeypatch):
    monkeypatch.setattr(runner.os, "geteuid", lambda: 1000)
    reasons = runner.preflight(["dhcp", "ovs"])
    assert any("unknown agents ['ovs']" in r for r in reasons)
    assert any("not running as root" in r for r in reasons)


def test_interface_mappings_parse():
    assert runner._mappings(["provider:eth1", " ext : eth2 "]) == {"provider": "eth1", "ext": "eth2"}


def test_settings_come_from_the_network_section(tmp_path):
    (tmp_path / "secrets.json").write_text('{"metadata_secret": "from-the-state-dir"}')
    conf = NetworkConfig(host="net1", physical_interface_mappings=["provider:eth1"], local_ip="192.0.2.5",
                         dnsmasq_dns_servers=["192.0.2.53"])
    s = runner.settings_from(conf, tmp_path)
    assert (s.host, s.interface_mappings, s.local_ip, s.dnsmasq_dns_servers) == (
        "net1", {"provider": "eth1"}, "192.0.2.5", ("192.0.2.53",))
    assert s.metadata_secret == "from-the-state-dir"
    conf.metadata_proxy_shared_secret = "configured"
    assert runner.settings_from(conf, tmp_path).metadata_secret == "configured"


def test_own_reports_swallow_one_echo_each_and_lapse(monkeypatch):
    own = OwnReports(ttl=10)
    assert not own.is_echo("p1")                 # nothing reported: a real change
    own.expect("p1")
    own.expect("p1")
    assert own.is_echo("p1") and own.is_echo("p1") and not own.is_echo("p1")
    own.expect("p2")
    own.forget("p2")                             # the call failed
    assert not own.is_echo("p2") and len(own) == 0
    own.expect("p3")
    later = time.monotonic() + 11
    monkeypatch.setattr(time, "monotonic", lambda: later)
    assert not own.is_echo("p3")                 # the echo never came: a later change is not swallowed


def test_metadata_url_follows_the_compute_metadata_port(tmp_path):
    from nubes.compute.conf import ComputeConfig

    rt = _rt(tmp_path)
    rt.conf.core.public_host = "controller"
    rt.conf.services["compute"] = ComputeConfig(metadata_port=18775)
    assert runner.metadata_url(rt.conf) == "http://controller:18775"
    rt.conf.services["network"].metadata_url = "http://meta.example:8775"
    assert runner.metadata_url(rt.conf) == "http://meta.example:8775"
    del rt.conf.services["compute"]
    rt.conf.services["network"].metadata_url = ""
    assert runner.metadata_url(rt.conf) == "http://controller:8775"


def test_dhcp_state_under_a_closed_directory_is_told():
    import shutil
    import tempfile
    from pathlib import Path

    from nubes.network.agent.dhcp import closed_to_others

    base = Path(tempfile.mkdtemp(prefix="nubes-closed-", dir="/tmp"))   # pytest's own tmp is 0700
    try:
        closed = base / "closed"
        (closed / "agents" / "dhcp").mkdir(parents=True)
        for d in (base, closed, closed / "agents", closed / "agents" / "dhcp"):
            d.chmod(0o755)
        assert closed_to_others(closed / "agents" / "dhcp") is None
        closed.chmod(0o700)
        assert closed_to_others(closed / "agents" / "dhcp") == closed
        assert closed_to_others(closed / "agents" / "not-made-yet") == closed
    finally:
        shutil.rmtree(base)
