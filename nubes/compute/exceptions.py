"""The compute service's domain errors, rendered as Nova's ``{"<faultName>": {"code", "message"}}``.

The fault name comes from the status (404 itemNotFound, 409 conflictingRequest...), so each
error here only picks a base class and says what Nova says.
"""

from __future__ import annotations

from nubes.core import exceptions as base


class BadRequest(base.BadRequest):
    code = "compute.bad_request"


class ValidationError(BadRequest):
    """A body or query that does not match the API's schema (Nova's jsonschema errors)."""

    code = "compute.validation_error"

    def __init__(self, detail: str) -> None:
        super().__init__(f"Invalid input for field/attribute {detail}")


class NotFound(base.NotFound):
    code = "compute.not_found"


class Conflict(base.Conflict):
    code = "compute.conflict"


class Forbidden(base.Forbidden):
    code = "compute.forbidden"


class OverQuota(base.Forbidden):
    """Nova answers a quota overrun with 403 (or 413 for some older calls)."""

    code = "compute.over_quota"


class FlavorNotFound(NotFound):
    code = "compute.flavor_not_found"

    def __init__(self, flavor_id: str) -> None:
        super().__init__(f"Flavor {flavor_id} could not be found.")


class FlavorExtraSpecNotFound(NotFound):
    code = "compute.flavor_extra_spec_not_found"

    def __init__(self, flavor_id: str, key: str) -> None:
        super().__init__(f"Flavor {flavor_id} has no extra specs with key {key}.")


class FlavorAccessNotFound(NotFound):
    code = "compute.flavor_access_not_found"

    def __init__(self, flavor_id: str, project_id: str) -> None:
        super().__init__(f"Flavor access not found for {flavor_id} / {project_id} combination.")


class FlavorExists(Conflict):
    code = "compute.flavor_exists"


class FlavorAccessExists(Conflict):
    code = "compute.flavor_access_exists"

    def __init__(self, flavor_id: str, project_id: str) -> None:
        super().__init__(f"Flavor access already exists for flavor {flavor_id} and project "
                         f"{project_id} combination.")


class KeypairNotFound(NotFound):
    code = "compute.keypair_not_found"

    def __init__(self, name: str, user_id: str) -> None:
        super().__init__(f"Keypair {name} not found for user {user_id}")


class KeyPairExists(Conflict):
    code = "compute.keypair_exists"

    def __init__(self, name: str) -> None:
        super().__init__(f"Key pair '{name}' already exists.")


class InvalidKeypair(BadRequest):
    code = "compute.invalid_keypair"

    def __init__(self, reason: str) -> None:
        super().__init__(f"Keypair data is invalid: {reason}")


class InstanceNotFound(NotFound):
    code = "compute.instance_not_found"

    def __init__(self, instance_id: str) -> None:
        super().__init__(f"Instance {instance_id} could not be found.")


class InstanceInvalidState(Conflict):
    code = "compute.instance_invalid_state"

    def __init__(self, attr: str, state: str | None, method: str, instance_id: str) -> None:
        super().__init__(f"Cannot '{method}' instance {instance_id} while it is in {attr} {state}")


class InstanceIsLocked(Conflict):
    code = "compute.instance_is_locked"

    def __init__(self, instance_id: str) -> None:
        super().__init__(f"Instance {instance_id} is locked")


class NoValidHost(base.CloudError):
    """The scheduler found no host; the message says which filter removed how many and why."""

    status = 500
    code = "compute.no_valid_host"

    def __init__(self, reason: str) -> None:
        super().__init__(f"No valid host was found. {reason}")


# -- hosts: services, hypervisors, aggregates (Nova's messages) ---------------------------------
class ServiceNotFound(NotFound):
    code = "compute.service_not_found"

    def __init__(self, service_id: str | int) -> None:
        super().__init__(f"Service {service_id} could not be found.")


class HostBinaryNotFound(NotFound):
    code = "compute.host_binary_not_found"

    def __init__(self, host: str, binary: str) -> None:
        super().__init__(f"Could not find binary {binary} on host {host}.")


class ComputeHostNotFound(NotFound):
    code = "compute.compute_host_not_found"

    def __init__(self, host: str) -> None:
        super().__init__(f"Compute host {host} could not be found.")


class HypervisorNotFound(NotFound):
    code = "compute.hypervisor_not_found"

    def __init__(self, hypervisor_id: str) -> None:
        super().__init__(f"Hypervisor with ID '{hypervisor_id}' could not be found.")


class UptimeUnavailable(BadRequest):
    """Nova's ComputeServiceUnavailable as the uptime call answers it."""

    code = "compute.uptime_unavailable"

    def __init__(self, host: str, reason: str = "") -> None:
        super().__init__(f"Compute service of {host} is unavailable at this time." + (f" {reason}" if reason else ""))


class ConsoleLogOutputFailed(Conflict):
    code = "compute.console_log_output_failed"

    def __init__(self, instance_id: str, reason: str) -> None:
        super().__init__(f"Console log output could not be retrieved for instance {instance_id}. Reason: {reason}")


class AggregateNotFound(NotFound):
    code = "compute.aggregate_not_found"

    def __init__(self, aggregate_id: str | int) -> None:
        super().__init__(f"Aggregate {aggregate_id} could not be found.")


class AggregateNameExists(Conflict):
    code = "compute.aggregate_name_exists"

    def __init__(self, name: str) -> None:
        super().__init__(f"Aggregate {name} already exists.")


