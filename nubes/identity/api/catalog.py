"""/v3/regions, /v3/services and /v3/endpoints: the service catalog."""

from __future__ import annotations

from typing import Any

from nubes.core.api.http import (
    Request,
    empty_response,
    json_response,
    query_bool,
    read_json,
    require_object,
)
from nubes.identity.api.views import collection, self_link
from nubes.identity.db.models import Endpoint, Region, Service
from nubes.identity.db.queries import endpoints as endpoint_q
from nubes.identity.db.queries import regions as region_q
from nubes.identity.db.queries import services as service_q
from nubes.identity.service import catalog as catalog_svc


def region_view(req: Request, r: Region) -> dict[str, Any]:
    return {**(r.extra or {}), "id": r.id, "description": r.description or "",
            "parent_region_id": r.parent_region_id, "links": self_link(req, f"regions/{r.id}")}


def service_view(req: Request, svc: Service) -> dict[str, Any]:
    out: dict[str, Any] = {**(svc.extra or {}), "id": svc.id, "type": svc.type,
                           "enabled": svc.enabled}
    # Keystone shows name and description only when they were given.
    if svc.name:
        out["name"] = svc.name
    if svc.description:
        out["description"] = svc.description
    out["links"] = self_link(req, f"services/{svc.id}")
    return out


def endpoint_view(req: Request, ep: Endpoint) -> dict[str, Any]:
    return {**(ep.extra or {}), "id": ep.id, "interface": ep.interface, "region_id": ep.region_id,
            "region": ep.region_id, "service_id": ep.service_id, "url": ep.url,
            "enabled": ep.enabled, "links": self_link(req, f"endpoints/{ep.id}")}


async def _changed(req: Request) -> None:
    await req.rt.extra["identity"].tokens.catalog_changed()


# -- regions ---------------------------------------------------------------------------------


async def list_regions(req: Request):
    req.ctx.can("identity:list_regions", {})
    async with req.rt.db.reader() as s:
        rows = await region_q.list_regions(s, parent_region_id=req.query_params.get("parent_region_id"))
    return json_response(collection(req, "regions", [region_view(req, r) for r in rows]))


async def show_region(req: Request):
    req.ctx.can("identity:get_region", {})
    async with req.rt.db.reader() as s:
        region = await catalog_svc.get_region(s, req.path_params["region_id"])
    return json_response({"region": region_view(req, region)})


async def _create_region(req: Request, region_id: str | None):
    req.ctx.can("identity:create_region", {})
    body = require_object(await read_json(req), "region")
    async with req.rt.db.session() as s:
        region = await catalog_svc.create_region(s, body, region_id)
        out = region_view(req, region)
    await _changed(req)
    return json_response({"region": out}, 201)


async def create_region(req: Request):
    return await _create_region(req, None)


async def create_region_with_id(req: Request):
    region_id = req.path_params["region_id"]
    if not region_id or len(region_id) > 255:
        raise catalog_svc.rules.invalid("id", "a region id is 1 to 255 characters long")
    return await _create_region(req, region_id)


async def update_region(req: Request):
    req.ctx.can("identity:update_region", {})
    body = require_object(await read_json(req), "region")
    async with req.rt.db.session() as s:
        region = await catalog_svc.get_region(s, req.path_params["region_id"])
        region = await catalog_svc.update_region(s, region, body)
        out = region_view(req, region)
    await _changed(req)
    return json_response({"region": out})


async def delete_region(req: Request):
    req.ctx.can("identity:delete_region", {})
    async with req.rt.db.session() as s:
        await catalog_svc.delete_region(s, req.path_params["region_id"])
    await _changed(req)
    return empty_response(204)


# -- services --------------------------------------------------------------------------------


async def list_services(req: Request):
    req.ctx.can("identity:list_services", {})
    q = req.query_params
    async with req.rt.db.reader() as s:
        rows = await service_q.list_services(s, type=q.get("type"), name=q.get("name"))
    return json_response(collection(req, "services", [service_view(req, r) for r in rows]))


async def show_service(req: Request):
    req.ctx.can("identity:get_service", {})
    async with req.rt.db.reader() as s:
        service = await catalog_svc.get_service(s, req.path_params["service_id"])
    return json_response({"service": service_view(req, service)})


async def create_service(req: Request):
    req.ctx.can("identity:create_service", {})
    body = require_object(await read_json(req), "service")
    async with req.rt.db.session() as s:
        service = await catalog_svc.create_service(s, body)
        out = service_view(req, service)
    await _changed(req)
    return json_response({"service": out}, 201)


async def update_service(req: Request):
    req.ctx.can("identity:update_service", {})
    body = require_object(await read_json(req), "service")
    async with req.rt.db.session() as s:
        service = await catalog_svc.get_service(s, req.path_params["service_id"])
        service = await catalog_svc.update_service(s, service, body)
        out = service_view(req, service)
    await _changed(req)
    return json_response({"service": out})


async def delete_service(req: Request):
    req.ctx.can("identity:delete_service", {})
    async with req.rt.db.session() as s:
        await catalog_svc.delete_service(s, req.path_params["service_id"])
    await _changed(req)
    return empty_response(204)


# -- endpoints -------------------------------------------------------------------------------


async def list_endpoints(req: Request):
    req.ctx.can("identity:list_endpoints", {})
    q = req.query_params
    async with req.rt.db.reader() as s:
        rows = await endpoint_q.list_endpoints(s, interface=q.get("interface"),
                                               service_id=q.get("service_id"),
                                               region_id=q.get("region_id"))
    enabled = query_bool(q.get("enabled"), "enabled")
    if enabled is not None:
        rows = [ep for ep in rows if ep.enabled == enabled]
    return json_response(collection(req, "endpoints", [endpoint_view(req, ep) for ep in rows]))


async def show_endpoint(req: Request):
    req.ctx.can("identity:get_endpoint", {})
    async with req.rt.db.reader() as s:
        endpoint = await catalog_svc.get_endpoint(s, req.path_params["endpoint_id"])
    return json_response({"endpoint": endpoint_view(req, endpoint)})


async def create_endpoint(req: Request):
    req.ctx.can("identity:create_endpoint", {})
    body = require_object(await read_json(req), "endpoint")
    async with req.rt.db.session() as s:
        endpoint = await catalog_svc.create_endpoint(s, body)
        out = endpoint_view(req, endpoint)
    await _changed(req)
    return json_response({"endpoint": out}, 201)


async def update_endpoint(req: Request):
    req.ctx.can("identity:update_endpoint", {})
    body = require_object(await read_json(req), "endpoint")
    async with req.rt.db.session() as s:
        endpoint = await catalog_svc.get_endpoint(s, req.path_params["endpoint_id"])
        endpoint = await catalog_svc.update_endpoint(s, endpoint, body)
        out = endpoint_view(req, endpoint)
    await _changed(req)
    return json_response({"endpoint": out})


async def delete_endpoint(req: Request):
    req.ctx.can("identity:delete_endpoint", {})
    async with req.rt.db.session() as s:
        await catalog_svc.delete_endpoint(s, req.path_params["endpoint_id"])
    await _changed(req)
    return empty_response(204)
