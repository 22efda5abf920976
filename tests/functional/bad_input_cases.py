"""Hostile requests for the bad-input walk, generated from a service's route table.

Deterministic (one seeded RNG per route) and bounded (caps per route): the walk
(``test_bad_input.Walk``) sends, route by route, what these functions make. Kinds of input, each
labelled so a failure names it:

- paths with the valid ids the world made, and with bogus ones (unknown, huge integers, NUL,
  bad UTF-8, a 4,000-character id);
- bodies: none, malformed JSON, every JSON type at the top, nesting 50,000 deep, NaN/Infinity,
  1e999, a 5,000-digit integer, bad UTF-8, UTF-16, lone surrogates, NUL, 1 MiB;
- each leaf of a valid body (recorded when the world was made, or read back from the resource)
  replaced by a wrong type, a huge or negative integer, an oversized or hostile string;
- query strings: odd ``limit``/``marker``/sort values, repeated parameters, every common filter
  name the service's code spells (and every field of the listed resources) past 64 bits, and a
  sample of them with other hostile values (dates out of range, NUL, bad UTF-8, ``in:``);
- headers: impossible microversions, odd ``Accept`` and ``Range``, odd content types.
"""

from __future__ import annotations

import functools
import importlib
import json
import random
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

MAX_MUTATIONS = 32        # mutated bodies per route
MAX_FILTER_PARAMS = 16    # filter names tried with a second hostile value per collection route

JSON = "application/json"
INT64_MAX = 2**63 - 1

# (label, raw body, content type)
RAW_BODIES: list[tuple[str, bytes, str | None]] = [
    ("empty body", b"", JSON),
    ("empty body, no content type", b"", None),
    ("JSON object, no content type", b'{"a": 1}', None),
    ("whitespace body", b" \n\t", JSON),
    ("truncated JSON", b'{"a": ', JSON),
    ("not JSON", b"hello=world", JSON),
    ("JSON list", b"[]", JSON),
    ("JSON string", b'"x"', JSON),
    ("JSON number", b"7", JSON),
    ("JSON null", b"null", JSON),
    ("JSON true", b"true", JSON),
    ("empty object", b"{}", JSON),
    ("lists nested 50,000 deep", b"[" * 50000 + b"]" * 50000, JSON),
    ("objects nested 15,000 deep", b'{"a":' * 15000 + b"1" + b"}" * 15000, JSON),
    ("NaN literal", b'{"x": NaN, "y": [NaN]}', JSON),
    ("Infinity literal", b'{"x": -Infinity}', JSON),
    ("1e999", b'{"x": 1e999}', JSON),
    ("5,000-digit integer", b'{"x": 1' + b"0" * 5000 + b"}", JSON),
    ("bad UTF-8", b'{"x": "\xff\xfe\xc3("}', JSON),
    ("UTF-16 JSON", '{"x": 1}'.encode("utf-16"), JSON),
    ("lone surrogate escape", b'{"x": "\\ud800", "\\udfff": 1}', JSON),
    ("NUL escape", b'{"x": "a\\u0000b"}', JSON),
    ("duplicate keys", b'{"x": 1, "x": {"y": 2}}', JSON),
    ("30,000-element list", b"[" + b"0," * 30000 + b"0]", JSON),
    ("1 MiB string", b'{"x": "' + b"a" * 2**20 + b'"}', JSON),
]

CONTENT_TYPES = ["text/plain", "multipart/form-data; boundary=x", "application/json; charset=utf-16",
                 "application/octet-stream", "application/openstack-images-v2.1-json-patch", ";;;",
                 "x" * 3000]


def _deep(depth: int) -> Any:
    value: Any = "leaf"
    for _ in range(depth):
        value = {"a": [value]}
    return value


# (label, value) a leaf of a valid body is replaced with.
LEAF_VALUES: list[tuple[str, Any]] = [
    ("2**64", 2**64),
    ("-(2**63)-1", -(2**63) - 1),
    ("2**63-1", INT64_MAX),
    ("2**31", 2**31),
    ("-1", -1),
    ("10**30", 10**30),
    ("1.5", 1.5),
    ("1e308", 1e308),
    ("NUL in string", "a\x00b"),
    ("lone surrogate", "\ud800x"),
    ("control characters", "\x01\x1b[31m\x7f"),
    ("64 KiB string", "s" * 65536),
    ("unicode", "n\u00e4me-\u540d\u524d-\U0001f4a5"),
    ("empty string", ""),
    ("digits string", "18446744073709551616"),
    ("null", None),
    ("true", True),
    ("list", [1, "a", None]),
    ("object", {"a": 1}),
    ("nested 200 deep", _deep(200)),
]
PRIORITY_LEAF = {"2**63-1", "plus 2**31", "-(2**63)-1", "NUL in string", "lone surrogate", "null", "object",
                 "truncated"}


