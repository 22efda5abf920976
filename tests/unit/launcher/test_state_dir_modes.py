"""The state directory is made private, or tightened with a warning; looser files are named."""

from __future__ import annotations

import logging
import os
import stat

from nubes.launcher.state import secure_state_dir


def _mode(path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def test_a_new_state_dir_is_private(tmp_path):
    state = tmp_path / "new" / "state"
    assert secure_state_dir(state) == []
    assert _mode(state) == 0o700


def test_a_looser_state_dir_is_tightened_and_looser_files_named(tmp_path, caplog):
    state = tmp_path / "state"
    (state / "sub").mkdir(parents=True)
    os.chmod(state, 0o755)
    os.chmod(state / "sub", 0o750)
    db = state / "identity.sqlite"
    db.write_text("")
    os.chmod(db, 0o644)
    (state / "private").write_text("")
    os.chmod(state / "private", 0o600)
    os.symlink(db, state / "link")
    with caplog.at_level(logging.WARNING, logger="nubes.launcher.state"):
        looser = secure_state_dir(state)
    assert _mode(state) == 0o700
    assert sorted(looser) == [(db, 0o644), (state / "sub", 0o750)]
    assert f"state directory {state} was mode 0755, open to other users; it is now 0700" in caplog.text
    assert f"{db} is mode 0644: other users of this host may read it" in caplog.text
    assert _mode(db) == 0o644       # named, not changed: the directory already keeps others out


def test_the_network_agents_path_inside_lets_dnsmasq_through(tmp_path, caplog):
    """dnsmasq reads the DHCP agent's files as nobody: a state directory holding them is 0711
    (enter, not list), and their 0755/0644 modes are no warning."""
    state = tmp_path / "state"
    agents = state / "network" / "host-1"
    (agents / "dhcp").mkdir(parents=True)
    for d in (state / "network", agents, agents / "dhcp"):
        os.chmod(d, 0o755)
    os.chmod(state, 0o700)
    (agents / "dhcp" / "host").write_text("")
    os.chmod(agents / "dhcp" / "host", 0o644)
    with caplog.at_level(logging.WARNING, logger="nubes.launcher.state"):
        assert secure_state_dir(state, [agents]) == []
    assert _mode(state) == 0o711
    assert "open to other users" not in caplog.text     # 0700 made 0711 on purpose


def test_many_looser_files_are_counted_not_all_named(tmp_path, caplog):
    state = tmp_path / "state"
    state.mkdir(mode=0o700)
    for i in range(15):
        (state / f"f{i}").write_text("")
        os.chmod(state / f"f{i}", 0o604)
    with caplog.at_level(logging.WARNING, logger="nubes.launcher.state"):
        assert len(secure_state_dir(state)) == 15
    assert "... and 5 more files" in caplog.text
