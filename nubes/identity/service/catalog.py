"""The service catalog: regions (a tree), services and their endpoints.

Every change here alters the catalog tokens carry; the HTTP layer calls
``tokens.catalog_changed()`` after the transaction commits.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from nubes.core import exceptions as base
from nubes.identity.db.models import Endpoint, Region, Service
from nubes.identity.db.queries import endpoints as endpoint_q
from nubes.identity.db.queries import regions as region_q
from nubes.identity.db.queries import services as service_q
from nubes.identity.exceptions import Conflict, Forbidden, NotFound, ValidationError
from nubes.identity.service import domains as rules

INTERFACES = ("public", "internal", "admin")
_URL = re.compile(r"^[a-zA-Z0-9+.-]+:.+")  # a scheme, then anything (Keystone's url_type)

REGION_FIELDS = frozenset({"id", "description", "parent_region_id"})
SERVICE_FIELDS = frozenset({"type", "name", "description", "enabled"})
ENDPOINT_FIELDS = frozenset({"service_id", "interface", "url", "region_id", "region", "enabled"})


class CircularRegionHierarchy(ValidationError):
    code = "identity.circular_region"


class InUse(base.Conflict):
    """A catalog entry others still depend on cannot be deleted."""

    code = "identity.in_use"


def _string(value: Any, field: str, *, max_len: int = 255, required: bool = True) -> str:
    if not isinstance(value, str):
        raise rules.invalid(field, f"{value!r} is not a string")
    if required and not value.strip():
        raise rules.invalid(field, "it must not be empty")
    if len(value) > max_len:
        raise rules.invalid(field, f"it is longer than {max_len} characters")
    return value


# -- regions ---------------------------------------------------------------------------------


async def get_region(s: AsyncSession, region_id: str) -> Region:
    region = await region_q.get(s, region_id)
    if region is None:
        raise NotFound("region", region_id)
    return region


async def _check_parent(s: AsyncSession, parent_id: Any, region_id: str) -> str | None:
    if parent_id is None:
        return None
    parent_id = _string(parent_id, "parent_region_id")
    if await region_q.get(s, parent_id) is None:
        raise NotFound("region", parent_id)
    if region_id in await region_q.ancestors(s, parent_id):
        raise CircularRegionHierarchy(f"The specified parent region {parent_id} would create a "
                                      "circular region hierarchy.")
    return parent_id


async def create_region(s: AsyncSession, body: dict[str, Any], region_id: str | None = None) -> Region:
    """POST /v3/regions (``region_id`` from the body or generated) or PUT /v3/regions/{id}."""
    if region_id is not None:
        if "id" in body and body["id"] != region_id:
            raise ValidationError("The region id in the body does not match the one in the URL.")
    elif body.get("id") is not None:
        region_id = _string(body["id"], "id")
    else:
        region_id = uuid.uuid4().hex
    if await region_q.get(s, region_id) is not None:
        raise Conflict("region", f"Duplicate ID, {region_id}")
    parent = await _check_parent(s, body.get("parent_region_id"), region_id)
    region = Region(id=region_id, description=rules.text(body.get("description"), "description"),
                    parent_region_id=parent, extra=rules.extra(body, REGION_FIELDS))
    s.add(region)
    try:
        await s.flush()
    except IntegrityError:
        raise Conflict("region", f"Duplicate ID, {region_id}") from None
    return region


async def update_region(s: AsyncSession, region: Region, body: dict[str, Any]) -> Region:
    rules.require_some(body, "region")
    rules.require_same_id(body, region.id)
    if "parent_region_id" in body:
        region.parent_region_id = await _check_parent(s, body["parent_region_id"], region.id)
    if "description" in body:
        region.description = rules.text(body["description"], "description")
    extra = rules.extra(body, REGION_FIELDS, region.extra)
    if extra != (region.extra or {}):
        region.extra = extra
    await s.flush()
    return region


async def delete_region(s: AsyncSession, region_id: str) -> None:
    region = await get_region(s, region_id)
    if await region_q.has_children(s, region_id):
        raise InUse(f"Unable to delete region {region_id} because it has child regions; "
                    "delete or move them first.")
    if await region_q.endpoint_count(s, region_id):
        raise Forbidden(f"Unable to delete region {region_id} because it or its child regions "
                        "have associated endpoints.")
    if await region_q.limit_count(s, region_id):
        raise InUse(f"Unable to delete region {region_id} because unified limits are defined "
                    "in it; delete them first.")
    await s.delete(region)
    await s.flush()


# -- services --------------------------------------------------------------------------------


async def get_service(s: AsyncSession, service_id: str) -> Service:
    service = await service_q.get(s, service_id)
    if service is None:
        raise NotFound("service", service_id)
    return service


def _service_values(body: dict[str, Any], *, create: bool) -> dict[str, Any]:
    v: dict[str, Any] = {}
    if create and "type" not in body:
        raise ValidationError("'type' is a required property")
    if "type" in body:
        v["type"] = _string(body["type"], "type")
    if "name" in body:
        v["name"] = rules.text(body["name"], "name", max_len=255)
    if "description" in body:
        v["description"] = rules.text(body["description"], "description")
    if "enabled" in body:
        v["enabled"] = rules.strict_boolean(body["enabled"], "enabled")
    return v


async def create_service(s: AsyncSession, body: dict[str, Any]) -> Service:
    v = _service_values(body, create=True)
    service = Service(id=uuid.uuid4().hex, type=v["type"], name=v.get("name", ""),
                      description=v.get("description", ""), enabled=v.get("enabled", True),
                      extra=rules.extra(body, SERVICE_FIELDS))
    s.add(service)
    await s.flush()
    return service


async def update_service(s: AsyncSession, service: Service, body: dict[str, Any]) -> Service:
    rules.require_some(body, "service")
    rules.require_same_id(body, service.id)
    for key, value in _service_values(body, create=False).items():
        setattr(service, key, value)
    extra = rules.extra(body, SERVICE_FIELDS, service.extra)
    if extra != (service.extra or {}):
        service.extra = extra
    await s.flush()
    return service


async def delete_service(s: AsyncSession, service_id: str) -> None:
    await get_service(s, service_id)
    if await service_q.limit_count(s, service_id):
        raise InUse(f"Unable to delete service {service_id} because unified limits are "
                    "registered for it; delete them first.")
    await service_q.delete_service(s, service_id)


# -- endpoints -------------------------------------------------------------------------------


async def get_endpoint(s: AsyncSession, endpoint_id: str) -> Endpoint:
    endpoint = await endpoint_q.get(s, endpoint_id)
    if endpoint is None:
        raise NotFound("endpoint", endpoint_id)
    return endpoint


async def _endpoint_values(s: AsyncSession, body: dict[str, Any], *, create: bool) -> dict[str, Any]:
    v: dict[str, Any] = {}
    if create:
        for required in ("service_id", "interface", "url"):
            if required not in body:
                raise ValidationError(f"'{required}' is a required property")
    if "service_id" in body:
        service_id = _string(body["service_id"], "service_id", max_len=64)
        if await service_q.get(s, service_id) is None:
            raise ValidationError(f"Invalid input for field 'service_id': service {service_id} "
                                  "does not exist.")
        v["service_id"] = service_id
    if "interface" in body:
        if body["interface"] not in INTERFACES:
            raise rules.invalid("interface", f"{body['interface']!r} is not one of "
                                             f"{', '.join(INTERFACES)}")
        v["interface"] = body["interface"]
    if "url" in body:
        url = _string(body["url"], "url", max_len=225)
        if not _URL.match(url):
            raise rules.invalid("url", f"{url!r} is not a URL (scheme:...)")
        v["url"] = url
    if "enabled" in body:
        v["enabled"] = rules.strict_boolean(body["enabled"], "enabled")
    if body.get("region_id") is not None:
        region_id = _string(body["region_id"], "region_id")
        if await region_q.get(s, region_id) is None:
            raise ValidationError(f"Invalid input for field 'region_id': region {region_id} "
                                  "does not exist.")
        v["region_id"] = region_id
    elif body.get("region") is not None:
        # The v2-era attribute: Keystone creates the region when it is missing.
        region_id = _string(body["region"], "region")
        if await region_q.get(s, region_id) is None:
            s.add(Region(id=region_id, description="", parent_region_id=None, extra={}))
            await s.flush()
        v["region_id"] = region_id
    elif "region_id" in body or "region" in body:
        v["region_id"] = None
    return v


async def create_endpoint(s: AsyncSession, body: dict[str, Any]) -> Endpoint:
    v = await _endpoint_values(s, body, create=True)
    endpoint = Endpoint(id=uuid.uuid4().hex, service_id=v["service_id"], interface=v["interface"],
                        url=v["url"], region_id=v.get("region_id"), enabled=v.get("enabled", True),
                        extra=rules.extra(body, ENDPOINT_FIELDS))
    s.add(endpoint)
    await s.flush()
    return endpoint


async def update_endpoint(s: AsyncSession, endpoint: Endpoint, body: dict[str, Any]) -> Endpoint:
    rules.require_some(body, "endpoint")
    rules.require_same_id(body, endpoint.id)
    for key, value in (await _endpoint_values(s, body, create=False)).items():
        setattr(endpoint, key, value)
    extra = rules.extra(body, ENDPOINT_FIELDS, endpoint.extra)
    if extra != (endpoint.extra or {}):
        endpoint.extra = extra
    await s.flush()
    return endpoint


async def delete_endpoint(s: AsyncSession, endpoint_id: str) -> None:
    await s.delete(await get_endpoint(s, endpoint_id))
    await s.flush()