class AggregateHostExists(Conflict):
    code = "compute.aggregate_host_exists"

    def __init__(self, aggregate_id: int, host: str) -> None:
        super().__init__(f"Aggregate {aggregate_id} already has host {host}.")


class InvalidAggregateActionAdd(Conflict):
    """Nova answers a refused add_host with 409."""

    code = "compute.invalid_aggregate_action_add"

    def __init__(self, aggregate_id: int, reason: str) -> None:
        super().__init__(f"Cannot add host to aggregate {aggregate_id}. Reason: {reason}.")


class InvalidAggregateActionDelete(BadRequest):
    code = "compute.invalid_aggregate_action_delete"

    def __init__(self, aggregate_id: int, reason: str) -> None:
        # Nova's wording, odd as it is for an aggregate delete.
        super().__init__(f"Cannot remove host from aggregate {aggregate_id}. Reason: {reason}.")


class InvalidAggregateActionUpdate(BadRequest):
    code = "compute.invalid_aggregate_action_update"

    def __init__(self, aggregate_id: int, reason: str) -> None:
        super().__init__(f"Cannot update aggregate {aggregate_id}. Reason: {reason}.")


class InvalidAggregateActionUpdateMeta(BadRequest):
    code = "compute.invalid_aggregate_action_update_meta"

    def __init__(self, aggregate_id: int, reason: str) -> None:
        super().__init__(f"Cannot update metadata of aggregate {aggregate_id}. Reason: {reason}.")


# -- server actions, moves and sub-resources (Nova's messages) ------------------------------------
class InstanceInvalidStateFor(Conflict):
    """Nova's answer when the state check names no state (an instance that never launched)."""

    code = "compute.instance_invalid_state_for"

    def __init__(self, instance_id: str, action: str) -> None:
        super().__init__(f"Instance {instance_id} is in an invalid state for '{action}'")


class InstanceNotReady(Conflict):
    code = "compute.instance_not_ready"

    def __init__(self, instance_id: str) -> None:
        super().__init__(f"Instance {instance_id} is not ready")


class UnshelveInstanceInvalidState(Conflict):
    code = "compute.unshelve_invalid_state"

    def __init__(self, instance_id: str, state: str) -> None:
        super().__init__(f"Specifying an availability zone or a host when unshelving server {instance_id} "
                         f"with status {state} is not supported. The server status must be SHELVED_OFFLOADED.")


class MigrationNotFound(NotFound):
    code = "compute.migration_not_found"

    def __init__(self, migration_id: str | int, instance_id: str) -> None:
        super().__init__(f"Migration {migration_id} for instance {instance_id} could not be found.")


class MetadataItemNotFound(NotFound):
    code = "compute.metadata_item_not_found"

    def __init__(self) -> None:
        super().__init__("Metadata item was not found")


class InstanceTagNotFound(NotFound):
    code = "compute.instance_tag_not_found"

    def __init__(self, instance_id: str, tag: str) -> None:
        super().__init__(f"Instance {instance_id} has no tag '{tag}'")


class PortNotFound(NotFound):
    code = "compute.port_not_found"

    def __init__(self, port_id: str) -> None:
        super().__init__(f"Port id {port_id} could not be found.")


class PortInUse(Conflict):
    code = "compute.port_in_use"

    def __init__(self, port_id: str) -> None:
        super().__init__(f"Port {port_id} is still in use.")


class NetworkNotFound(NotFound):
    code = "compute.network_not_found"

    def __init__(self, network_id: str) -> None:
        super().__init__(f"Network {network_id} could not be found.")


class InterfaceAttachFailed(base.CloudError):
    status = 500
    code = "compute.interface_attach_failed"

    def __init__(self, instance_id: str, reason: str = "") -> None:
        super().__init__(f"Failed to attach network adapter device to {instance_id}" +
                         (f": {reason}" if reason else ""))


class VolumeActionFailed(Conflict):
    """A volume attach, detach or extend the host's driver refused or could not finish;
    ``details["retryable"]``: trying again may work (a guest that did not yet let a disk go)."""

    code = "compute.volume_action_failed"

    def __init__(self, message: str, retryable: bool = False) -> None:
        super().__init__(message, retryable=retryable)


class SecurityGroupNotFound(NotFound):
    code = "compute.security_group_not_found"


class ImageNotAvailable(BadRequest):
    code = "compute.image_not_available"


class ComputeServiceUnavailable(base.ServiceUnavailable):
    code = "compute.compute_service_unavailable"

    def __init__(self, host: str) -> None:
        super().__init__(f"Compute service of {host} is unavailable at this time.")


# -- remote consoles ---------------------------------------------------------------------------
class ConsoleTypeUnavailable(BadRequest):
    code = "compute.console_type_unavailable"

    def __init__(self, console_type: str) -> None:
        super().__init__(f"Unavailable console type {console_type}.")


class ConsoleTypeInvalid(BadRequest):
    code = "compute.console_type_invalid"

    def __init__(self, console_type: str) -> None:
        super().__init__(f"Invalid console type {console_type}")


class ConsoleTokenNotAccessible(BadRequest):
    code = "compute.console_token_not_accessible"

    def __init__(self) -> None:
        super().__init__("The requested console type details are not accessible")


class InvalidConsoleToken(NotFound):
    code = "compute.invalid_console_token"

    def __init__(self) -> None:
        super().__init__("The token is invalid or has expired")
