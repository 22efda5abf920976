"""Unified limits: registered (default) limits per service and resource, and overrides per project
or domain, under Keystone's ``flat`` enforcement model.

``effective_limit`` is the one rule of the flat model, as a pure function: a project's own limit
if it has one, else the registered default; ``-1`` means unlimited, ``None`` that nothing is
registered for the resource.  Other services read limits over REST (oslo.limit style); identity
and the tests use this function directly.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from nubes.identity.db.models import Domain, Limit, Project, Region, RegisteredLimit, Service
from nubes.identity.db.queries import limits as limit_q
from nubes.identity.exceptions import Conflict, Forbidden, NotFound, ValidationError
from nubes.identity.service import domains as rules

MODEL = {"name": "flat",
         "description": "Limit enforcement and validation does not take project hierarchy into "
                        "consideration."}

UNLIMITED = -1
_MAX = 0x7FFFFFFF  # the largest signed 32-bit integer, Keystone's bound

REGISTERED_FIELDS = frozenset({"service_id", "region_id", "resource_name", "default_limit",
                               "description"})
LIMIT_CREATE_FIELDS = frozenset({"project_id", "domain_id", "service_id", "region_id",
                                 "resource_name", "resource_limit", "description"})
LIMIT_UPDATE_FIELDS = frozenset({"resource_limit", "description"})


# -- the flat model, pure ---------------------------------------------------------------------


def _field(row: Any, name: str) -> Any:
    return row.get(name) if isinstance(row, Mapping) else getattr(row, name, None)


def _same_region(a: Any, b: Any) -> bool:
    return (a or None) == (b or None)  # "" (as stored) and None (as shown) both mean no region


def effective_limit(registered: Iterable[Any], limits: Iterable[Any], *, project_id: str,
                    service_id: str, resource_name: str, region_id: str | None = None) -> int | None:
    """The limit on ``resource_name`` of ``service_id`` (in ``region_id``) for ``project_id``.

    ``registered`` and ``limits`` are rows (ORM objects or dicts as the API shows them). The
    project's own limit wins; else the registered default; ``None`` if neither exists. A value of
    -1 means unlimited.
    """
    def matches(row: Any) -> bool:
        return (_field(row, "service_id") == service_id
                and _field(row, "resource_name") == resource_name
                and _same_region(_field(row, "region_id"), region_id))

    for row in limits:
        if matches(row) and _field(row, "project_id") == project_id:
            return int(_field(row, "resource_limit"))
    for row in registered:
        if matches(row):
            return int(_field(row, "default_limit"))
    return None


def within_limit(limit: int | None, usage: int, delta: int = 1) -> bool:
    """Whether ``usage + delta`` fits ``limit`` (None: nothing registered, so no limit)."""
    return limit is None or limit == UNLIMITED or usage + delta <= limit


# -- input ----------------------------------------------------------------------------------


def _count(value: Any, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise rules.invalid(field, f"{value!r} is not an integer")
    if value < UNLIMITED or value > _MAX:
        raise rules.invalid(field, f"it must be between -1 (unlimited) and {_MAX}")
    return value


def _string(value: Any, field: str, max_len: int = 255) -> str:
    if not isinstance(value, str) or not value.strip():
        raise rules.invalid(field, "expected a non-empty string")
    if len(value) > max_len:
        raise rules.invalid(field, f"it is longer than {max_len} characters")
    return value


def _optional(value: Any, field: str) -> str:
    """An optional reference (region, project, domain), stored as "" when absent."""
    return "" if value is None else _string(value, field)


def _no_extra(item: dict[str, Any], allowed: frozenset[str]) -> None:
    unknown = sorted(set(item) - allowed)
    if unknown:
        raise ValidationError(f"Additional properties are not allowed ({', '.join(map(repr, unknown))} "
                              "were unexpected)")


def _items(body: Any, key: str) -> list[dict[str, Any]]:
    if not isinstance(body, dict) or key not in body:
        raise ValidationError(f"Expecting to find {key} in the request body.")
    items = body[key]
    if not isinstance(items, list) or not items or not all(isinstance(i, dict) for i in items):
        raise rules.invalid(key, "expected a non-empty list of objects")
    return items


async def _check_refs(s: AsyncSession, kind: str, service_id: str, region_id: str,
                      project_id: str = "", domain_id: str = "") -> None:
    """Referenced service, region, project and domain must exist: a 400 as in Keystone."""
    if await s.get(Service, service_id) is None:
        raise ValidationError(f"Invalid input for {kind}: service {service_id} does not exist.")
    if region_id and await s.get(Region, region_id) is None:
        raise ValidationError(f"Invalid input for {kind}: region {region_id} does not exist.")
    if project_id and await s.get(Project, project_id) is None:
        raise ValidationError(f"Invalid input for {kind}: project {project_id} does not exist.")
    if domain_id and await s.get(Domain, domain_id) is None:
        raise ValidationError(f"Invalid input for {kind}: domain {domain_id} does not exist.")


# -- registered limits ----------------------------------------------------------------------


def _dup_registered(service_id: str, region_id: str, resource_name: str) -> Conflict:
    where = f" in region {region_id}" if region_id else ""
    return Conflict("registered_limit", f"Duplicate entry: a registered limit of {resource_name} for "
                                        f"service {service_id}{where} already exists")


async def get_registered(s: AsyncSession, registered_limit_id: str) -> RegisteredLimit:
    row = await limit_q.get_registered(s, registered_limit_id)
    if row is None:
        raise NotFound("registered limit", registered_limit_id)
    return row


async def create_registered(s: AsyncSession, body: Any) -> list[RegisteredLimit]:
    rows, seen = [], set()
    for item in _items(body, "registered_limits"):
        _no_extra(item, REGISTERED_FIELDS)
        for required in ("service_id", "resource_name", "default_limit"):
            if required not in item:
                raise ValidationError(f"'{required}' is a required property")
        row = RegisteredLimit(
            id=uuid.uuid4().hex, service_id=_string(item["service_id"], "service_id", 64),
            region_id=_optional(item.get("region_id"), "region_id"),
            resource_name=_string(item["resource_name"], "resource_name"),
            default_limit=_count(item["default_limit"], "default_limit"),
            description=rules.text(item.get("description"), "description"))
        key = (row.service_id, row.region_id, row.resource_name)
        await _check_refs(s, "registered_limit", row.service_id, row.region_id)
        if key in seen or await limit_q.find_registered(s, *key) is not None:
            raise _dup_registered(*key)
        seen.add(key)
        rows.append(row)
    s.add_all(rows)
    try:
        await s.flush()
    except IntegrityError:
        raise Conflict("registered_limit", "Duplicate entry") from None
    return rows


async def update_registered(s: AsyncSession, row: RegisteredLimit, body: dict[str, Any]) -> RegisteredLimit:
    _no_extra(body, REGISTERED_FIELDS | {"id"})
    rules.require_same_id(body, row.id)
    new = {
        "service_id": (_string(body["service_id"], "service_id", 64) if "service_id" in body
                       else row.service_id),
        "region_id": _optional(body["region_id"], "region_id") if "region_id" in body else row.region_id,
        "resource_name": (_string(body["resource_name"], "resource_name") if "resource_name" in body
                          else row.resource_name),
    }
    key = (new["service_id"], new["region_id"], new["resource_name"])
    if key != (row.service_id, row.region_id, row.resource_name):
        if await limit_q.count_referencing(s, row):
            raise Forbidden(f"Unable to update or delete registered limit {row.id} because there "
                            "are project limits associated with it.")
        await _check_refs(s, "registered_limit", new["service_id"], new["region_id"])
        if await limit_q.find_registered(s, *key) is not None:
            raise _dup_registered(*key)
    for k, v in new.items():
        setattr(row, k, v)
    if "default_limit" in body:
        row.default_limit = _count(body["default_limit"], "default_limit")
    if "description" in body:
        row.description = rules.text(body["description"], "description")
    try:
        await s.flush()
    except IntegrityError:
        raise _dup_registered(*key) from None
    return row


async def delete_registered(s: AsyncSession, row: RegisteredLimit) -> None:
    if await limit_q.count_referencing(s, row):
        raise Forbidden(f"Unable to update or delete registered limit {row.id} because there are "
                        "project limits associated with it.")
    await s.delete(row)
    await s.flush()


# -- project and domain limits --------------------------------------------------------------


def _dup_limit(row: Limit) -> Conflict:
    owner = f"project {row.project_id}" if row.project_id else f"domain {row.domain_id}"
    return Conflict("limit", f"Duplicate entry: {owner} already has a limit of {row.resource_name} "
                             f"for service {row.service_id}")


async def get_limit(s: AsyncSession, limit_id: str) -> Limit:
    row = await limit_q.get_limit(s, limit_id)
    if row is None:
        raise NotFound("limit", limit_id)
    return row


async def create_limits(s: AsyncSession, body: Any) -> list[Limit]:
    rows, seen = [], set()
    for item in _items(body, "limits"):
        _no_extra(item, LIMIT_CREATE_FIELDS)
        for required in ("service_id", "resource_name", "resource_limit"):
            if required not in item:
                raise ValidationError(f"'{required}' is a required property")
        project_id = _optional(item.get("project_id"), "project_id")
        domain_id = _optional(item.get("domain_id"), "domain_id")
        if bool(project_id) == bool(domain_id):
            raise ValidationError("A limit belongs to exactly one of project_id or domain_id.")
        row = Limit(id=uuid.uuid4().hex, project_id=project_id, domain_id=domain_id,
                    service_id=_string(item["service_id"], "service_id", 64),
                    region_id=_optional(item.get("region_id"), "region_id"),
                    resource_name=_string(item["resource_name"], "resource_name"),
                    resource_limit=_count(item["resource_limit"], "resource_limit"),
                    description=rules.text(item.get("description"), "description"))
        await _check_refs(s, "limit", row.service_id, row.region_id, project_id, domain_id)
        if await limit_q.find_registered(s, row.service_id, row.region_id, row.resource_name) is None:
            raise Forbidden("Unable to create a limit that has no corresponding registered limit.")
        key = (project_id, domain_id, row.service_id, row.region_id, row.resource_name)
        if key in seen or await limit_q.find_limit(
                s, project_id=project_id, domain_id=domain_id, service_id=row.service_id,
                region_id=row.region_id, resource_name=row.resource_name) is not None:
            raise _dup_limit(row)
        seen.add(key)
        rows.append(row)
    s.add_all(rows)
    try:
        await s.flush()
    except IntegrityError:
        raise Conflict("limit", "Duplicate entry") from None
    return rows


async def update_limit(s: AsyncSession, row: Limit, body: dict[str, Any]) -> Limit:
    _no_extra(body, LIMIT_UPDATE_FIELDS | {"id"})
    rules.require_same_id(body, row.id)
    if "resource_limit" in body:
        row.resource_limit = _count(body["resource_limit"], "resource_limit")
    if "description" in body:
        row.description = rules.text(body["description"], "description")
    await s.flush()
    return row
