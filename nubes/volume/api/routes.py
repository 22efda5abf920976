"""THE route table of the block storage service: every (method, path, handler, first microversion).

Cinder's catalog URL is /v3/{project_id}; ``project_path.ProjectPath`` takes the project id out,
so the same routes answer with and without it (3.67). Parts of the API not served yet answer
501 (``NOT_IMPLEMENTED``; docs/api-coverage.md says which and why).
"""

from __future__ import annotations

import importlib

from nubes.core.api.routing import Route
from nubes.volume.api import versions

V = "/v3"
VOL = f"{V}/volumes/{{volume_id}}"
TY = f"{V}/types/{{type_id}}"
QS = f"{V}/os-quota-sets/{{project_id}}"
SN = f"{V}/snapshots/{{snapshot_id}}"
BK = f"{V}/backups/{{backup_id}}"
QOS = f"{V}/qos-specs/{{qos_id}}"
Row = tuple[str, str, str, str, bool]

TABLE: list[Row] = [
    ("GET", "/", "versions.list_versions", "3.0", True),
    ("GET", V, "versions.show_v3", "3.0", True),
    # volumes
    ("GET", f"{V}/volumes", "volumes.list_volumes", "3.0", False),
    ("POST", f"{V}/volumes", "volumes.create_volume", "3.0", False),
    ("GET", f"{V}/volumes/detail", "volumes.list_volumes_detail", "3.0", False),
    ("GET", f"{V}/volumes/summary", "volumes.volume_summary", "3.12", False),
    ("GET", VOL, "volumes.show_volume", "3.0", False),
    ("PUT", VOL, "volumes.update_volume", "3.0", False),
    ("DELETE", VOL, "volumes.delete_volume", "3.0", False),
    ("POST", f"{VOL}/action", "volume_actions.volume_action", "3.0", False),
    ("GET", f"{VOL}/metadata", "volume_metadata.list_metadata", "3.0", False),
    ("POST", f"{VOL}/metadata", "volume_metadata.create_metadata", "3.0", False),
    ("PUT", f"{VOL}/metadata", "volume_metadata.replace_metadata", "3.0", False),
    ("GET", f"{VOL}/metadata/{{key}}", "volume_metadata.show_metadata_item", "3.0", False),
    ("PUT", f"{VOL}/metadata/{{key}}", "volume_metadata.update_metadata_item", "3.0", False),
    ("DELETE", f"{VOL}/metadata/{{key}}", "volume_metadata.delete_metadata_item", "3.0", False),
    # snapshots
    ("GET", f"{V}/snapshots", "snapshots.list_snapshots", "3.0", False),
    ("POST", f"{V}/snapshots", "snapshots.create_snapshot", "3.0", False),
    ("GET", f"{V}/snapshots/detail", "snapshots.list_snapshots_detail", "3.0", False),
    ("GET", SN, "snapshots.show_snapshot", "3.0", False),
    ("PUT", SN, "snapshots.update_snapshot", "3.0", False),
    ("DELETE", SN, "snapshots.delete_snapshot", "3.0", False),
    ("POST", f"{SN}/action", "volume_actions.snapshot_action", "3.0", False),
    ("GET", f"{SN}/metadata", "snapshots.list_metadata", "3.0", False),
    ("POST", f"{SN}/metadata", "snapshots.create_metadata", "3.0", False),
    ("PUT", f"{SN}/metadata", "snapshots.replace_metadata", "3.0", False),
    ("GET", f"{SN}/metadata/{{key}}", "snapshots.show_metadata_item", "3.0", False),
    ("PUT", f"{SN}/metadata/{{key}}", "snapshots.update_metadata_item", "3.0", False),
    ("DELETE", f"{SN}/metadata/{{key}}", "snapshots.delete_metadata_item", "3.0", False),
    # attachments (api/attachments.py)
    ("GET", f"{V}/attachments", "attachments.list_attachments", "3.27", False),
    ("GET", f"{V}/attachments/detail", "attachments.list_attachments_detail", "3.27", False),
    ("POST", f"{V}/attachments", "attachments.create_attachment", "3.27", False),
    ("GET", f"{V}/attachments/{{attachment_id}}", "attachments.show_attachment", "3.27", False),
    ("PUT", f"{V}/attachments/{{attachment_id}}", "attachments.update_attachment", "3.27", False),
    ("DELETE", f"{V}/attachments/{{attachment_id}}", "attachments.delete_attachment", "3.27", False),
    ("POST", f"{V}/attachments/{{attachment_id}}/action", "attachments.attachment_action", "3.44", False),
    # backups
    ("GET", f"{V}/backups", "backups.list_backups", "3.0", False),
    ("POST", f"{V}/backups", "backups.create_backup", "3.0", False),
    ("GET", f"{V}/backups/detail", "backups.list_backups_detail", "3.0", False),
    ("POST", f"{V}/backups/import_record", "backups.import_record", "3.0", False),
    ("GET", BK, "backups.show_backup", "3.0", False),
    ("PUT", BK, "backups.update_backup", "3.9", False),
    ("DELETE", BK, "backups.delete_backup", "3.0", False),
    ("POST", f"{BK}/restore", "backups.restore_backup", "3.0", False),
    ("POST", f"{BK}/action", "backups.backup_action", "3.0", False),
    ("GET", f"{BK}/export_record", "backups.export_record", "3.0", False),
    # volume transfers (the legacy path and 3.55's)
    ("GET", f"{V}/os-volume-transfer", "transfers.list_transfers", "3.0", False),
    ("POST", f"{V}/os-volume-transfer", "transfers.create_transfer", "3.0", False),
    ("GET", f"{V}/os-volume-transfer/detail", "transfers.list_transfers_detail", "3.0", False),
    ("GET", f"{V}/os-volume-transfer/{{transfer_id}}", "transfers.show_transfer", "3.0", False),
    ("DELETE", f"{V}/os-volume-transfer/{{transfer_id}}", "transfers.delete_transfer", "3.0", False),
    ("POST", f"{V}/os-volume-transfer/{{transfer_id}}/accept", "transfers.accept_transfer", "3.0", False),
    ("GET", f"{V}/volume-transfers", "transfers.list_transfers", "3.55", False),
    ("POST", f"{V}/volume-transfers", "transfers.create_transfer", "3.55", False),
    ("GET", f"{V}/volume-transfers/detail", "transfers.list_transfers_detail", "3.55", False),
    ("GET", f"{V}/volume-transfers/{{transfer_id}}", "transfers.show_transfer", "3.55", False),
    ("DELETE", f"{V}/volume-transfers/{{transfer_id}}", "transfers.delete_transfer", "3.55", False),
    ("POST", f"{V}/volume-transfers/{{transfer_id}}/accept", "transfers.accept_transfer", "3.55", False),
    # QoS specs
    ("GET", f"{V}/qos-specs", "qos_specs.list_qos_specs", "3.0", False),
    ("POST", f"{V}/qos-specs", "qos_specs.create_qos_specs", "3.0", False),
    ("GET", f"{QOS}", "qos_specs.show_qos_specs", "3.0", False),
    ("PUT", f"{QOS}", "qos_specs.update_qos_specs", "3.0", False),
    ("DELETE", f"{QOS}", "qos_specs.delete_qos_specs", "3.0", False),
    ("PUT", f"{QOS}/delete_keys", "qos_specs.delete_qos_keys", "3.0", False),
    ("GET", f"{QOS}/associations", "qos_specs.list_associations", "3.0", False),
    ("GET", f"{QOS}/associate", "qos_specs.associate", "3.0", False),
    ("GET", f"{QOS}/disassociate", "qos_specs.disassociate", "3.0", False),
    ("GET", f"{QOS}/disassociate_all", "qos_specs.disassociate_all", "3.0", False),
    # volume types, extra specs, access, default types
    ("GET", f"{V}/types", "types.list_types", "3.0", False),
    ("POST", f"{V}/types", "types.create_type", "3.0", False),
    ("GET", TY, "types.show_type", "3.0", False),
    ("PUT", TY, "types.update_type", "3.0", False),
    ("DELETE", TY, "types.delete_type", "3.0", False),
    ("POST", f"{TY}/action", "types.type_action", "3.0", False),
    ("GET", f"{TY}/os-volume-type-access", "types.list_type_access", "3.0", False),
    ("GET", f"{TY}/extra_specs", "types.list_extra_specs", "3.0", False),
    ("POST", f"{TY}/extra_specs", "types.create_extra_specs", "3.0", False),
    ("GET", f"{TY}/extra_specs/{{key}}", "types.show_extra_spec", "3.0", False),
    ("PUT", f"{TY}/extra_specs/{{key}}", "types.update_extra_spec", "3.0", False),
    ("DELETE", f"{TY}/extra_specs/{{key}}", "types.delete_extra_spec", "3.0", False),
    ("GET", f"{V}/default-types", "types.list_default_types", "3.62", False),
    ("GET", f"{V}/default-types/{{project_id}}", "types.show_default_type", "3.62", False),
    ("PUT", f"{V}/default-types/{{project_id}}", "types.set_default_type", "3.62", False),
    ("DELETE", f"{V}/default-types/{{project_id}}", "types.unset_default_type", "3.62", False),
    # quotas, limits
    ("GET", QS, "quotas.show_quota_set", "3.0", False),
    ("GET", f"{QS}/defaults", "quotas.show_quota_defaults", "3.0", False),
    ("PUT", QS, "quotas.update_quota_set", "3.0", False),
    ("DELETE", QS, "quotas.delete_quota_set", "3.0", False),
    ("GET", f"{V}/os-quota-class-sets/{{class_name}}", "quotas.show_quota_class_set", "3.0", False),
    ("PUT", f"{V}/os-quota-class-sets/{{class_name}}", "quotas.update_quota_class_set", "3.0", False),
    ("GET", f"{V}/limits", "quotas.show_limits", "3.0", False),
    # services, zones, pools, messages, resource filters
    ("GET", f"{V}/os-services", "hosts.list_services", "3.0", False),
    ("PUT", f"{V}/os-services/{{action}}", "hosts.update_service", "3.0", False),
    ("GET", f"{V}/os-availability-zone", "hosts.list_zones", "3.0", False),
    ("GET", f"{V}/scheduler-stats/get_pools", "hosts.list_pools", "3.0", False),
    ("GET", f"{V}/messages", "messages.list_messages", "3.3", False),
    ("GET", f"{V}/messages/{{message_id}}", "messages.show_message", "3.3", False),
    ("DELETE", f"{V}/messages/{{message_id}}", "messages.delete_message", "3.3", False),
    ("GET", f"{V}/resource_filters", "messages.list_resource_filters", "3.33", False),
]

