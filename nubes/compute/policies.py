"""The compute service's default access rules: Nova's current (secure RBAC) defaults, oslo.policy syntax.

Rule names are Nova's (``os_compute_api:<area>:<action>``), so operators' policy files keep working.
Every API rule takes project-scoped tokens only (``scope_types=['project']`` throughout Nova; an
unscoped token counts as project scope in oslo.policy and has no role, so it passes only the rules
that need none, such as a user's own key pairs). The project ``manager`` persona (Nova 2025.2) may
migrate its project's servers without naming a host and list their migrations without host details.
Legacy mode accepts each rule without its persona roles (Nova's deprecated ``admin_or_owner``).
"""

from __future__ import annotations

from nubes.core.auth.policy import RuleDefault, without_personas

ADMIN = "rule:context_is_admin"
PROJECT_MANAGER = "role:manager and project_id:%(project_id)s"
PROJECT_MEMBER = "role:member and project_id:%(project_id)s"
PROJECT_READER = "role:reader and project_id:%(project_id)s"
ADMIN_OR_MANAGER = f"({PROJECT_MANAGER}) or {ADMIN}"
ADMIN_OR_MEMBER = f"{ADMIN} or ({PROJECT_MEMBER})"
ADMIN_OR_READER = f"{ADMIN} or ({PROJECT_READER})"
ADMIN_OR_USER = f"{ADMIN} or user_id:%(user_id)s"
ANY_READER = "role:reader"
SERVICE = "role:service"

P = "os_compute_api"
UNLOCK_OVERRIDE = f"{P}:os-lock-server:unlock:unlock_override"

BASE: dict[str, str] = {
    "context_is_admin": "role:admin",
    "admin_api": ADMIN,
    "service_api": SERVICE,
    "project_manager_api": PROJECT_MANAGER,
    "project_member_api": PROJECT_MEMBER,
    "project_reader_api": PROJECT_READER,
    "project_manager_or_admin": "rule:project_manager_api or rule:context_is_admin",
    "project_member_or_admin": "rule:project_member_api or rule:context_is_admin",
    "project_reader_or_admin": "rule:project_reader_api or rule:context_is_admin",
    # Nova's deprecated rule, for operators' files that still name it
    "admin_or_owner": "is_admin:True or project_id:%(project_id)s",
}

