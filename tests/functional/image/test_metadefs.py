"""Metadata definitions (/v2/metadefs): the shipped definitions, namespaces and what they hold,
through the openstack CLI, openstacksdk and plain HTTP; who may see and change them."""

from __future__ import annotations

import uuid

import openstack
import pytest

JSON = {"Accept": "application/json"}
NS = "/v2/metadefs/namespaces"


def _name() -> str:
    return f"TEST::Ns::{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def conn(image_cloud):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("OS_CLIENT_CONFIG_FILE", str(image_cloud.state_dir / "clouds.yaml"))
        c = openstack.connect(cloud="nubes")
    yield c
    c.close()


def test_shipped_definitions_are_there_for_the_dashboard(api, member):
    # What Horizon's "Update Metadata" dialog asks for an image and for a flavor.
    for rt, prefix in (("OS::Glance::Image", "hw_"), ("OS::Nova::Flavor", "hw:")):
        listed = member.api("GET", f"{NS}?resource_types={rt}").json()["namespaces"]
        names = {n["namespace"] for n in listed}
        assert "NUBES::Compute::CPUTopology" in names and "NUBES::Compute::Watchdog" in names
        shown = member.api("GET", f"{NS}/NUBES::Compute::CPUTopology?resource_type={rt}").json()
        assert f"{prefix}cpu_sockets" in shown["properties"]
        assert shown["properties"][f"{prefix}cpu_sockets"]["type"] == "integer"
        assert shown["protected"] is True and shown["visibility"] == "public"
    flavor = member.api("GET", f"{NS}?resource_types=OS::Nova::Flavor").json()["namespaces"]
    assert "NUBES::Compute::GuestDevices" not in {n["namespace"] for n in flavor}
    devices = member.api("GET", f"{NS}/NUBES::Compute::GuestDevices").json()
    assert "virtio" in devices["properties"]["hw_disk_bus"]["enum"]
    assert devices["objects"][0]["name"] == "Paravirtual devices"
    assert devices["self"] == f"{NS}/NUBES::Compute::GuestDevices"
    types = {t["name"] for t in member.api("GET", "/v2/metadefs/resource_types").json()["resource_types"]}
    assert {"OS::Glance::Image", "OS::Nova::Flavor", "OS::Cinder::Volume", "OS::Nova::Aggregate"} <= types
    # Protected: even an admin has to unprotect it first.
    assert api("DELETE", f"{NS}/NUBES::Compute::Watchdog", headers=JSON).status_code == 403


def test_namespace_lifecycle_through_the_cli(image_cloud):
    name = _name()
    ns = image_cloud.osc("image", "metadef", "namespace", "create", "--display-name", "Test namespace",
                         "--description", "made by a test", "--public", name)
    assert ns["namespace"] == name and ns["visibility"] == "public"
    assert name in {r["namespace"] for r in image_cloud.osc("image", "metadef", "namespace", "list")}
    image_cloud.osc("image", "metadef", "resource", "type", "association", "create", name,
                    "OS::Glance::Image", json_out=False)
    assocs = image_cloud.osc("image", "metadef", "resource", "type", "association", "list", name)
    assert [a["Name"] if "Name" in a else a["name"] for a in assocs] == ["OS::Glance::Image"]
    prop = image_cloud.osc("image", "metadef", "property", "create", "--name", "hw_test_thing",
                           "--title", "Test thing", "--type", "string",
                           "--schema", '{"enum": ["a", "b"], "description": "a thing"}', name)
    assert prop["name"] == "hw_test_thing"
    listed = image_cloud.osc("image", "metadef", "property", "list", name)
    assert "hw_test_thing" in str(listed)
    shown = image_cloud.osc("image", "metadef", "property", "show", name, "hw_test_thing")
    assert shown["title"] == "Test thing" and shown["enum"] == ["a", "b"]
    image_cloud.osc("image", "metadef", "object", "create", "--namespace", name, "Thing group")
    obj = image_cloud.osc("image", "metadef", "object", "show", name, "Thing group")
    assert obj["name"] == "Thing group"
    image_cloud.osc("image", "metadef", "namespace", "set", "--protected", name, json_out=False)
    res = image_cloud.osc("image", "metadef", "namespace", "delete", name, check=False, json_out=False)
    assert res.returncode != 0
    image_cloud.osc("image", "metadef", "namespace", "set", "--unprotected", name, json_out=False)
    image_cloud.osc("image", "metadef", "namespace", "delete", name, json_out=False)
    res = image_cloud.osc("image", "metadef", "namespace", "show", name, check=False, json_out=False)
    assert res.returncode != 0


