"""Identity's default access rules: Keystone's current defaults (2024.2 and later), oslo.policy syntax.

Rule names, check strings and scope types follow Keystone's policy reference: administration
accepts the ``admin`` role with a system or a project scope (``rule:admin_required``), readers
of the system see everything, readers of a domain their domain, and the domain ``manager``
manages the users, groups, projects and grants of its domain.  ``LEGACY`` holds the rules
Keystone deprecated (accepted beside the new ones under ``policy_defaults = "legacy"``).
"""

from __future__ import annotations

from nubes.core.auth.policy import RuleDefault

ADMIN = "rule:admin_required"
SYSTEM_READER = "(role:reader and system_scope:all)"
ADMIN_OR_SYSTEM_READER = f"{ADMIN} or {SYSTEM_READER}"

ANY = ()                                  # no scope_types: any token, unscoped included
SDP = ("system", "domain", "project")
SP = ("system", "project")
P = ("project",)


def _domain_reader(attr: str) -> str:
    return f"(role:reader and domain_id:%({attr})s)"


def _domain_manager(*attrs: str) -> str:
    return "(role:manager and " + " and ".join(f"domain_id:%({a})s" for a in attrs) + ")"


def _grant_scoped(role: str) -> str:
    """``role`` held on the domain of both the actor (user or group) and the target (project or domain)."""
    pairs = [(a, t) for a in ("target.user.domain_id", "target.group.domain_id")
             for t in ("target.project.domain_id", "target.domain.id")]
    either = " or ".join(f"(role:{role} and domain_id:%({a})s and domain_id:%({t})s)" for a, t in pairs)
    return f"({either})"


BASE = {
    "admin_required": "role:admin or is_admin:1",
    # Keystone decides admin-ness with admin_required; the engine asks every service the same rule.
    "context_is_admin": "rule:admin_required",
    "service_role": "role:service",
    "service_or_admin": "rule:admin_required or rule:service_role",
    "owner": "user_id:%(user_id)s",
    "admin_or_owner": "rule:admin_required or rule:owner",
    "token_subject": "user_id:%(target.token.user_id)s",
    "admin_or_token_subject": "rule:admin_required or rule:token_subject",
    "service_admin_or_token_subject": "rule:service_or_admin or rule:token_subject",
    # The roles a domain manager may hand out (and see) in its domain.
    "domain_managed_target_role": ("'manager':%(target.role.name)s or 'member':%(target.role.name)s"
                                   " or 'reader':%(target.role.name)s"),
}

_PROJECT_READ = (f"{ADMIN_OR_SYSTEM_READER} or {_domain_reader('target.project.domain_id')}"
                 " or project_id:%(target.project.id)s")
_PROJECT_MANAGE = f"{ADMIN} or {_domain_manager('target.project.domain_id')}"
_USER_MANAGE = f"{ADMIN} or {_domain_manager('target.user.domain_id')}"
_GROUP_MANAGE = f"{ADMIN} or {_domain_manager('target.group.domain_id')}"
_MEMBERSHIP_MANAGE = f"{ADMIN} or {_domain_manager('target.group.domain_id', 'target.user.domain_id')}"
_GRANT_READ = f"{ADMIN_OR_SYSTEM_READER} or {_grant_scoped('reader')}"
_GRANT_MANAGE = f"{ADMIN} or ({_grant_scoped('manager')} and rule:domain_managed_target_role)"
_CREDENTIAL_READ = f"{ADMIN_OR_SYSTEM_READER} or user_id:%(target.credential.user_id)s"
_CREDENTIAL_WRITE = f"{ADMIN} or user_id:%(target.credential.user_id)s"
_TRUSTOR = "user_id:%(target.trust.trustor_user_id)s"
_TRUSTEE = "user_id:%(target.trust.trustee_user_id)s"
_TRUST_READ = f"{ADMIN_OR_SYSTEM_READER} or {_TRUSTOR} or {_TRUSTEE}"

