"""Raw HTTP against the image API: discovery, schemas, validation, errors, listing, data, ranges."""

from __future__ import annotations

import hashlib
import uuid

import httpx
import pytest

from nubes.image.service import schemas

JSON = {"Accept": "application/json"}


def _err(r: httpx.Response, status: int) -> str:
    assert r.status_code == status, r.text
    body = r.json()
    assert body["code"].startswith(str(status)) and body["title"]
    return body["message"]


def test_version_discovery(image_cloud):
    r = httpx.get(image_cloud.url("image", "/"))
    assert r.status_code == 300
    versions = r.json()["versions"]
    assert versions[0]["status"] == "CURRENT" and versions[0]["id"].startswith("v2.")
    assert all(v["links"][0]["href"] == image_cloud.url("image", "/v2/") for v in versions)
    assert {v["id"] for v in versions} >= {"v2.0", "v2.6", "v2.7", "v2.12", "v2.16"}
    assert versions[0]["id"] == "v2.17"
    assert httpx.get(image_cloud.url("image", "/versions")).status_code == 200


def test_authentication_required(image_cloud):
    r = httpx.get(image_cloud.url("image", "/v2/images"))
    assert r.status_code == 401 and r.json()["error"]["code"] == 401
    assert r.headers["www-authenticate"].startswith("Keystone uri=")


def test_schemas_describe_what_the_api_returns(api):
    image_schema = api("GET", "/v2/schemas/image").json()
    assert image_schema["name"] == "image"
    assert image_schema["additionalProperties"] == {"type": "string"}
    assert "qcow2" in image_schema["properties"]["disk_format"]["enum"]
    img = api.active(hw_disk_bus="scsi", kernel_id=None)
    assert schemas.problem(image_schema, img) is None
    listing = api("GET", "/v2/images?limit=3").json()
    images_schema = api("GET", "/v2/schemas/images").json()
    assert schemas.problem(images_schema, listing) is None
    for name in ("member", "members"):
        assert api("GET", f"/v2/schemas/{name}").json()["name"] == name


@pytest.mark.parametrize("body,status,fragment", [
    ({"disk_format": "floppy"}, 400, "is not one of"),
    ({"container_format": "zip"}, 400, "is not one of"),
    ({"min_ram": -1}, 400, "negative"),
    ({"status": "active"}, 403, "read-only"),
    ({"size": 3}, 403, "read-only"),
    ({"self": "x"}, 403, "read-only"),
    ({"deleted": "true"}, 403, "reserved"),
    ({"os_glance_import_task": "x"}, 403, "reserved"),
    ({"free": 1}, 400, "is not of type 'string'"),
    ({"id": "not-a-uuid"}, 400, "does not match"),
    ({"x" * 256: "v"}, 400, "greater than 255"),
])
def test_create_validation(api, body, status, fragment):
    assert fragment in _err(api("POST", "/v2/images", json=body, headers=JSON), status)


def test_create_bodies_and_headers(api):
    r = api("POST", "/v2/images", content=b"[not json", headers=JSON)
    assert "Malformed JSON" in _err(r, 400)
    r = api("POST", "/v2/images", json={"name": "hdr", "disk_format": "raw", "container_format": "bare"})
    assert r.status_code == 201
    assert r.headers["location"].endswith(f"/v2/images/{r.json()['id']}")
    assert r.headers["openstack-image-import-methods"] == "glance-direct,web-download,copy-image"
    assert r.headers["openstack-image-store-ids"] == "fast,slow"
    img = r.json()
    assert img["status"] == "queued" and img["visibility"] == "shared" and img["size"] is None
    assert img["os_hidden"] is False and img["protected"] is False and img["tags"] == []
    assert img["self"] == f"/v2/images/{img['id']}" and img["schema"] == "/v2/schemas/image"
    wanted = str(uuid.uuid4())
    assert api.create(id=wanted)["id"] == wanted
    assert "already exists" in _err(api("POST", "/v2/images", json={"id": wanted}, headers=JSON), 409)


