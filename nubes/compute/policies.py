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
    # hosts: services, hypervisors, aggregates (admin only, as Nova)
    f"{P}:os-services:list": ADMIN,
    f"{P}:os-services:update": ADMIN,
    f"{P}:os-services:delete": ADMIN,
    f"{P}:os-hypervisors:list": ADMIN,
    f"{P}:os-hypervisors:list-detail": ADMIN,
    f"{P}:os-hypervisors:show": ADMIN,
    f"{P}:os-hypervisors:statistics": ADMIN,
    f"{P}:os-hypervisors:uptime": ADMIN,
    f"{P}:os-hypervisors:search": ADMIN,
    f"{P}:os-hypervisors:servers": ADMIN,
    f"{P}:os-aggregates:index": ADMIN,
    f"{P}:os-aggregates:create": ADMIN,
    f"{P}:os-aggregates:show": ADMIN,
    f"{P}:os-aggregates:update": ADMIN,
    f"{P}:os-aggregates:delete": ADMIN,
    f"{P}:os-aggregates:add_host": ADMIN,
    f"{P}:os-aggregates:remove_host": ADMIN,
    f"{P}:os-aggregates:set_metadata": ADMIN,
    # servers, quotas, server groups, instance actions (Nova's defaults)
    f"{P}:servers:index": ADMIN_OR_READER,
    f"{P}:servers:detail": ADMIN_OR_READER,
    f"{P}:servers:index:get_all_tenants": ADMIN,
    f"{P}:servers:detail:get_all_tenants": ADMIN,
    f"{P}:servers:allow_all_filters": ADMIN,
    f"{P}:servers:show": ADMIN_OR_READER,
    f"{P}:servers:show:flavor-extra-specs": ADMIN_OR_READER,
    f"{P}:servers:show:host_status": ADMIN,
    f"{P}:servers:show:host_status:unknown-only": ADMIN,
    f"{P}:servers:create": PROJECT_MEMBER,
    f"{P}:servers:create:forced_host": ADMIN,
    f"{P}:servers:create:requested_destination": ADMIN,
    f"{P}:servers:create:attach_volume": PROJECT_MEMBER,
    f"{P}:servers:create:attach_network": PROJECT_MEMBER,
    f"{P}:servers:create:trusted_certs": PROJECT_MEMBER,
    f"{P}:servers:create:zero_disk_flavor": ADMIN,
    f"{P}:servers:update": ADMIN_OR_MEMBER,
    f"{P}:servers:delete": ADMIN_OR_MEMBER,
    f"{P}:os-extended-server-attributes": ADMIN,
    f"{P}:os-deferred-delete:force": ADMIN_OR_MEMBER,
    f"{P}:os-quota-sets:show": ADMIN_OR_READER,
    f"{P}:os-quota-sets:detail": ADMIN_OR_READER,
    f"{P}:os-quota-sets:defaults": "@",
    f"{P}:os-quota-sets:update": ADMIN,
    f"{P}:os-quota-sets:delete": ADMIN,
    f"{P}:os-quota-class-sets:show": ADMIN,
    f"{P}:os-quota-class-sets:update": ADMIN,
    f"{P}:os-server-groups:create": PROJECT_MEMBER,
    f"{P}:os-server-groups:delete": ADMIN_OR_MEMBER,
    f"{P}:os-server-groups:index": ADMIN_OR_READER,
    f"{P}:os-server-groups:index:all_projects": ADMIN,
    f"{P}:os-server-groups:show": ADMIN_OR_READER,
    f"{P}:os-instance-actions:list": ADMIN_OR_READER,
    f"{P}:os-instance-actions:show": ADMIN_OR_READER,
    f"{P}:os-instance-actions:events": ADMIN,
    f"{P}:os-instance-actions:events:details": ADMIN,
}

DEFAULTS = [RuleDefault(name, text) for name, text in RULES.items()]
