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
    ("GET", "/v2", "versions.show_v2", "2.1", True),
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
SV = f"{V}/servers/{{server_id}}"
QS = f"{V}/os-quota-sets/{{project_id}}"
SG = f"{V}/os-server-groups"
SERVERS: list[Row] = [
    ("GET", f"{V}/servers", "servers.list_servers", "2.1", False),
    ("POST", f"{V}/servers", "servers.create_server", "2.1", False),
    ("GET", f"{V}/servers/detail", "servers.list_servers_detail", "2.1", False),
    ("GET", SV, "servers.show_server", "2.1", False),
    ("PUT", SV, "servers.update_server", "2.1", False),
    ("DELETE", SV, "servers.delete_server", "2.1", False),
    ("POST", f"{SV}/action", "servers.server_action", "2.1", False),
    ("GET", f"{SV}/os-instance-actions", "instance_actions.list_instance_actions", "2.1", False),
    ("GET", f"{SV}/os-instance-actions/{{request_id}}", "instance_actions.show_instance_action", "2.1", False),
    ("GET", SG, "server_groups.list_server_groups", "2.1", False),
    ("POST", SG, "server_groups.create_server_group", "2.1", False),
    ("GET", f"{SG}/{{group_id}}", "server_groups.show_server_group", "2.1", False),
    ("DELETE", f"{SG}/{{group_id}}", "server_groups.delete_server_group", "2.1", False),
    ("GET", f"{QS}/defaults", "quotas.show_quota_defaults", "2.1", False),
    ("GET", f"{QS}/detail", "quotas.show_quota_set_detail", "2.1", False),
    ("GET", QS, "quotas.show_quota_set", "2.1", False),
    ("PUT", QS, "quotas.update_quota_set", "2.1", False),
    ("DELETE", QS, "quotas.delete_quota_set", "2.1", False),
    ("GET", f"{V}/os-quota-class-sets/{{class_name}}", "quotas.show_quota_class_set", "2.1", False),
    ("PUT", f"{V}/os-quota-class-sets/{{class_name}}", "quotas.update_quota_class_set", "2.1", False),
    ("GET", f"{V}/limits", "limits.show_limits", "2.1", False),
    # server sub-resources: metadata, tags, interfaces, security groups, diagnostics, migrations
    ("GET", f"{SV}/metadata", "server_metadata.list_metadata", "2.1", False),
    ("POST", f"{SV}/metadata", "server_metadata.create_metadata", "2.1", False),
    ("PUT", f"{SV}/metadata", "server_metadata.replace_metadata", "2.1", False),
    ("GET", f"{SV}/metadata/{{key}}", "server_metadata.show_metadata_item", "2.1", False),
    ("PUT", f"{SV}/metadata/{{key}}", "server_metadata.update_metadata_item", "2.1", False),
    ("DELETE", f"{SV}/metadata/{{key}}", "server_metadata.delete_metadata_item", "2.1", False),
    ("GET", f"{SV}/tags", "server_tags.list_tags", "2.26", False),
    ("PUT", f"{SV}/tags", "server_tags.replace_tags", "2.26", False),
    ("DELETE", f"{SV}/tags", "server_tags.delete_tags", "2.26", False),
    ("GET", f"{SV}/tags/{{tag}}", "server_tags.check_tag", "2.26", False),
    ("PUT", f"{SV}/tags/{{tag}}", "server_tags.add_tag", "2.26", False),
    ("DELETE", f"{SV}/tags/{{tag}}", "server_tags.delete_tag", "2.26", False),
    ("GET", f"{SV}/os-interface", "server_interfaces.list_interfaces", "2.1", False),
    ("POST", f"{SV}/os-interface", "server_interfaces.create_interface", "2.1", False),
    ("GET", f"{SV}/os-interface/{{port_id}}", "server_interfaces.show_interface", "2.1", False),
    ("DELETE", f"{SV}/os-interface/{{port_id}}", "server_interfaces.delete_interface", "2.1", False),
    ("GET", f"{SV}/os-security-groups", "server_interfaces.list_server_security_groups", "2.1", False),
    ("GET", f"{SV}/diagnostics", "console.show_diagnostics", "2.1", False),
    ("GET", f"{SV}/ips", "server_ips.list_ips", "2.1", False),
    ("GET", f"{SV}/ips/{{network_label}}", "server_ips.show_ips", "2.1", False),
    ("GET", f"{SV}/os-server-password", "server_password.show_password", "2.1", False),
    ("DELETE", f"{SV}/os-server-password", "server_password.clear_password", "2.1", False),
    ("GET", f"{SV}/shares", "unsupported.share_attachments", "2.97", False),
    ("POST", f"{SV}/shares", "unsupported.share_attachments", "2.97", False),
    ("GET", f"{SV}/shares/{{share_id}}", "unsupported.share_attachments", "2.97", False),
    ("DELETE", f"{SV}/shares/{{share_id}}", "unsupported.share_attachments", "2.97", False),
    ("GET", f"{SV}/migrations", "migrations.list_server_migrations", "2.23", False),
    ("GET", f"{SV}/migrations/{{migration_id}}", "migrations.show_server_migration", "2.23", False),
    ("POST", f"{SV}/migrations/{{migration_id}}/action", "server_migration_actions.migration_action", "2.22",
     False),
    ("DELETE", f"{SV}/migrations/{{migration_id}}", "server_migration_actions.delete_migration", "2.24", False),
    ("GET", f"{V}/os-migrations", "migrations.list_migrations", "2.1", False),
    ("GET", f"{V}/os-simple-tenant-usage", "usage.list_usage", "2.1", False),
    ("GET", f"{V}/os-simple-tenant-usage/{{project_id}}", "usage.show_usage", "2.1", False),
    ("GET", f"{V}/os-instance_usage_audit_log", "usage_audit_log.list_audit_logs", "2.1", False),
    ("GET", f"{V}/os-instance_usage_audit_log/{{before_timestamp}}", "usage_audit_log.show_audit_log", "2.1",
     False),
]

