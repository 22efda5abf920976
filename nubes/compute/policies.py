"""The compute service's default access rules: Nova's current (secure RBAC) defaults, oslo.policy syntax.

Rule names are Nova's (``os_compute_api:<area>:<action>``), so operators' policy files keep working.
"""

from __future__ import annotations

from nubes.core.auth.policy import RuleDefault

ADMIN = "rule:context_is_admin"
PROJECT_MEMBER = "role:member and project_id:%(project_id)s"
PROJECT_READER = "role:reader and project_id:%(project_id)s"
ADMIN_OR_MEMBER = f"{ADMIN} or ({PROJECT_MEMBER})"
ADMIN_OR_READER = f"{ADMIN} or ({PROJECT_READER})"
ADMIN_OR_USER = f"{ADMIN} or user_id:%(user_id)s"
ANY_READER = "role:reader"
SERVICE = "role:service"

P = "os_compute_api"

RULES: dict[str, str] = {
    "context_is_admin": "role:admin",
    "admin_api": ADMIN,
    "service_api": SERVICE,
    "project_member_api": PROJECT_MEMBER,
    "project_reader_api": PROJECT_READER,
    # flavors
    f"{P}:os-flavor-manage:create": ADMIN,
    f"{P}:os-flavor-manage:update": ADMIN,
    f"{P}:os-flavor-manage:delete": ADMIN,
    f"{P}:os-flavor-extra-specs:index": ANY_READER,
    f"{P}:os-flavor-extra-specs:show": ANY_READER,
    f"{P}:os-flavor-extra-specs:create": ADMIN,
    f"{P}:os-flavor-extra-specs:update": ADMIN,
    f"{P}:os-flavor-extra-specs:delete": ADMIN,
    f"{P}:os-flavor-access": ADMIN,
    f"{P}:os-flavor-access:add_tenant_access": ADMIN,
    f"{P}:os-flavor-access:remove_tenant_access": ADMIN,
    # key pairs
    f"{P}:os-keypairs:index": ADMIN_OR_USER,
    f"{P}:os-keypairs:show": ADMIN_OR_USER,
    f"{P}:os-keypairs:create": ADMIN_OR_USER,
    f"{P}:os-keypairs:delete": ADMIN_OR_USER,
    # availability zones
    f"{P}:os-availability-zone:list": ANY_READER,
    f"{P}:os-availability-zone:detail": ADMIN,
    # limits
    f"{P}:limits": "@",
    f"{P}:limits:other_project": ADMIN,
}

DEFAULTS = [RuleDefault(name, text) for name, text in RULES.items()]