# Not served yet: 501 on every method (docs/api-coverage.md, Block Storage).
NOT_IMPLEMENTED = [
    f"{V}/groups", f"{V}/groups/{{path:path}}",
    f"{V}/group_types", f"{V}/group_types/{{path:path}}", f"{V}/group_snapshots",
    f"{V}/group_snapshots/{{path:path}}", f"{V}/types/{{type_id}}/encryption",
    f"{V}/types/{{type_id}}/encryption/{{path:path}}", f"{V}/os-volume-manage", f"{V}/manageable_volumes",
    f"{V}/manageable_volumes/{{path:path}}", f"{V}/os-snapshot-manage", f"{V}/manageable_snapshots",
    f"{V}/manageable_snapshots/{{path:path}}", f"{V}/clusters", f"{V}/clusters/{{path:path}}",
    f"{V}/workers/cleanup", f"{V}/os-hosts", f"{V}/os-hosts/{{path:path}}", f"{V}/capabilities/{{host}}",
    f"{V}/os-backup-services", f"{V}/extensions",
]


def routes() -> list[Route]:
    out = []
    for method, path, target, first, public in TABLE:
        module, func = target.rsplit(".", 1)
        handler = getattr(importlib.import_module(f"nubes.volume.api.{module}"), func)
        if first != "3.0":
            handler = versions.min_version(first, handler)
        out.append(Route(method, path, handler, public=public, name=path))
    from nubes.volume.api.unsupported import not_implemented

    for path in NOT_IMPLEMENTED:
        for method in ("GET", "POST", "PUT", "DELETE"):
            out.append(Route(method, path, not_implemented, name=path))
    return out
