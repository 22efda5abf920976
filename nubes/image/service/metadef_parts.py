"""What a metadata definition namespace holds: objects, properties and tags (one namespace each).

Every function reads the namespace first (404 if the caller may not see it; the policy decides
the action on it), then the part by name.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.exc import IntegrityError

from nubes.core.context import RequestContext
from nubes.core.db.base import utcnow
from nubes.core.exceptions import BadRequest
from nubes.image import policies as p
from nubes.image.db.models import MetadefProperty, MetadefTag
from nubes.image.db.queries import metadefs as mq
from nubes.image.exceptions import MetadefDuplicate, MetadefProtected
from nubes.image.service import metadef_schemas as ms
from nubes.image.service.metadefs import (
    MetadefAuthorizer,
    _check,
    _definition,
    _namespace,
    _new_object,
    _part_not_found,
    object_view,
    property_view,
    tag_view,
)


def _duplicate(kind: str, name: str, ns: str) -> MetadefDuplicate:
    if kind == "tags":
        return MetadefDuplicate(f"A metadata tag with name={name} already exists in namespace={ns}. "
                                "(Please note that metadata tag names are case insensitive).")
    what = {"objects": "object", "properties": "property"}[kind]
    return MetadefDuplicate(f"A metadata definition {what} with name={name} already exists in "
                            f"namespace={ns}.")


async def _get(s: Any, kind: str, ns: Any, name: str) -> Any:
    row = await (mq.tag_named(s, ns.id, name) if kind == "tags" else mq.part(s, kind, ns.id, name))
    if row is None:
        raise _part_not_found(kind, name, ns.namespace)
    return row


async def _taken(s: Any, kind: str, ns: Any, name: str, but: Any = None) -> None:
    row = await (mq.tag_named(s, ns.id, name) if kind == "tags" else mq.part(s, kind, ns.id, name))
    if row is not None and row is not but:
        raise _duplicate(kind, name, ns.namespace)


def _unprotected(ns: Any, what: str, name: str) -> None:
    if ns.protected:
        raise MetadefProtected(f"Metadata definition {what} {name} is protected and cannot be deleted.")


# ------------------------------------------------------------------ objects

async def list_objects(state: Any, ctx: RequestContext, authz: MetadefAuthorizer, ns_name: str) -> list[dict]:
    async with state.db.reader() as s:
        ns = await _namespace(s, ctx, authz, ns_name, p.GET_METADEF_OBJECTS)
        return [object_view(o) for o in await mq.parts(s, "objects", ns.id)]


async def create_object(state: Any, ctx: RequestContext, authz: MetadefAuthorizer, ns_name: str,
                        body: Any) -> dict[str, Any]:
    body = _check(body, ms.object_body(), "object")
    try:
        async with state.db.session() as s:
            ns = await _namespace(s, ctx, authz, ns_name, p.ADD_METADEF_OBJECT, for_update=True)
            await _taken(s, "objects", ns, body["name"])
            row = _new_object(ns.id, body, utcnow())
            s.add(row)
            await s.flush()
            return object_view(row)
    except IntegrityError:
        raise _duplicate("objects", body["name"], ns_name) from None


async def show_object(state: Any, ctx: RequestContext, authz: MetadefAuthorizer, ns_name: str,
                      name: str) -> dict[str, Any]:
    async with state.db.reader() as s:
        ns = await _namespace(s, ctx, authz, ns_name, p.GET_METADEF_OBJECT)
        return object_view(await _get(s, "objects", ns, name))


async def update_object(state: Any, ctx: RequestContext, authz: MetadefAuthorizer, ns_name: str,
                        name: str, body: Any) -> dict[str, Any]:
    body = _check(body, ms.object_body(), "object")
    async with state.db.session() as s:
        ns = await _namespace(s, ctx, authz, ns_name, p.MODIFY_METADEF_OBJECT, for_update=True)
        row = await _get(s, "objects", ns, name)
        await _taken(s, "objects", ns, body["name"], but=row)
        new = _new_object(ns.id, body, utcnow())
        row.name, row.description, row.required, row.properties = (new.name, new.description,
                                                                   new.required, new.properties)
        row.updated_at = new.updated_at
        await s.flush()
        return object_view(row)


async def delete_object(state: Any, ctx: RequestContext, authz: MetadefAuthorizer, ns_name: str,
                        name: str) -> None:
    async with state.db.session() as s:
        ns = await _namespace(s, ctx, authz, ns_name, p.DELETE_METADEF_OBJECT, for_update=True)
        row = await _get(s, "objects", ns, name)
        _unprotected(ns, "object", name)
        await s.delete(row)


# ------------------------------------------------------------------ properties

def _unprefixed(name: str, prefix: str | None) -> str:
    return name[len(prefix):] if prefix and name.startswith(prefix) else name


async def list_properties(state: Any, ctx: RequestContext, authz: MetadefAuthorizer,
                          ns_name: str) -> dict[str, Any]:
    async with state.db.reader() as s:
        ns = await _namespace(s, ctx, authz, ns_name, p.GET_METADEF_PROPERTIES)
        return {r.name: property_view(r) for r in await mq.parts(s, "properties", ns.id)}


async def create_property(state: Any, ctx: RequestContext, authz: MetadefAuthorizer, ns_name: str,
                          body: Any) -> dict[str, Any]:
    body = _check(body, ms.property_body(), "property")
    now = utcnow()
    try:
        async with state.db.session() as s:
            ns = await _namespace(s, ctx, authz, ns_name, p.ADD_METADEF_PROPERTY, for_update=True)
            await _taken(s, "properties", ns, body["name"])
            row = MetadefProperty(namespace_id=ns.id, name=body["name"], definition=_definition(body),
                                  created_at=now, updated_at=now)
            s.add(row)
            await s.flush()
            return property_view(row, named=True)
    except IntegrityError:
        raise _duplicate("properties", body["name"], ns_name) from None


async def show_property(state: Any, ctx: RequestContext, authz: MetadefAuthorizer, ns_name: str,
                        name: str, resource_type: str | None) -> dict[str, Any]:
    """With ``resource_type``, ``name`` is the property's name on that type (with its prefix)."""
    async with state.db.reader() as s:
        ns = await _namespace(s, ctx, authz, ns_name, p.GET_METADEF_PROPERTY)
        prefix = ""
        if resource_type:
            rt = await mq.resource_type(s, resource_type)
            assoc = await mq.association(s, ns.id, rt.id) if rt is not None else None
            if assoc is None:
                raise BadRequest(f"Resource type {resource_type} is not associated with namespace "
                                 f"{ns_name}.")
            prefix = assoc.prefix or ""
            if prefix and not name.startswith(prefix):
                raise _part_not_found("properties", name, ns_name)
        row = await _get(s, "properties", ns, _unprefixed(name, prefix))
        return property_view(row, prefix, named=True)