def test_visibility_policy(api, member):
    assert "publicize_image" in _err(member.api("POST", "/v2/images", json={"visibility": "public"},
                                                headers=JSON), 403)
    assert member.api.create(visibility="community")["visibility"] == "community"
    r = member.api("POST", "/v2/images", json={"owner": str(uuid.uuid4().hex)}, headers=JSON)
    assert "not permitted to create images owned by" in _err(r, 403)
    assert api.create(visibility="public")["visibility"] == "public"
    img = member.api.create()
    r = member.api.patch(img["id"], [{"op": "replace", "path": "/visibility", "value": "public"}])
    assert r.status_code == 403


def test_private_images_stay_private(api, member):
    private = api.create(visibility="private")
    assert member.api("GET", f"/v2/images/{private['id']}").status_code == 404
    r = member.api("DELETE", f"/v2/images/{private['id']}")
    assert r.status_code == 404          # not 403: other projects' private images do not exist for them
    public = api.active(visibility="public")
    assert member.api("GET", f"/v2/images/{public['id']}").status_code == 200
    assert member.api("DELETE", f"/v2/images/{public['id']}").status_code == 403
    assert member.api("GET", f"/v2/images/{public['id']}/file").content == b"x" * 4096


def test_json_patch(api):
    img = api.create(disk_format="raw", container_format="bare", foo="1")
    iid = img["id"]
    r = api.patch(iid, [{"op": "replace", "path": "/name", "value": "renamed"},
                        {"op": "add", "path": "/hw_qemu_guest_agent", "value": "yes"},
                        {"op": "replace", "path": "/foo", "value": "2"},
                        {"op": "add", "path": "/tags", "value": ["a", "b"]},
                        {"op": "replace", "path": "/min_disk", "value": 2},
                        {"op": "replace", "path": "/os_hidden", "value": True}])
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["name"], body["foo"], body["hw_qemu_guest_agent"]) == ("renamed", "2", "yes")
    assert body["tags"] == ["a", "b"] and body["min_disk"] == 2 and body["os_hidden"] is True
    r = api.patch(iid, [{"op": "remove", "path": "/foo"}])
    assert "foo" not in r.json()
    h = {**JSON, "Content-Type": "application/openstack-images-v2.1-json-patch"}
    r = api("PATCH", f"/v2/images/{iid}", json=[{"op": "replace", "path": "/status", "value": "active"}],
            headers=h)
    assert "Attribute 'status' is read-only." in _err(r, 403)
    r = api("PATCH", f"/v2/images/{iid}", json=[], headers={**JSON, "Content-Type": "application/json"})
    assert r.status_code == 415 and "json-patch" in r.headers["accept-patch"]
    r = api("PATCH", f"/v2/images/{iid}", json=[{"op": "replace", "path": "/missing", "value": "v"}],
            headers=h)
    assert "does not exist" in _err(r, 409)
    r = api("PATCH", f"/v2/images/{iid}", json=[{"op": "remove", "path": "/name"}], headers=h)
    assert "may not be removed" in _err(r, 403)
    r = api("PATCH", f"/v2/images/{iid}", json=[{"op": "add", "path": "/disk_format", "value": "nope"}],
            headers=h)
    _err(r, 400)
    r = api("PATCH", f"/v2/images/{iid}", json={"op": "add"}, headers=h)
    assert "JSON array" in _err(r, 400)
    draft4 = api("PATCH", f"/v2/images/{iid}", json=[{"add": "/d4", "value": "x"}],
                 headers={"Content-Type": "application/openstack-images-v2.0-json-patch"})
    assert draft4.json()["d4"] == "x"
    active = api.active()
    r = api("PATCH", f"/v2/images/{active['id']}",
            json=[{"op": "replace", "path": "/disk_format", "value": "qcow2"}], headers=h)
    assert "can be only replaced for a queued image" in _err(r, 403)


def test_data_errors(api):
    queued = api.create(disk_format="raw", container_format="bare")
    r = api("GET", f"/v2/images/{queued['id']}/file")
    assert r.status_code == 204 and r.content == b""
    no_format = api.create()
    r = api("PUT", f"/v2/images/{no_format['id']}/file", content=b"abc",
            headers={**JSON, "Content-Type": "application/octet-stream"})
    assert "must be set prior to saving data" in _err(r, 400)
    r = api("PUT", f"/v2/images/{queued['id']}/file", content=b"abc",
            headers={**JSON, "Content-Type": "text/plain"})
    _err(r, 415)
    active = api.active(b"0123456789")
    r = api("PUT", f"/v2/images/{active['id']}/file", content=b"again",
            headers={**JSON, "Content-Type": "application/octet-stream"})
    assert "transition from active to saving" in _err(r, 409)
    assert api("GET", f"/v2/images/{active['id']}").json()["status"] == "active"


