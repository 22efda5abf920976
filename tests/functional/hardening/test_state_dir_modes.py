"""Nothing the cloud writes is open to other users of the host: the state directory is 0700
(tightened at start, with a warning), every file under it 0600 and every directory 0700, and
the start warns about a file left looser."""

from __future__ import annotations

import stat
import uuid

from tests.functional.hardening.conftest import PLANTED

# Files under the state directory the cloud did not write: the harness's log of `nubes up`
# (opened before the cloud starts) and the file the fixture left there.
NOT_THE_CLOUDS = {"nubes.log", PLANTED}


def _mode(path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def _fill(cloud, tmp_path) -> None:
    """An image with data, a network with a subnet and a server on it."""
    name = f"modes-{uuid.uuid4().hex[:8]}"
    disk = tmp_path / "disk.raw"
    disk.write_bytes(b"\0" * 65536)
    image = cloud.osc("image", "create", "--file", str(disk), "--disk-format", "raw",
                      "--container-format", "bare", name)
    flavor = cloud.osc("flavor", "create", "--ram", "256", "--disk", "1", "--vcpus", "1", name)
    net = cloud.osc("network", "create", name)
    cloud.osc("subnet", "create", "--network", net["id"], "--subnet-range", "10.77.0.0/24", name)
    server = cloud.osc("server", "create", "--wait", "--image", image["id"], "--flavor", flavor["id"],
                       "--network", net["id"], name)
    assert server["status"] == "ACTIVE"


def test_nothing_the_cloud_writes_is_open_to_others(dedicated_hardened_cloud, tmp_path):
    _fill(dedicated_hardened_cloud, tmp_path)
    state = dedicated_hardened_cloud.state_dir
    assert _mode(state) == 0o700
    seen, looser = 0, []
    for path in state.rglob("*"):
        if path.name in NOT_THE_CLOUDS or path.is_symlink() or path.is_socket():
            continue
        seen += 1
        want = 0o700 if path.is_dir() else 0o600
        if _mode(path) & 0o077 or (path.is_dir() and _mode(path) != want):
            looser.append(f"{path.relative_to(state)} {_mode(path):04o}")
    assert looser == []
    names = {p.name for p in state.rglob("*")}
    # what was checked: databases and their WAL, keys, secrets, clouds.yaml, image data
    assert {"identity.sqlite", "identity.sqlite-wal", "secrets.json", "clouds.yaml"} <= names
    assert (state / "fernet-keys").is_dir() and seen > 10


def test_the_start_tightened_the_state_dir_and_named_the_looser_file(dedicated_hardened_cloud):
    log = dedicated_hardened_cloud.log_path.read_text()
    state = dedicated_hardened_cloud.state_dir
    assert f"state directory {state} was mode 0755, open to other users; it is now 0700" in log
    assert f"{state / PLANTED} is mode 0644: other users of this host may read it" in log
