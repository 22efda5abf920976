"""Quotas from identity's unified limits: image count at create, stored bytes checked while data streams."""

from __future__ import annotations

import pytest

from tests.functional.image.conftest import store_files

JSON = {"Accept": "application/json"}
MIB = 1024 * 1024


@pytest.fixture
def limits(image_cloud, member):
    """Registered defaults high enough for everyone, tight project limits for the member project."""
    made: list[tuple[str, str]] = []

    def limit(resource: str, value: int) -> None:
        reg = image_cloud.osc("registered", "limit", "create", "--service", "image", "--default-limit",
                              "1000000", resource)
        lim = image_cloud.osc("limit", "create", "--service", "image", "--project", member.project_id,
                              "--resource-limit", str(value), resource)
        made.extend([("limit", lim["id"]), ("registered limit", reg["id"])])

    yield limit
    for kind, ident in made:
        image_cloud.osc(*kind.split(), "delete", ident, json_out=False)


def _usage(member) -> dict:
    return member.api("GET", "/v2/info/usage").json()["usage"]


def test_image_count_total(member, limits):
    used = _usage(member)["image_count_total"]["usage"]
    limits("image_count_total", used + 1)
    assert _usage(member)["image_count_total"]["limit"] == used + 1
    member.api.create()
    r = member.api("POST", "/v2/images", json={"name": "one-too-many"}, headers=JSON)
    assert r.status_code == 413
    assert "image_count_total is over limit" in r.json()["message"]


def test_image_size_total_enforced_mid_upload(image_cloud, member, limits):
    used = _usage(member)["image_size_total"]["usage"]
    limits("image_size_total", used + 1)          # MiB: one more MiB may be stored
    img = member.api.create(disk_format="raw", container_format="bare")

    def body():                                   # no Content-Length: only the stream can tell
        for _ in range(3):
            yield b"\1" * MIB

    r = member.api("PUT", f"/v2/images/{img['id']}/file", content=body(),
                   headers={**JSON, "Content-Type": "application/octet-stream"})
    assert r.status_code == 413, r.text
    assert "storage quota" in r.json()["message"]
    after = member.api("GET", f"/v2/images/{img['id']}").json()
    assert after["status"] == "queued" and after["size"] is None
    assert not any(img["id"] in p.name for p in store_files(image_cloud))
    # Declared too big: refused before any byte is read.
    r = member.api("PUT", f"/v2/images/{img['id']}/file", content=b"\1" * (2 * MIB),
                   headers={**JSON, "Content-Type": "application/octet-stream"})
    assert r.status_code == 413
    # Within the quota: accepted.
    assert member.api.upload(img["id"], b"\1" * (MIB // 2)).status_code == 204
    assert member.api("GET", f"/v2/images/{img['id']}").json()["status"] == "active"