def test_tags_objects_and_properties_through_the_sdk(conn):
    name = _name()
    ns = conn.image.create_metadef_namespace(namespace=name, visibility="private")
    assert ns.namespace == name and ns.owner
    ns.set_tags(conn.image, ["Red", "green"])
    ns.set_tags(conn.image, ["blue"], append=True)
    fetched = conn.image.get_metadef_namespace(name)
    assert sorted(t["name"] for t in fetched.tags) == ["Red", "blue", "green"]
    conn.image.add_tag_to_metadef_namespace(fetched, "yellow")
    conn.image.remove_tag_from_metadef_namespace(fetched, "green")
    names = sorted(t["name"] for t in conn.image.get_metadef_namespace(name).tags)
    assert names == ["Red", "blue", "yellow"]
    ns.set_tags(conn.image, ["only"])                # without append: replaces them
    assert [t["name"] for t in conn.image.get_metadef_namespace(name).tags] == ["only"]
    conn.image.remove_tags_from_metadef_namespace(fetched)
    assert not conn.image.get_metadef_namespace(name).tags

    obj = conn.image.create_metadef_object(namespace=name, name="cpu", description="CPU things",
                                           required=["sockets"],
                                           properties={"sockets": {"title": "Sockets", "type": "integer"}})
    assert obj.properties["sockets"]["type"] == "integer"
    assert [o.name for o in conn.image.metadef_objects(name)] == ["cpu"]
    conn.image.update_metadef_object(obj, name, description="changed", name="cpu")
    assert conn.image.get_metadef_object("cpu", name).description == "changed"
    conn.image.create_metadef_property(name, name="hw_x", title="X", type="integer", minimum=1)
    assert [p.name for p in conn.image.metadef_properties(name)] == ["hw_x"]
    assert conn.image.get_metadef_property("hw_x", name).minimum == 1
    conn.image.delete_all_metadef_properties(name)
    assert not list(conn.image.metadef_properties(name))
    conn.image.delete_all_metadef_objects(name)
    assert not list(conn.image.metadef_objects(name))
    conn.image.delete_metadef_namespace(name)


