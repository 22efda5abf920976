"""Key pairs through the openstack CLI and raw HTTP: import, generate, per user, admin for others."""

from __future__ import annotations

import subprocess

from tests.functional.compute.conftest import unique


def _ssh_key(tmp_path) -> str:
    path = tmp_path / "id"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)], check=True)
    return (tmp_path / "id.pub").read_text().strip()


def test_keypair_cli_import_and_generate(compute_cloud, tmp_path):
    name = unique("k")
    pub = tmp_path / "k.pub"
    pub.write_text(_ssh_key(tmp_path) + "\n")
    k = compute_cloud.osc("keypair", "create", "--public-key", str(pub), name)
    assert k["name"] == name and k["type"] == "ssh" and len(k["fingerprint"].split(":")) == 16
    shown = compute_cloud.osc("keypair", "show", name)
    assert shown["fingerprint"] == k["fingerprint"]
    assert name in {x["Name"] for x in compute_cloud.osc("keypair", "list")}
    dup = compute_cloud.osc("keypair", "create", "--public-key", str(pub), name, check=False, json_out=False)
    assert dup.returncode != 0 and "already exists" in dup.stderr
    compute_cloud.osc("keypair", "delete", name, json_out=False)
    assert name not in {x["Name"] for x in compute_cloud.osc("keypair", "list")}


def test_generated_keypair_before_2_92(api):
    name = unique("gen")
    r = api("POST", "/os-keypairs", json={"keypair": {"name": name}}, version="2.10")
    assert r.status_code == 201, r.text
    k = r.json()["keypair"]
    assert k["private_key"].startswith("-----BEGIN RSA PRIVATE KEY-----")
    assert k["public_key"].startswith("ssh-rsa ")
    r = api("POST", "/os-keypairs", json={"keypair": {"name": unique("gen")}})
    assert "'public_key' is a required property" in api.fault(r, 400)
    assert api("DELETE", f"/os-keypairs/{name}", version="2.1").status_code == 202


def test_keypairs_are_per_user_and_admins_act_for_others(api, member, tmp_path):
    key = _ssh_key(tmp_path)
    name = unique("mine")
    r = member.api("POST", "/os-keypairs", json={"keypair": {"name": name, "public_key": key}})
    assert r.status_code == 201
    assert member.api.fault(member.api("GET", f"/os-keypairs/{name}?user_id=someone-else"), 403)
    assert api.fault(api("GET", f"/os-keypairs/{name}"), 404)
    other = api("GET", f"/os-keypairs/{name}?user_id={member.user_id}")
    assert other.status_code == 200 and other.json()["keypair"]["user_id"] == member.user_id
    r = api("POST", "/os-keypairs", json={"keypair": {"name": unique("for"), "public_key": key,
                                                       "user_id": member.user_id}})
    assert r.status_code == 201 and r.json()["keypair"]["user_id"] == member.user_id
    names = {k["keypair"]["name"] for k in member.api("GET", "/os-keypairs").json()["keypairs"]}
    assert name in names and r.json()["keypair"]["name"] in names


def test_keypair_bad_input(api):
    r = api("POST", "/os-keypairs", json={"keypair": {"name": "bad/name", "public_key": "ssh-rsa AAAA"}})
    assert "unsafe characters" in api.fault(r, 400)
    r = api("POST", "/os-keypairs", json={"keypair": {"name": unique("x"), "public_key": "not a key"}})
    assert "Keypair data is invalid" in api.fault(r, 400)
    assert api.fault(api("GET", "/os-keypairs/nope"), 404)
    assert api.fault(api("DELETE", "/os-keypairs/nope"), 404)
