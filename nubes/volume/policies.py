"""The block storage service's default access rules: Cinder's secure RBAC defaults, oslo.policy syntax.

Rule names are Cinder's (``volume:create``, ``volume_extension:types_manage`` ...), so operators'
policy files keep working. Cinder's rules take project-scoped tokens; admin is the project
admin (``context_is_admin``). Legacy mode accepts each rule without its persona roles.
"""

from __future__ import annotations

from nubes.core.auth.policy import RuleDefault, without_personas

ADMIN = "rule:context_is_admin"
PROJECT_MEMBER = "role:member and project_id:%(project_id)s"
PROJECT_READER = "role:reader and project_id:%(project_id)s"
MEMBER = "rule:project_member_or_admin"
READER = "rule:project_reader_or_admin"
ANY = "@"

BASE: dict[str, str] = {
    "context_is_admin": "role:admin",
    "admin_api": ADMIN,
    "project_member_api": PROJECT_MEMBER,
    "project_reader_api": PROJECT_READER,
    "project_member_or_admin": "rule:project_member_api or rule:context_is_admin",
    "project_reader_or_admin": "rule:project_reader_api or rule:context_is_admin",
    # Cinder's deprecated rule, for operators' files that still name it
    "admin_or_owner": "is_admin:True or project_id:%(project_id)s",
}

VE = "volume_extension"
RULES: dict[str, str] = {
    # volumes
    "volume:create": MEMBER,
    "volume:create_from_image": MEMBER,
    "volume:get": READER,
    "volume:get_all": READER,
    "volume:update": MEMBER,
    "volume:delete": MEMBER,
    "volume:force_delete": ADMIN,
    "volume:multiattach": MEMBER,
    "volume:get_volume_metadata": READER,
    "volume:create_volume_metadata": MEMBER,
    "volume:update_volume_metadata": MEMBER,
    "volume:delete_volume_metadata": MEMBER,
    "volume:get_volume_summary": READER,
    "volume:get_all_tenants": ADMIN,      # all_tenants=1 in a volume list (Cinder: admin context)
    f"{VE}:volume_host_attribute": ADMIN,
    f"{VE}:volume_tenant_attribute": READER,
    f"{VE}:volume_mig_status_attribute": ADMIN,
    f"{VE}:volume_image_metadata:show": READER,
    # volume actions (sources, extend, flags, status, retype, revert, image metadata, upload)
    "volume:extend": MEMBER,
    "volume:extend_attached_volume": MEMBER,
    "volume:revert_to_snapshot": MEMBER,
    "volume:retype": MEMBER,
    "volume:update_readonly_flag": MEMBER,
    f"{VE}:volume_admin_actions:reset_status": ADMIN,
    f"{VE}:snapshot_admin_actions:reset_status": ADMIN,
    f"{VE}:volume_actions:upload_image": MEMBER,
    f"{VE}:volume_actions:upload_public": ADMIN,
    f"{VE}:volume_image_metadata:set": MEMBER,
    f"{VE}:volume_image_metadata:remove": MEMBER,
    # snapshots
    "volume:create_snapshot": MEMBER,
    "volume:get_snapshot": READER,
    "volume:get_all_snapshots": READER,
    "volume:update_snapshot": MEMBER,
    "volume:delete_snapshot": MEMBER,
    "volume:get_snapshot_metadata": READER,
    "volume:update_snapshot_metadata": MEMBER,
    "volume:delete_snapshot_metadata": MEMBER,
    f"{VE}:extended_snapshot_attributes": READER,
    # backups
    "backup:create": MEMBER,
    "backup:get": READER,
    "backup:get_all": READER,
    "backup:update": MEMBER,
    "backup:delete": MEMBER,
    "backup:restore": MEMBER,
    "backup:export-import": ADMIN,
    "backup:backup_project_attribute": ADMIN,
    f"{VE}:backup_admin_actions:reset_status": ADMIN,
    f"{VE}:backup_admin_actions:force_delete": ADMIN,
    # transfers
    "volume:create_transfer": MEMBER,
    "volume:get_transfer": READER,
    "volume:get_all_transfers": READER,
    "volume:delete_transfer": MEMBER,
    "volume:accept_transfer": MEMBER,
    # QoS specs (admins', as in Cinder)
    f"{VE}:qos_specs_manage:create": ADMIN,
    f"{VE}:qos_specs_manage:get": ADMIN,
    f"{VE}:qos_specs_manage:get_all": ADMIN,
    f"{VE}:qos_specs_manage:update": ADMIN,
    f"{VE}:qos_specs_manage:delete": ADMIN,
    # volume types, extra specs, access, default types
    f"{VE}:types_manage": ADMIN,
    f"{VE}:type_create": ADMIN,
    f"{VE}:type_update": ADMIN,
    f"{VE}:type_delete": ADMIN,
    f"{VE}:type_get": READER,
    f"{VE}:type_get_all": READER,
    f"{VE}:access_types_extra_specs": ADMIN,
    f"{VE}:access_types_qos_specs_id": ADMIN,
    f"{VE}:types_extra_specs:index": READER,
    f"{VE}:types_extra_specs:show": READER,
    f"{VE}:types_extra_specs:create": ADMIN,
    f"{VE}:types_extra_specs:update": ADMIN,
    f"{VE}:types_extra_specs:delete": ADMIN,
    f"{VE}:volume_type_access": READER,
    f"{VE}:volume_type_access:addProjectAccess": ADMIN,
    f"{VE}:volume_type_access:removeProjectAccess": ADMIN,
    f"{VE}:volume_type_access:get_all_for_type": ADMIN,
    f"{VE}:default_set_or_update": ADMIN,
    f"{VE}:default_get": ADMIN,
    f"{VE}:default_get_all": ADMIN,
    f"{VE}:default_unset": ADMIN,
    # quotas, limits
    f"{VE}:quotas:show": READER,
    f"{VE}:quotas:update": ADMIN,
    f"{VE}:quotas:delete": ADMIN,
    f"{VE}:quota_classes": ADMIN,
    f"{VE}:quota_classes:update": ADMIN,
    "limits_extension:used_limits": READER,
    # services, pools, zones, messages, resource filters
    f"{VE}:services:index": ADMIN,
    f"{VE}:services:update": ADMIN,
    "scheduler_extension:scheduler_stats:get_pools": ADMIN,
    f"{VE}:availability_zone_list": ANY,
    "message:get": READER,
    "message:get_all": READER,
    "message:delete": MEMBER,
    "volume:get_resource_filters": ANY,
    # attachments and the legacy attach actions (Cinder's names)
    "volume:attachment_create": MEMBER,
    "volume:attachment_update": MEMBER,
    "volume:attachment_delete": MEMBER,
    "volume:attachment_complete": MEMBER,
    "volume:attachment_get": READER,
    "volume:attachment_get_all": READER,
    "volume:reserve_volume": MEMBER,
    "volume:unreserve_volume": MEMBER,
    "volume:begin_detaching": MEMBER,
    "volume:roll_detaching": MEMBER,
    "volume:initialize_connection": MEMBER,
    "volume:terminate_connection": MEMBER,
    "volume:attach": MEMBER,
    "volume:detach": MEMBER,
    f"{VE}:volume_admin_actions:force_detach": ADMIN,
}

DEFAULTS = ([RuleDefault(name, text) for name, text in BASE.items()]
            + [RuleDefault(name, text, scope_types=("project",), deprecated=without_personas(text))
               for name, text in RULES.items()])
