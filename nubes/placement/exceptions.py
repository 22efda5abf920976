"""Placement's domain errors; ``api_code`` is the stable code of Placement's error body (1.23+)."""

from __future__ import annotations

from typing import Any

from nubes.core import exceptions as base

UNDEFINED = "placement.undefined_code"
INVENTORY_INUSE = "placement.inventory.inuse"
CONCURRENT_UPDATE = "placement.concurrent_update"
DUPLICATE_NAME = "placement.duplicate_name"
PROVIDER_IN_USE = "placement.resource_provider.inuse"
PROVIDER_CANNOT_DELETE_PARENT = "placement.resource_provider.cannot_delete_parent"
RESOURCE_PROVIDER_NOT_FOUND = "placement.resource_provider.not_found"
QUERY_DUPLICATE_KEY = "placement.query.duplicate_key"
QUERY_BAD_VALUE = "placement.query.bad_value"
QUERY_MISSING_VALUE = "placement.query.missing_value"


class _Coded:
    api_code: str = UNDEFINED

    def __init__(self, message: str | None = None, *, api_code: str | None = None, **details: Any) -> None:
        super().__init__(message, **details)  # type: ignore[call-arg]
        if api_code is not None:
            self.api_code = api_code


class BadRequest(_Coded, base.BadRequest):
    code = "placement.bad_request"


class QueryBadValue(BadRequest):
    code = "placement.query.bad_value"
    api_code = QUERY_BAD_VALUE


class QueryMissingValue(BadRequest):
    code = "placement.query.missing_value"
    api_code = QUERY_MISSING_VALUE


class QueryDuplicateKey(BadRequest):
    code = "placement.query.duplicate_key"
    api_code = QUERY_DUPLICATE_KEY


class NotFound(_Coded, base.NotFound):
    code = "placement.not_found"


class ProviderNotFound(NotFound):
    code = "placement.resource_provider.not_found"
    api_code = RESOURCE_PROVIDER_NOT_FOUND

    def __init__(self, uuid: str) -> None:
        super().__init__(f"No resource provider with uuid {uuid} found")


class Conflict(_Coded, base.Conflict):
    code = "placement.conflict"


class ConcurrentUpdate(Conflict):
    code = "placement.concurrent_update"
    api_code = CONCURRENT_UPDATE


class DuplicateName(Conflict):
    code = "placement.duplicate_name"
    api_code = DUPLICATE_NAME


class InventoryInUse(Conflict):
    code = "placement.inventory.inuse"
    api_code = INVENTORY_INUSE


class ProviderInUse(Conflict):
    code = "placement.resource_provider.inuse"
    api_code = PROVIDER_IN_USE


class CannotDeleteParent(Conflict):
    code = "placement.resource_provider.cannot_delete_parent"
    api_code = PROVIDER_CANNOT_DELETE_PARENT


class NotAcceptable(_Coded, base.NotAcceptable):
    code = "placement.not_acceptable"


class UnsupportedMediaType(_Coded, base.UnsupportedMediaType):
    code = "placement.unsupported_media_type"


class VersionNotAcceptable(NotAcceptable):
    """406 for a microversion outside [min, max]; the body also names the supported range."""

    code = "placement.version_not_acceptable"
