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

SUBNETS: list[Row] = [
    ("GET", f"{V}/subnets", "subnets.list_subnets", False),
    ("POST", f"{V}/subnets", "subnets.create_subnet", False),
    ("GET", f"{V}/subnets/{{subnet_id}}", "subnets.show_subnet", False),
    ("PUT", f"{V}/subnets/{{subnet_id}}", "subnets.update_subnet", False),
    ("DELETE", f"{V}/subnets/{{subnet_id}}", "subnets.delete_subnet", False),
    ("GET", f"{V}/subnetpools", "subnetpools.list_subnetpools", False),
    ("POST", f"{V}/subnetpools", "subnetpools.create_subnetpool", False),
    ("GET", f"{V}/subnetpools/{{subnetpool_id}}", "subnetpools.show_subnetpool", False),
    ("PUT", f"{V}/subnetpools/{{subnetpool_id}}", "subnetpools.update_subnetpool", False),
    ("DELETE", f"{V}/subnetpools/{{subnetpool_id}}", "subnetpools.delete_subnetpool", False),
    ("PUT", f"{V}/subnetpools/{{subnetpool_id}}/add_prefixes", "subnetpools.add_prefixes", False),
    ("PUT", f"{V}/subnetpools/{{subnetpool_id}}/remove_prefixes", "subnetpools.remove_prefixes", False),
    ("GET", f"{V}/network-ip-availabilities", "ip_availability.list_ip_availabilities", False),
    ("GET", f"{V}/network-ip-availabilities/{{network_id}}", "ip_availability.show_ip_availability", False),
]

PORTS: list[Row] = [
    ("GET", f"{V}/ports", "ports.list_ports", False),
    ("POST", f"{V}/ports", "ports.create_port", False),
    ("GET", f"{V}/ports/{{port_id}}", "ports.show_port", False),
    ("PUT", f"{V}/ports/{{port_id}}", "ports.update_port", False),
    ("DELETE", f"{V}/ports/{{port_id}}", "ports.delete_port", False),
]

SECURITY_GROUPS: list[Row] = [
    ("GET", f"{V}/security-groups", "security_groups.list_security_groups", False),
    ("POST", f"{V}/security-groups", "security_groups.create_security_group", False),
    ("GET", f"{V}/security-groups/{{security_group_id}}", "security_groups.show_security_group", False),
    ("PUT", f"{V}/security-groups/{{security_group_id}}", "security_groups.update_security_group", False),
    ("DELETE", f"{V}/security-groups/{{security_group_id}}", "security_groups.delete_security_group", False),
    ("GET", f"{V}/security-group-rules", "security_group_rules.list_security_group_rules", False),
    ("POST", f"{V}/security-group-rules", "security_group_rules.create_security_group_rule", False),
    ("GET", f"{V}/security-group-rules/{{security_group_rule_id}}",
     "security_group_rules.show_security_group_rule", False),
    ("PUT", f"{V}/security-group-rules/{{security_group_rule_id}}",
     "security_group_rules.update_security_group_rule", False),
    ("DELETE", f"{V}/security-group-rules/{{security_group_rule_id}}",
     "security_group_rules.delete_security_group_rule", False),
]

ROUTERS: list[Row] = [
    ("GET", f"{V}/routers", "routers.list_routers", False),
    ("POST", f"{V}/routers", "routers.create_router", False),
    ("GET", f"{V}/routers/{{router_id}}", "routers.show_router", False),
    ("PUT", f"{V}/routers/{{router_id}}", "routers.update_router", False),
    ("DELETE", f"{V}/routers/{{router_id}}", "routers.delete_router", False),
    ("PUT", f"{V}/routers/{{router_id}}/add_router_interface", "routers.add_router_interface", False),
    ("PUT", f"{V}/routers/{{router_id}}/remove_router_interface", "routers.remove_router_interface", False),
    ("PUT", f"{V}/routers/{{router_id}}/add_extraroutes", "routers.add_extraroutes", False),
    ("PUT", f"{V}/routers/{{router_id}}/remove_extraroutes", "routers.remove_extraroutes", False),
    ("GET", f"{V}/floatingips", "floatingips.list_floatingips", False),
    ("POST", f"{V}/floatingips", "floatingips.create_floatingip", False),
    ("GET", f"{V}/floatingips/{{floatingip_id}}", "floatingips.show_floatingip", False),
    ("PUT", f"{V}/floatingips/{{floatingip_id}}", "floatingips.update_floatingip", False),
    ("DELETE", f"{V}/floatingips/{{floatingip_id}}", "floatingips.delete_floatingip", False),
]

ADMIN: list[Row] = [   # quotas, agents, RBAC policies, availability zones, IP availability
    ("GET", f"{V}/quotas", "quotas.list_quotas", False),
    ("POST", f"{V}/quotas", "quotas.create_quota", False),
    ("GET", f"{V}/quotas/project", "quotas.show_own_project", False),
    ("GET", f"{V}/quotas/tenant", "quotas.show_own_tenant", False),
    ("GET", f"{V}/quotas/{{project_id}}", "quotas.show_quota", False),
    ("PUT", f"{V}/quotas/{{project_id}}", "quotas.update_quota", False),
    ("DELETE", f"{V}/quotas/{{project_id}}", "quotas.delete_quota", False),
    ("GET", f"{V}/quotas/{{project_id}}/default", "quotas.show_default_quota", False),
    ("GET", f"{V}/quotas/{{project_id}}/details", "quotas.show_quota_details", False),
    ("GET", f"{V}/rbac-policies", "rbac.list_rbac_policies", False),
    ("POST", f"{V}/rbac-policies", "rbac.create_rbac_policy", False),
    ("GET", f"{V}/rbac-policies/{{rbac_policy_id}}", "rbac.show_rbac_policy", False),
    ("PUT", f"{V}/rbac-policies/{{rbac_policy_id}}", "rbac.update_rbac_policy", False),
    ("DELETE", f"{V}/rbac-policies/{{rbac_policy_id}}", "rbac.delete_rbac_policy", False),
    ("GET", f"{V}/agents", "agents.list_agents", False),
    ("GET", f"{V}/agents/{{agent_id}}", "agents.show_agent", False),
    ("PUT", f"{V}/agents/{{agent_id}}", "agents.update_agent", False),
    ("DELETE", f"{V}/agents/{{agent_id}}", "agents.delete_agent", False),
    ("GET", f"{V}/availability_zones", "availability_zones.list_availability_zones", False),
]

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
