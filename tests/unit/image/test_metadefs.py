"""The shipped metadata definitions and the metadef schemas that validate requests."""

from __future__ import annotations

import pytest

from nubes.image.service import metadef_schemas as ms
from nubes.image.service import metadef_seed, schemas


def test_every_shipped_definition_is_a_valid_namespace():
    docs = metadef_seed.definitions()
    assert len(docs) >= 5
    names = [d["namespace"] for d in docs]
    assert len(set(names)) == len(names)
    for doc in docs:
        assert schemas.problem(ms.namespace_body(), doc) is None, doc["namespace"]
        assert doc["visibility"] == "public" and doc["protected"] is True
        for obj in doc.get("objects", []):
            assert set(obj.get("required", [])) <= set(obj["properties"]), obj["name"]
        for assoc in doc["resource_type_associations"]:
            assert assoc["name"] in metadef_seed.RESOURCE_TYPES, assoc


@pytest.mark.parametrize(("body", "fragment"), [
    ({"name": "p", "type": "string"}, "'title' is a required property"),
    ({"name": "p", "title": "P", "type": "float"}, "is not one of"),
    ({"name": "p", "title": "P", "type": "string", "maxLength": -1}, "less than the minimum"),
    ({"name": "p", "title": "P", "type": "array", "required": ["a", "a"]}, "non-unique"),
    ({"name": "x" * 81, "title": "P", "type": "string"}, "is too long"),
], ids=["no-title", "bad-type", "negative-length", "duplicate-required", "long-name"])
def test_property_bodies_are_checked(body, fragment):
    err = schemas.problem(ms.property_body(), body)
    assert err is not None and fragment in err


def test_served_schemas():
    for name in ("namespace", "namespaces", "object", "objects", "property", "properties", "tag", "tags",
                 "resource_type", "resource_types"):
        assert ms.served(name)["name"], name
    assert ms.served("resource_types")["properties"]["resource_type_associations"]["type"] == "array"
    assert ms.served("nothing") is None


def test_unknown_keys_are_refused_as_the_served_schemas_would():
    assert "Additional properties" in schemas.problem(ms.property_body(), {
        "name": "p", "title": "P", "type": "string", "colour": "red"})
    assert "Additional properties" in schemas.problem(ms.namespace_body(), {"namespace": "n", "x": 1})