# os-services, os-hypervisors, os-availability-zone, os-aggregates, os-simple-tenant-usage
HV = f"{V}/os-hypervisors"
AG = f"{V}/os-aggregates"
HOSTS: list[Row] = [
    ("GET", f"{V}/os-services", "services.list_services", "2.1", False),
    ("PUT", f"{V}/os-services/{{service_id}}", "services.update_service", "2.1", False),
    ("DELETE", f"{V}/os-services/{{service_id}}", "services.delete_service", "2.1", False),
    ("GET", HV, "hypervisors.list_hypervisors", "2.1", False),
    ("GET", f"{HV}/detail", "hypervisors.list_hypervisors_detail", "2.1", False),
    ("GET", f"{HV}/statistics", "hypervisors.hypervisor_statistics", "2.1", False),
    ("GET", f"{HV}/{{hypervisor_id}}", "hypervisors.show_hypervisor", "2.1", False),
    ("GET", f"{HV}/{{hypervisor_id}}/uptime", "hypervisors.uptime_hypervisor", "2.1", False),
    ("GET", f"{HV}/{{pattern}}/search", "hypervisors.search_hypervisors", "2.1", False),
    ("GET", f"{HV}/{{pattern}}/servers", "hypervisors.hypervisor_servers", "2.1", False),
    ("GET", f"{V}/os-availability-zone", "availability_zones.list_zones", "2.1", False),
    ("GET", f"{V}/os-availability-zone/detail", "availability_zones.list_zones_detail", "2.1", False),
    ("GET", AG, "aggregates.list_aggregates", "2.1", False),
    ("POST", AG, "aggregates.create_aggregate", "2.1", False),
    ("GET", f"{AG}/{{aggregate_id}}", "aggregates.show_aggregate", "2.1", False),
    ("PUT", f"{AG}/{{aggregate_id}}", "aggregates.update_aggregate", "2.1", False),
    ("DELETE", f"{AG}/{{aggregate_id}}", "aggregates.delete_aggregate", "2.1", False),
    ("POST", f"{AG}/{{aggregate_id}}/action", "aggregates.aggregate_action", "2.1", False),
]

# events from other services; volume attachments
NETWORK: list[Row] = [
    ("POST", f"{V}/os-server-external-events", "external_events.create_external_events", "2.1", False),
    ("GET", f"{SV}/os-volume_attachments", "volume_attachments.list_volume_attachments", "2.1", False),
    ("GET", f"{SV}/os-volume_attachments/{{volume_id}}", "volume_attachments.show_volume_attachment", "2.1",
     False),
    ("POST", f"{SV}/os-volume_attachments", "volume_attachments.create_volume_attachment", "2.1", False),
    ("PUT", f"{SV}/os-volume_attachments/{{volume_id}}", "volume_attachments.update_volume_attachment", "2.1",
     False),
    ("DELETE", f"{SV}/os-volume_attachments/{{volume_id}}", "volume_attachments.delete_volume_attachment", "2.1",
     False),
]

