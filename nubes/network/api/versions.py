"""Version discovery: GET / lists v2.0, GET /v2.0 lists the resource collections."""

from __future__ import annotations

from nubes.core.api.http import Request, json_response

COLLECTIONS = [("subnet", "subnets"), ("network", "networks"), ("port", "ports"),
               ("subnetpool", "subnetpools"), ("security_group", "security-groups"),
               ("security_group_rule", "security-group-rules"), ("router", "routers"),
               ("floatingip", "floatingips"), ("quota", "quotas"), ("agent", "agents"),
               ("rbac_policy", "rbac-policies"), ("availability_zone", "availability_zones"),
               ("network_ip_availability", "network-ip-availabilities"), ("extension", "extensions")]


def _base(req: Request) -> str:
    return str(req.base_url).rstrip("/")


async def list_versions(req: Request):
    return json_response({"versions": [{"id": "v2.0", "status": "CURRENT", "links": [
        {"href": f"{_base(req)}/v2.0/", "rel": "self"}]}]})


async def show_v2(req: Request):
    base = _base(req)
    return json_response({"resources": [
        {"name": name, "collection": coll, "links": [{"href": f"{base}/v2.0/{coll}", "rel": "self"}]}
        for name, coll in COLLECTIONS]})
