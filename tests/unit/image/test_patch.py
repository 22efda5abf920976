"""JSON-patch parsing and application for image updates (pure logic)."""

import pytest

from nubes.core.exceptions import BadRequest, UnsupportedMediaType
from nubes.image.exceptions import ImageConflict, ImageForbidden, ReadOnlyAttribute, ReservedAttribute
from nubes.image.service import patch, schemas

SCHEMA = schemas.image_schema(["raw", "qcow2"], ["bare"])


def _draft(**props):
    core = {k: None for k in patch.CORE_ATTRIBUTES}
    core.update(protected=False, os_hidden=False, min_ram=0, min_disk=0, visibility="private")
    return patch.Draft(core=core, properties=dict(props), tags=["a", "b"])


def test_content_types():
    assert patch.patch_version("application/openstack-images-v2.1-json-patch") == 10
    assert patch.patch_version("application/openstack-images-v2.0-json-patch; charset=UTF-8") == 4
    with pytest.raises(UnsupportedMediaType) as err:
        patch.patch_version("application/json")
    assert "v2.1-json-patch" in err.value.details["accept_patch"]


def test_add_replace_remove_on_core_and_free_form():
    d = _draft(foo="1")
    changes = patch.parse([{"op": "replace", "path": "/name", "value": "n"},
                           {"op": "add", "path": "/hw_disk_bus", "value": "scsi"},
                           {"op": "replace", "path": "/foo", "value": "2"},
                           {"op": "remove", "path": "/foo"}], 10)
    patch.apply(d, changes)
    assert d.core["name"] == "n" and d.properties == {"hw_disk_bus": "scsi"}


def test_draft4_syntax_and_add_conflict():
    changes = patch.parse([{"add": "/x", "value": "1"}], 4)
    d = _draft(x="0")
    with pytest.raises(ImageConflict):
        patch.apply(d, changes)


@pytest.mark.parametrize("path", ["/size", "/status", "/id", "/checksum", "/os_hash_value", "/self"])
def test_read_only_attributes(path):
    with pytest.raises(ReadOnlyAttribute):
        patch.parse([{"op": "replace", "path": path, "value": 1}], 10)


def test_reserved_attributes_and_namespace():
    for path in ("/deleted", "/os_glance_import_task"):
        with pytest.raises(ReservedAttribute):
            patch.parse([{"op": "add", "path": path, "value": "x"}], 10)


def test_replace_missing_property_and_remove_core():
    with pytest.raises(ImageConflict, match="does not exist"):
        patch.apply(_draft(), patch.parse([{"op": "replace", "path": "/nope", "value": "v"}], 10))
    with pytest.raises(ImageForbidden, match="may not be removed"):
        patch.apply(_draft(), patch.parse([{"op": "remove", "path": "/name"}], 10))


@pytest.mark.parametrize("body,msg", [
    ({"op": "add"}, "path"), ({"path": "/x", "value": 1}, "op"), ({"op": "move", "path": "/x"}, "Invalid"),
    ({"op": "add", "path": "x", "value": 1}, 'start with "/"'),
    ({"op": "add", "path": "/a/b", "value": 1}, "Invalid JSON pointer"),
    ({"op": "add", "path": "/x"}, "value"),
])
def test_malformed_operations(body, msg):
    with pytest.raises(BadRequest, match=msg):
        patch.parse([body], 10)


def test_body_must_be_a_list_of_objects():
    with pytest.raises(BadRequest):
        patch.parse({"op": "add"}, 10)
    with pytest.raises(BadRequest):
        patch.parse(["x"], 10)


def test_tag_element_paths_from_sdk_diffs():
    d = _draft()
    patch.apply(d, patch.parse([{"op": "add", "path": "/tags/2", "value": "c"},
                                {"op": "add", "path": "/tags/-", "value": "a"},
                                {"op": "remove", "path": "/tags/0"}], 10))
    assert d.tags == ["b", "c"]
    patch.apply(d, patch.parse([{"op": "replace", "path": "/tags", "value": ["z", "z"]}], 10))
    assert d.tags == ["z"]
    with pytest.raises(ImageConflict):
        patch.apply(d, patch.parse([{"op": "remove", "path": "/tags/5"}], 10))


def test_values_validated_against_schema():
    for change in ({"op": "replace", "path": "/disk_format", "value": "bogus"},
                   {"op": "add", "path": "/free", "value": 3},
                   {"op": "replace", "path": "/protected", "value": "yes"},
                   {"op": "add", "path": "/tags/-", "value": 5},
                   {"op": "add", "path": "/kernel_id", "value": "not-a-uuid"}):
        with pytest.raises(BadRequest, match="does not match schema 'image'"):
            patch.validate_value(SCHEMA, patch.parse([change], 10)[0])
    patch.validate_value(SCHEMA, patch.parse([{"op": "add", "path": "/kernel_id", "value": None}], 10)[0])


def test_locations_are_invisible():
    with pytest.raises(ImageForbidden, match="locations"):
        patch.apply(_draft(), patch.parse([{"op": "add", "path": "/locations", "value": []}], 10))
