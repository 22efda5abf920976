"""The all-in-one killed (SIGKILL) in the middle of attaches on the file backend: one attachment
complete, one exported but not yet completed, one only reserved; the export daemon of the first
killed too, as a node restart would. After a restart every attachment can be finished or undone,
the exports are served again at the address compute already holds, nothing stays attaching, and
when the attachments go no export daemon is left."""

from __future__ import annotations

import os
import signal
import subprocess
import time
import uuid
from pathlib import Path

from tests.cloud import new_user, start_cloud, stop_cloud
from tests.functional.volume.conftest import VolumeApi
from tests.functional.volume.test_restart import _managers_reported

REMOTE = {"host": "compute-elsewhere", "ip": "127.0.0.1"}


def _up(tmp: Path):
    return start_cloud(tmp, services="identity,volume", names=("identity", "volume"), volume_driver="file")


def _attach(api: VolumeApi, vid: str, connector: dict | None) -> dict:
    body = {"volume_uuid": vid, "instance_uuid": str(uuid.uuid4())}
    if connector:
        body["connector"] = connector
    r = api("POST", "/attachments", json={"attachment": body})
    assert r.status_code == 200, r.text
    return r.json()["attachment"]


def _nbd(info: dict) -> str:
    d = info["data"]
    return f"nbd://{d['host']}:{d['port']}/{d['export']}"


def _io(url: str, command: str) -> subprocess.CompletedProcess:
    return subprocess.run(["qemu-io", "-f", "raw", "-c", command, url], capture_output=True, text=True,
                          timeout=60)


def _served(url: str, pattern: int) -> bool:
    r = _io(url, f"read -P {pattern:#x} 0 64k")
    return r.returncode == 0 and "verification failed" not in (r.stdout + r.stderr)


def _daemons(port: int) -> list[int]:
    """Storage daemons serving NBD on ``port``."""
    out = []
    for proc in Path("/proc").iterdir():
        try:
            args = (proc / "cmdline").read_bytes().split(b"\0") if proc.name.isdigit() else []
        except OSError:
            continue
        if args and args[0].endswith(b"qemu-storage-daemon") and \
                any(f"addr.port={port}".encode() in a for a in args):
            out.append(int(proc.name))
    return out


def _kill(pids: list[int]) -> None:
    for pid in pids:
        os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while any(Path(f"/proc/{p}").exists() and "zombie" not in Path(f"/proc/{p}/status").read_text().lower()
              for p in pids):
        assert time.monotonic() < deadline
        time.sleep(0.05)


def test_attaches_cut_by_a_crash_can_be_finished_or_undone(tmp_path):
    state = tmp_path / "state"
    state.mkdir()
    cloud = _up(state)
    try:
        user = new_user(cloud, tmp_path)
        api = VolumeApi(cloud, user.token)
        _managers_reported(VolumeApi(cloud, cloud.token()))
        done, half, reserved = (api("POST", "/volumes", json={"volume": {"size": 1, "name": n}}).json()["volume"]["id"]
                                for n in ("done", "half", "reserved"))
        for vid in (done, half, reserved):
            api.wait(vid, "available")
        a_done = _attach(api, done, REMOTE)
        assert api("POST", f"/attachments/{a_done['id']}/action", json={"os-complete": {}}).status_code == 204
        assert _io(_nbd(a_done["connection_info"]), "write -P 0x5a 0 64k").returncode == 0
        a_half = _attach(api, half, REMOTE)            # exported; compute has not completed it
        a_reserved = _attach(api, reserved, None)      # compute has not sent its connector yet
        assert api.wait(half, "attaching") and api.wait(reserved, "reserved", "attaching")
        done_port, half_port = (a["connection_info"]["data"]["port"] for a in (a_done, a_half))
        cloud.proc.kill()
        cloud.proc.wait()
        _kill(_daemons(done_port))                     # its node "restarted": the daemon is gone
        assert _daemons(half_port)                     # the other outlived the manager
    finally:
        stop_cloud(cloud)
    cloud = _up(state)
    try:
        api = VolumeApi(cloud, user.token)
        # the export compute uses is served again, at the same address, with the data written
        deadline = time.monotonic() + 30
        while not _served(_nbd(a_done["connection_info"]), 0x5a):
            assert time.monotonic() < deadline, "the completed attachment's export was not served again"
            time.sleep(0.2)
        assert api("GET", f"/volumes/{done}").json()["volume"]["status"] == "in-use"
        # compute finishes the attach it had under way, and undoes the one it had only reserved
        assert api("POST", f"/attachments/{a_half['id']}/action", json={"os-complete": {}}).status_code == 204
        assert api("GET", f"/volumes/{half}").json()["volume"]["status"] == "in-use"
        assert _io(_nbd(a_half["connection_info"]), "write -P 0x33 0 64k").returncode == 0
        assert api("DELETE", f"/attachments/{a_reserved['id']}").status_code == 200
        assert api("GET", f"/volumes/{reserved}").json()["volume"]["status"] == "available"
        # detaching the others stops their daemons; nothing stays exported
        for att, vid in ((a_done, done), (a_half, half)):
            assert api("DELETE", f"/attachments/{att['id']}").status_code == 200
            assert api("GET", f"/volumes/{vid}").json()["volume"]["status"] == "available"
        assert _daemons(done_port) == [] and _daemons(half_port) == []
        for vid in (done, half, reserved):
            assert api("DELETE", f"/volumes/{vid}").status_code == 202
            api.wait_gone(vid)
        usage = api("GET", f"/os-quota-sets/{user.project_id}?usage=true").json()["quota_set"]
        assert (usage["volumes"]["in_use"], usage["volumes"]["reserved"]) == (0, 0)
    finally:
        stop_cloud(cloud)
