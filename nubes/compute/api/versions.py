"""Compute microversions (2.1 to MAX), their negotiation, and version discovery at / and /v2.1.

Handlers branch on ``req.ctx.api_version`` only in schema selection and views. Every version
up to MAX is honoured for every route nubes serves; routes it does not serve answer 501.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from nubes.core.api.http import Request, json_response
from nubes.core.api.microversions import Microversions
from nubes.core.exceptions import NotAcceptable
from nubes.compute import exceptions as exc

VERSIONS: list[tuple[str, str]] = [
    ("2.1", "Initial version, equivalent to v2.0"),
    ("2.2", "Key pair type; 201/204 for key pair create/delete"),
    ("2.3", "More os-extended-server-attributes"),
    ("2.4", "reserved in os-fixed-ips"),
    ("2.5", "ip6 server filter for non-admins"),
    ("2.6", "Consolidated remote consoles API"),
    ("2.7", "Flavor type checked before adding project access"),
    ("2.8", "mks console protocol"),
    ("2.9", "locked in server details"),
    ("2.10", "Admins manage key pairs of any user"),
    ("2.11", "forced_down for os-services"),
    ("2.12", "VIF net_id in os-virtual-interfaces"),
    ("2.13", "project_id and user_id of server groups"),
    ("2.14", "evacuate without onSharedStorage and adminPass"),
    ("2.15", "soft-affinity and soft-anti-affinity server groups"),
    ("2.16", "host_status of servers"),
    ("2.17", "trigger_crash_dump action"),
    ("2.18", "project_id optional in URLs"),
    ("2.19", "Server description"),
    ("2.20", "Volume attach/detach on shelved servers"),
    ("2.21", "Instance actions of deleted servers"),
    ("2.22", "Force a live migration to complete"),
    ("2.23", "Server migrations index/show"),
    ("2.24", "Cancel a live migration"),
    ("2.25", "block_migration auto"),
    ("2.26", "Server tags"),
    ("2.27", "OpenStack-API-Version header"),
    ("2.28", "cpu_info of hypervisors as an object"),
    ("2.29", "force flag of evacuate"),
    ("2.30", "force flag of live migration"),
    ("2.31", "Console auth tokens for every console type"),
    ("2.32", "Device tags at boot"),
    ("2.33", "Hypervisors pagination"),
    ("2.34", "Asynchronous live migration checks"),
    ("2.35", "Key pairs pagination"),
    ("2.36", "Proxy APIs deprecated"),
    ("2.37", "networks auto/none; network uuids must be UUIDs"),
    ("2.38", "400 for an invalid status filter"),
    ("2.39", "image-metadata proxy API deprecated"),
    ("2.40", "Simple tenant usage pagination"),
    ("2.41", "uuid of aggregates"),
    ("2.42", "Device tags at boot again"),
    ("2.43", "os-hosts deprecated"),
    ("2.44", "Floating/fixed IP actions deprecated"),
    ("2.45", "createImage returns image_id in the body"),
    ("2.46", "X-OpenStack-Request-ID returned"),
    ("2.47", "Flavor of a server embedded as a dict"),
    ("2.48", "Standard server diagnostics"),
    ("2.49", "Tagged attach of interfaces and volumes"),
    ("2.50", "server_groups quotas in quota classes; network quotas dropped there"),
    ("2.51", "volume-extended event; non-admins see action event details"),
    ("2.52", "Tags when creating a server"),
    ("2.53", "uuids as ids of services and hypervisors"),
    ("2.54", "Reset the key pair on rebuild"),
    ("2.55", "Flavor description"),
    ("2.56", "host in the cold migrate request"),
    ("2.57", "Personality files deprecated; user_data on rebuild"),
    ("2.58", "Instance actions pagination and changes-since"),
    ("2.59", "Migrations pagination and changes-since"),
    ("2.60", "Multi-attach volumes"),
    ("2.61", "Flavor extra_specs in the flavor"),
    ("2.62", "host and hostId of instance action events"),
    ("2.63", "Trusted image certificates"),
    ("2.64", "Server group policy and rules (max_server_per_host)"),
    ("2.65", "Abort queued/preparing live migrations"),
    ("2.66", "changes-before filter"),
    ("2.67", "volume_type in block_device_mapping_v2"),
    ("2.68", "Forced live migration and evacuate removed"),
    ("2.69", "Minimal constructs during partial outages"),
    ("2.70", "Device tags in os-interface and volume attachments"),
    ("2.71", "server_groups in server show/update/rebuild"),
    ("2.72", "Ports with resource requests at create"),
    ("2.73", "Lock reason"),
    ("2.74", "host and hypervisor_hostname at create"),
    ("2.75", "Strict query/body validation; consistent server representation; swap 0"),
    ("2.76", "power-update external event"),
    ("2.77", "availability_zone on unshelve"),
    ("2.78", "Server NUMA topology"),
    ("2.79", "delete_on_termination of volume attachments"),
    ("2.80", "user_id and project_id of migrations"),
    ("2.81", "Image cache for aggregates"),
    ("2.82", "accelerator-request-bound event"),
    ("2.83", "More server list filters for non-admins"),
    ("2.84", "details of instance action events"),
    ("2.85", "Update delete_on_termination of a volume attachment"),
    ("2.86", "Flavor extra specs validated"),
    ("2.87", "Rescue of volume-backed servers"),
    ("2.88", "Hypervisor statistics and usage fields removed"),
    ("2.89", "attachment_id and bdm_uuid of volume attachments"),
    ("2.90", "Server hostname at create, update and rebuild"),
    ("2.91", "Unshelve to a host"),
    ("2.92", "Key pairs are imported only: public_key required"),
    ("2.93", "Rebuild of volume-backed servers"),
    ("2.94", "Hostname may be an FQDN"),
    ("2.95", "Evacuate to STOPPED"),
    ("2.96", "pinned_availability_zone of servers"),
    ("2.97", "Share attachments of servers (501 here: no shared file system service)"),
    ("2.98", "Image properties in the server's image"),
    ("2.99", "spice-direct console type; console auth tokens' TLS port and internal path"),
    ("2.100", "scheduler_hints of servers"),
]

UPDATED = "2013-07-23T11:33:21Z"


def _error(kind: str, wanted: str) -> Exception:
    if kind == "invalid":
        return exc.BadRequest(f"API Version String {wanted} is of invalid format. Must be of format "
                              "MajorNum.MinorNum.")
    return NotAcceptable(f"Version {wanted} is not supported by the API. Minimum is "
                         f"{MICROVERSIONS.min_str} and maximum is {MICROVERSIONS.max_str}.")


MICROVERSIONS = Microversions("compute", VERSIONS, errors=_error,
                              legacy_header="x-openstack-nova-api-version")
context_hook = MICROVERSIONS.context_hook


def min_version(version: str, handler: Callable[..., Any]) -> Callable[..., Any]:
    """Below ``version`` the route does not exist: 404, as Nova answers."""
    return MICROVERSIONS.gate(version, handler, lambda: exc.NotFound("The resource could not be found."))


def _v21(base: str) -> dict[str, Any]:
    return {"id": "v2.1", "status": "CURRENT", "version": MICROVERSIONS.max_str,
            "min_version": MICROVERSIONS.min_str, "updated": UPDATED,
            "links": [{"rel": "self", "href": f"{base}/v2.1/"}]}


def _base(req: Request) -> str:
    return str(req.base_url).rstrip("/")


async def list_versions(req: Request):
    base = _base(req)
    return json_response({"versions": [
        {"id": "v2.0", "status": "SUPPORTED", "version": "", "min_version": "",
         "updated": "2011-01-21T11:33:21Z", "links": [{"rel": "self", "href": f"{base}/v2/"}]},
        _v21(base)]})


async def show_v2(req: Request):
    """Nova's legacy /v2 endpoint describes itself: v2.0, SUPPORTED, without microversions."""
    base = _base(req)
    return json_response({"version": {
        "id": "v2.0", "status": "SUPPORTED", "version": "", "min_version": "", "updated": "2011-01-21T11:33:21Z",
        "links": [{"rel": "self", "href": f"{base}/v2/"},
                  {"rel": "describedby", "type": "text/html", "href": "https://docs.openstack.org/"}],
        "media-types": [{"base": "application/json",
                         "type": "application/vnd.openstack.compute+json;version=2"}]}})


async def show_v21(req: Request):
    base = _base(req)
    body = _v21(base)
    body["links"] = [{"rel": "self", "href": f"{base}/v2.1/"},
                     {"rel": "describedby", "type": "text/html", "href": "https://docs.openstack.org/"}]
    body["media-types"] = [{"base": "application/json",
                            "type": "application/vnd.openstack.compute+json;version=2.1"}]
    return json_response({"version": body})