async def update_property(state: Any, ctx: RequestContext, authz: MetadefAuthorizer, ns_name: str,
                          name: str, body: Any) -> dict[str, Any]:
    body = _check(body, ms.property_body(), "property")
    async with state.db.session() as s:
        ns = await _namespace(s, ctx, authz, ns_name, p.MODIFY_METADEF_PROPERTY, for_update=True)
        row = await _get(s, "properties", ns, name)
        await _taken(s, "properties", ns, body["name"], but=row)
        row.name, row.definition, row.updated_at = body["name"], _definition(body), utcnow()
        await s.flush()
        return property_view(row, named=True)


async def delete_property(state: Any, ctx: RequestContext, authz: MetadefAuthorizer, ns_name: str,
                          name: str) -> None:
    async with state.db.session() as s:
        ns = await _namespace(s, ctx, authz, ns_name, p.REMOVE_METADEF_PROPERTY, for_update=True)
        row = await _get(s, "properties", ns, name)
        _unprotected(ns, "property", name)
        await s.delete(row)


# ------------------------------------------------------------------ tags

def _tag_name(name: Any) -> str:
    err = ms.tag_body()["properties"]["name"]
    if not isinstance(name, str) or not name or len(name) > err["maxLength"]:
        raise BadRequest(f"Invalid tag name {name!r}: a string of 1 to 80 characters is expected.")
    return name