# name -> (check string, scope types)
RULES: dict[str, tuple[str, tuple[str, ...]]] = {
    # tokens
    "identity:check_token": (f"{ADMIN_OR_SYSTEM_READER} or rule:token_subject", SDP),
    "identity:validate_token": (f"{ADMIN_OR_SYSTEM_READER} or rule:service_role or rule:token_subject", SDP),
    "identity:revoke_token": (f"{ADMIN} or rule:token_subject", SDP),
    # auth discovery: meant for any token, unscoped ones first
    "identity:get_auth_catalog": ("", ANY),
    "identity:get_auth_projects": ("", ANY),
    "identity:get_auth_domains": ("", ANY),
    "identity:get_auth_system": ("", ANY),
    # domains
    "identity:get_domain": ((f"{ADMIN_OR_SYSTEM_READER} or domain_id:%(target.domain.id)s"
                            " or project_domain_id:%(target.domain.id)s"), SDP),
    "identity:list_domains": (f"{ADMIN_OR_SYSTEM_READER} or {_domain_reader('target.domain.id')}", SDP),
    "identity:create_domain": (ADMIN, SP),
    "identity:update_domain": (ADMIN, SP),
    "identity:delete_domain": (ADMIN, SP),
    # projects
    "identity:get_project": (_PROJECT_READ, SDP),
    "identity:list_projects": (f"{ADMIN_OR_SYSTEM_READER} or {_domain_reader('target.domain_id')}", SDP),
    "identity:list_user_projects": ((f"{ADMIN_OR_SYSTEM_READER} or {_domain_reader('target.user.domain_id')}"
                                    " or user_id:%(target.user.id)s"), SDP),
    "identity:create_project": (_PROJECT_MANAGE, SDP),
    "identity:update_project": (_PROJECT_MANAGE, SDP),
    "identity:delete_project": (_PROJECT_MANAGE, SDP),
    "identity:list_project_tags": (_PROJECT_READ, SDP),
    "identity:get_project_tag": (_PROJECT_READ, SDP),
    "identity:update_project_tags": (_PROJECT_MANAGE, SDP),
    "identity:create_project_tag": (_PROJECT_MANAGE, SDP),
    "identity:delete_project_tags": (_PROJECT_MANAGE, SDP),
    "identity:delete_project_tag": (_PROJECT_MANAGE, SDP),
    # users
    "identity:get_user": ((f"{ADMIN_OR_SYSTEM_READER} or {_domain_reader('target.user.domain_id')}"
                          " or user_id:%(target.user.id)s"), SDP),
    "identity:list_users": (f"{ADMIN_OR_SYSTEM_READER} or {_domain_reader('target.domain_id')}", SDP),
    "identity:create_user": (_USER_MANAGE, SDP),
    "identity:update_user": (_USER_MANAGE, SDP),
    "identity:delete_user": (_USER_MANAGE, SDP),
    "identity:list_projects_for_user": ("", ANY),  # GET /v3/auth/projects and OS-FEDERATION alias
    # groups
    "identity:get_group": (f"{ADMIN_OR_SYSTEM_READER} or {_domain_reader('target.group.domain_id')}", SDP),
    "identity:list_groups": (f"{ADMIN_OR_SYSTEM_READER} or {_domain_reader('target.domain_id')}", SDP),
    "identity:list_groups_for_user": ((f"{ADMIN_OR_SYSTEM_READER} or "
                                       f"{_domain_reader('target.user.domain_id')}"
                                      " or user_id:%(user_id)s"), SDP),
    "identity:create_group": (_GROUP_MANAGE, SDP),
    "identity:update_group": (_GROUP_MANAGE, SDP),
    "identity:delete_group": (_GROUP_MANAGE, SDP),
    "identity:list_users_in_group": ((f"{ADMIN_OR_SYSTEM_READER} or "
                                     f"{_domain_reader('target.group.domain_id')}"), SDP),
    "identity:check_user_in_group": ((f"{ADMIN_OR_SYSTEM_READER} or (role:reader and "
                                     "domain_id:%(target.group.domain_id)s and "
                                     "domain_id:%(target.user.domain_id)s)"), SDP),
    "identity:add_user_to_group": (_MEMBERSHIP_MANAGE, SDP),
    "identity:remove_user_from_group": (_MEMBERSHIP_MANAGE, SDP),
    # roles
    "identity:get_role": (f"{ADMIN_OR_SYSTEM_READER} or (role:manager and rule:domain_managed_target_role)",
                          SDP),
    "identity:list_roles": (f"{ADMIN_OR_SYSTEM_READER} or (role:manager and not domain_id:None)", SDP),
    "identity:create_role": (ADMIN, SP),
    "identity:update_role": (ADMIN, SP),
    "identity:delete_role": (ADMIN, SP),
    "identity:get_domain_role": (ADMIN_OR_SYSTEM_READER, SP),
    "identity:list_domain_roles": (ADMIN_OR_SYSTEM_READER, SP),
    "identity:create_domain_role": (ADMIN, SP),
    "identity:update_domain_role": (ADMIN, SP),
    "identity:delete_domain_role": (ADMIN, SP),
    "identity:get_implied_role": (ADMIN_OR_SYSTEM_READER, SP),
    "identity:list_implied_roles": (ADMIN_OR_SYSTEM_READER, SP),
    "identity:create_implied_role": (ADMIN, SP),
    "identity:delete_implied_role": (ADMIN, SP),
    "identity:list_role_inference_rules": (ADMIN_OR_SYSTEM_READER, SP),
    "identity:check_implied_role": (ADMIN_OR_SYSTEM_READER, SP),
    # grants and assignments
    "identity:check_grant": ((f"{ADMIN_OR_SYSTEM_READER} or ({_grant_scoped('reader')} and "
                              "(domain_id:%(target.role.domain_id)s or None:%(target.role.domain_id)s))"),
                             SDP),
    "identity:list_grants": (_GRANT_READ, SDP),
    "identity:create_grant": (_GRANT_MANAGE, SDP),
    "identity:revoke_grant": (_GRANT_MANAGE, SDP),
    "identity:list_system_grants_for_user": (ADMIN_OR_SYSTEM_READER, SP),
    "identity:check_system_grant_for_user": (ADMIN_OR_SYSTEM_READER, SP),
    "identity:create_system_grant_for_user": (ADMIN, SP),
    "identity:revoke_system_grant_for_user": (ADMIN, SP),
    "identity:list_system_grants_for_group": (ADMIN_OR_SYSTEM_READER, SP),
    "identity:check_system_grant_for_group": (ADMIN_OR_SYSTEM_READER, SP),
    "identity:create_system_grant_for_group": (ADMIN, SP),
    "identity:revoke_system_grant_for_group": (ADMIN, SP),
    "identity:list_role_assignments": (f"{ADMIN_OR_SYSTEM_READER} or {_domain_reader('target.domain_id')}",
                                       SDP),
    "identity:list_role_assignments_for_tree": ((f"{ADMIN_OR_SYSTEM_READER} or "
                                                f"{_domain_reader('target.project.domain_id')}"), SDP),
    # catalog
    "identity:get_region": ("", SDP),
    "identity:list_regions": ("", SDP),
    "identity:create_region": (ADMIN, SP),
    "identity:update_region": (ADMIN, SP),
    "identity:delete_region": (ADMIN, SP),
    "identity:get_service": (ADMIN_OR_SYSTEM_READER, SP),
    "identity:list_services": (ADMIN_OR_SYSTEM_READER, SP),
    "identity:create_service": (ADMIN, SP),
    "identity:update_service": (ADMIN, SP),
    "identity:delete_service": (ADMIN, SP),
    "identity:get_endpoint": (ADMIN_OR_SYSTEM_READER, SP),
    "identity:list_endpoints": (ADMIN_OR_SYSTEM_READER, SP),
    "identity:create_endpoint": (ADMIN, SP),
    "identity:update_endpoint": (ADMIN, SP),
    "identity:delete_endpoint": (ADMIN, SP),
    # application credentials (target.user.id is the owner)
    "identity:get_application_credential": (f"{ADMIN_OR_SYSTEM_READER} or user_id:%(target.user.id)s", SP),
    "identity:list_application_credentials": (f"{ADMIN_OR_SYSTEM_READER} or user_id:%(target.user.id)s", SP),
    "identity:create_application_credential": ("user_id:%(target.user.id)s", P),
    "identity:delete_application_credential": (f"{ADMIN} or user_id:%(target.user.id)s", SP),
    # access rules (target.user.id is the owner)
    "identity:get_access_rule": (f"{ADMIN_OR_SYSTEM_READER} or user_id:%(target.user.id)s", SP),
    "identity:list_access_rules": (f"{ADMIN_OR_SYSTEM_READER} or user_id:%(target.user.id)s", SP),
    "identity:delete_access_rule": (f"{ADMIN} or user_id:%(target.user.id)s", SP),
    # trusts (OS-TRUST)
    "identity:create_trust": ("user_id:%(trust.trustor_user_id)s", P),
    "identity:list_trusts": (ADMIN_OR_SYSTEM_READER, SP),
    "identity:list_trusts_for_trustor": (f"{ADMIN_OR_SYSTEM_READER} or {_TRUSTOR}", SP),
    "identity:list_trusts_for_trustee": (f"{ADMIN_OR_SYSTEM_READER} or {_TRUSTEE}", SP),
    "identity:get_trust": (_TRUST_READ, SP),
    "identity:list_roles_for_trust": (_TRUST_READ, SP),
    "identity:get_role_for_trust": (_TRUST_READ, SP),
    "identity:delete_trust": (f"{ADMIN} or {_TRUSTOR}", SP),
    # credentials
    "identity:get_credential": (_CREDENTIAL_READ, SDP),
    "identity:list_credentials": (_CREDENTIAL_READ, SDP),
    "identity:create_credential": (_CREDENTIAL_WRITE, SDP),
    "identity:update_credential": (_CREDENTIAL_WRITE, SDP),
    "identity:delete_credential": (_CREDENTIAL_WRITE, SDP),
    "identity:ec2_get_credential": (_CREDENTIAL_READ, SP),
    "identity:ec2_list_credentials": (f"{ADMIN_OR_SYSTEM_READER} or rule:owner", SP),
    "identity:ec2_create_credential": (f"{ADMIN} or (role:member and rule:owner)", SP),
    "identity:ec2_delete_credential": (f"{ADMIN} or (role:member and user_id:%(target.credential.user_id)s)",
                                       SP),
    # S3 signatures checked for object storage's S3 API: services and administrators only
    "identity:s3tokens_validate": ("rule:service_or_admin", SDP),
    # unified limits
    "identity:get_limit_model": ("", SDP),
    "identity:get_registered_limit": ("", SDP),
    "identity:list_registered_limits": ("", SDP),
    "identity:create_registered_limits": (ADMIN, SP),
    "identity:update_registered_limit": (ADMIN, SP),
    "identity:delete_registered_limit": (ADMIN, SP),
    "identity:get_limit": ((f"{ADMIN_OR_SYSTEM_READER} or project_id:%(target.limit.project_id)s"
                           " or domain_id:%(target.limit.domain_id)s"), SDP),
    "identity:list_limits": ("", SDP),
    "identity:create_limits": (ADMIN, SP),
    "identity:update_limit": (ADMIN, SP),
    "identity:delete_limit": (ADMIN, SP),
}

