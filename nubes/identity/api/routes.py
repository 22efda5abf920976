"""THE route table of the identity service: every (method, path, handler) of Identity API v3."""

from __future__ import annotations

import importlib

from nubes.core.api.routing import Route

# (method, path, "module.handler", public)
TABLE: list[tuple[str, str, str, bool]] = [
    ("GET", "/", "versions.list_versions", True),
    ("GET", "/v3", "versions.show_v3", True),
    # authentication and tokens
    ("POST", "/v3/auth/tokens", "auth.issue_token", True),
    ("GET", "/v3/auth/tokens", "auth.validate_token", False),
    ("HEAD", "/v3/auth/tokens", "auth.check_token", False),
    ("DELETE", "/v3/auth/tokens", "auth.revoke_token", False),
    ("GET", "/v3/auth/catalog", "auth.show_auth_catalog", False),
    ("GET", "/v3/auth/projects", "auth.list_auth_projects", False),
    ("GET", "/v3/auth/domains", "auth.list_auth_domains", False),
    ("GET", "/v3/auth/system", "auth.list_auth_system", False),
    ("POST", "/v3/ec2tokens", "credentials.ec2_tokens", True),
    ("POST", "/v3/s3tokens", "credentials.s3_tokens", False),
    # domains
    ("GET", "/v3/domains", "domains.list_domains", False),
    ("POST", "/v3/domains", "domains.create_domain", False),
    ("GET", "/v3/domains/{domain_id}", "domains.show_domain", False),
    ("PATCH", "/v3/domains/{domain_id}", "domains.update_domain", False),
    ("DELETE", "/v3/domains/{domain_id}", "domains.delete_domain", False),
    # projects and tags
    ("GET", "/v3/projects", "projects.list_projects", False),
    ("POST", "/v3/projects", "projects.create_project", False),
    ("GET", "/v3/projects/{project_id}", "projects.show_project", False),
    ("PATCH", "/v3/projects/{project_id}", "projects.update_project", False),
    ("DELETE", "/v3/projects/{project_id}", "projects.delete_project", False),
    ("GET", "/v3/projects/{project_id}/tags", "projects.list_project_tags", False),
    ("PUT", "/v3/projects/{project_id}/tags", "projects.replace_project_tags", False),
    ("DELETE", "/v3/projects/{project_id}/tags", "projects.delete_project_tags", False),
    ("GET", "/v3/projects/{project_id}/tags/{tag}", "projects.check_project_tag", False),
    ("PUT", "/v3/projects/{project_id}/tags/{tag}", "projects.add_project_tag", False),
    ("DELETE", "/v3/projects/{project_id}/tags/{tag}", "projects.delete_project_tag", False),
    # users
    ("GET", "/v3/users", "users.list_users", False),
    ("POST", "/v3/users", "users.create_user", False),
    ("GET", "/v3/users/{user_id}", "users.show_user", False),
    ("PATCH", "/v3/users/{user_id}", "users.update_user", False),
    ("DELETE", "/v3/users/{user_id}", "users.delete_user", False),
    ("POST", "/v3/users/{user_id}/password", "users.change_password", True),
    ("GET", "/v3/users/{user_id}/groups", "users.list_user_groups", False),
    ("GET", "/v3/users/{user_id}/projects", "users.list_user_projects", False),
    # groups
    ("GET", "/v3/groups", "groups.list_groups", False),
    ("POST", "/v3/groups", "groups.create_group", False),
    ("GET", "/v3/groups/{group_id}", "groups.show_group", False),
    ("PATCH", "/v3/groups/{group_id}", "groups.update_group", False),
    ("DELETE", "/v3/groups/{group_id}", "groups.delete_group", False),
    ("GET", "/v3/groups/{group_id}/users", "groups.list_group_users", False),
    ("PUT", "/v3/groups/{group_id}/users/{user_id}", "groups.add_group_user", False),
    ("HEAD", "/v3/groups/{group_id}/users/{user_id}", "groups.check_group_user", False),
    ("GET", "/v3/groups/{group_id}/users/{user_id}", "groups.check_group_user", False),
    ("DELETE", "/v3/groups/{group_id}/users/{user_id}", "groups.remove_group_user", False),
    # roles and implied roles
    ("GET", "/v3/roles", "roles.list_roles", False),
    ("POST", "/v3/roles", "roles.create_role", False),
    ("GET", "/v3/roles/{role_id}", "roles.show_role", False),
    ("PATCH", "/v3/roles/{role_id}", "roles.update_role", False),
    ("DELETE", "/v3/roles/{role_id}", "roles.delete_role", False),
    ("GET", "/v3/roles/{prior_role_id}/implies", "roles.list_implied_roles", False),
    ("PUT", "/v3/roles/{prior_role_id}/implies/{implied_role_id}", "roles.create_implied_role", False),
    ("GET", "/v3/roles/{prior_role_id}/implies/{implied_role_id}", "roles.show_implied_role", False),
    ("HEAD", "/v3/roles/{prior_role_id}/implies/{implied_role_id}", "roles.check_implied_role", False),
    ("DELETE", "/v3/roles/{prior_role_id}/implies/{implied_role_id}", "roles.delete_implied_role", False),
    ("GET", "/v3/role_inferences", "roles.list_role_inferences", False),
    # grants: /v3/{projects|domains}/{id}/{users|groups}/{id}/roles[/{role_id}], and system grants
    ("GET", "/v3/{target}/{target_id}/{actor}/{actor_id}/roles", "grants.list_grants", False),
    ("PUT", "/v3/{target}/{target_id}/{actor}/{actor_id}/roles/{role_id}", "grants.create_grant", False),
    ("GET", "/v3/{target}/{target_id}/{actor}/{actor_id}/roles/{role_id}", "grants.check_grant", False),
    ("HEAD", "/v3/{target}/{target_id}/{actor}/{actor_id}/roles/{role_id}", "grants.check_grant", False),
    ("DELETE", "/v3/{target}/{target_id}/{actor}/{actor_id}/roles/{role_id}", "grants.revoke_grant", False),
    ("GET", "/v3/OS-INHERIT/{target}/{target_id}/{actor}/{actor_id}/roles/inherited_to_projects",
     "grants.list_inherited_grants", False),
    ("PUT", "/v3/OS-INHERIT/{target}/{target_id}/{actor}/{actor_id}/roles/{role_id}/inherited_to_projects",
     "grants.create_inherited_grant", False),
    ("GET", "/v3/OS-INHERIT/{target}/{target_id}/{actor}/{actor_id}/roles/{role_id}/inherited_to_projects",
     "grants.check_inherited_grant", False),
    ("HEAD", "/v3/OS-INHERIT/{target}/{target_id}/{actor}/{actor_id}/roles/{role_id}/inherited_to_projects",
     "grants.check_inherited_grant", False),
    ("DELETE", "/v3/OS-INHERIT/{target}/{target_id}/{actor}/{actor_id}/roles/{role_id}/inherited_to_projects",
     "grants.revoke_inherited_grant", False),
    ("GET", "/v3/system/{actor}/{actor_id}/roles", "grants.list_system_grants", False),
    ("PUT", "/v3/system/{actor}/{actor_id}/roles/{role_id}", "grants.create_system_grant", False),
    ("GET", "/v3/system/{actor}/{actor_id}/roles/{role_id}", "grants.check_system_grant", False),
    ("HEAD", "/v3/system/{actor}/{actor_id}/roles/{role_id}", "grants.check_system_grant", False),
    ("DELETE", "/v3/system/{actor}/{actor_id}/roles/{role_id}", "grants.revoke_system_grant", False),
    ("GET", "/v3/role_assignments", "role_assignments.list_role_assignments", False),
    # catalog
    ("GET", "/v3/regions", "catalog.list_regions", False),
    ("POST", "/v3/regions", "catalog.create_region", False),
    ("GET", "/v3/regions/{region_id}", "catalog.show_region", False),
    ("PUT", "/v3/regions/{region_id}", "catalog.create_region_with_id", False),
    ("PATCH", "/v3/regions/{region_id}", "catalog.update_region", False),
    ("DELETE", "/v3/regions/{region_id}", "catalog.delete_region", False),
    ("GET", "/v3/services", "catalog.list_services", False),
    ("POST", "/v3/services", "catalog.create_service", False),
    ("GET", "/v3/services/{service_id}", "catalog.show_service", False),
    ("PATCH", "/v3/services/{service_id}", "catalog.update_service", False),
    ("DELETE", "/v3/services/{service_id}", "catalog.delete_service", False),
    ("GET", "/v3/endpoints", "catalog.list_endpoints", False),
    ("POST", "/v3/endpoints", "catalog.create_endpoint", False),
    ("GET", "/v3/endpoints/{endpoint_id}", "catalog.show_endpoint", False),
    ("PATCH", "/v3/endpoints/{endpoint_id}", "catalog.update_endpoint", False),
    ("DELETE", "/v3/endpoints/{endpoint_id}", "catalog.delete_endpoint", False),
    # application credentials
    ("GET", "/v3/users/{user_id}/application_credentials", "application_credentials.list_app_creds", False),
    ("POST", "/v3/users/{user_id}/application_credentials", "application_credentials.create_app_cred", False),
    ("GET", "/v3/users/{user_id}/application_credentials/{app_cred_id}",
     "application_credentials.show_app_cred", False),
    ("DELETE", "/v3/users/{user_id}/application_credentials/{app_cred_id}",
     "application_credentials.delete_app_cred", False),
    # access rules of application credentials
    ("GET", "/v3/users/{user_id}/access_rules", "access_rules.list_access_rules", False),
    ("GET", "/v3/users/{user_id}/access_rules/{access_rule_id}", "access_rules.show_access_rule", False),
    ("DELETE", "/v3/users/{user_id}/access_rules/{access_rule_id}", "access_rules.delete_access_rule",
     False),
    # OS-TRUST
    ("GET", "/v3/OS-TRUST/trusts", "trusts.list_trusts", False),
    ("HEAD", "/v3/OS-TRUST/trusts", "trusts.head_trusts", False),
    ("POST", "/v3/OS-TRUST/trusts", "trusts.create_trust", False),
    ("GET", "/v3/OS-TRUST/trusts/{trust_id}", "trusts.show_trust", False),
    ("HEAD", "/v3/OS-TRUST/trusts/{trust_id}", "trusts.head_trust", False),
    ("DELETE", "/v3/OS-TRUST/trusts/{trust_id}", "trusts.delete_trust", False),
    ("GET", "/v3/OS-TRUST/trusts/{trust_id}/roles", "trusts.list_trust_roles", False),
    ("HEAD", "/v3/OS-TRUST/trusts/{trust_id}/roles", "trusts.head_trust_roles", False),
    ("GET", "/v3/OS-TRUST/trusts/{trust_id}/roles/{role_id}", "trusts.show_trust_role", False),
    ("HEAD", "/v3/OS-TRUST/trusts/{trust_id}/roles/{role_id}", "trusts.check_trust_role", False),
    # credentials, including EC2-style ones
    ("GET", "/v3/credentials", "credentials.list_credentials", False),
    ("POST", "/v3/credentials", "credentials.create_credential", False),
    ("GET", "/v3/credentials/{credential_id}", "credentials.show_credential", False),
    ("PATCH", "/v3/credentials/{credential_id}", "credentials.update_credential", False),
    ("DELETE", "/v3/credentials/{credential_id}", "credentials.delete_credential", False),
    ("GET", "/v3/users/{user_id}/credentials/OS-EC2", "credentials.list_ec2_credentials", False),
    ("POST", "/v3/users/{user_id}/credentials/OS-EC2", "credentials.create_ec2_credential", False),
    ("GET", "/v3/users/{user_id}/credentials/OS-EC2/{access}", "credentials.show_ec2_credential", False),
    ("DELETE", "/v3/users/{user_id}/credentials/OS-EC2/{access}", "credentials.delete_ec2_credential", False),
    # unified limits
    ("GET", "/v3/limits/model", "limits.show_limit_model", False),
    ("GET", "/v3/registered_limits", "limits.list_registered_limits", False),
    ("POST", "/v3/registered_limits", "limits.create_registered_limits", False),
    ("GET", "/v3/registered_limits/{registered_limit_id}", "limits.show_registered_limit", False),
    ("PATCH", "/v3/registered_limits/{registered_limit_id}", "limits.update_registered_limit", False),
    ("DELETE", "/v3/registered_limits/{registered_limit_id}", "limits.delete_registered_limit", False),
    ("GET", "/v3/limits", "limits.list_limits", False),
    ("POST", "/v3/limits", "limits.create_limits", False),
    ("GET", "/v3/limits/{limit_id}", "limits.show_limit", False),
    ("PATCH", "/v3/limits/{limit_id}", "limits.update_limit", False),
    ("DELETE", "/v3/limits/{limit_id}", "limits.delete_limit", False),
]


def routes() -> list[Route]:
    out = []
    for method, path, ref, public in TABLE:
        module_name, _, func = ref.partition(".")
        module = importlib.import_module(f"nubes.identity.api.{module_name}")
        out.append(Route(method, path, getattr(module, func), public=public))
    return out
