"""The access-rule matcher every service's token middleware uses (keystonemiddleware's rules)."""

from __future__ import annotations

import pytest

from nubes.core.auth.access_rules import allows, path_matches, service_type_of

MATCHES = [
    ("/v2.1/servers", "/v2.1/servers", True),
    ("/v2.1/servers/", "/v2.1/servers", False),
    ("/v2.1/servers/abc", "/v2.1/servers/*", True),
    ("/v2.1/servers/abc/ips", "/v2.1/servers/*", False),
    ("/v2.1/servers/abc/ips", "/v2.1/servers/*/ips", True),
    ("/v2.1/servers/abc/ips", "/v2.1/servers/{server_id}/ips", True),
    ("/v2.1/servers/abc/ips/net", "/v2.1/**", True),
    ("/v2.1", "/v2.1/**", False),
    ("/v2.1/", "/v2.1/**", True),
    ("/v2x1/servers", "/v2.1/servers", False),      # a dot is a dot, not any character
    ("/v2.1/servers", "/v2.1/server*", True),       # * is one or more characters but /
    ("/v2.1/server", "/v2.1/server*", False),
]


@pytest.mark.parametrize(("path", "pattern", "expected"), MATCHES,
                         ids=[f"{p}~{q}" for p, q, _ in MATCHES])
def test_path_matches(path, pattern, expected):
    assert path_matches(path, pattern) is expected


RULES = [{"service": "compute", "method": "GET", "path": "/v2.1/servers"}]


def test_allows_needs_service_method_and_path():
    assert allows(RULES, "compute", "GET", "/v2.1/servers")
    assert not allows(RULES, "compute", "POST", "/v2.1/servers")
    assert not allows(RULES, "network", "GET", "/v2.1/servers")
    assert not allows(RULES, "compute", "GET", "/v2.1/flavors")
    assert not allows([], "compute", "GET", "/v2.1/servers")
    assert not allows(["junk", {"service": "compute", "method": "GET"}], "compute", "GET", "/v2.1/servers")


def test_a_token_may_always_validate_itself():
    assert allows([], "identity", "GET", "/v3/auth/tokens")
    assert not allows([], "identity", "DELETE", "/v3/auth/tokens")


def test_service_type_comes_from_the_spec():
    import nubes.image  # noqa: F401

    assert service_type_of("image") == "image"
    assert service_type_of("not-a-service") == "not-a-service"


def test_many_wildcards_cost_no_more_than_the_path():
    """A pattern a user chose cannot make a service backtrack: 70 wildcards on a long path
    that does not match answer at once (a backtracking regular expression would not return)."""
    pattern = "/" + "**a" * 70 + "b"
    assert not path_matches("/" + "a" * 4000, pattern)
    assert path_matches("/" + "a" * 4000 + "b", pattern)
    assert not path_matches("/" + "x" * 4000, "/" + "{s}" * 70 + "/")
