"""The block storage service's domain errors, rendered as Cinder's ``{"<faultName>": {"code", "message"}}``.

Cinder's fault names are Nova's (400 badRequest, 404 itemNotFound, 409 conflictingRequest, 413
overLimit ...); the wording of each message below is Cinder's.
"""

from __future__ import annotations

from nubes.core import exceptions as base


class BadRequest(base.BadRequest):
    code = "volume.bad_request"


class InvalidInput(BadRequest):
    code = "volume.invalid_input"

    def __init__(self, reason: str) -> None:
        super().__init__(f"Invalid input received: {reason}")


class InvalidVolume(BadRequest):
    code = "volume.invalid_volume"

    def __init__(self, reason: str) -> None:
        super().__init__(f"Invalid volume: {reason}")


class InvalidSnapshot(BadRequest):
    code = "volume.invalid_snapshot"

    def __init__(self, reason: str) -> None:
        super().__init__(f"Invalid snapshot: {reason}")


class InvalidVolumeType(BadRequest):
    code = "volume.invalid_volume_type"

    def __init__(self, reason: str) -> None:
        super().__init__(f"Invalid volume type: {reason}")


class InvalidAvailabilityZone(BadRequest):
    code = "volume.invalid_az"

    def __init__(self, az: str) -> None:
        super().__init__(f"Availability zone '{az}' is invalid.")


class NotFound(base.NotFound):
    code = "volume.not_found"


class VolumeNotFound(NotFound):
    code = "volume.volume_not_found"

    def __init__(self, volume_id: str) -> None:
        super().__init__(f"Volume {volume_id} could not be found.")


class SnapshotNotFound(NotFound):
    code = "volume.snapshot_not_found"

    def __init__(self, snapshot_id: str) -> None:
        super().__init__(f"Snapshot {snapshot_id} could not be found.")


class VolumeTypeNotFound(NotFound):
    code = "volume.type_not_found"

    def __init__(self, type_id: str) -> None:
        super().__init__(f"Volume type {type_id} could not be found.")


class VolumeTypeNotFoundByName(NotFound):
    code = "volume.type_name_not_found"

    def __init__(self, name: str) -> None:
        super().__init__(f"Volume type with name {name} could not be found.")


class MetadataNotFound(NotFound):
    code = "volume.metadata_not_found"


class MessageNotFound(NotFound):
    code = "volume.message_not_found"

    def __init__(self, message_id: str) -> None:
        super().__init__(f"Message {message_id} could not be found.")


class Conflict(base.Conflict):
    code = "volume.conflict"


class VolumeTypeExists(Conflict):
    code = "volume.type_exists"

    def __init__(self, name: str) -> None:
        super().__init__(f"Volume Type {name} already exists.")


class Forbidden(base.Forbidden):
    code = "volume.forbidden"


class OverQuota(base.OverLimit):
    """Cinder's 413 overLimit (VolumeLimitExceeded, VolumeSizeExceedsAvailableQuota)."""

    code = "volume.over_quota"


class NotImplementedYet(base.NotImplementedYet):
    code = "volume.not_implemented"


class InvalidBackup(BadRequest):
    code = "volume.invalid_backup"

    def __init__(self, reason: str) -> None:
        super().__init__(f"Invalid backup: {reason}")


class BackupNotFound(NotFound):
    code = "volume.backup_not_found"

    def __init__(self, backup_id: str) -> None:
        super().__init__(f"Backup {backup_id} could not be found.")


class ServiceNotFound(NotFound):
    code = "volume.service_not_found"

    def __init__(self, service: str) -> None:
        super().__init__(f"Service {service} could not be found.")


class TransferNotFound(NotFound):
    code = "volume.transfer_not_found"

    def __init__(self, transfer_id: str) -> None:
        super().__init__(f"Transfer {transfer_id} could not be found.")


class InvalidAuthKey(BadRequest):
    code = "volume.invalid_auth_key"

    def __init__(self, reason: str) -> None:
        super().__init__(f"Invalid auth key: {reason}")


class InvalidQoSSpecs(BadRequest):
    code = "volume.invalid_qos_specs"

    def __init__(self, reason: str) -> None:
        super().__init__(f"Invalid qos specs: {reason}")


class QoSSpecsInUse(BadRequest):
    code = "volume.qos_specs_in_use"

    def __init__(self, specs_id: str) -> None:
        super().__init__(f"QoS Specs {specs_id} is still associated with entities.")


class QoSSpecsNotFound(NotFound):
    code = "volume.qos_specs_not_found"

    def __init__(self, specs_id: str) -> None:
        super().__init__(f"No such QoS spec {specs_id}.")


class QoSSpecsKeyNotFound(NotFound):
    code = "volume.qos_specs_key_not_found"

    def __init__(self, specs_id: str, key: str) -> None:
        super().__init__(f"QoS spec {specs_id} has no spec with key {key}.")


class QoSSpecsExists(Conflict):
    code = "volume.qos_specs_exists"

    def __init__(self, name: str) -> None:
        super().__init__(f"QoS Specs {name} already exists.")
