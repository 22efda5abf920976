"""Compute's metadata API (port 8775) as the network's metadata proxy reaches it: the OpenStack and
EC2 trees of one server, the proxy's signature and project checked, plain-text errors."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import httpx
import pytest

from tests.functional.compute.conftest import unique
from tests.functional.compute.servers_fixtures import boot_body, delete_all, make_world, wait_status

USER_DATA = b"#!/bin/sh\necho metadata-says-hi\n"


@pytest.fixture(scope="module")
def world(full_cloud, tmp_path_factory):
    return make_world(full_cloud, tmp_path_factory.mktemp("metadata"))


@pytest.fixture(scope="module")
def server(full_cloud, full_api, world):
    r = full_api("POST", "/servers", json=boot_body(
        world, unique("md"), key_name=world.key_name, metadata={"role": "db"},
        user_data=base64.b64encode(USER_DATA).decode()))
    assert r.status_code == 202, r.text
    s = wait_status(full_api, r.json()["server"]["id"])
    assert s["status"] == "ACTIVE"
    yield s
    delete_all(full_api, [s["id"]])


@pytest.fixture(scope="module")
def secret(full_cloud) -> str:
    return json.loads((full_cloud.state_dir / "secrets.json").read_text())["metadata_secret"]


def ask(cloud, path: str, server: dict | None, secret: str, *, method: str = "GET", tenant: str | None = None,
        signature: str | None = None, **kw) -> httpx.Response:
    headers = {}
    if server is not None:
        iid = server["id"]
        headers = {"X-Instance-ID": iid, "X-Tenant-ID": tenant or server["tenant_id"],
                   "X-Instance-ID-Signature": signature or hmac.new(secret.encode(), iid.encode(),
                                                                    hashlib.sha256).hexdigest(),
                   "X-Forwarded-For": "10.20.0.5"}
    return httpx.request(method, cloud.url("compute-metadata", path), headers=headers, timeout=30, **kw)


def test_openstack_tree(full_cloud, server, secret, world):
    versions = ask(full_cloud, "/openstack", server, secret)
    assert versions.status_code == 200 and versions.text.splitlines()[-1] == "latest"
    assert "2018-08-27" in versions.text.splitlines()
    files = ask(full_cloud, "/openstack/latest/", server, secret).text.splitlines()
    assert files == ["meta_data.json", "user_data", "password", "vendor_data.json", "network_data.json",
                     "vendor_data2.json"]
    assert ask(full_cloud, "/openstack/2012-08-10", server, secret).text.splitlines() == [
        "meta_data.json", "user_data"]
    md = ask(full_cloud, "/openstack/latest/meta_data.json", server, secret).json()
    assert md["uuid"] == server["id"] and md["meta"] == {"role": "db"} and md["project_id"] == server["tenant_id"]
    assert md["name"] == server["name"] and md["hostname"] and md["availability_zone"]
    (key,) = md["keys"]
    assert key["name"] == world.key_name and key["type"] == "ssh" and key["data"].startswith("ssh-ed25519 ")
    assert md["public_keys"] == {world.key_name: key["data"]}
    ud = ask(full_cloud, "/openstack/latest/user_data", server, secret)
    assert ud.status_code == 200 and ud.content == USER_DATA
    nd = ask(full_cloud, "/openstack/latest/network_data.json", server, secret).json()
    (link,) = nd["links"]
    (addr,) = server["addresses"][world.network_name]
    assert link["ethernet_mac_address"] == addr["OS-EXT-IPS-MAC:mac_addr"] and link["id"].startswith("tap")
    assert link["mtu"] and nd["networks"][0]["type"] == "ipv4_dhcp" and nd["networks"][0]["link"] == link["id"]
    assert ask(full_cloud, "/openstack/latest/vendor_data2.json", server, secret).json() == {}


def test_ec2_tree(full_cloud, server, secret, world):
    assert ask(full_cloud, "/", None, secret).text.splitlines()[-1] == "latest"
    assert ask(full_cloud, "/latest", server, secret).text.splitlines() == ["meta-data/", "user-data"]
    keys = ask(full_cloud, "/latest/meta-data/", server, secret).text.splitlines()
    assert {"instance-id", "local-ipv4", "hostname", "public-keys/", "placement/", "ami-id"} <= set(keys)
    (addr,) = server["addresses"][world.network_name]
    assert ask(full_cloud, "/latest/meta-data/local-ipv4", server, secret).text == addr["addr"]
    assert ask(full_cloud, "/2009-04-04/meta-data/instance-id", server, secret).text.startswith("i-")
    assert ask(full_cloud, "/latest/meta-data/public-keys/", server, secret).text == f"0={world.key_name}"
    key = ask(full_cloud, "/latest/meta-data/public-keys/0/openssh-key", server, secret)
    assert key.text.startswith("ssh-ed25519 ")
    zone = ask(full_cloud, "/latest/meta-data/placement/availability-zone", server, secret)
    assert zone.status_code == 200 and zone.text == server["OS-EXT-AZ:availability_zone"]
    assert ask(full_cloud, "/latest/user-data", server, secret).content == USER_DATA
    assert ask(full_cloud, "/latest/meta-data/no-such-key", server, secret).status_code == 404
    assert ask(full_cloud, "/1999-01-01/meta-data/", server, secret).status_code == 404


def test_password_is_set_once(full_cloud, server, secret):
    assert ask(full_cloud, "/openstack/latest/password", server, secret).text == ""
    r = ask(full_cloud, "/openstack/latest/password", server, secret, method="POST", content=b"encrypted-pw")
    assert r.status_code == 200
    again = ask(full_cloud, "/openstack/latest/password", server, secret, method="POST", content=b"other")
    assert again.status_code == 409
    assert ask(full_cloud, "/openstack/latest/password", server, secret).text == "encrypted-pw"
    big = ask(full_cloud, "/openstack/latest/password", server, secret, method="POST", content=b"x" * 300)
    assert big.status_code == 400 and "too large" in big.text


def test_requests_the_proxy_did_not_sign_are_refused(full_cloud, server, secret):
    r = ask(full_cloud, "/openstack/latest/meta_data.json", None, secret)
    assert r.status_code == 400 and r.text.strip() == "X-Instance-ID header is missing from request."
    assert r.headers["content-type"].startswith("text/plain")
    r = ask(full_cloud, "/openstack/latest/meta_data.json", server, secret, signature="0" * 64)
    assert r.status_code == 403 and "Invalid proxy request signature" in r.text
    # signed, but naming another project than the instance's
    r = ask(full_cloud, "/openstack/latest/meta_data.json", server, secret, tenant="someone-else")
    assert r.status_code == 404
    # signed for an instance that does not exist
    ghost = {"id": "00000000-0000-0000-0000-000000000000", "tenant_id": server["tenant_id"]}
    assert ask(full_cloud, "/openstack/latest/meta_data.json", ghost, secret).status_code == 404
