"""Ansible's openstack.cloud.server against the cloud, as its users run it (ansible-playbook with the
cloud's clouds.yaml): a server with a floating IP (auto_ip, or a named one in floating_ips) is
created, a second run changes nothing and makes no second floating IP, and state absent with
delete_fip removes both."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.cloud import new_user
from tests.functional.compute.conftest import ComputeApi, unique
from tests.functional.compute.routed_fixtures import floating_of, make_routed, remove_routed
from tests.functional.compute.servers_fixtures import make_world

PLAYBOOK = shutil.which("ansible-playbook", path=str(Path(sys.executable).parent))


@pytest.fixture(scope="module")
def world(full_cloud, tmp_path_factory):
    return make_world(full_cloud, tmp_path_factory.mktemp("ansible"))


@pytest.fixture(scope="module")
def routed(full_cloud):
    routed = make_routed(full_cloud, "10.32.0.0/24", "172.24.9.0/24")
    yield routed
    remove_routed(full_cloud, routed)


def play(user: Any, tmp: Path, server: dict[str, Any]) -> dict[str, Any]:
    """Run one openstack.cloud.server task as ``user``; returns the task's result."""
    book = tmp / f"play-{unique('p')}.yaml"
    book.write_text(yaml.safe_dump([{"hosts": "localhost", "gather_facts": False, "tasks": [
        {"name": "server", "openstack.cloud.server": {"cloud": "member", "timeout": 120, **server}}]}]))
    home = tmp / "ansible-home"
    # The collection reads openstack.version.__version__ without importing the submodule, which
    # openstacksdk 4.x no longer imports itself: a client-side mismatch, bridged at start-up.
    shim = tmp / "shim"
    shim.mkdir(exist_ok=True)
    (shim / "sitecustomize.py").write_text("import openstack.version  # noqa: F401\n")
    env = {**user.env(), "HOME": str(home), "ANSIBLE_HOME": str(home),
           "ANSIBLE_LOCAL_TEMP": str(home / "tmp"), "ANSIBLE_REMOTE_TEMP": str(home / "tmp"),
           "ANSIBLE_CONFIG": str(tmp / "no-ansible.cfg"), "ANSIBLE_STDOUT_CALLBACK": "json",
           "ANSIBLE_NOCOLOR": "1", "ANSIBLE_RETRY_FILES_ENABLED": "0", "ANSIBLE_PYTHON_INTERPRETER": sys.executable,
           "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}", "PYTHONPATH": str(shim)}
    assert PLAYBOOK, "ansible-playbook is missing: `scripts/setup.sh --test` installs the test extra `ansible`"
    res = subprocess.run([PLAYBOOK, "-i", "localhost,", "-c", "local", str(book)], env=env, capture_output=True,
                         text=True, timeout=300)
    out = json.loads(res.stdout)
    (result,) = [host for task in out["plays"][0]["tasks"] for host in task["hosts"].values()]
    assert res.returncode == 0 and not result.get("failed"), result.get("msg") or res.stdout[-3000:] + res.stderr
    return result


def floating_ips(cloud: Any, network_id: str) -> list[dict[str, Any]]:
    return cloud.osc("floating ip", "list", "--network", network_id, "--long")


def test_server_with_floating_ip_is_idempotent_and_delete_fip_removes_it(full_cloud, full_api, world, routed,
                                                                         tmp_path):
    member = new_user(full_cloud, tmp_path)
    api = ComputeApi(full_cloud, member.token)
    # the group Nova gives a server anyway: without it, the module's second run removes it
    server = {"name": unique("ansible"), "image": world.image_id, "flavor": world.flavor_id,
              "network": routed.network_name, "auto_ip": True, "wait": True, "security_groups": ["default"]}
    first = play(member, tmp_path, server)
    assert first["changed"] is True
    sid = first["server"]["id"]
    (fip,) = floating_of(api("GET", f"/servers/{sid}").json()["server"])
    assert [f["Floating IP Address"] for f in floating_ips(member, routed.external_id)] == [fip["addr"]]

    second = play(member, tmp_path, server)
    assert second["changed"] is False, second
    assert second["server"]["id"] == sid
    assert [f["Floating IP Address"] for f in floating_ips(member, routed.external_id)] == [fip["addr"]]

    gone = play(member, tmp_path, {"name": server["name"], "state": "absent", "delete_fip": True, "wait": True})
    assert gone["changed"] is True
    assert api("GET", f"/servers/{sid}").status_code == 404
    assert floating_ips(member, routed.external_id) == []


def test_server_with_named_floating_ip_is_idempotent(full_cloud, world, routed, tmp_path):
    member = new_user(full_cloud, tmp_path)
    api = ComputeApi(full_cloud, member.token)
    fip = member.osc("floating ip", "create", routed.external_id)["floating_ip_address"]
    server = {"name": unique("ansible-ip"), "image": world.image_id, "flavor": world.flavor_id,
              "network": routed.network_name, "floating_ips": [fip], "wait": True,
              "security_groups": ["default"]}
    first = play(member, tmp_path, server)
    assert first["changed"] is True
    sid = first["server"]["id"]
    assert [a["addr"] for a in floating_of(api("GET", f"/servers/{sid}").json()["server"])] == [fip]
    second = play(member, tmp_path, server)
    assert second["changed"] is False, second
    assert [f["Floating IP Address"] for f in floating_ips(member, routed.external_id)] == [fip]
    gone = play(member, tmp_path, {"name": server["name"], "state": "absent", "delete_fip": True, "wait": True})
    assert gone["changed"] is True
    assert floating_ips(member, routed.external_id) == []
