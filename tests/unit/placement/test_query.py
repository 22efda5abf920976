"""Query-string parsing of resources, traits and aggregates, as Placement does it."""

from __future__ import annotations

import pytest

from nubes.placement import exceptions as exc
from nubes.placement.api import query

AGG = "14a5c8a3-5a99-4e8f-88be-00d85fcb1c17"
AGG2 = "66d98e7c-3c25-485d-a0dc-1cea651884de"


def test_resources():
    assert query.resources("VCPU:2,MEMORY_MB:1024") == {"VCPU": 2, "MEMORY_MB": 1024}
    for bad, msg in (("", "Got: empty string"), ("VCPU", "Badly formed"), ("VCPU:x", "positive integer"),
                     ("VCPU:0", "amount >= 1"), ("VCPU:1:2", "Badly formed")):
        with pytest.raises(exc.BadRequest, match=msg):
            query.resources(bad)


def test_traits_by_version():
    assert query.traits("A,!B", allow_forbidden=True, allow_any=False) == ([{"A"}], {"B"})
    assert query.traits("in:A,B", allow_forbidden=True, allow_any=True) == ([{"A", "B"}], set())
    with pytest.raises(exc.BadRequest, match="only supported since microversion 1.39"):
        query.traits("in:A,B", allow_forbidden=True, allow_any=False)
    with pytest.raises(exc.BadRequest, match="Got: A,!B"):
        query.traits("A,!B", allow_forbidden=False, allow_any=False)
    with pytest.raises(exc.BadRequest, match="does not support forbidden"):
        query.traits("in:A,!B", allow_forbidden=True, allow_any=True)
    with pytest.raises(exc.BadRequest, match="empty trait"):
        query.traits("A,,B", allow_forbidden=True, allow_any=True)


def test_repeated_required_counts_only_from_1_39():
    items = [("required", "A"), ("required", "in:B,C")]
    assert query.required_params(items, "required", (1, 39)) == ([{"A"}, {"B", "C"}], set())
    items = [("required", "A"), ("required", "B")]
    assert query.required_params(items, "required", (1, 38)) == ([{"B"}], set())


def test_member_of():
    assert query.member_of_one(AGG) == ({AGG}, set())
    assert query.member_of_one(f"in:{AGG},{AGG2}") == ({AGG, AGG2}, set())
    assert query.member_of_one(f"!{AGG}") == (set(), {AGG})
    assert query.member_of_one(f"!in:{AGG},{AGG2}") == (set(), {AGG, AGG2})
    with pytest.raises(exc.BadRequest, match="must be prefixed"):
        query.member_of_one(f"{AGG},{AGG2}")
    with pytest.raises(exc.BadRequest, match="valid UUID"):
        query.member_of_one("in:nope")
    items = [("member_of", AGG), ("member_of", AGG2)]
    with pytest.raises(exc.BadRequest, match="Multiple member_of parameters are not supported"):
        query.member_of_params(items, "member_of", (1, 23))
    assert query.member_of_params(items, "member_of", (1, 24)) == ([{AGG}, {AGG2}], set())
    with pytest.raises(exc.BadRequest, match="Forbidden member_of"):
        query.member_of_params([("member_of", f"!{AGG}")], "member_of", (1, 31))


def test_suffix_patterns():
    assert query.KEY.match("resources12").groups() == ("resources", "12")
    assert query.KEY.match("resources_A") is None
    assert query.KEY_1_33.match("required_NET-1").groups() == ("required", "_NET-1")
