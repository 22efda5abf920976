"""The served schemas validate like jsonschema would, and list parameters parse like Glance's."""

import pytest

from nubes.core.context import RequestContext
from nubes.core.exceptions import BadRequest
from nubes.image.conf import ImageConfig
from nubes.image.service import listing, schemas

SCHEMA = schemas.image_schema(["raw", "qcow2"], ["bare", "ovf"])


def test_image_schema_shape():
    assert SCHEMA["additionalProperties"] == {"type": "string"}
    props = SCHEMA["properties"]
    assert props["disk_format"]["enum"] == [None, "raw", "qcow2"]
    assert props["kernel_id"]["is_base"] is False and "is_base" not in props["name"]
    assert props["status"]["readOnly"] is True
    coll = schemas.collection("images", SCHEMA)
    assert coll["properties"]["images"]["items"] is SCHEMA
    assert {link["rel"] for link in coll["links"]} == {"first", "next", "describedby"}
    assert schemas.member_schema()["properties"]["status"]["enum"] == ["pending", "accepted", "rejected"]


@pytest.mark.parametrize("body,fragment", [
    ({"disk_format": "vhdz"}, "is not one of"),
    ({"name": "x" * 256}, "is too long"),
    ({"min_ram": "1"}, "is not of type 'integer'"),
    ({"protected": 1}, "is not of type 'boolean'"),
    ({"tags": ["a", 3]}, "is not of type 'string'"),
    ({"hw_disk_bus": 7}, "is not of type 'string'"),
    ({"id": "abc"}, "does not match"),
    ({"visibility": "everyone"}, "is not one of"),
])
def test_schema_problems(body, fragment):
    err = schemas.problem(SCHEMA, body)
    assert err and fragment in err


def test_schema_accepts_good_bodies():
    assert schemas.problem(SCHEMA, {"name": None, "disk_format": None, "min_ram": 5, "protected": True,
                                    "tags": ["x"], "hw_cpu_cores": "2", "ramdisk_id": None}) is None
    assert schemas.problem(schemas.member_schema(), {"status": "accepted"}) is None
    assert "Additional properties" in schemas.problem(schemas.member_schema(), {"other": 1})


def _parse(params):
    return listing.parse(RequestContext(project_id="p"), params, ImageConfig())


def test_sorting_both_syntaxes():
    spec, _ = _parse([("sort", "name:asc,size")])
    assert spec.sort == [("name", "asc"), ("size", "desc")]
    spec, _ = _parse([("sort_key", "name"), ("sort_key", "created_at"), ("sort_dir", "asc")])
    assert spec.sort == [("name", "asc"), ("created_at", "asc")]
    spec, _ = _parse([])
    assert spec.sort == [("created_at", "desc")]


@pytest.mark.parametrize("params,msg", [
    ([("sort", "name"), ("sort_key", "size")], "cannot be combined"),
    ([("sort_key", "owner")], "Invalid sort key"),
    ([("sort_dir", "up")], "Invalid sort direction"),
    ([("sort_key", "name"), ("sort_dir", "asc"), ("sort_dir", "desc"), ("sort_key", "id"),
      ("sort_key", "size")], "does not match"),
    ([("limit", "x")], "integer"), ([("limit", "-1")], "positive"),
    ([("visibility", "everyone")], "Invalid visibility"), ([("member_status", "maybe")], "Invalid status"),
    ([("os_hidden", "maybe")], "os_hidden"), ([("size_min", "big")], "non-numeric"),
    ([("changes-since", "2020")], "no longer available"),
])
def test_bad_list_parameters(params, msg):
    with pytest.raises(BadRequest, match=msg):
        _parse(params)


def test_filters_and_properties():
    spec, marker = _parse([("name", "in:a,b"), ("tag", "x"), ("tag", "y"), ("hw_disk_bus", "scsi"),
                           ("size_min", "10"), ("limit", "5000"), ("marker", "m"),
                           ("created_at", "gt:2020-01-01T00:00:00Z"), ("os_hidden", "true")])
    assert spec.equals == {"name": ["a", "b"]} and spec.tags == ["x", "y"]
    assert spec.properties == {"hw_disk_bus": "scsi"} and spec.size_min == 10
    assert spec.limit == 1000 and marker == "m" and spec.os_hidden is True
    assert spec.times["created_at"][0].op == "gt"
