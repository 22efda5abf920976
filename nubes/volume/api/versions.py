"""Block storage microversions (3.0 to MAX), their negotiation, and version discovery at / and /v3.

Every version up to MAX is honoured for every route nubes serves (views and filters branch on
``req.ctx.api_version``); routes it does not serve answer 501 in every version
(docs/api-coverage.md). ``OpenStack-API-Version: volume 3.x`` names a version.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from nubes.core.api.http import Request, json_response
from nubes.core.api.microversions import Microversions
from nubes.core.exceptions import NotAcceptable
from nubes.volume import exceptions as exc

VERSIONS: list[tuple[str, str]] = [
    ("3.0", "Initial version"), ("3.1", "Image visibility/protected on upload"),
    ("3.2", "bootable filter parsed as a boolean"), ("3.3", "User messages API"),
    ("3.4", "glance_metadata filter of volume lists"), ("3.5", "Messages pagination"),
    ("3.6", "Empty group name/description"), ("3.7", "cluster_name of services; clusters API"),
    ("3.8", "Manageable volumes/snapshots listing"), ("3.9", "Backup update"),
    ("3.10", "group_id filter of backups"), ("3.11", "Group types"),
    ("3.12", "Volume summary"), ("3.13", "Generic volume groups; group_id of volumes"),
    ("3.14", "Group snapshots"), ("3.15", "ETags of volume metadata"),
    ("3.16", "Migrate to a cluster"), ("3.17", "Manageable listing for clusters"),
    ("3.18", "Backup project attribute"), ("3.19", "Reset group snapshot status"),
    ("3.20", "Reset group status"), ("3.21", "provider_id of volumes for admins"),
    ("3.22", "Snapshot list metadata filter"), ("3.23", "force on volume type delete"),
    ("3.24", "Workers cleanup"), ("3.25", "group_id in volume show"),
    ("3.26", "Failover"), ("3.27", "Attachments API"), ("3.28", "Group list filters"),
    ("3.29", "Group snapshot pagination"), ("3.30", "Group snapshot sort"),
    ("3.31", "Generalized resource filters"), ("3.32", "Log levels"),
    ("3.33", "Resource filters API"), ("3.34", "Like (~) filters"),
    ("3.35", "group_id filter of volumes"), ("3.36", "Metadata in the volume summary"),
    ("3.37", "Backup list sort by name"), ("3.38", "Group replication"),
    ("3.39", "project_id of /limits"), ("3.40", "Revert to snapshot"),
    ("3.41", "user_id of snapshots"), ("3.42", "Extend in-use volumes"),
    ("3.43", "Backup metadata"), ("3.44", "Attachment complete"),
    ("3.45", "with_count of lists"), ("3.46", "Unmanaged volumes of images"),
    ("3.47", "Volume from backup"), ("3.48", "shared_targets and service_uuid of volumes"),
    ("3.49", "Backend state of services"), ("3.50", "Multiattach"),
    ("3.51", "Backup availability zone"), ("3.52", "RESKEY:availability_zones of types"),
    ("3.53", "Schema validation"), ("3.54", "mode of attachments"),
    ("3.55", "Transfers without snapshots"), ("3.56", "user_id of backups"),
    ("3.57", "Transfers API"), ("3.58", "group_id of backups"),
    ("3.59", "Transfers pagination"), ("3.60", "Time comparison filters of volume lists"),
    ("3.61", "cluster_name of volumes for admins"), ("3.62", "Default volume types"),
    ("3.63", "volume_type_id of volumes"), ("3.64", "encryption_key_id of volumes and backups"),
    ("3.65", "consumes_quota of volumes and snapshots"), ("3.66", "Snapshots of in-use volumes"),
    ("3.67", "project_id optional in URLs"), ("3.68", "Reimage"),
    ("3.69", "shared_targets tristate"), ("3.70", "Encrypted volume transfers"),
    ("3.71", "Extend volume completion"),
]

UPDATED = "2023-08-31T00:00:00Z"


def _error(kind: str, wanted: str) -> Exception:
    if kind == "invalid":
        return exc.BadRequest(f"API Version String {wanted} is of invalid format. Must be of format "
                              "MajorNum.MinorNum.")
    return NotAcceptable(f"Version {wanted} is not supported by the API. Minimum is "
                         f"{MICROVERSIONS.min_str} and maximum is {MICROVERSIONS.max_str}.")


MICROVERSIONS = Microversions("volume", VERSIONS, errors=_error)
context_hook = MICROVERSIONS.context_hook


def min_version(version: str, handler: Callable[..., Any]) -> Callable[..., Any]:
    """Below ``version`` the route does not exist: 404, as Cinder answers."""
    return MICROVERSIONS.gate(version, handler, lambda: exc.NotFound("The resource could not be found."))


def _v3(base: str) -> dict[str, Any]:
    return {"id": "v3.0", "status": "CURRENT", "version": MICROVERSIONS.max_str,
            "min_version": MICROVERSIONS.min_str, "updated": UPDATED,
            "links": [{"rel": "describedby", "type": "text/html", "href": "https://docs.openstack.org/"},
                      {"rel": "self", "href": f"{base}/v3/"}],
            "media-types": [{"base": "application/json",
                             "type": "application/vnd.openstack.volume+json;version=3"}]}


def _base(req: Request) -> str:
    return str(req.base_url).rstrip("/")


async def list_versions(req: Request):
    """GET /: Cinder answers 300 Multiple Choices with every version it has."""
    return json_response({"versions": [_v3(_base(req))]}, status=300)


async def show_v3(req: Request):
    return json_response({"versions": [_v3(_base(req))]})
