"""THE route table of the compute service: every (method, path, handler, first microversion) it serves.

Nova's catalog URL ends in /v2.1; the same routes also answer under /v2.1/{project_id}
(the older URL form clients may still be configured with).
"""

from __future__ import annotations

import importlib

from nubes.core.api.routing import Route
from nubes.compute.api import versions

V = "/v2.1"
FL = f"{V}/flavors/{{flavor_id}}"
Row = tuple[str, str, str, str, bool]

DISCOVERY: list[Row] = [
    ("GET", "/", "versions.list_versions", "2.1", True),
    ("GET", V, "versions.show_v21", "2.1", True),
]

FLAVORS: list[Row] = [
    ("GET", f"{V}/flavors", "flavors.list_flavors", "2.1", False),
    ("POST", f"{V}/flavors", "flavors.create_flavor", "2.1", False),
    ("GET", f"{V}/flavors/detail", "flavors.list_flavors_detail", "2.1", False),
    ("GET", FL, "flavors.show_flavor", "2.1", False),
    ("PUT", FL, "flavors.update_flavor", "2.55", False),
    ("DELETE", FL, "flavors.delete_flavor", "2.1", False),
    ("GET", f"{FL}/os-extra_specs", "flavor_extra_specs.list_extra_specs", "2.1", False),
    ("POST", f"{FL}/os-extra_specs", "flavor_extra_specs.create_extra_specs", "2.1", False),
    ("GET", f"{FL}/os-extra_specs/{{key}}", "flavor_extra_specs.show_extra_spec", "2.1", False),
    ("PUT", f"{FL}/os-extra_specs/{{key}}", "flavor_extra_specs.update_extra_spec", "2.1", False),
    ("DELETE", f"{FL}/os-extra_specs/{{key}}", "flavor_extra_specs.delete_extra_spec", "2.1", False),
    ("GET", f"{FL}/os-flavor-access", "flavor_access.list_flavor_access", "2.1", False),
    ("POST", f"{FL}/action", "flavor_access.flavor_action", "2.1", False),
]

KEYPAIRS: list[Row] = [
    ("GET", f"{V}/os-keypairs", "keypairs.list_keypairs", "2.1", False),
    ("POST", f"{V}/os-keypairs", "keypairs.create_keypair", "2.1", False),
    ("GET", f"{V}/os-keypairs/{{name}}", "keypairs.show_keypair", "2.1", False),
    ("DELETE", f"{V}/os-keypairs/{{name}}", "keypairs.delete_keypair", "2.1", False),
]

# servers, server actions, metadata, tags, interfaces, instance actions, server groups, quotas, limits
SERVERS: list[Row] = []

# os-services, os-hypervisors, os-availability-zone, os-aggregates, os-simple-tenant-usage
HOSTS: list[Row] = []


def table() -> list[Row]:
    return DISCOVERY + FLAVORS + KEYPAIRS + SERVERS + HOSTS

# Parts of the Compute API not served yet: 501 (see docs/api-coverage.md).
NOT_IMPLEMENTED = [
    f"{V}/servers", f"{V}/servers/{{path:path}}", f"{V}/os-server-groups", f"{V}/os-server-groups/{{path:path}}",
    f"{V}/os-quota-sets/{{path:path}}", f"{V}/os-quota-class-sets/{{path:path}}", f"{V}/limits",
    f"{V}/os-hypervisors", f"{V}/os-hypervisors/{{path:path}}", f"{V}/os-services",
    f"{V}/os-services/{{path:path}}", f"{V}/os-availability-zone", f"{V}/os-availability-zone/{{path:path}}",
    f"{V}/os-aggregates", f"{V}/os-aggregates/{{path:path}}", f"{V}/os-simple-tenant-usage",
    f"{V}/os-simple-tenant-usage/{{path:path}}", f"{V}/os-migrations", f"{V}/os-instance_usage_audit_log",
    f"{V}/os-server-external-events", f"{V}/os-assisted-volume-snapshots", f"{V}/os-console-auth-tokens/{{path:path}}",
]


def routes() -> list[Route]:
    out = []
    served = {path for _m, path, *_ in table()}
    for method, path, target, first, public in table():
        module, func = target.rsplit(".", 1)
        handler = getattr(importlib.import_module(f"nubes.compute.api.{module}"), func)
        if first != "2.1":
            handler = versions.min_version(first, handler)
        out.append(Route(method, path, handler, public=public, name=path))
    from nubes.compute.api.unsupported import not_implemented

    for path in NOT_IMPLEMENTED:
        if path in served:
            continue
        for method in ("GET", "POST", "PUT", "DELETE"):
            out.append(Route(method, path, not_implemented, name=path))
    return out
