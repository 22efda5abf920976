"""The core JSON Schema subset: jsonschema's messages, with where the violation is."""

from __future__ import annotations

from nubes.core.api.jsonschema import errors, first_error

FLAVOR = {"type": "object", "required": ["flavor"], "additionalProperties": False, "properties": {
    "flavor": {"type": "object", "required": ["name", "ram"], "properties": {
        "name": {"type": "string", "minLength": 1, "maxLength": 255},
        "ram": {"type": ["integer", "string"], "pattern": "^[0-9]+$", "minimum": 1},
        "tags": {"type": "array", "maxItems": 2, "items": {"type": "string"}}}}}}


def test_paths_and_values_of_violations():
    err = first_error({"flavor": {"name": "a", "ram": "x"}}, FLAVOR)
    assert err.path == ("flavor", "ram") and err.value == "x" and "does not match" in err.message
    err = first_error({"flavor": {"name": "a"}}, FLAVOR)
    assert err.path == ("flavor",) and err.message == "'ram' is a required property"
    err = first_error({"flavor": {"name": "a", "ram": 1, "tags": ["a", 3]}}, FLAVOR)
    assert err.path == ("flavor", "tags", 1) and err.message == "3 is not of type 'string'"
    assert first_error({"flavor": {"name": "a", "ram": 1, "tags": ["a", "b", "c"]}}, FLAVOR).message \
        == "['a', 'b', 'c'] is too long"
    assert errors({"flavor": {"name": "a", "ram": 0}}, FLAVOR) == "0 is less than the minimum of 1"
    assert errors({"flavor": {"name": "a", "ram": 1}, "x": 1}, FLAVOR) == \
        "Additional properties are not allowed ('x' was unexpected)"
    assert errors({"flavor": {"name": "a", "ram": 1}}, FLAVOR) is None


def test_numbers_sent_as_strings_are_held_to_minimum_and_maximum():
    """As Nova's validator: "ram": "18446744073709551616" passes the pattern but not the maximum."""
    limit = {"type": ["integer", "string"], "pattern": "^-?[0-9]+$", "minimum": -1, "maximum": 2**31 - 1}
    assert errors("18446744073709551616", limit) == \
        "18446744073709551616 is greater than the maximum of 2147483647"
    assert errors("-2", limit) == "-2 is less than the minimum of -1"
    assert errors("2147483647", limit) is None and errors(2**31, limit) is not None
    assert errors("abc", limit) == "'abc' does not match '^-?[0-9]+$'"
    assert errors("18446744073709551616", {"type": "string"}) is None   # no bound: untouched
