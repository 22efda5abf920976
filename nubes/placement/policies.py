"""Placement's default access rules: upstream's current defaults, admin or the service role.

As placement does since it dropped system scope (2023.1): every rule takes project-scoped tokens
only, and a project's reader may see its own usages (GET /usages?project_id=...). ``LEGACY`` is
the rule placement deprecated (``role:admin``), accepted beside them under
``policy_defaults = "legacy"``.
"""

from __future__ import annotations

from nubes.core.auth.policy import RuleDefault

ADMIN_OR_SERVICE = "role:admin or role:service"
PROJECT_READER = "role:reader and project_id:%(project_id)s"
LEGACY = "role:admin"

BASE = {
    "admin_api": "role:admin",
    "service_api": "role:service",
    "admin_or_service_api": ADMIN_OR_SERVICE,
    "project_reader_api": PROJECT_READER,
    "admin_or_project_reader_or_service_api": "role:admin or rule:project_reader_api or role:service",
}

RP_LIST = "placement:resource_providers:list"
RP_CREATE = "placement:resource_providers:create"
RP_SHOW = "placement:resource_providers:show"
RP_UPDATE = "placement:resource_providers:update"
RP_DELETE = "placement:resource_providers:delete"
RC_LIST = "placement:resource_classes:list"
RC_CREATE = "placement:resource_classes:create"
RC_SHOW = "placement:resource_classes:show"
RC_UPDATE = "placement:resource_classes:update"
RC_DELETE = "placement:resource_classes:delete"
INV_LIST = "placement:resource_providers:inventories:list"
INV_CREATE = "placement:resource_providers:inventories:create"
INV_SHOW = "placement:resource_providers:inventories:show"
INV_UPDATE = "placement:resource_providers:inventories:update"
INV_DELETE = "placement:resource_providers:inventories:delete"
AGG_LIST = "placement:resource_providers:aggregates:list"
AGG_UPDATE = "placement:resource_providers:aggregates:update"
RP_USAGES = "placement:resource_providers:usages"
TOTAL_USAGES = "placement:usages"
TRAITS_LIST = "placement:traits:list"
TRAITS_SHOW = "placement:traits:show"
TRAITS_UPDATE = "placement:traits:update"
TRAITS_DELETE = "placement:traits:delete"
RP_TRAIT_LIST = "placement:resource_providers:traits:list"
RP_TRAIT_UPDATE = "placement:resource_providers:traits:update"
RP_TRAIT_DELETE = "placement:resource_providers:traits:delete"
ALLOC_LIST = "placement:allocations:list"
ALLOC_MANAGE = "placement:allocations:manage"
ALLOC_UPDATE = "placement:allocations:update"
ALLOC_DELETE = "placement:allocations:delete"
RP_ALLOC_LIST = "placement:resource_providers:allocations:list"
ALLOC_CANDIDATES_LIST = "placement:allocation_candidates:list"
RESHAPE = "placement:reshaper:reshape"

RULES = {name: "rule:admin_or_service_api" for name in (
    RP_LIST, RP_CREATE, RP_SHOW, RP_UPDATE, RP_DELETE, RC_LIST, RC_CREATE, RC_SHOW, RC_UPDATE,
    RC_DELETE, INV_LIST, INV_CREATE, INV_SHOW, INV_UPDATE, INV_DELETE, AGG_LIST, AGG_UPDATE,
    RP_USAGES, TRAITS_LIST, TRAITS_SHOW, TRAITS_UPDATE, TRAITS_DELETE, RP_TRAIT_LIST,
    RP_TRAIT_UPDATE, RP_TRAIT_DELETE, ALLOC_LIST, ALLOC_MANAGE, ALLOC_UPDATE, ALLOC_DELETE,
    RP_ALLOC_LIST, ALLOC_CANDIDATES_LIST, RESHAPE)}
RULES[TOTAL_USAGES] = "rule:admin_or_project_reader_or_service_api"

DEFAULTS = ([RuleDefault(name, check) for name, check in BASE.items()]
            + [RuleDefault(name, check, scope_types=("project",), deprecated=LEGACY)
               for name, check in RULES.items()])
