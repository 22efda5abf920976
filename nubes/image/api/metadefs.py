"""Handlers for /v2/metadefs (metadata definitions) and /v2/schemas/metadefs/*."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlencode

from nubes.core.api.http import Request, empty_response, json_response
from nubes.core.exceptions import NotFound
from nubes.image.api.body import read_json
from nubes.image.api.policy import MetadefPolicy
from nubes.image.service import metadef_parts as parts
from nubes.image.service import metadef_schemas, metadefs

NS_SCHEMA = "/v2/schemas/metadefs/namespace"
OBJ_SCHEMA = "/v2/schemas/metadefs/object"


def _state(req: Request) -> Any:
    return req.rt.extra["image"]


def _ns(req: Request) -> str:
    return req.path_params["namespace"]


def _ns_href(name: str) -> str:
    return f"/v2/metadefs/namespaces/{quote(name, safe=':')}"


def _with_links(ns: dict[str, Any]) -> dict[str, Any]:
    for obj in ns.get("objects", []):
        _object_links(ns["namespace"], obj)
    return {**ns, "self": _ns_href(ns["namespace"]), "schema": NS_SCHEMA}


def _object_links(ns: str, obj: dict[str, Any]) -> dict[str, Any]:
    obj["self"] = f"{_ns_href(ns)}/objects/{quote(obj['name'], safe=':')}"
    obj["schema"] = OBJ_SCHEMA
    return obj


def _args(req: Request) -> tuple[Any, Any, MetadefPolicy]:
    return _state(req), req.ctx, MetadefPolicy(req.ctx)


# ------------------------------------------------------------------ namespaces

async def list_namespaces(req: Request):
    params = dict(req.query_params)
    rows, nxt = await metadefs.list_namespaces(*_args(req), params)
    rest = [(k, v) for k, v in req.query_params.multi_items() if k != "marker"]
    body: dict[str, Any] = {"namespaces": [_with_links(r) for r in rows],
                            "first": "/v2/metadefs/namespaces" + (f"?{urlencode(rest)}" if rest else ""),
                            "schema": "/v2/schemas/metadefs/namespaces"}
    if nxt:
        body["next"] = "/v2/metadefs/namespaces?" + urlencode([*rest, ("marker", nxt)])
    return json_response(body)


async def create_namespace(req: Request):
    ns = await metadefs.create_namespace(*_args(req), await read_json(req))
    return json_response(_with_links(ns), 201, headers={"location": _ns_href(ns["namespace"])})


async def show_namespace(req: Request):
    ns = await metadefs.show_namespace(*_args(req), _ns(req), req.query_params.get("resource_type"))
    return json_response(_with_links(ns))


async def update_namespace(req: Request):
    ns = await metadefs.update_namespace(*_args(req), _ns(req), await read_json(req))
    return json_response(_with_links(ns))


async def delete_namespace(req: Request):
    await metadefs.delete_namespace(*_args(req), _ns(req))
    return empty_response(204)


async def delete_objects(req: Request):
    await metadefs.delete_contents(*_args(req), _ns(req), "objects")
    return empty_response(204)


async def delete_properties(req: Request):
    await metadefs.delete_contents(*_args(req), _ns(req), "properties")
    return empty_response(204)


async def delete_tags(req: Request):
    await metadefs.delete_contents(*_args(req), _ns(req), "tags")
    return empty_response(204)


# ------------------------------------------------------------------ objects

async def list_objects(req: Request):
    rows = await parts.list_objects(*_args(req), _ns(req))
    return json_response({"objects": [_object_links(_ns(req), o) for o in rows],
                          "schema": "/v2/schemas/metadefs/objects"})


async def create_object(req: Request):
    obj = await parts.create_object(*_args(req), _ns(req), await read_json(req))
    _object_links(_ns(req), obj)
    return json_response(obj, 201, headers={"location": obj["self"]})


async def show_object(req: Request):
    obj = await parts.show_object(*_args(req), _ns(req), req.path_params["object_name"])
    return json_response(_object_links(_ns(req), obj))


async def update_object(req: Request):
    obj = await parts.update_object(*_args(req), _ns(req), req.path_params["object_name"],
                                    await read_json(req))
    return json_response(_object_links(_ns(req), obj))


async def delete_object(req: Request):
    await parts.delete_object(*_args(req), _ns(req), req.path_params["object_name"])
    return empty_response(204)


# ------------------------------------------------------------------ properties

async def list_properties(req: Request):
    return json_response({"properties": await parts.list_properties(*_args(req), _ns(req))})


async def create_property(req: Request):
    return json_response(await parts.create_property(*_args(req), _ns(req), await read_json(req)), 201)


async def show_property(req: Request):
    return json_response(await parts.show_property(*_args(req), _ns(req), req.path_params["property_name"],
                                                   req.query_params.get("resource_type")))


async def update_property(req: Request):
    return json_response(await parts.update_property(*_args(req), _ns(req), req.path_params["property_name"],
                                                     await read_json(req)))


async def delete_property(req: Request):
    await parts.delete_property(*_args(req), _ns(req), req.path_params["property_name"])
    return empty_response(204)


# ------------------------------------------------------------------ tags

async def list_tags(req: Request):
    return json_response({"tags": await parts.list_tags(*_args(req), _ns(req))})


async def create_tags(req: Request):
    append = (req.headers.get("x-openstack-append") or "").strip().lower() in ("true", "1", "yes", "on")
    tags = await parts.create_tags(*_args(req), _ns(req), await read_json(req), append)
    return json_response({"tags": tags}, 201)


async def create_tag(req: Request):
    return json_response(await parts.create_tag(*_args(req), _ns(req), req.path_params["tag_name"]), 201)


async def show_tag(req: Request):
    return json_response(await parts.show_tag(*_args(req), _ns(req), req.path_params["tag_name"]))


async def update_tag(req: Request):
    return json_response(await parts.update_tag(*_args(req), _ns(req), req.path_params["tag_name"],
                                                await read_json(req)))


async def delete_tag(req: Request):
    await parts.delete_tag(*_args(req), _ns(req), req.path_params["tag_name"])
    return empty_response(204)


# ------------------------------------------------------------------ resource types

async def list_resource_types(req: Request):
    return json_response({"resource_types": await metadefs.list_resource_types(*_args(req))})


async def list_associations(req: Request):
    rows = await metadefs.list_associations(*_args(req), _ns(req))
    return json_response({"resource_type_associations": rows})


async def create_association(req: Request):
    return json_response(await metadefs.create_association(*_args(req), _ns(req), await read_json(req)), 201)


async def delete_association(req: Request):
    await metadefs.delete_association(*_args(req), _ns(req), req.path_params["resource_type"])
    return empty_response(204)


# ------------------------------------------------------------------ schemas

async def metadef_schema(req: Request):
    schema = metadef_schemas.served(req.path_params["name"])
    if schema is None:
        raise NotFound("The resource could not be found.")
    return json_response(schema)
