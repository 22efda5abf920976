"""THE route table of the placement service: (method, path, handler, first microversion, public)."""

from __future__ import annotations

import importlib

from nubes.core.api.routing import Route
from nubes.placement.api import versions

RP = "/resource_providers/{uuid}"

TABLE: list[tuple[str, str, str, str, bool]] = [
    ("GET", "/", "versions.list_versions", "1.0", True),
    ("GET", "/resource_providers", "resource_providers.list_resource_providers", "1.0", False),
    ("POST", "/resource_providers", "resource_providers.create_resource_provider", "1.0", False),
    ("GET", RP, "resource_providers.show_resource_provider", "1.0", False),
    ("PUT", RP, "resource_providers.update_resource_provider", "1.0", False),
    ("DELETE", RP, "resource_providers.delete_resource_provider", "1.0", False),
    ("GET", f"{RP}/inventories", "inventories.list_inventories", "1.0", False),
    ("PUT", f"{RP}/inventories", "inventories.replace_inventories", "1.0", False),
    ("POST", f"{RP}/inventories", "inventories.create_inventory", "1.0", False),
    ("DELETE", f"{RP}/inventories", "inventories.delete_inventories", "1.5", False),
    ("GET", f"{RP}/inventories/{{resource_class}}", "inventories.show_inventory", "1.0", False),
    ("PUT", f"{RP}/inventories/{{resource_class}}", "inventories.update_inventory", "1.0", False),
    ("DELETE", f"{RP}/inventories/{{resource_class}}", "inventories.delete_inventory", "1.0", False),
    ("GET", f"{RP}/aggregates", "aggregates.list_aggregates", "1.1", False),
    ("PUT", f"{RP}/aggregates", "aggregates.update_aggregates", "1.1", False),
    ("GET", f"{RP}/usages", "allocations.provider_usages", "1.0", False),
    ("GET", f"{RP}/allocations", "allocations.list_provider_allocations", "1.0", False),
    ("GET", f"{RP}/traits", "traits.list_provider_traits", "1.6", False),
    ("PUT", f"{RP}/traits", "traits.update_provider_traits", "1.6", False),
    ("DELETE", f"{RP}/traits", "traits.delete_provider_traits", "1.6", False),
    ("GET", "/resource_classes", "resource_classes.list_resource_classes", "1.2", False),
    ("POST", "/resource_classes", "resource_classes.create_resource_class", "1.2", False),
    ("GET", "/resource_classes/{name}", "resource_classes.show_resource_class", "1.2", False),
    ("PUT", "/resource_classes/{name}", "resource_classes.update_resource_class", "1.2", False),
    ("DELETE", "/resource_classes/{name}", "resource_classes.delete_resource_class", "1.2", False),
    ("GET", "/traits", "traits.list_traits", "1.6", False),
    ("GET", "/traits/{name}", "traits.show_trait", "1.6", False),
    ("PUT", "/traits/{name}", "traits.put_trait", "1.6", False),
    ("DELETE", "/traits/{name}", "traits.delete_trait", "1.6", False),
    ("GET", "/allocations/{consumer_uuid}", "allocations.show_allocations", "1.0", False),
    ("PUT", "/allocations/{consumer_uuid}", "allocations.put_allocations", "1.0", False),
    ("DELETE", "/allocations/{consumer_uuid}", "allocations.delete_allocations", "1.0", False),
    ("POST", "/allocations", "allocations.post_allocations", "1.13", False),
    ("GET", "/allocation_candidates", "allocation_candidates.list_allocation_candidates", "1.10", False),
    ("GET", "/usages", "allocations.total_usages", "1.9", False),
    ("POST", "/reshaper", "allocations.reshape", "1.30", False),
]


def routes() -> list[Route]:
    out = []
    for method, path, target, first, public in TABLE:
        module, func = target.rsplit(".", 1)
        handler = getattr(importlib.import_module(f"nubes.placement.api.{module}"), func)
        if first != "1.0":
            handler = versions.min_version(first, handler)
        out.append(Route(method, path, handler, public=public, name=path))
    return out
