"""Who may use a container or an account besides its owners: Swift's ACLs, as keystoneauth reads
them.

A container's ``X-Container-Read`` and ``X-Container-Write`` hold Swift's "V1" ACLs: elements
separated by commas, each a referrer (``.r:*``, ``.r:example.com``, ``.r:.example.com``, a
leading ``-`` refuses), ``.rlistings`` (referrers may list the container too), a keystone
identity (``<project_id>:<user_id>``, ``<project_id>:*``, ``*:<user_id>``, ``*:*``, and with
names, ``<project_name>:<user_name>``, when both are of the default domain), or a role name
(for users of the account's own project). The account's ``X-Account-Access-Control`` holds a
"V2" ACL, JSON ``{"admin": [...], "read-write": [...], "read-only": [...]}`` of the same
identities: Swift's TempAuth semantics (upstream keystoneauth stores the header but ignores
it): admin is an owner, read-write reads and writes every container and object (but not the
account), read-only reads them.

Headers only owners may see or set (ACLs, TempURL keys) are Swift's ``swift_owner_headers``."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from nubes.object.proxy.errors import SwiftError

READ, WRITE = "x-container-read", "x-container-write"
ACCOUNT_ACL = "x-account-access-control"
ACCOUNT_ACL_SYSMETA = "x-account-sysmeta-core-access-control"
ACCOUNT_ACL_LEVELS = ("admin", "read-write", "read-only")
OWNER_HEADERS = frozenset({
    READ, WRITE, "x-container-sync-key", "x-container-sync-to", ACCOUNT_ACL,
    "x-account-meta-temp-url-key", "x-account-meta-temp-url-key-2",
    "x-container-meta-temp-url-key", "x-container-meta-temp-url-key-2"})
REFERRER = (".r", ".ref", ".referer", ".referrer")
LISTINGS = ".rlistings"
DEFAULT_DOMAIN = "default"


@dataclass
class Grant:
    """Why a request to ``account`` is allowed; ``owner`` (Swift's ``swift_owner``) sees and sets
    the owner headers. ``container`` is set when the grant reaches only containers whose ACL
    allows the caller (``via`` "acl") or only that one container (a container's TempURL key)."""

    owner: bool
    via: str
    account: str = ""
    container: str | None = None

    @property
    def account_wide(self) -> bool:
        return self.container is None


def clean(header: str, value: str) -> str:
    """A container ACL as Swift stores it (spaces dropped, ``.referrer:`` as ``.r:``); 400 with
    Swift's sentence for an element it does not know."""
    out = []
    for raw in value.split(","):
        raw = raw.strip()
        if not raw:
            continue
        if ":" not in raw:
            out.append(raw)
            continue
        first, second = (v.strip() for v in raw.split(":", 1))
        if not first or not first.startswith("."):
            out.append(f"{first}:{second}")
            continue
        if first not in REFERRER:
            raise SwiftError(400, f"Unknown designator {first!r} in ACL: {raw!r}")
        if "write" in header:
            raise SwiftError(400, f"Referrers not allowed in write ACL: {raw!r}")
        negate = second.startswith("-")
        if negate:
            second = second[1:].strip()
        if second and second != "*" and second.startswith("*"):
            second = second[1:].strip()
        if not second or second == ".":
            raise SwiftError(400, f"No host/domain value after referrer designation in ACL: {raw!r}")
        out.append(f".r:{'-' if negate else ''}{second}")
    return ",".join(out)


def parse(value: str | None) -> tuple[list[str], list[str]]:
    """(referrers, other elements) of a stored container ACL."""
    referrers: list[str] = []
    groups: list[str] = []
    for element in (value or "").split(","):
        element = element.strip()
        if not element:
            continue
        first, sep, second = (v.strip() for v in element.partition(":"))
        if sep and first in REFERRER:
            referrers.append(second)
        else:
            groups.append(f"{first}:{second}" if sep else element)
    return referrers, groups


def referrer_allowed(referrer: str | None, allowed: list[str]) -> bool:
    """Swift's rule: the last element that names the Referer's host (or ``*``) decides."""
    if not allowed:
        return False
    host = urlsplit(referrer or "").hostname or "unknown"
    verdict = False
    for entry in allowed:
        negate = entry.startswith("-")
        name = entry[1:] if negate else entry
        if name == "*" and not negate or name == host or (name.startswith(".") and host.endswith(name)):
            verdict = not negate
    return verdict


def names_allowed(ctx: Any) -> bool:
    """keystoneauth takes names in ACLs only from users and projects of the default domain
    (names are unique only within a domain)."""
    return ctx.user_domain_id == DEFAULT_DOMAIN and ctx.project_domain_id == DEFAULT_DOMAIN


def identity_matches(ctx: Any, groups: list[str]) -> bool:
    """Whether ``<project>:<user>`` of the caller (ids, ``*``, names) is among ``groups``."""
    if not ctx.authenticated or not groups:
        return False
    projects, users = [ctx.project_id, "*"], [ctx.user_id, "*"]
    if names_allowed(ctx):
        projects.append(ctx.project_name)
        users.append(ctx.user_name)
    wanted = set(groups)
    return any(f"{p}:{u}" in wanted for p in projects if p for u in users if u)


def role_matches(ctx: Any, groups: list[str]) -> bool:
    roles = {g.lower() for g in groups if ":" not in g}
    return any(r.lower() in roles for r in ctx.roles)


def parse_account_acl(value: str | None) -> dict[str, list[str]]:
    """The stored account ACL (empty when none or unreadable)."""
    if not value:
        return {}
    try:
        acl = json.loads(value)
    except ValueError:
        return {}
    return acl if isinstance(acl, dict) else {}


def check_account_acl(value: str) -> str:
    """``X-Account-Access-Control`` as stored (compact, sorted JSON; "" removes it), or 400 with
    Swift's sentence."""
    if value == "":
        return ""
    try:
        acl = json.loads(value)
    except ValueError:
        acl = None
    if not isinstance(acl, dict):
        raise SwiftError(400, f"X-Account-Access-Control invalid: Syntax error in input ({value!r})")
    for key, grantees in acl.items():
        if key not in ACCOUNT_ACL_LEVELS:
            raise SwiftError(400, f"X-Account-Access-Control invalid: Key {json.dumps(key)} not "
                                  "recognized")
        if not isinstance(grantees, list):
            raise SwiftError(400, f"X-Account-Access-Control invalid: Value for key "
                                  f"{json.dumps(key)} must be a list")
        if not all(isinstance(g, str) for g in grantees):
            raise SwiftError(400, f"X-Account-Access-Control invalid: Elements of "
                                  f"{json.dumps(key)} list must be strings")
    return json.dumps(acl, ensure_ascii=True, separators=(",", ":"), sort_keys=True)


def account_level(ctx: Any, acl: dict[str, list[str]]) -> str | None:
    """The highest level of the account ACL that names the caller."""
    for level in ACCOUNT_ACL_LEVELS:
        if identity_matches(ctx, [g for g in acl.get(level, []) if isinstance(g, str)]):
            return level
    return None
