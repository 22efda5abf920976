"""The DHCP agent's directories stay enterable by dnsmasq (the user nobody) under the launcher's
private umask, which makes every other directory 0700."""

from __future__ import annotations

import os
import stat

import pytest

from nubes.network.agent.dhcp import closed_to_others, make_dirs_others_can_enter


@pytest.fixture
def private_umask():
    old = os.umask(0o077)       # this process's umask, restored: what `nubes` sets at start
    yield
    os.umask(old)


def test_made_directories_are_0755_whatever_the_umask(tmp_path, private_umask):
    os.chmod(tmp_path, 0o755)
    path = tmp_path / "run" / "nubes" / "network" / "host" / "dhcp" / "net-1"
    make_dirs_others_can_enter(path)
    made = [d for d in [path, *path.parents] if tmp_path in d.parents]
    assert len(made) == 6
    assert {d: stat.S_IMODE(d.stat().st_mode) for d in made} == {d: 0o755 for d in made}
    # (pytest's own temporary directories above are 0700: nothing of ours is closed)
    assert closed_to_others(path) in (None, *[d for d in tmp_path.parents if not d.stat().st_mode & 0o001])


def test_an_existing_directory_is_opened(tmp_path, private_umask):
    (tmp_path / "d").mkdir()
    assert stat.S_IMODE((tmp_path / "d").stat().st_mode) == 0o700
    make_dirs_others_can_enter(tmp_path / "d")
    assert stat.S_IMODE((tmp_path / "d").stat().st_mode) == 0o755