# The rules Keystone deprecated when it learnt system scope and the reader role (Stein/Train).
_ADMIN_OR_TARGET_PROJECT = "rule:admin_required or project_id:%(target.project.id)s"
_ADMIN_OR_CREDENTIAL_OWNER = "rule:admin_required or (rule:owner and user_id:%(target.credential.user_id)s)"
LEGACY: dict[str, str] = {
    **{name: ADMIN for name, (check, _scopes) in RULES.items() if check and check != ADMIN},
    "identity:get_user": "rule:admin_or_owner",
    "identity:list_user_projects": "rule:admin_or_owner",
    "identity:list_groups_for_user": "rule:admin_or_owner",
    "identity:get_project": _ADMIN_OR_TARGET_PROJECT,
    "identity:list_project_tags": _ADMIN_OR_TARGET_PROJECT,
    "identity:get_project_tag": _ADMIN_OR_TARGET_PROJECT,
    "identity:get_domain": "rule:admin_required or project_domain_id:%(target.domain.id)s",
    "identity:check_token": "rule:admin_or_token_subject",
    "identity:validate_token": "rule:service_admin_or_token_subject",
    "identity:revoke_token": "rule:admin_or_token_subject",
    "identity:get_credential": "rule:admin_required",
    "identity:ec2_get_credential": _ADMIN_OR_CREDENTIAL_OWNER,
    "identity:ec2_list_credentials": "rule:admin_or_owner",
    "identity:ec2_create_credential": "rule:admin_or_owner",
    "identity:ec2_delete_credential": _ADMIN_OR_CREDENTIAL_OWNER,
    "identity:get_application_credential": "rule:admin_or_owner",
    "identity:list_application_credentials": "rule:admin_or_owner",
    "identity:create_application_credential": "user_id:%(target.user.id)s",
    "identity:get_access_rule": "rule:admin_or_owner",
    "identity:list_access_rules": "rule:admin_or_owner",
    "identity:delete_access_rule": "rule:admin_or_owner",
    "identity:list_roles_for_trust": f"{_TRUSTOR} or {_TRUSTEE}",
    "identity:get_role_for_trust": f"{_TRUSTOR} or {_TRUSTEE}",
    "identity:get_trust": f"{_TRUSTOR} or {_TRUSTEE}",
    "identity:delete_trust": _TRUSTOR,
}

DEFAULTS = ([RuleDefault(name, check) for name, check in BASE.items()]
            + [RuleDefault(name, check, scope_types=scopes, deprecated=LEGACY.get(name))
               for name, (check, scopes) in RULES.items()])
