"""Compute's metadata API (Nova's, port 8775): what an instance reads at 169.254.169.254, reached
through the network service's metadata proxy.

The proxy names the instance (``X-Instance-ID``: the port's device id), its project
(``X-Tenant-ID``) and signs the instance id with the shared secret (``X-Instance-ID-Signature``,
HMAC-SHA256); ``X-Forwarded-For`` carries the instance's address. A request without those, or
with a wrong signature, is refused: no instance reads another's metadata. Errors are plain text,
as Nova's metadata service answers them.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from typing import Any

from starlette.responses import Response

from nubes.core import metadata_auth
from nubes.core.api.http import Request, read_body_limited
from nubes.core.exceptions import (
    BadRequest,
    CloudError,
    Conflict,
    Forbidden,
    NotFound,
    RequestTooLarge,
    ServiceUnavailable,
)
from nubes.compute.db.queries import instances as qi
from nubes.compute.metadata import content
from nubes.compute.service import server_records

LOG = logging.getLogger(__name__)


def render(exc: CloudError, request_id: str) -> tuple[int, dict[str, str], bytes]:
    return exc.status, {"Content-Type": "text/plain; charset=UTF-8"}, f"{exc.message}\n".encode()


@dataclass
class Seen:
    """One instance as the metadata API last read it, kept ``metadata_cache_expiration`` seconds:
    an instance reads a dozen files as it boots."""

    record: dict[str, Any]
    subnets: dict[str, dict[str, Any]]
    mtus: dict[str, int]
    floating_ips: list[str]
    until: float


class MetadataService:
    def __init__(self, rt: Any, secret: str) -> None:
        self.rt = rt
        self.conf = rt.service_conf
        self.secret = secret
        self.cache: dict[str, Seen] = {}

    # -- who is asking -------------------------------------------------------------------
    async def instance(self, req: Request) -> Seen:
        iid = req.headers.get("x-instance-id")
        tenant = req.headers.get("x-tenant-id")
        signature = req.headers.get("x-instance-id-signature")
        if not iid:
            raise BadRequest("X-Instance-ID header is missing from request.")
        if not tenant:
            raise BadRequest("X-Tenant-ID header is missing from request.")
        if not signature:
            raise BadRequest("X-Instance-ID-Signature header is missing from request.")
        if not metadata_auth.signed_by(self.secret, iid, signature):
            LOG.warning("metadata request for %s from %s with a wrong signature", iid,
                        req.headers.get("x-forwarded-for") or req.client)
            raise Forbidden("Invalid proxy request signature.")
        seen = self.cache.get(iid)
        if seen is None or seen.until < time.monotonic():
            seen = await self._load(iid)
        if seen.record.get("project_id") != tenant:
            LOG.warning("metadata request for %s names project %s, not the instance's", iid, tenant)
            raise NotFound("The resource could not be found.")
        return seen

    async def _load(self, iid: str) -> Seen:
        async with self.rt.db.reader() as s:
            row = await qi.get(s, iid)
            if row is None:
                raise NotFound("The resource could not be found.")
            record = server_records.record(row)
        subnets, mtus, floating = await self._network(record)
        seen = Seen(record, subnets, mtus, floating, time.monotonic() + float(self.conf.metadata_cache_expiration))
        if len(self.cache) > 10_000:
            self.cache.clear()
        self.cache[iid] = seen
        return seen

    async def _network(self, record: dict[str, Any]) -> tuple[dict, dict, list[str]]:
        """The instance's subnets and networks (for static addressing and MTU) and floating IPs,
        from the network API; what it cannot say is left out, the rest is still served."""
        vifs = record.get("network_info") or []
        subnet_ids = sorted({str(ip["subnet_id"]) for v in vifs for ip in v.get("fixed_ips") or [] if ip.get("subnet_id")})
        network_ids = sorted({str(v["network_id"]) for v in vifs if v.get("network_id")})
        subnets: dict[str, dict[str, Any]] = {}
        mtus: dict[str, int] = {}
        floating: list[str] = []
        clients = self.rt.clients
        if clients is None or not vifs:
            return subnets, mtus, floating
        try:
            if subnet_ids:
                r = await clients.request("network", "GET", "/v2.0/subnets", params=[("id", i) for i in subnet_ids])
                if r.status_code == 200:
                    subnets = {s["id"]: s for s in r.json().get("subnets", [])}
            if network_ids:
                r = await clients.request("network", "GET", "/v2.0/networks",
                                          params=[("id", i) for i in network_ids] + [("fields", "id"), ("fields", "mtu")])
                if r.status_code == 200:
                    mtus = {n["id"]: n["mtu"] for n in r.json().get("networks", []) if n.get("mtu")}
            r = await clients.request("network", "GET", "/v2.0/floatingips",
                                      params=[("port_id", v["id"]) for v in vifs])
            if r.status_code == 200:
                floating = [f["floating_ip_address"] for f in r.json().get("floatingips", [])]
        except ServiceUnavailable as e:
            LOG.warning("metadata of %s without network details: %s", record["id"], e.message)
        return subnets, mtus, floating

    # -- the password an instance posts ------------------------------------------------------
    async def set_password(self, iid: str, password: str) -> None:
        async with self.rt.db.session() as s:
            row = await qi.get(s, iid, for_update=True)
            if row is None:
                raise NotFound("The resource could not be found.")
            sysmeta = dict(row.system_metadata or {})
            if sysmeta.get("password"):
                raise Conflict("Password already set.")
            sysmeta["password"] = password
            row.system_metadata = sysmeta
        self.cache.pop(iid, None)


def text(body: str | bytes, content_type: str = "text/plain; charset=UTF-8") -> Response:
    return Response(body, 200, media_type=content_type)


def _service(req: Request) -> MetadataService:
    return req.rt.extra["compute-metadata"]


async def root(req: Request) -> Response:
    return text("\n".join([*content.EC2_VERSIONS, "latest"]))


async def openstack_versions(req: Request) -> Response:
    await _service(req).instance(req)
    return text("\n".join([*content.OPENSTACK_VERSIONS, "latest"]))


def _openstack_version(version: str) -> str:
    if version != "latest" and version not in content.OPENSTACK_VERSIONS:
        raise NotFound("The resource could not be found.")
    return version


async def openstack_index(req: Request) -> Response:
    version = _openstack_version(req.path_params["version"])
    seen = await _service(req).instance(req)
    return text("\n".join(content.openstack_files(version, content.user_data(seen.record) is not None)))


async def openstack_file(req: Request) -> Response:
    version = _openstack_version(req.path_params["version"])
    name = req.path_params["name"]
    svc = _service(req)
    seen = await svc.instance(req)
    rec = seen.record
    if name not in content.openstack_files(version, True):
        raise NotFound("The resource could not be found.")
    if name == "meta_data.json":
        return text(json.dumps(content.meta_data(rec, version=version)), "application/json")
    if name == "network_data.json":
        return text(json.dumps(content.network_data(rec.get("network_info") or [], seen.subnets, seen.mtus)),
                    "application/json")
    if name in ("vendor_data.json", "vendor_data2.json"):
        return text("{}", "application/json")
    if name == "user_data":
        ud = content.user_data(rec)
        if ud is None:
            raise NotFound("The resource could not be found.")
        return text(ud, "application/octet-stream")
    # password
    if req.method == "POST":
        try:      # Nova answers an oversized password 400, not 413
            password = content.check_password(await read_body_limited(req, content.MAX_PASSWORD_BYTES + 1))
        except (ValueError, RequestTooLarge):
            raise BadRequest(f"Request is too large (more than {content.MAX_PASSWORD_BYTES} bytes).") from None
        await svc.set_password(rec["id"], password)
        return Response(b"", 200)
    return text(str((rec.get("system_metadata") or {}).get("password") or ""))


def _ec2_version(version: str) -> str:
    if version != "latest" and version not in content.EC2_VERSIONS:
        raise NotFound("The resource could not be found.")
    return version


async def ec2_index(req: Request) -> Response:
    _ec2_version(req.path_params["version"])
    seen = await _service(req).instance(req)
    entries = ["meta-data/"] + (["user-data"] if content.user_data(seen.record) is not None else [])
    return text("\n".join(entries))


async def ec2_user_data(req: Request) -> Response:
    _ec2_version(req.path_params["version"])
    seen = await _service(req).instance(req)
    ud = content.user_data(seen.record)
    if ud is None:
        raise NotFound("The resource could not be found.")
    return text(ud, "application/octet-stream")


async def ec2_meta_data(req: Request) -> Response:
    _ec2_version(req.path_params["version"])
    seen = await _service(req).instance(req)
    rec = seen.record
    node: Any = content.ec2_tree(rec, floating_ips=seen.floating_ips)
    parts = [p for p in (req.path_params.get("path") or "").split("/") if p]
    names = None
    for i, part in enumerate(parts):
        if not isinstance(node, dict) or part not in node:
            if parts[:1] == ["public-keys"] and i == 1 and part == f"0={rec.get('key_name') or 'key'}":
                part = "0"          # some clients ask for the entry as listed
            else:
                raise NotFound("The resource could not be found.")
        node = node[part]
    if isinstance(node, dict):
        if parts == ["public-keys"]:
            names = content.ec2_names(rec)
        return text(content.listing(node, names))
    return text(str(node))
