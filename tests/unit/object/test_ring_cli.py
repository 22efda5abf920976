import os

import pytest

from nubes import cli
from nubes.object.ring import Ring, RingBuilder


@pytest.fixture(autouse=True)
def keep_umask():
    old = os.umask(0o022)
    os.umask(old)
    yield
    os.umask(old)


def ring(*args):
    return cli.main(["ring", *map(str, args)])


def test_one_node_four_disks_then_a_second_node(tmp_path, capsys):
    b = tmp_path / "object.builder"
    assert ring("create", b, 8, 3, 1) == 0
    for d in range(1, 4):
        assert ring("add", b, f"r1z1-127.0.0.1:6200/d{d}", 100) == 0
    assert ring("add", b, "--region", 1, "--zone", 1, "--ip", "127.0.0.1", "--port", 6200,
                "--device", "d4", "--weight", 100) == 0
    assert ring("rebalance", b, "--now-hours", 10) == 0
    out = capsys.readouterr().out
    assert "wrote" in out and "object.ring.gz" in out and "copy" in out
    loaded = Ring.load(tmp_path / "object.ring.gz")
    assert loaded.version == 1 and len(loaded.devs) == 4
    assert all(len({d.id for d in loaded.primaries(p)}) == 3 for p in range(256))

    assert ring("add", b, "r1z2-127.0.0.2:6200/d1", 100, "r1z2-127.0.0.2:6200/d2", 100) == 0
    assert ring("rebalance", b, "--now-hours", 10) == 0       # same hour: nothing may move yet
    assert "should still move" in capsys.readouterr().out
    assert RingBuilder.load(b).assigned()[4] == 0
    assert ring("pretend-min-part-hours-passed", b) == 0
    assert ring("rebalance", b, "--now-hours", 10) == 0
    assert Ring.load(tmp_path / "object.ring.gz").version == 3
    assert RingBuilder.load(b).assigned()[4] > 0
    capsys.readouterr()
    assert ring("show", b) == 0
    shown = capsys.readouterr().out
    assert "version 3" in shown and "127.0.0.2:6200" in shown and "balance" in shown
    assert ring("dispersion", b) == 0
    report = capsys.readouterr().out
    assert "sharing a device: 0 partitions" in report


def test_remove_and_set_weight_by_search(tmp_path, capsys):
    b = tmp_path / "container.builder"
    assert ring("create", b, 6, 2, 0) == 0
    assert ring("add", b, "r1z1-10.0.0.1:6201/sda", 10, "r1z2-10.0.0.2:6201/sda", 10,
                "r1z3-10.0.0.3:6201/sda", 10) == 0
    assert ring("rebalance", b) == 0
    assert ring("set-weight", b, "z2", 20) == 0
    assert RingBuilder.load(b).devs[1].weight == 20
    assert ring("remove", b, "10.0.0.3:6201/sda") == 0
    assert ring("rebalance", b) == 0
    built = RingBuilder.load(b)
    assert len(built.live_devices()) == 2 and built.assigned()[1] == 64
    assert (tmp_path / "container.ring.gz").exists()


@pytest.mark.parametrize("argv, message", [
    (["create", "{b}", "33", "3", "1"], "part_power must be"),
    (["create", "{b}", "8", "0", "1"], "replicas must be"),
    (["add", "{b}", "r1z1-127.0.0.1:6200/d1", "-3"], "weight must be 0 or more"),
    (["add", "{b}", "nonsense", "1"], "cannot read device"),
    (["add", "{b}", "--region", "1", "--ip", "127.0.0.1"], "needs --zone, --port, --device, --weight"),
    (["remove", "{b}", "d42"], "no device matches"),
    (["set-weight", "{b}", "d0", "heavy"], "weight must be a number"),
    (["rebalance", "{b}"], "3 replicas need at least 3 devices"),
    (["show", "{missing}"], "no builder file"),
])
def test_bad_input_is_one_line_and_exit_2(tmp_path, capsys, argv, message):
    b = tmp_path / "account.builder"
    RingBuilder(8, 3, 1).save(b) if argv[0] != "create" else None
    if argv[0] in ("remove", "set-weight", "rebalance"):
        ring("add", b, "r1z1-127.0.0.1:6200/d0", 1)
    capsys.readouterr()
    argv = [a.format(b=b, missing=tmp_path / "missing.builder") for a in argv]
    assert ring(*argv) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and "\n" not in err and err.startswith("nubes ring: ")


def test_create_refuses_to_overwrite(tmp_path, capsys):
    b = tmp_path / "object.builder"
    assert ring("create", b, 8, 3, 1) == 0
    assert ring("create", b, 8, 3, 1) == 2
    assert "exists already" in capsys.readouterr().err
