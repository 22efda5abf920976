"""Identity's default access rules, in oslo.policy syntax, following Keystone's current defaults."""

from __future__ import annotations

from nubes.core.auth.policy import RuleDefault

ADMIN = "rule:admin_required"
SYSTEM_READER = "(role:reader and system_scope:all)"
ADMIN_OR_SYSTEM_READER = f"{ADMIN} or {SYSTEM_READER}"


def _domain_reader(attr: str) -> str:
    return f"(role:reader and domain_id:%({attr})s)"


BASE = {
    "admin_required": "role:admin or is_admin:1",
    "service_role": "role:service",
    "service_or_admin": "rule:admin_required or rule:service_role",
    "owner": "user_id:%(user_id)s",
    "admin_or_owner": "rule:admin_required or rule:owner",
    "token_subject": "user_id:%(target.token.user_id)s",
    "admin_or_token_subject": "rule:admin_required or rule:token_subject",
    "service_admin_or_token_subject": "rule:service_or_admin or rule:token_subject",
}

RULES = {
    # tokens
    "identity:check_token": f"{ADMIN_OR_SYSTEM_READER} or rule:service_role or rule:token_subject",
    "identity:validate_token": f"{ADMIN_OR_SYSTEM_READER} or rule:service_role or rule:token_subject",
    "identity:revoke_token": f"{ADMIN} or rule:service_role or rule:token_subject",
    # auth discovery
    "identity:get_auth_catalog": "",
    "identity:get_auth_projects": "",
    "identity:get_auth_domains": "",
    "identity:get_auth_system": "",
    # domains
    "identity:get_domain": (f"{ADMIN_OR_SYSTEM_READER} or domain_id:%(target.domain.id)s"
                            " or project_domain_id:%(target.domain.id)s"),
    "identity:list_domains": ADMIN_OR_SYSTEM_READER,
    "identity:create_domain": ADMIN,
    "identity:update_domain": ADMIN,
    "identity:delete_domain": ADMIN,
    # projects
    "identity:get_project": (f"{ADMIN_OR_SYSTEM_READER} or {_domain_reader('target.project.domain_id')}"
                             " or project_id:%(target.project.id)s"),
    "identity:list_projects": f"{ADMIN_OR_SYSTEM_READER} or {_domain_reader('target.domain_id')}",
    "identity:list_user_projects": (f"{ADMIN_OR_SYSTEM_READER} or {_domain_reader('target.user.domain_id')}"
                                    " or user_id:%(target.user.id)s"),
    "identity:create_project": ADMIN,
    "identity:update_project": ADMIN,
    "identity:delete_project": ADMIN,
    "identity:list_project_tags": (f"{ADMIN_OR_SYSTEM_READER} or {_domain_reader('target.project.domain_id')}"
                                   " or project_id:%(target.project.id)s"),
    "identity:get_project_tag": (f"{ADMIN_OR_SYSTEM_READER} or {_domain_reader('target.project.domain_id')}"
                                 " or project_id:%(target.project.id)s"),
    "identity:update_project_tags": ADMIN,
    "identity:create_project_tag": ADMIN,
    "identity:delete_project_tags": ADMIN,
    "identity:delete_project_tag": ADMIN,
    # users
    "identity:get_user": (f"{ADMIN_OR_SYSTEM_READER} or {_domain_reader('target.user.domain_id')}"
                          " or user_id:%(target.user.id)s"),
    "identity:list_users": f"{ADMIN_OR_SYSTEM_READER} or {_domain_reader('target.domain_id')}",
    "identity:create_user": ADMIN,
    "identity:update_user": ADMIN,
    "identity:delete_user": ADMIN,
    "identity:list_projects_for_user": "",  # GET /v3/auth/projects and OS-FEDERATION alias
    # groups
    "identity:get_group": f"{ADMIN_OR_SYSTEM_READER} or {_domain_reader('target.group.domain_id')}",
    "identity:list_groups": f"{ADMIN_OR_SYSTEM_READER} or {_domain_reader('target.domain_id')}",
    "identity:list_groups_for_user": (f"{ADMIN_OR_SYSTEM_READER} or "
                                      f"{_domain_reader('target.user.domain_id')} or user_id:%(user_id)s"),
    "identity:create_group": ADMIN,
    "identity:update_group": ADMIN,
    "identity:delete_group": ADMIN,
    "identity:list_users_in_group": f"{ADMIN_OR_SYSTEM_READER} or {_domain_reader('target.group.domain_id')}",
    "identity:check_user_in_group": f"{ADMIN_OR_SYSTEM_READER} or {_domain_reader('target.group.domain_id')}",
    "identity:add_user_to_group": ADMIN,
    "identity:remove_user_from_group": ADMIN,
    # roles
    "identity:get_role": ADMIN_OR_SYSTEM_READER,
    "identity:list_roles": ADMIN_OR_SYSTEM_READER,
    "identity:create_role": ADMIN,
    "identity:update_role": ADMIN,
    "identity:delete_role": ADMIN,
    "identity:get_domain_role": ADMIN_OR_SYSTEM_READER,
    "identity:list_domain_roles": ADMIN_OR_SYSTEM_READER,
    "identity:create_domain_role": ADMIN,
    "identity:update_domain_role": ADMIN,
    "identity:delete_domain_role": ADMIN,
    "identity:get_implied_role": ADMIN_OR_SYSTEM_READER,
    "identity:list_implied_roles": ADMIN_OR_SYSTEM_READER,
    "identity:create_implied_role": ADMIN,
    "identity:delete_implied_role": ADMIN,
    "identity:list_role_inference_rules": ADMIN_OR_SYSTEM_READER,
    "identity:check_implied_role": ADMIN_OR_SYSTEM_READER,
    # grants and assignments
    "identity:check_grant": f"{ADMIN_OR_SYSTEM_READER} or {_domain_reader('target.domain_id')}",
    "identity:list_grants": f"{ADMIN_OR_SYSTEM_READER} or {_domain_reader('target.domain_id')}",
    "identity:create_grant": ADMIN,
    "identity:revoke_grant": ADMIN,
    "identity:list_system_grants_for_user": ADMIN_OR_SYSTEM_READER,
    "identity:check_system_grant_for_user": ADMIN_OR_SYSTEM_READER,
    "identity:create_system_grant_for_user": ADMIN,
    "identity:revoke_system_grant_for_user": ADMIN,
    "identity:list_system_grants_for_group": ADMIN_OR_SYSTEM_READER,
    "identity:check_system_grant_for_group": ADMIN_OR_SYSTEM_READER,
    "identity:create_system_grant_for_group": ADMIN,
    "identity:revoke_system_grant_for_group": ADMIN,
    "identity:list_role_assignments": f"{ADMIN_OR_SYSTEM_READER} or {_domain_reader('target.domain_id')}",
    "identity:list_role_assignments_for_tree": (f"{ADMIN_OR_SYSTEM_READER} or "
                                                "(role:admin and project_id:%(target.project.id)s)"),
    # catalog
    "identity:get_region": "",
    "identity:list_regions": "",
    "identity:create_region": ADMIN,
    "identity:update_region": ADMIN,
    "identity:delete_region": ADMIN,
    "identity:get_service": ADMIN_OR_SYSTEM_READER,
    "identity:list_services": ADMIN_OR_SYSTEM_READER,
    "identity:create_service": ADMIN,
    "identity:update_service": ADMIN,
    "identity:delete_service": ADMIN,
    "identity:get_endpoint": ADMIN_OR_SYSTEM_READER,
    "identity:list_endpoints": ADMIN_OR_SYSTEM_READER,
    "identity:create_endpoint": ADMIN,
    "identity:update_endpoint": ADMIN,
    "identity:delete_endpoint": ADMIN,
    # application credentials (target.user.id is the owner)
    "identity:get_application_credential": f"{ADMIN_OR_SYSTEM_READER} or user_id:%(target.user.id)s",
    "identity:list_application_credentials": f"{ADMIN_OR_SYSTEM_READER} or user_id:%(target.user.id)s",
    "identity:create_application_credential": "user_id:%(target.user.id)s",
    "identity:delete_application_credential": f"{ADMIN} or user_id:%(target.user.id)s",
    # credentials
    "identity:get_credential": f"{ADMIN_OR_SYSTEM_READER} or user_id:%(target.credential.user_id)s",
    "identity:list_credentials": f"{ADMIN_OR_SYSTEM_READER} or user_id:%(target.credential.user_id)s",
    "identity:create_credential": f"{ADMIN} or user_id:%(target.credential.user_id)s",
    "identity:update_credential": f"{ADMIN} or user_id:%(target.credential.user_id)s",
    "identity:delete_credential": f"{ADMIN} or user_id:%(target.credential.user_id)s",
    "identity:ec2_get_credential": f"{ADMIN_OR_SYSTEM_READER} or user_id:%(target.credential.user_id)s",
    "identity:ec2_list_credentials": f"{ADMIN_OR_SYSTEM_READER} or rule:owner",
    "identity:ec2_create_credential": f"{ADMIN} or rule:owner",
    "identity:ec2_delete_credential": f"{ADMIN} or user_id:%(target.credential.user_id)s",
    # unified limits
    "identity:get_limit_model": "",
    "identity:get_registered_limit": "",
    "identity:list_registered_limits": "",
    "identity:create_registered_limits": ADMIN,
    "identity:update_registered_limit": ADMIN,
    "identity:delete_registered_limit": ADMIN,
    "identity:get_limit": (f"{ADMIN_OR_SYSTEM_READER} or project_id:%(target.limit.project_id)s"
                           " or domain_id:%(target.limit.domain_id)s"),
    "identity:list_limits": "",
    "identity:create_limits": ADMIN,
    "identity:update_limit": ADMIN,
    "identity:delete_limit": ADMIN,
}

DEFAULTS = [RuleDefault(name, check) for name, check in {**BASE, **RULES}.items()]
