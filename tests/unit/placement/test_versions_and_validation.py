"""Microversion negotiation and the small JSON Schema validator."""

from __future__ import annotations

import pytest

from nubes.placement import exceptions as exc
from nubes.placement.api import schemas, versions
from nubes.placement.api.validation import errors, is_uuid


def test_version_list_is_contiguous_and_honest():
    listed = [tuple(int(x) for x in v.split(".")) for v, _ in versions.VERSIONS]
    assert listed == [(1, m) for m in range(0, 40)]
    assert versions.MAX_STR == "1.39" and versions.MIN_STR == "1.0"
    assert all(note for _, note in versions.VERSIONS)


@pytest.mark.parametrize("header,expected", [
    (None, (1, 0)), ("placement 1.17", (1, 17)), ("placement latest", (1, 39)),
    ("compute 2.1, placement 1.28", (1, 28)), ("PLACEMENT 1.2", (1, 2)), ("compute 2.90", (1, 0)),
])
def test_parse_header(header, expected):
    assert versions.parse_header(header) == expected


def test_unacceptable_and_malformed_versions():
    with pytest.raises(exc.VersionNotAcceptable) as err:
        versions.parse_header("placement 1.40")
    assert err.value.status == 406 and err.value.extra_fields["max_version"] == "1.39"
    with pytest.raises(exc.NotAcceptable):
        versions.parse_header("placement 0.9")
    for bad in ("placement 1", "placement 1.x", "placement v1.2"):
        with pytest.raises(exc.BadRequest):
            versions.parse_header(bad)


def test_error_codes_are_placements():
    assert exc.InventoryInUse("x").api_code == "placement.inventory.inuse"
    assert exc.ConcurrentUpdate("x").api_code == "placement.concurrent_update"
    assert exc.ProviderNotFound("u").api_code == "placement.resource_provider.not_found"
    assert exc.ProviderNotFound("u").status == 404
    assert exc.QueryDuplicateKey("x").api_code == "placement.query.duplicate_key"
    assert exc.BadRequest("x").api_code == "placement.undefined_code"


def test_validator_messages():
    s = schemas.provider_post((1, 20))
    assert errors({"name": "a"}, s) is None
    assert errors({}, s) == "'name' is a required property"
    assert errors({"name": "a", "x": 1}, s) == "Additional properties are not allowed ('x' was unexpected)"
    assert errors({"name": 5}, s) == "5 is not of type 'string'"
    assert "is not a 'uuid'" in errors({"name": "a", "uuid": "nope"}, s)
    assert "parent_provider_uuid" not in schemas.provider_post((1, 13))["properties"]
    inv = schemas.INVENTORIES
    assert errors({"resource_provider_generation": 0, "inventories": {"VCPU": {"total": 0}}}, inv) == \
        "0 is less than the minimum of 1"
    assert "does not match any of the regexes" in errors(
        {"resource_provider_generation": 0, "inventories": {"vcpu": {"total": 1}}}, inv)


def test_allocation_schemas_follow_the_version():
    assert "project_id" not in schemas.allocations_put((1, 7))["properties"]
    assert schemas.allocations_put((1, 11))["properties"]["allocations"]["type"] == "array"
    assert schemas.allocations_put((1, 12))["properties"]["allocations"]["type"] == "object"
    assert "consumer_generation" in schemas.allocations_put((1, 28))["required"]
    assert "consumer_type" in schemas.allocations_put((1, 38))["required"]
    assert "consumer_type" not in schemas.allocations_put((1, 37))["properties"]


def test_is_uuid():
    assert is_uuid("14a5c8a3-5a99-4e8f-88be-00d85fcb1c17")
    assert is_uuid("14a5c8a35a994e8f88be00d85fcb1c17")
    assert not is_uuid("nope")
