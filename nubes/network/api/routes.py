"""THE route table of the network service: every (method, path, handler) of Networking API v2.0 it serves.

Sections per resource family; each row is (method, path, "module.handler", public).
"""

from __future__ import annotations

import importlib

from nubes.core.api.routing import Route

V = "/v2.0"
Row = tuple[str, str, str, bool]

DISCOVERY: list[Row] = [
    ("GET", "/", "versions.list_versions", True),
    ("GET", V, "versions.show_v2", False),
    ("GET", f"{V}/extensions", "extensions.list_extensions", False),
    ("GET", f"{V}/extensions/{{alias}}", "extensions.show_extension", False),
]

NETWORKS: list[Row] = [
    ("GET", f"{V}/networks", "networks.list_networks", False),
    ("POST", f"{V}/networks", "networks.create_network", False),
    ("GET", f"{V}/networks/{{network_id}}", "networks.show_network", False),
    ("PUT", f"{V}/networks/{{network_id}}", "networks.update_network", False),
    ("DELETE", f"{V}/networks/{{network_id}}", "networks.delete_network", False),
]

SUBNETS: list[Row] = []

PORTS: list[Row] = []

SECURITY_GROUPS: list[Row] = []

ROUTERS: list[Row] = []

ADMIN: list[Row] = []   # quotas, agents, RBAC policies, availability zones, IP availability

TAGS: list[Row] = [
    ("GET", f"{V}/{{collection}}/{{resource_id}}/tags", "tags.list_tags", False),
    ("PUT", f"{V}/{{collection}}/{{resource_id}}/tags", "tags.replace_tags", False),
    ("DELETE", f"{V}/{{collection}}/{{resource_id}}/tags", "tags.delete_tags", False),
    ("GET", f"{V}/{{collection}}/{{resource_id}}/tags/{{tag}}", "tags.check_tag", False),
    ("PUT", f"{V}/{{collection}}/{{resource_id}}/tags/{{tag}}", "tags.add_tag", False),
    ("DELETE", f"{V}/{{collection}}/{{resource_id}}/tags/{{tag}}", "tags.delete_tag", False),
]


def table() -> list[Row]:
    # Tags last: their {collection} placeholder would otherwise shadow fixed paths.
    return DISCOVERY + NETWORKS + SUBNETS + PORTS + SECURITY_GROUPS + ROUTERS + ADMIN + TAGS


def routes() -> list[Route]:
    out = []
    for method, path, target, public in table():
        module, func = target.rsplit(".", 1)
        handler = getattr(importlib.import_module(f"nubes.network.api.{module}"), func)
        out.append(Route(method, path, handler, public=public, name=path))
    return out