async def list_tags(state: Any, ctx: RequestContext, authz: MetadefAuthorizer, ns_name: str) -> list[dict]:
    async with state.db.reader() as s:
        ns = await _namespace(s, ctx, authz, ns_name, p.GET_METADEF_TAGS)
        return [tag_view(t) for t in await mq.parts(s, "tags", ns.id)]


async def create_tag(state: Any, ctx: RequestContext, authz: MetadefAuthorizer, ns_name: str,
                     name: str) -> dict[str, Any]:
    name = _tag_name(name)
    now = utcnow()
    try:
        async with state.db.session() as s:
            ns = await _namespace(s, ctx, authz, ns_name, p.ADD_METADEF_TAG, for_update=True)
            await _taken(s, "tags", ns, name)
            row = MetadefTag(namespace_id=ns.id, name=name, created_at=now, updated_at=now)
            s.add(row)
            await s.flush()
            return tag_view(row)
    except IntegrityError:
        raise _duplicate("tags", name, ns_name) from None


async def create_tags(state: Any, ctx: RequestContext, authz: MetadefAuthorizer, ns_name: str,
                      body: Any, append: bool) -> list[dict[str, Any]]:
    """POST .../tags: these tags, replacing the namespace's unless ``X-Openstack-Append: true``."""
    if not isinstance(body, dict) or not isinstance(body.get("tags"), list):
        raise BadRequest("The request body must be an object with a list of tags: "
                         '{"tags": [{"name": "..."}]}.')
    names = []
    for item in body["tags"]:
        if not isinstance(item, dict):
            raise BadRequest("Each tag must be an object with a 'name'.")
        names.append(_tag_name(item.get("name")))
    if len({n.lower() for n in names}) != len(names):
        raise MetadefDuplicate("Duplicate tags in the request: metadata tag names are case insensitive.")
    now = utcnow()
    try:
        async with state.db.session() as s:
            ns = await _namespace(s, ctx, authz, ns_name, p.ADD_METADEF_TAGS, for_update=True)
            if not append:
                await mq.delete_parts(s, "tags", ns.id)
                await s.flush()
            for name in names:
                if append:
                    await _taken(s, "tags", ns, name)
                s.add(MetadefTag(namespace_id=ns.id, name=name, created_at=now, updated_at=now))
            await s.flush()
    except IntegrityError:
        raise MetadefDuplicate("A metadata tag of the request already exists in namespace="
                               f"{ns_name}.") from None
    return [{"name": n} for n in names]


async def show_tag(state: Any, ctx: RequestContext, authz: MetadefAuthorizer, ns_name: str,
                   name: str) -> dict[str, Any]:
    async with state.db.reader() as s:
        ns = await _namespace(s, ctx, authz, ns_name, p.GET_METADEF_TAG)
        return tag_view(await _get(s, "tags", ns, name))


async def update_tag(state: Any, ctx: RequestContext, authz: MetadefAuthorizer, ns_name: str,
                     name: str, body: Any) -> dict[str, Any]:
    body = _check(body, ms.tag_body(), "tag")
    new = _tag_name(body["name"])
    async with state.db.session() as s:
        ns = await _namespace(s, ctx, authz, ns_name, p.MODIFY_METADEF_TAG, for_update=True)
        row = await _get(s, "tags", ns, name)
        await _taken(s, "tags", ns, new, but=row)
        row.name, row.updated_at = new, utcnow()
        await s.flush()
        return tag_view(row)


async def delete_tag(state: Any, ctx: RequestContext, authz: MetadefAuthorizer, ns_name: str,
                     name: str) -> None:
    async with state.db.session() as s:
        ns = await _namespace(s, ctx, authz, ns_name, p.DELETE_METADEF_TAG, for_update=True)
        row = await _get(s, "tags", ns, name)
        _unprotected(ns, "tag", name)
        await s.delete(row)
