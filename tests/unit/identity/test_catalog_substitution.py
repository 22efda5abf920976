"""Endpoint URLs with %(project_id)s / $(project_id)s are formatted for the token, as Keystone does."""

from __future__ import annotations

from nubes.identity.db.queries.catalog import substituted

CATALOG = [{"id": "s1", "type": "volumev3", "name": "cinderv3", "endpoints": [
    {"id": "e1", "interface": "public", "url": "http://h:8776/v3/%(project_id)s"},
    {"id": "e2", "interface": "internal", "url": "http://h:8776/v3/$(tenant_id)s"}]},
    {"id": "s2", "type": "compute", "name": "nova", "endpoints": [
        {"id": "e3", "interface": "public", "url": "http://h:8774/v2.1"}]}]


def test_project_values_are_substituted():
    out = substituted(CATALOG, {"project_id": "p1", "tenant_id": "p1", "user_id": "u1"})
    assert [e["url"] for e in out[0]["endpoints"]] == ["http://h:8776/v3/p1", "http://h:8776/v3/p1"]
    assert out[1]["endpoints"][0]["url"] == "http://h:8774/v2.1"
    assert CATALOG[0]["endpoints"][0]["url"].endswith("%(project_id)s")     # the cached catalog is kept


def test_endpoints_a_token_cannot_fill_are_left_out():
    out = substituted(CATALOG, {"project_id": "", "tenant_id": "", "user_id": "u1"})
    assert out[0]["endpoints"] == [] and len(out[1]["endpoints"]) == 1