def _transforms(value: Any) -> list[tuple[str, Any]]:
    """Variations of a valid value: a truncated string (a corrupt key, a half UUID), NUL or
    spaces added, a number past the 32-bit columns or negated."""
    if isinstance(value, str) and value:
        return [("truncated", value[: len(value) // 2 + 1]), ("NUL appended", value + "\0"),
                ("padded with spaces", f"  {value}  "), ("doubled", value * 2)]
    if isinstance(value, int) and not isinstance(value, bool):
        return [("plus 2**31", value + 2**31), ("negated", -value - 1), ("as a string", str(value))]
    return []


QUERY_CASES: list[str] = [
    "limit=-1", "limit=0", "limit=1e999", "limit=18446744073709551616", "limit=-18446744073709551616",
    "limit=abc", "limit=", "limit=1&limit=2", "limit=1.5",
    "marker=nubes-bogus-marker", "marker=%00", "marker=99999999999999999999999", "marker=",
    "sort_key=bogus", "sort_dir=sideways", "sort=bogus:up", "sort_key=name&sort_dir=asc&sort_dir=desc",
    "sort_key=id&sort_key=name&sort_dir=asc", "fields=bogus", "fields=id&fields=%00", "page_reverse=maybe",
    "%00=%00", "a%5Bb%5D=c", "=x", "&&&=&", "x=" + "y" * 4000, "%ff%fe=%c3%28",
]

# What an item's GET is sent (its query string is rarely read; the collection gets them all).
ITEM_QUERY_CASES = ["limit=-1", "limit=1e999", "marker=%00", "sort_key=bogus", "fields=bogus",
                    "%00=%00", "x=" + "y" * 4000, "%ff%fe=%c3%28"]

FILTER_NAMES = [
    "name", "id", "status", "description", "tags", "tags-any", "not-tags", "not-tags-any", "project_id",
    "tenant_id", "domain_id", "user_id", "group_id", "role_id", "enabled", "is_domain", "parent_id",
    "visibility", "member_status", "owner", "size_min", "size_max", "min_ram", "min_disk", "minRam",
    "minDisk", "is_public", "changes-since", "changes-before", "created_at", "updated_at", "all_tenants",
    "all_projects", "deleted", "ip", "ip6", "flavor", "image", "host", "hypervisor_hostname",
    "availability_zone", "network_id", "subnet_id", "device_id", "device_owner", "mac_address", "fixed_ips",
    "mtu", "ip_version", "cidr", "shared", "router:external", "admin_state_up", "segmentation_id",
    "provider:segmentation_id", "port_range_min", "port_range_max", "revision_number", "resources",
    "required", "member_of", "in_tree", "uuid", "include_subtree", "effective", "expires_at", "hidden",
    "os_hidden", "protected", "default_limit", "resource_limit", "ram", "vcpus", "disk", "instance_uuid",
    "migration_type", "start", "end", "detailed", "with_servers", "keypair_type", "type", "priority",
    "security_group_id", "direction", "protocol", "ethertype", "prefixlen", "min_prefixlen",
    "max_prefixlen", "default_prefixlen", "quota", "generation", "consumer_type", "group_policy",
    "root_required", "same_subtree", "interface", "region_id", "service_id", "parent_region_id",
    "offset", "page", "page_size", "marker", "limit", "sort",
]
FILTER_VALUES = ["18446744073709551616", "-9223372036854775809", "1e999", "%00", "%ff",
                 "9999999-12-31T25:61:00Z", "-1", "true,false", "x" * 4000, "in:", "!", ":"]

BOGUS_IDS = ["nubes-bogus-id", "99999999999999999999999", "-1", "%00", "%ff%fe", "x" * 4000,
             "00000000-0000-0000-0000-000000000000"]

_PARAM = re.compile(r"\{(\w+)(?::(\w+))?\}")


@dataclass
class Case:
    method: str
    path: str                     # already quoted, with the query string
    label: str
    content: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)


def fill(template: str, ids: dict[str, str]) -> str:
    """The template with each parameter replaced by its value in ``ids`` (quoted, unless it is
    already percent-encoded), or a bogus one."""

    def sub(m: re.Match[str]) -> str:
        default = "nubes-bogus/path" if m.group(2) == "path" else "nubes-bogus-id"
        value = ids.get(m.group(1), default)
        return value if value.startswith("%") else quote(value, safe=":/")

    return _PARAM.sub(sub, template)


def params_of(template: str) -> list[str]:
    return [m.group(1) for m in _PARAM.finditer(template)]


def _dumps(body: Any) -> bytes:
    return json.dumps(body).encode()


def leaves(body: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Paths to every value in a JSON document, containers included (not the root)."""
    if prefix:
        yield prefix
    if isinstance(body, dict):
        for k, v in body.items():
            yield from leaves(v, (*prefix, k))
    elif isinstance(body, list):
        for i, v in enumerate(body[:3]):
            yield from leaves(v, (*prefix, i))


def replaced(body: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    head, rest = path[0], path[1:]
    if isinstance(body, dict):
        return {**body, head: replaced(body[head], rest, value)}
    out = list(body)
    out[head] = replaced(body[head], rest, value)
    return out


def mutations(seeds: list[Any], rng: random.Random) -> list[tuple[str, bytes]]:
    """Each seed with one value replaced: all priority values per leaf, then a sample of the rest."""
    first, rest = [], []
    for n, seed in enumerate(seeds):
        for path in leaves(seed):
            where = "/".join(map(str, path))
            current: Any = seed
            for step in path:
                current = current[step]
            for label, value in [*LEAF_VALUES, *_transforms(current)]:
                item = (f"seed {n} {where} = {label}", replaced(seed, path, value))
                (first if label in PRIORITY_LEAF else rest).append(item)
    if len(first) >= MAX_MUTATIONS:
        rng.shuffle(first)
        chosen = first[:MAX_MUTATIONS]
    else:
        rng.shuffle(rest)
        chosen = first + rest[:MAX_MUTATIONS - len(first)]
    return [(label, _dumps(body)) for label, body in chosen]


def view_seeds(view: Any) -> list[Any]:
    """Update bodies read back from a resource: {key: {field: value}} one field each."""
    if not isinstance(view, dict) or len(view) != 1:
        return []
    (key, item), = view.items()
    if not isinstance(item, dict):
        return []
    return [{key: {k: v}} for k, v in item.items() if k not in ("id", "links")]


def header_cases(service_type: str) -> list[tuple[str, dict[str, Any]]]:
    return [
        ("huge microversion", {"OpenStack-API-Version": f"{service_type} 99999999999999999999.1"}),
        ("huge minor microversion", {"OpenStack-API-Version": f"{service_type} 2.99999999999999999999"}),
        ("malformed microversion", {"OpenStack-API-Version": f"{service_type} -1.x, , {service_type}"}),
        ("legacy microversion header", {"X-OpenStack-Nova-API-Version": "2.99999999999999999999"}),
        ("odd Accept", {"Accept": "application/json;q=abc, */*;q=nan, text/html;q=1e999"}),
        ("odd Range", {"Range": "bytes=99999999999999999999-, -0, 5-1"}),
        ("bogus token", {"X-Auth-Token": "nubes-bogus-token"}),
        ("8 KB token", {"X-Auth-Token": "t" * 8000}),
        ("latin-1 token", {"X-Auth-Token": "t\u00e9t\u00e9".encode("latin-1")}),
    ]


def rng_for(service: str, method: str, template: str) -> random.Random:
    return random.Random(zlib.crc32(f"{service} {method} {template}".encode()))


def is_collection(template: str) -> bool:
    return not template.rstrip("/").endswith("}")


def body_cases(method: str, path: str, seeds: list[Any], rng: random.Random,
               ctype: str = JSON) -> Iterator[Case]:
    """Raw bodies, odd content types, then mutated seeds sent as ``ctype`` (the route's own type)."""
    for label, raw, raw_ctype in RAW_BODIES:
        yield Case(method, path, label, raw, {"Content-Type": raw_ctype} if raw_ctype else {})
    sample = _dumps(seeds[0]) if seeds else b"{}"
    for odd in CONTENT_TYPES:
        yield Case(method, path, f"content type {odd[:40]}", sample, {"Content-Type": odd})
    for label, raw in mutations(seeds, rng):
        yield Case(method, path, label, raw, {"Content-Type": ctype})


@functools.cache
def names_in_source(service: str) -> frozenset[str]:
    """Every string literal of the service's package that could be a parameter name: a filter
    its code never spells cannot be read by it, so only these get every hostile value."""
    root = Path(importlib.import_module(f"nubes.{service}").__file__).parent
    found: set[str] = set()
    for path in root.rglob("*.py"):
        found.update(re.findall(r"[\"']([A-Za-z][A-Za-z0-9_:.-]{1,40})[\"']", path.read_text()))
    return frozenset(found)


def query_cases(method: str, path: str, fields: list[str], rng: random.Random,
                known: frozenset[str] = frozenset()) -> Iterator[Case]:
    """The odd queries; every filter name the service's code spells (and every field of the listed
    resources) past 64 bits; then a sample of all names with another hostile value."""
    for q in QUERY_CASES:
        yield Case(method, f"{path}?{q}", f"query {q[:60]}")
    names = list(dict.fromkeys([*FILTER_NAMES, *fields]))
    for name in [n for n in names if n in known or n in fields]:
        q = f"{quote(name, safe=':')}={FILTER_VALUES[0]}"
        yield Case(method, f"{path}?{q}", f"filter {q[:60]}")
    for name in rng.sample(names, min(MAX_FILTER_PARAMS, len(names))):
        q = f"{quote(name, safe=':')}={rng.choice(FILTER_VALUES[1:])}"
        yield Case(method, f"{path}?{q}", f"filter {q[:60]}")