def test_download_ranges_and_md5(api):
    data = bytes(range(256)) * 40
    img = api.active(data)
    assert img["checksum"] == hashlib.md5(data).hexdigest() and img["size"] == len(data)
    r = api("GET", f"/v2/images/{img['id']}/file")
    assert r.status_code == 200 and r.content == data and r.headers["content-md5"] == img["checksum"]
    r = api("GET", f"/v2/images/{img['id']}/file", headers={"Range": "bytes=10-19"})
    assert r.status_code == 206 and r.content == data[10:20]
    assert r.headers["content-range"] == f"bytes 10-19/{len(data)}"
    r = api("GET", f"/v2/images/{img['id']}/file", headers={"Range": "bytes=-5"})
    assert r.status_code == 206 and r.content == data[-5:]
    r = api("GET", f"/v2/images/{img['id']}/file", headers={"Range": f"bytes={len(data)}-", **JSON})
    assert "Invalid start position" in _err(r, 416)
    r = api("GET", f"/v2/images/{img['id']}/file", headers={"Range": "bytes=0-1,5-6", **JSON})
    assert "multiple ranges" in _err(r, 400)
    r = api("HEAD", f"/v2/images/{img['id']}/file")
    assert r.status_code == 200 and r.headers["content-length"] == str(len(data)) and r.content == b""


def test_delete_protected_and_deactivate(api):
    img = api.active(protected=True)
    assert "protected" in _err(api("DELETE", f"/v2/images/{img['id']}", headers=JSON), 403)
    api.patch(img["id"], [{"op": "replace", "path": "/protected", "value": False}])
    assert api("POST", f"/v2/images/{img['id']}/actions/deactivate").status_code == 204
    assert api("POST", f"/v2/images/{img['id']}/actions/deactivate").status_code == 204   # no-op
    assert api("GET", f"/v2/images/{img['id']}").json()["status"] == "deactivated"
    assert api("POST", f"/v2/images/{img['id']}/actions/reactivate").status_code == 204
    queued = api.create()
    r = api("POST", f"/v2/images/{queued['id']}/actions/deactivate", headers=JSON)
    assert "Not allowed to deactivate image in status 'queued'" in _err(r, 403)
    assert api("DELETE", f"/v2/images/{img['id']}").status_code == 204
    assert api("GET", f"/v2/images/{img['id']}").status_code == 404
    assert api("DELETE", f"/v2/images/{img['id']}").status_code == 404


def test_list_filters_sorting_and_paging(api):
    tag = uuid.uuid4().hex
    made = [api.active(b"x" * (100 * (i + 1)), name=f"p{i}", tags=[tag], hw_flavour=str(i % 2))
            for i in range(5)]
    hidden = api.active(name="hidden", tags=[tag], os_hidden=True)

    def names(query: str) -> list[str]:
        return [i["name"] for i in api("GET", f"/v2/images?tag={tag}&{query}").json()["images"]]

    assert names("sort=name:asc") == ["p0", "p1", "p2", "p3", "p4"]
    assert names("sort_key=size&sort_dir=desc") == ["p4", "p3", "p2", "p1", "p0"]
    assert names("sort_key=name&sort_dir=asc&size_min=200&size_max=400") == ["p1", "p2", "p3"]
    assert sorted(names("hw_flavour=1")) == ["p1", "p3"]
    assert names("os_hidden=true") == ["hidden"]
    assert names("name=in:p1,p4&sort=name:desc") == ["p4", "p1"]
    assert names(f"id={made[2]['id']}") == ["p2"]
    # Paging follows "next" until the end, never repeating an image.
    seen, url = [], f"/v2/images?tag={tag}&limit=2&sort=name:asc"
    while url:
        page = api("GET", url).json()
        assert page["first"].startswith("/v2/images?") and "marker" not in page["first"]
        seen += [i["name"] for i in page["images"]]
        url = page.get("next")
    assert seen == ["p0", "p1", "p2", "p3", "p4"]
    assert "could not be found" in _err(api("GET", f"/v2/images?marker={uuid.uuid4()}", headers=JSON), 400)
    assert "Invalid sort key" in _err(api("GET", "/v2/images?sort_key=owner", headers=JSON), 400)
    assert hidden["os_hidden"] is True