def test_visibility_policy_and_errors(api, member):
    private, public = _name(), _name()
    r = api("POST", NS, json={"namespace": private, "properties": {
        "p1": {"title": "P1", "type": "string"}}, "tags": [{"name": "t"}]}, headers=JSON)
    assert r.status_code == 201, r.text
    assert r.json()["visibility"] == "private" and r.headers["location"].endswith(private)
    assert api("POST", NS, json={"namespace": public, "visibility": "public"}).status_code == 201
    # Another project sees the public one only; it may change neither (admins manage metadefs).
    assert member.api("GET", f"{NS}/{private}", headers=JSON).status_code == 404
    assert member.api("GET", f"{NS}/{private}/properties", headers=JSON).status_code == 404
    assert member.api("GET", f"{NS}/{public}").status_code == 200
    seen = {n["namespace"] for n in member.api("GET", f"{NS}?limit=1000").json()["namespaces"]}
    assert public in seen and private not in seen
    assert member.api("POST", NS, json={"namespace": _name()}, headers=JSON).status_code == 403
    assert member.api("PUT", f"{NS}/{public}", json={"namespace": public}, headers=JSON).status_code == 403
    assert member.api("POST", f"{NS}/{public}/tags/x", headers=JSON).status_code == 403
    assert member.api("DELETE", f"{NS}/{public}", headers=JSON).status_code == 403
    # Conflicts and bad input.
    assert api("POST", NS, json={"namespace": public}, headers=JSON).status_code == 409
    assert api("POST", f"{NS}/{private}/tags/T", headers=JSON).status_code == 409   # case-insensitive
    r = api("POST", f"{NS}/{private}/properties", json={"name": "p2", "type": "string"}, headers=JSON)
    assert r.status_code == 400 and "title" in r.json()["message"]
    r = api("POST", NS, json={"namespace": _name(), "visibility": "shared"}, headers=JSON)
    assert r.status_code == 400
    assert api("POST", NS, json={"namespace": _name(), "self": "x"}, headers=JSON).status_code == 403
    assert api("GET", f"{NS}?sort_dir=sideways", headers=JSON).status_code == 400
    assert api("GET", f"{NS}?limit=-1", headers=JSON).status_code == 400
    r = api("GET", f"{NS}/{private}/objects/none", headers=JSON)
    assert r.status_code == 404 and "not found in namespace" in r.json()["message"]
    # Rename, tag rename, paging.
    renamed = _name()
    r = api("PUT", f"{NS}/{private}", json={"namespace": renamed, "display_name": "Renamed"})
    assert r.status_code == 200 and r.json()["namespace"] == renamed
    assert api("GET", f"{NS}/{private}").status_code == 404
    assert api("PUT", f"{NS}/{renamed}/tags/t", json={"name": "u"}).json()["name"] == "u"
    page = api("GET", f"{NS}?limit=1&sort_key=namespace&sort_dir=asc").json()
    assert len(page["namespaces"]) == 1 and "marker=" in page["next"]
    after = api("GET", page["next"]).json()["namespaces"]
    assert after and after[0]["namespace"] > page["namespaces"][0]["namespace"]
    for name in (renamed, public):
        assert api("DELETE", f"{NS}/{name}").status_code == 204


def test_schemas(api):
    ns = api("GET", "/v2/schemas/metadefs/namespace").json()
    assert ns["name"] == "namespace" and "resource_type_associations" in ns["properties"]
    assert ns["definitions"]["property"]["additionalProperties"]["required"] == ["title", "type"]
    assert api("GET", "/v2/schemas/metadefs/namespaces").json()["name"] == "namespaces"
    for name in ("object", "objects", "property", "properties", "tag", "tags", "resource_type",
                 "resource_types"):
        assert api("GET", f"/v2/schemas/metadefs/{name}").status_code == 200, name
    assert api("GET", "/v2/schemas/metadefs/nothing").status_code == 404


def test_responses_are_what_the_served_schemas_describe(api):
    """glanceclient (Horizon's client) reads every metadef back through a model of the served
    schema, which takes no other keys: whatever is shown must be declared there."""
    def keys(name: str) -> set[str]:
        return set(api("GET", f"/v2/schemas/metadefs/{name}").json()["properties"])

    ns_keys, obj_keys, prop_keys, tag_keys = keys("namespace"), keys("object"), keys("property"), keys("tag")
    assoc_keys = keys("resource_type")
    for ns in api("GET", f"{NS}?limit=1000").json()["namespaces"]:
        full = api("GET", f"{NS}/{ns['namespace']}").json()
        assert set(full) <= ns_keys, full["namespace"]
        for obj in api("GET", f"{NS}/{ns['namespace']}/objects").json()["objects"]:
            assert set(obj) <= obj_keys, obj["name"]
        for name in api("GET", f"{NS}/{ns['namespace']}/properties").json()["properties"]:
            assert set(api("GET", f"{NS}/{ns['namespace']}/properties/{name}").json()) <= prop_keys, name
        for tag in api("GET", f"{NS}/{ns['namespace']}/tags").json()["tags"]:
            assert set(tag) <= tag_keys
        for assoc in full.get("resource_type_associations", []):
            assert set(assoc) <= assoc_keys
