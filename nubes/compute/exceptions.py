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