# Nova's proxy APIs (404 from 2.36; image metadata from 2.39, os-hosts from 2.43: see each handler)
IM = f"{V}/images/{{image_id}}"
FIPS, SGS, SGRS = f"{V}/os-floating-ips", f"{V}/os-security-groups", f"{V}/os-security-group-rules"
NETS, TNETS, OH = f"{V}/os-networks", f"{V}/os-tenant-networks", f"{V}/os-hosts"
PROXIES: list[Row] = [
    ("GET", f"{V}/images", "images.list_images", "2.1", False),
    ("GET", f"{V}/images/detail", "images.list_images_detail", "2.1", False),
    ("GET", IM, "images.show_image", "2.1", False),
    ("DELETE", IM, "images.delete_image", "2.1", False),
    ("GET", f"{IM}/metadata", "images.list_image_metadata", "2.1", False),
    ("POST", f"{IM}/metadata", "images.create_image_metadata", "2.1", False),
    ("PUT", f"{IM}/metadata", "images.replace_image_metadata", "2.1", False),
    ("GET", f"{IM}/metadata/{{key}}", "images.show_image_metadata_item", "2.1", False),
    ("PUT", f"{IM}/metadata/{{key}}", "images.update_image_metadata_item", "2.1", False),
    ("DELETE", f"{IM}/metadata/{{key}}", "images.delete_image_metadata_item", "2.1", False),
    ("GET", FIPS, "network_proxies.list_floating_ips", "2.1", False),
    ("POST", FIPS, "network_proxies.create_floating_ip", "2.1", False),
    ("GET", f"{FIPS}/{{fip_id}}", "network_proxies.show_floating_ip", "2.1", False),
    ("DELETE", f"{FIPS}/{{fip_id}}", "network_proxies.delete_floating_ip", "2.1", False),
    ("GET", f"{V}/os-floating-ip-pools", "network_proxies.list_floating_ip_pools", "2.1", False),
    ("GET", SGS, "network_proxies.list_security_groups", "2.1", False),
    ("POST", SGS, "network_proxies.create_security_group", "2.1", False),
    ("GET", f"{SGS}/{{group_id}}", "network_proxies.show_security_group", "2.1", False),
    ("PUT", f"{SGS}/{{group_id}}", "network_proxies.update_security_group", "2.1", False),
    ("DELETE", f"{SGS}/{{group_id}}", "network_proxies.delete_security_group", "2.1", False),
    ("POST", SGRS, "network_proxies.create_security_group_rule", "2.1", False),
    ("DELETE", f"{SGRS}/{{rule_id}}", "network_proxies.delete_security_group_rule", "2.1", False),
    ("GET", NETS, "network_proxies.list_networks", "2.1", False),
    ("POST", NETS, "network_proxies.network_gone", "2.1", False),
    ("POST", f"{NETS}/add", "network_proxies.network_gone", "2.1", False),
    ("GET", f"{NETS}/{{network_id}}", "network_proxies.show_network", "2.1", False),
    ("DELETE", f"{NETS}/{{network_id}}", "network_proxies.network_gone", "2.1", False),
    ("POST", f"{NETS}/{{network_id}}/action", "network_proxies.network_gone", "2.1", False),
    ("GET", TNETS, "network_proxies.list_tenant_networks", "2.1", False),
    ("POST", TNETS, "network_proxies.network_gone", "2.1", False),
    ("GET", f"{TNETS}/{{network_id}}", "network_proxies.show_tenant_network", "2.1", False),
    ("DELETE", f"{TNETS}/{{network_id}}", "network_proxies.network_gone", "2.1", False),
    ("GET", OH, "os_hosts.list_hosts", "2.1", False),
    ("GET", f"{OH}/{{host_name}}", "os_hosts.show_host", "2.1", False),
    ("PUT", f"{OH}/{{host_name}}", "os_hosts.update_host", "2.1", False),
    ("GET", f"{OH}/{{host_name}}/startup", "os_hosts.startup_host", "2.1", False),
    ("GET", f"{OH}/{{host_name}}/shutdown", "os_hosts.shutdown_host", "2.1", False),
    ("GET", f"{OH}/{{host_name}}/reboot", "os_hosts.reboot_host", "2.1", False),
    ("GET", f"{V}/extensions", "extensions.list_extensions", "2.1", False),
    ("GET", f"{V}/extensions/{{alias}}", "extensions.show_extension", "2.1", False),
]


# remote consoles (the legacy get*Console actions are in the server action dispatcher)
CONSOLES: list[Row] = [
    ("POST", f"{SV}/remote-consoles", "remote_consoles.create_remote_console", "2.6", False),
    ("GET", f"{V}/os-console-auth-tokens/{{console_token}}", "remote_consoles.show_console_auth_token", "2.1",
     False),
]


def table() -> list[Row]:
    return DISCOVERY + FLAVORS + KEYPAIRS + SERVERS + HOSTS + CONSOLES + NETWORK + PROXIES

# Parts of the Compute API not served yet: 501 (see docs/api-coverage.md).
NOT_IMPLEMENTED = [
    f"{V}/servers/{{path:path}}",
    f"{V}/os-aggregates/{{aggregate_id}}/images", f"{V}/os-assisted-volume-snapshots",
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
