"""Metadata definitions (Glance's ``/v2/metadefs``): namespaces of property definitions that tell
clients (Horizon's "Update Metadata" dialog) which properties images, flavors, volumes ... take.

A namespace is public or private; a private one exists only for its owner's project (and admins),
as in Glance's database layer; the policy decides each action (``MetadefAuthorizer``). A namespace
holds properties, objects (named groups of properties), tags and its associations with resource
types, each of which may carry a prefix the property names take on that type (``hw:`` on flavors).
Everything is plain dicts in the wire's field names; the API adds the links.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.exc import IntegrityError

from nubes.core.context import RequestContext
from nubes.core.db.base import utcnow
from nubes.core.exceptions import BadRequest
from nubes.image import policies as p
from nubes.image.db.models import (
    MetadefAssociation,
    MetadefNamespace,
    MetadefObject,
    MetadefProperty,
    MetadefResourceType,
    MetadefTag,
)
from nubes.image.db.queries import metadefs as mq
from nubes.image.exceptions import MetadefDuplicate, MetadefNotFound, MetadefProtected, ReadOnlyAttribute
from nubes.image.service import metadef_schemas as ms
from nubes.image.service import schemas

NS_FIELDS = ("namespace", "display_name", "description", "visibility", "protected", "owner")
SORT_KEYS = ("created_at", "updated_at", "namespace", "id")     # never null: the marker compares them
READ_ONLY = ("self", "schema", "created_at", "updated_at")


class MetadefAuthorizer(Protocol):
    def namespace(self, rule: str, ns: MetadefNamespace) -> None:
        """``rule`` on a namespace (or on what it holds): 404 if the caller may not get it, else 403."""

    def new_namespace(self, ns: MetadefNamespace) -> None:
        """Creating this namespace (403 if refused)."""

    def plain(self, rule: str) -> None:
        """A rule about no namespace in particular."""


def isotime(when: datetime | None) -> str | None:
    return None if when is None else when.strftime("%Y-%m-%dT%H:%M:%SZ")


def _stamps(row: Any) -> dict[str, Any]:
    return {"created_at": isotime(row.created_at), "updated_at": isotime(row.updated_at)}


def not_found(name: str) -> MetadefNotFound:
    return MetadefNotFound(f"Metadata definition namespace={name} was not found.")


def _part_not_found(kind: str, name: str, ns: str) -> MetadefNotFound:
    what = {"objects": "object", "properties": "property", "tags": "tag"}[kind]
    return MetadefNotFound(f"The metadata definition {what} with name={name} was not found in "
                           f"namespace={ns}.")


def _check(body: Any, schema: dict[str, Any], what: str) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise BadRequest("Unexpected body type. Expected list/dict.")
    for key in READ_ONLY:
        if key in body:
            raise ReadOnlyAttribute(key)
    err = schemas.problem(schema, body)
    if err:
        raise BadRequest(f"Provided object does not match schema '{what}': {err}")
    return body


def can_see(ctx: RequestContext, ns: MetadefNamespace) -> bool:
    return ctx.is_admin or ns.visibility == "public" or bool(ctx.project_id and ns.owner == ctx.project_id)


async def _namespace(s: Any, ctx: RequestContext, authz: MetadefAuthorizer, name: str, rule: str, *,
                     for_update: bool = False) -> MetadefNamespace:
    ns = await mq.namespace(s, name, for_update=for_update)
    if ns is None or not can_see(ctx, ns):
        raise not_found(name)
    authz.namespace(rule, ns)
    return ns


# ------------------------------------------------------------------ views

def property_view(row: MetadefProperty, prefix: str = "", *, named: bool = False) -> dict[str, Any]:
    out = {k: v for k, v in dict(row.definition or {}).items() if k != "name"}
    return {"name": prefix + row.name, **out} if named else out


def object_view(row: MetadefObject, prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {"name": row.name}
    if row.description is not None:
        out["description"] = row.description
    out["required"] = [prefix + n for n in (row.required or [])]
    out["properties"] = {prefix + k: v for k, v in dict(row.properties or {}).items()}
    out.update(_stamps(row))
    return out


def tag_view(row: MetadefTag) -> dict[str, Any]:
    return {"name": row.name, **_stamps(row)}


def association_view(assoc: MetadefAssociation, name: str) -> dict[str, Any]:
    out: dict[str, Any] = {"name": name}
    if assoc.prefix is not None:
        out["prefix"] = assoc.prefix
    if assoc.properties_target is not None:
        out["properties_target"] = assoc.properties_target
    out.update(_stamps(assoc))
    return out


def namespace_view(ns: MetadefNamespace, assocs: list[tuple[MetadefAssociation, str]]) -> dict[str, Any]:
    out: dict[str, Any] = {k: getattr(ns, k) for k in NS_FIELDS if getattr(ns, k) is not None}
    out.update(_stamps(ns))
    if assocs:
        out["resource_type_associations"] = [association_view(a, n) for a, n in assocs]
    return out


# ------------------------------------------------------------------ namespaces

def _list_params(params: dict[str, str], limit_default: int, limit_max: int) -> dict[str, Any]:
    sort_dir = params.get("sort_dir", "desc")
    if sort_dir not in ("asc", "desc"):
        raise BadRequest(f"Invalid sort direction: {sort_dir}")
    sort_key = params.get("sort_key", "created_at")
    if sort_key not in SORT_KEYS:
        raise BadRequest(f"Invalid sort key: {sort_key}. It must be one of the following: "
                         f"{', '.join(SORT_KEYS)}.")
    visibility = params.get("visibility")
    if visibility and visibility not in ("public", "private"):
        raise BadRequest(f"Invalid visibility value: {visibility}")
    raw = params.get("limit")
    if raw is None:
        limit = limit_default
    else:
        try:
            limit = int(raw)
        except ValueError:
            raise BadRequest("limit param must be an integer") from None
        if limit < 0:
            raise BadRequest("limit param must be positive")
    types = [t.strip() for t in params.get("resource_types", "").split(",") if t.strip()]
    return {"sort_key": sort_key, "sort_dir": sort_dir, "visibility": visibility or None,
            "limit": min(limit, limit_max), "resource_types": types}


async def list_namespaces(state: Any, ctx: RequestContext, authz: MetadefAuthorizer,
                          params: dict[str, str]) -> tuple[list[dict[str, Any]], str | None]:
    authz.plain(p.GET_METADEF_NAMESPACES)
    spec = _list_params(params, state.conf.limit_param_default, state.conf.api_limit_max)
    async with state.db.reader() as s:
        marker = None
        if params.get("marker"):
            marker = await mq.namespace(s, params["marker"])
            if marker is None or not can_see(ctx, marker):
                raise not_found(params["marker"])
        rows = await mq.namespaces(s, project_id=ctx.project_id, see_all=ctx.is_admin, marker=marker,
                                   **spec)
        assocs = await mq.associations(s, [r.id for r in rows])
    out = [namespace_view(r, assocs[r.id]) for r in rows]
    nxt = out[-1]["namespace"] if out and len(out) == spec["limit"] else None
    return out, nxt


async def create_namespace(state: Any, ctx: RequestContext, authz: MetadefAuthorizer,
                           body: Any) -> dict[str, Any]:
    body = _check(body, ms.namespace_body(), "namespace")
    now = utcnow()
    ns = MetadefNamespace(namespace=body["namespace"], display_name=body.get("display_name"),
                          description=body.get("description"), visibility=body.get("visibility", "private"),
                          protected=bool(body.get("protected", False)),
                          owner=body.get("owner") or ctx.project_id, created_at=now, updated_at=now)
    authz.new_namespace(ns)
    _no_duplicates(body)
    try:
        async with state.db.session() as s:
            if await mq.namespace(s, ns.namespace) is not None:
                raise _duplicate_namespace(ns.namespace)
            s.add(ns)
            await s.flush()
            for assoc in body.get("resource_type_associations", []):
                await _associate(s, ns, assoc)
            for name, definition in (body.get("properties") or {}).items():
                s.add(MetadefProperty(namespace_id=ns.id, name=name, definition=_definition(definition),
                                      created_at=now, updated_at=now))
            for obj in body.get("objects", []):
                _check(obj, ms.object_body(), "object")
                s.add(_new_object(ns.id, obj, now))
            for tag in body.get("tags", []):
                _check(tag, ms.tag_body(), "tag")
                s.add(MetadefTag(namespace_id=ns.id, name=tag["name"], created_at=now, updated_at=now))
            await s.flush()
        return await show_namespace(state, ctx, authz, ns.namespace, None)
    except IntegrityError:
        raise _duplicate_namespace(ns.namespace) from None


def _no_duplicates(body: dict[str, Any]) -> None:
    for key, label in (("objects", "object"), ("tags", "tag")):
        names = [str(x.get("name", "")).lower() if key == "tags" else x.get("name")
                 for x in body.get(key, []) if isinstance(x, dict)]
        if len(names) != len(set(names)):
            raise MetadefDuplicate(f"Duplicate {label} names in the namespace {body['namespace']}.")
    rts = [x.get("name") for x in body.get("resource_type_associations", []) if isinstance(x, dict)]
    if len(rts) != len(set(rts)):
        raise MetadefDuplicate(f"Duplicate resource type associations in the namespace {body['namespace']}.")


def _duplicate_namespace(name: str) -> MetadefDuplicate:
    return MetadefDuplicate(f"A metadata definition namespace with namespace={name} already exists.")


def _definition(value: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in value.items() if k != "name"}


def _new_object(ns_id: int, body: dict[str, Any], now: datetime) -> MetadefObject:
    return MetadefObject(namespace_id=ns_id, name=body["name"], description=body.get("description"),
                         required=list(body.get("required") or []),
                         properties={k: _definition(v) for k, v in (body.get("properties") or {}).items()},
                         created_at=now, updated_at=now)


async def show_namespace(state: Any, ctx: RequestContext, authz: MetadefAuthorizer, name: str,
                         resource_type: str | None) -> dict[str, Any]:
    async with state.db.reader() as s:
        ns = await _namespace(s, ctx, authz, name, p.GET_METADEF_NAMESPACE)
        assocs = (await mq.associations(s, [ns.id]))[ns.id]
        props = await mq.parts(s, "properties", ns.id)
        objects = await mq.parts(s, "objects", ns.id)
        tags = await mq.parts(s, "tags", ns.id)
    prefix = next((a.prefix or "" for a, n in assocs if n == resource_type), "") if resource_type else ""
    out = namespace_view(ns, assocs)
    if props:
        out["properties"] = {prefix + r.name: property_view(r) for r in props}
    if objects:
        out["objects"] = [object_view(o, prefix) for o in objects]
    if tags:
        out["tags"] = [{"name": t.name} for t in tags]
    return out


async def update_namespace(state: Any, ctx: RequestContext, authz: MetadefAuthorizer, name: str,
                           body: Any) -> dict[str, Any]:
    body = _check(body, ms.namespace_body(), "namespace")
    async with state.db.session() as s:
        ns = await _namespace(s, ctx, authz, name, p.MODIFY_METADEF_NAMESPACE, for_update=True)
        new_name = body["namespace"]
        if new_name != ns.namespace and await mq.namespace(s, new_name) is not None:
            raise _duplicate_namespace(new_name)
        # A PUT replaces the namespace: what is left out takes the defaults of a create.
        ns.namespace = new_name
        ns.display_name = body.get("display_name")
        ns.description = body.get("description")
        ns.visibility = body.get("visibility") or "private"
        ns.protected = bool(body.get("protected", False))
        ns.owner = body.get("owner") or ctx.project_id
        authz.namespace(p.MODIFY_METADEF_NAMESPACE, ns)
        ns.updated_at = utcnow()
        await s.flush()
        assocs = (await mq.associations(s, [ns.id]))[ns.id]
        return namespace_view(ns, assocs)


async def delete_namespace(state: Any, ctx: RequestContext, authz: MetadefAuthorizer, name: str) -> None:
    async with state.db.session() as s:
        ns = await _namespace(s, ctx, authz, name, p.DELETE_METADEF_NAMESPACE, for_update=True)
        if ns.protected:
            raise MetadefProtected(f"Metadata definition namespace {name} is protected and cannot be "
                                   "deleted.")
        for kind in mq.PARTS:
            await mq.delete_parts(s, kind, ns.id)
        for assoc, _n in (await mq.associations(s, [ns.id]))[ns.id]:
            await s.delete(assoc)
        await s.delete(ns)


DELETE_ALL_RULES = {"objects": p.DELETE_METADEF_OBJECT, "properties": p.REMOVE_METADEF_PROPERTY,
                    "tags": p.DELETE_METADEF_TAGS}


async def delete_contents(state: Any, ctx: RequestContext, authz: MetadefAuthorizer, name: str,
                          kind: str) -> None:
    """DELETE .../objects, .../properties, .../tags: everything of that kind in the namespace."""
    async with state.db.session() as s:
        ns = await _namespace(s, ctx, authz, name, DELETE_ALL_RULES[kind], for_update=True)
        if ns.protected:
            raise MetadefProtected(f"Metadata definition namespace {name} is protected and its {kind} "
                                   "cannot be deleted.")
        await mq.delete_parts(s, kind, ns.id)


# ------------------------------------------------------------------ resource types

async def _associate(s: Any, ns: MetadefNamespace, body: Any) -> tuple[MetadefAssociation, str]:
    body = _check(body, ms.association_body(), "resource_type_association")
    rt = await mq.resource_type(s, body["name"])
    now = utcnow()
    if rt is None:        # an unknown resource type comes into being with its first association
        rt = MetadefResourceType(name=body["name"], protected=False, created_at=now, updated_at=now)
        s.add(rt)
        await s.flush()
    elif await mq.association(s, ns.id, rt.id) is not None:
        raise MetadefDuplicate(f"The metadata definition resource-type association of resource-type="
                               f"{rt.name} to namespace={ns.namespace}, already exists.")
    assoc = MetadefAssociation(resource_type_id=rt.id, namespace_id=ns.id, prefix=body.get("prefix"),
                               properties_target=body.get("properties_target"), created_at=now,
                               updated_at=now)
    s.add(assoc)
    await s.flush()
    return assoc, rt.name


async def list_resource_types(state: Any, ctx: RequestContext,
                              authz: MetadefAuthorizer) -> list[dict[str, Any]]:
    authz.plain(p.LIST_METADEF_RESOURCE_TYPES)
    async with state.db.reader() as s:
        return [{"name": r.name, **_stamps(r)} for r in await mq.resource_types(s)]


async def list_associations(state: Any, ctx: RequestContext, authz: MetadefAuthorizer,
                            name: str) -> list[dict[str, Any]]:
    async with state.db.reader() as s:
        ns = await _namespace(s, ctx, authz, name, p.GET_METADEF_RESOURCE_TYPE)
        return [association_view(a, n) for a, n in (await mq.associations(s, [ns.id]))[ns.id]]


async def create_association(state: Any, ctx: RequestContext, authz: MetadefAuthorizer, name: str,
                             body: Any) -> dict[str, Any]:
    try:
        async with state.db.session() as s:
            ns = await _namespace(s, ctx, authz, name, p.ADD_METADEF_RESOURCE_TYPE_ASSOCIATION,
                                  for_update=True)
            assoc, rt_name = await _associate(s, ns, body)
            return association_view(assoc, rt_name)
    except IntegrityError:
        raise MetadefDuplicate(f"The metadata definition resource-type association to namespace={name} "
                               "already exists.") from None


async def delete_association(state: Any, ctx: RequestContext, authz: MetadefAuthorizer, name: str,
                             rt_name: str) -> None:
    async with state.db.session() as s:
        ns = await _namespace(s, ctx, authz, name, p.REMOVE_METADEF_RESOURCE_TYPE_ASSOCIATION,
                              for_update=True)
        rt = await mq.resource_type(s, rt_name)
        assoc = await mq.association(s, ns.id, rt.id) if rt is not None else None
        if assoc is None:
            raise MetadefNotFound(f"The metadata definition resource-type association of resource-type="
                                  f"{rt_name} to namespace={name}, was not found.")
        if ns.protected:
            raise MetadefProtected(f"The metadata definition resource-type association {rt_name} is "
                                   "protected and cannot be deleted.")
        await s.delete(assoc)
