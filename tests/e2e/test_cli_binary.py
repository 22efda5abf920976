"""The `openstack` executable as a user's shell runs it: the few tests that pay its start-up.

Everywhere else the CLI runs inside the test process (tests/openstack_cli.py); these tests keep
the real path covered -- the README's commands, how the CLI finds ``clouds.yaml`` by itself,
exit statuses -- and check that the in-process runner answers exactly as the binary does.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import uuid

import pytest

from tests.cloud import VENV_BIN, Cloud, new_user, start_cloud, stop_cloud


@pytest.fixture(scope="module")
def shared_cloud(tmp_path_factory):
    c = start_cloud(tmp_path_factory.mktemp("cli-binary-state"))
    yield c
    stop_cloud(c)


def _bare_env(cloud: Cloud, home) -> dict[str, str]:
    """A shell's environment with no OS_* variables at all and an empty home directory."""
    env = {k: v for k, v in cloud.client_env().items() if not k.startswith("OS_")}
    env["HOME"] = str(home)
    return env


def test_readme_commands(shared_cloud):
    """README: OS_CLIENT_CONFIG_FILE=<state>/clouds.yaml, then token issue and catalog list."""
    env = _bare_env(shared_cloud, shared_cloud.state_dir)
    env["OS_CLIENT_CONFIG_FILE"] = str(shared_cloud.state_dir / "clouds.yaml")
    token = shared_cloud.osc_binary("--os-cloud", "nubes", "token", "issue", env=env)
    assert token["project_id"] and token["user_id"]
    catalog = shared_cloud.osc_binary("--os-cloud", "nubes", "catalog", "list", env=env)
    assert {"identity", "image", "placement", "network", "compute"} <= {e["Type"] for e in catalog}
    system = shared_cloud.osc_binary("--os-cloud", "nubes-system", "token", "issue", env=env)
    assert "project_id" not in system or not system["project_id"]


def test_clouds_yaml_found_in_the_working_directory_and_in_home(shared_cloud, tmp_path):
    work, home = tmp_path / "work", tmp_path / "home"
    work.mkdir()
    home.mkdir()
    shutil.copy(shared_cloud.state_dir / "clouds.yaml", work / "clouds.yaml")
    cmd = [str(VENV_BIN / "openstack"), "--os-cloud", "nubes", "project", "list", "-f", "json"]
    here = subprocess.run(cmd, cwd=work, env=_bare_env(shared_cloud, home), capture_output=True, text=True,
                          timeout=120)
    assert here.returncode == 0, here.stderr
    assert "admin" in {p["Name"] for p in json.loads(here.stdout)}

    (home / ".config" / "openstack").mkdir(parents=True)
    shutil.copy(shared_cloud.state_dir / "clouds.yaml", home / ".config" / "openstack" / "clouds.yaml")
    elsewhere = subprocess.run(cmd, cwd=tmp_path, env=_bare_env(shared_cloud, home), capture_output=True,
                               text=True, timeout=120)
    assert elsewhere.returncode == 0, elsewhere.stderr

    nowhere = subprocess.run(cmd, cwd=tmp_path, env=_bare_env(shared_cloud, tmp_path / "empty"),
                             capture_output=True, text=True, timeout=120)
    assert nowhere.returncode != 0 and "nubes" in nowhere.stderr


@pytest.mark.parametrize("argv", [
    ("flavor", "show", "no-such-flavor"),            # the API answers 404
    ("project", "create", "admin"),                  # 409: it exists
    ("server", "frobnicate"),                        # no such command
    ("network", "create"),                           # argparse: a required argument is missing
    ("--os-cloud", "no-such-cloud", "token", "issue"),
])
def test_exit_status_and_output_match_the_in_process_runner(shared_cloud, argv):
    binary = shared_cloud.osc_binary(*argv, check=False, json_out=False)
    inproc = shared_cloud.osc(*argv, check=False, json_out=False)
    assert binary.returncode != 0
    assert (inproc.returncode, inproc.stdout) == (binary.returncode, binary.stdout)
    assert _last_line(inproc.stderr) == _last_line(binary.stderr)


@pytest.mark.parametrize("argv", [("project", "list"), ("role", "list"), ("network", "list"),
                                  ("flavor", "list"), ("image", "list")])
def test_json_output_matches_the_in_process_runner(shared_cloud, argv):
    assert shared_cloud.osc(*argv) == shared_cloud.osc_binary(*argv)


def _last_line(text: str) -> str:
    """The CLI's last word on stderr, without the request id that differs from call to call."""
    lines = [ln for ln in text.splitlines() if ln.strip()]
    return re.sub(r"req-[0-9a-f-]{36}", "req-...", lines[-1]) if lines else ""


def test_in_process_calls_do_not_share_a_client(shared_cloud, tmp_path):
    """Each call is a new CLI: a member's call after an admin's must not reuse the admin's network
    client (osc-lib caches client handles on its ClientManager class)."""
    name = f"private-{uuid.uuid4().hex[:8]}"
    shared_cloud.osc("network", "create", name)
    member = new_user(shared_cloud, tmp_path)
    assert name not in {n["Name"] for n in member.osc("network", "list")}
    assert name in {n["Name"] for n in shared_cloud.osc("network", "list")}
    assert member.osc("token", "issue")["project_id"] == member.project_id