def test_members_api(api, member):
    private = api.create(visibility="private")
    r = api("POST", f"/v2/images/{private['id']}/members", json={"member": member.project_id}, headers=JSON)
    assert "Only shared images have members" in _err(r, 403)
    img = api.active()
    iid = img["id"]
    r = api("POST", f"/v2/images/{iid}/members", json={"member": member.project_id})
    assert r.status_code == 200 and r.json()["status"] == "pending"
    assert r.json()["member_id"] == member.project_id
    assert r.json()["schema"] == "/v2/schemas/member"
    r = api("POST", f"/v2/images/{iid}/members", json={"member": member.project_id}, headers=JSON)
    assert "duplicated" in _err(r, 409)
    assert "not specified" in _err(api("POST", f"/v2/images/{iid}/members", json={}, headers=JSON), 400)
    # A (non-admin) owner cannot answer for the projects it shares with.
    own = member.api.active()
    admin_project = api("GET", f"/v2/images/{iid}").json()["owner"]
    member.api("POST", f"/v2/images/{own['id']}/members", json={"member": admin_project})
    r = member.api("PUT", f"/v2/images/{own['id']}/members/{admin_project}", json={"status": "accepted"},
                   headers=JSON)
    assert "modify_member" in _err(r, 403)
    r = member.api("PUT", f"/v2/images/{iid}/members/{member.project_id}", json={"status": "maybe"},
                   headers=JSON)
    _err(r, 400)
    r = member.api("PUT", f"/v2/images/{iid}/members/{member.project_id}", json={"status": "accepted"})
    assert r.status_code == 200 and r.json()["status"] == "accepted"
    listing = member.api("GET", f"/v2/images/{iid}/members").json()
    assert [m["member_id"] for m in listing["members"]] == [member.project_id]
    assert listing["schema"] == "/v2/schemas/members"
    ids = [i["id"] for i in member.api("GET", "/v2/images?visibility=shared").json()["images"]]
    assert iid in ids
    r = member.api("DELETE", f"/v2/images/{iid}/members/{member.project_id}")
    assert r.status_code == 403
    assert api("DELETE", f"/v2/images/{iid}/members/{member.project_id}").status_code == 204
    assert member.api("GET", f"/v2/images/{iid}").status_code == 404


def test_tags_api(api):
    img = api.create()
    assert api("PUT", f"/v2/images/{img['id']}/tags/one").status_code == 204
    assert api("PUT", f"/v2/images/{img['id']}/tags/one").status_code == 204
    assert api("GET", f"/v2/images/{img['id']}").json()["tags"] == ["one"]
    assert api("DELETE", f"/v2/images/{img['id']}/tags/one").status_code == 204
    assert api("DELETE", f"/v2/images/{img['id']}/tags/one").status_code == 404


def test_discovery_and_unimplemented(api):
    stores = api("GET", "/v2/info/stores").json()["stores"]
    assert stores == [{"id": "fast", "default": True}, {"id": "slow"}]
    detail = api("GET", "/v2/info/stores/detail").json()["stores"]
    assert detail[0]["type"] == "file" and "data_dir" in detail[0]["properties"]
    methods = api("GET", "/v2/info/import").json()["import-methods"]["value"]
    assert "glance-direct" in methods
    usage = api("GET", "/v2/info/usage").json()["usage"]
    assert usage["image_count_total"]["usage"] >= 1 and usage["image_count_total"]["limit"] == -1
    assert api("GET", "/v2/cache").status_code == 501
    assert api("GET", "/v2/nothing").status_code == 404


def test_images_collection_with_a_trailing_slash_is_no_route(api):
    # Glance has no route for /v2/images/ (the router would otherwise take it as /v2/images).
    for method in ("GET", "DELETE", "POST"):
        r = api(method, "/v2/images/", headers=JSON, **({"json": {}} if method == "POST" else {}))
        assert r.status_code == 404, (method, r.text)
    assert api("GET", "/v2/images").status_code == 200
    assert api("DELETE", "/v2/images").status_code == 405
