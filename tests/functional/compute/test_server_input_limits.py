"""A server's sub-resources with ids no URL or header carries raw, or past 64 bits: Nova's answers."""

from __future__ import annotations

import pytest

from tests.functional.compute.conftest import unique
from tests.functional.compute.servers_fixtures import boot_body, delete_all, make_world, wait_status


@pytest.fixture(scope="module")
def server(full_cloud, full_api, tmp_path_factory):
    world = make_world(full_cloud, tmp_path_factory.mktemp("server-input"))
    r = full_api("POST", "/servers", json=boot_body(world, unique("limits")))
    assert r.status_code == 202, r.text
    sid = r.json()["server"]["id"]
    assert wait_status(full_api, sid)["status"] == "ACTIVE"
    yield sid
    delete_all(full_api, [sid])


def test_a_tag_no_header_can_carry_raw_is_added_with_an_encoded_location(full_api, server):
    r = full_api("PUT", f"/servers/{server}/tags/n%C3%A4me%01x")
    assert r.status_code == 201, r.text
    assert r.headers["location"].endswith(f"/v2.1/servers/{server}/tags/n%C3%A4me%01x")
    assert "n\u00e4me\x01x" in full_api("GET", f"/servers/{server}/tags").json()["tags"]
    message = full_api.fault(full_api("PUT", f"/servers/{server}/tags/a%00b"), 400)
    assert "NUL character" in message
    assert "a\x00b" not in full_api("GET", f"/servers/{server}/tags").json()["tags"]


def test_an_interface_id_no_url_can_carry_raw_is_not_found(full_api, server):
    r = full_api("GET", f"/servers/{server}/os-interface/%01x")
    assert r.status_code == 404, r.text


def test_a_migration_id_past_64_bits_is_not_found(full_api, server):
    huge = "99999999999999999999999"
    message = full_api.fault(full_api("GET", f"/servers/{server}/migrations/{huge}"), 404)
    assert message == f"Migration {huge} for instance {server} could not be found."