RULES: dict[str, str] = {
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
    f"{P}:os-deferred-delete:restore": ADMIN_OR_MEMBER,
    f"{P}:ips:index": ADMIN_OR_READER,
    f"{P}:ips:show": ADMIN_OR_READER,
    f"{P}:os-server-password:show": ADMIN_OR_READER,
    f"{P}:os-server-password:clear": ADMIN_OR_MEMBER,
    f"{P}:os-instance-usage-audit-log:list": ADMIN,
    f"{P}:os-instance-usage-audit-log:show": ADMIN,
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
    # server actions, moves, server sub-resources, usage (Nova's defaults)
    f"{P}:servers:start": ADMIN_OR_MEMBER,
    f"{P}:servers:stop": ADMIN_OR_MEMBER,
    f"{P}:servers:reboot": ADMIN_OR_MEMBER,
    f"{P}:servers:rebuild": ADMIN_OR_MEMBER,
    f"{P}:servers:rebuild:trusted_certs": ADMIN_OR_MEMBER,
    f"{P}:servers:resize": ADMIN_OR_MEMBER,
    f"{P}:servers:confirm_resize": ADMIN_OR_MEMBER,
    f"{P}:servers:revert_resize": ADMIN_OR_MEMBER,
    f"{P}:servers:create_image": ADMIN_OR_MEMBER,
    f"{P}:servers:create_image:allow_volume_backed": ADMIN_OR_MEMBER,
    f"{P}:os-create-backup": ADMIN_OR_MEMBER,
    f"{P}:servers:trigger_crash_dump": ADMIN_OR_MEMBER,
    f"{P}:servers:migrations:index": ADMIN_OR_MANAGER,
    f"{P}:servers:migrations:index:host": ADMIN,
    f"{P}:servers:migrations:show": ADMIN,
    f"{P}:servers:migrations:force_complete": ADMIN_OR_MANAGER,
    f"{P}:servers:migrations:delete": ADMIN_OR_MANAGER,
    f"{P}:os-pause-server:pause": ADMIN_OR_MEMBER,
    f"{P}:os-pause-server:unpause": ADMIN_OR_MEMBER,
    f"{P}:os-suspend-server:suspend": ADMIN_OR_MEMBER,
    f"{P}:os-suspend-server:resume": ADMIN_OR_MEMBER,
    f"{P}:os-admin-actions:reset_state": ADMIN,
    f"{P}:os-admin-actions:inject_network_info": ADMIN,
    f"{P}:os-admin-password": ADMIN_OR_MEMBER,
    f"{P}:os-lock-server:lock": ADMIN_OR_MEMBER,
    f"{P}:os-lock-server:unlock": ADMIN_OR_MEMBER,
    UNLOCK_OVERRIDE: ADMIN,
    f"{P}:os-rescue": ADMIN_OR_MEMBER,
    f"{P}:os-unrescue": ADMIN_OR_MEMBER,
    f"{P}:os-shelve:shelve": ADMIN_OR_MEMBER,
    f"{P}:os-shelve:shelve_offload": ADMIN,
    f"{P}:os-shelve:unshelve": ADMIN_OR_MEMBER,
    f"{P}:os-shelve:unshelve_to_host": ADMIN,
    f"{P}:os-evacuate": ADMIN,
    f"{P}:os-migrate-server:migrate": ADMIN_OR_MANAGER,
    f"{P}:os-migrate-server:migrate:host": ADMIN,
    f"{P}:os-migrate-server:migrate_live": ADMIN_OR_MANAGER,
    f"{P}:os-migrate-server:migrate_live:host": ADMIN,
    f"{P}:os-migrations:index": ADMIN_OR_MANAGER,
    f"{P}:os-migrations:index:all_projects": ADMIN,
    f"{P}:os-migrations:index:host": ADMIN,
    f"{P}:server-metadata:index": ADMIN_OR_READER,
    f"{P}:server-metadata:show": ADMIN_OR_READER,
    f"{P}:server-metadata:create": ADMIN_OR_MEMBER,
    f"{P}:server-metadata:update_all": ADMIN_OR_MEMBER,
    f"{P}:server-metadata:update": ADMIN_OR_MEMBER,
    f"{P}:server-metadata:delete": ADMIN_OR_MEMBER,
    f"{P}:os-server-tags:index": ADMIN_OR_READER,
    f"{P}:os-server-tags:show": ADMIN_OR_READER,
    f"{P}:os-server-tags:update": ADMIN_OR_MEMBER,
    f"{P}:os-server-tags:update_all": ADMIN_OR_MEMBER,
    f"{P}:os-server-tags:delete": ADMIN_OR_MEMBER,
    f"{P}:os-server-tags:delete_all": ADMIN_OR_MEMBER,
    f"{P}:os-attach-interfaces:list": ADMIN_OR_READER,
    f"{P}:os-attach-interfaces:show": ADMIN_OR_READER,
    f"{P}:os-attach-interfaces:create": ADMIN_OR_MEMBER,
    f"{P}:os-attach-interfaces:delete": ADMIN_OR_MEMBER,
    f"{P}:os-security-groups:add": ADMIN_OR_MEMBER,
    f"{P}:os-security-groups:remove": ADMIN_OR_MEMBER,
    f"{P}:os-security-groups:list": ADMIN_OR_READER,
    f"{P}:os-console-output": ADMIN_OR_MEMBER,
    f"{P}:os-remote-consoles": ADMIN_OR_MEMBER,
    f"{P}:os-console-auth-tokens": ADMIN,
    f"{P}:os-server-diagnostics": ADMIN,
    f"{P}:os-simple-tenant-usage:list": ADMIN,
    f"{P}:os-simple-tenant-usage:show": ADMIN_OR_READER,
    f"{P}:os-volumes-attachments:index": ADMIN_OR_READER,
    f"{P}:os-volumes-attachments:show": ADMIN_OR_READER,
    f"{P}:os-volumes-attachments:create": ADMIN_OR_MEMBER,
    f"{P}:os-volumes-attachments:delete": ADMIN_OR_MEMBER,
    f"{P}:os-volumes-attachments:update": ADMIN_OR_MEMBER,
    f"{P}:os-volumes-attachments:swap": ADMIN,
    # Nova's proxy APIs, os-hosts, extensions
    f"{P}:os-floating-ips:list": ADMIN_OR_READER,
    f"{P}:os-floating-ips:show": ADMIN_OR_READER,
    f"{P}:os-floating-ips:create": ADMIN_OR_MEMBER,
    f"{P}:os-floating-ips:delete": ADMIN_OR_MEMBER,
    f"{P}:os-floating-ips:add": ADMIN_OR_MEMBER,
    f"{P}:os-floating-ips:remove": ADMIN_OR_MEMBER,
    f"{P}:os-floating-ip-pools": "@",
    f"{P}:os-security-groups:get": ADMIN_OR_READER,
    f"{P}:os-security-groups:show": ADMIN_OR_READER,
    f"{P}:os-security-groups:create": ADMIN_OR_MEMBER,
    f"{P}:os-security-groups:update": ADMIN_OR_MEMBER,
    f"{P}:os-security-groups:delete": ADMIN_OR_MEMBER,
    f"{P}:os-security-groups:rule:create": ADMIN_OR_MEMBER,
    f"{P}:os-security-groups:rule:delete": ADMIN_OR_MEMBER,
    f"{P}:os-networks:list": ADMIN_OR_READER,
    f"{P}:os-networks:view": ADMIN_OR_READER,
    f"{P}:os-tenant-networks:list": ADMIN_OR_READER,
    f"{P}:os-tenant-networks:show": ADMIN_OR_READER,
    f"{P}:os-hosts:list": ADMIN,
    f"{P}:os-hosts:show": ADMIN,
    f"{P}:os-hosts:update": ADMIN,
    f"{P}:os-hosts:start": ADMIN,
    f"{P}:os-hosts:shutdown": ADMIN,
    f"{P}:os-hosts:reboot": ADMIN,
    f"{P}:extensions": "@",
    # events from other services (Nova: the service role; admins as its deprecated default allowed)
    f"{P}:os-server-external-events:create": f"{SERVICE} or {ADMIN}",
}

DEFAULTS = ([RuleDefault(name, text) for name, text in BASE.items()]
            + [RuleDefault(name, text, scope_types=("project",), deprecated=without_personas(text))
               for name, text in RULES.items()])
