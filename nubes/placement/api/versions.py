"""Placement microversions: the supported list, header negotiation and version discovery at /.

Handlers branch on ``req.ctx.api_version`` only in schema selection and views.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from nubes.core.api.http import Request, json_response
from nubes.core.api.microversions import Microversions
from nubes.placement import exceptions as exc

SERVICE_TYPE = "placement"

VERSIONS: list[tuple[str, str]] = [
    ("1.0", "Initial version: providers, inventories, allocations, usages, resource classes (read)"),
    ("1.1", "Resource provider aggregates"),
    ("1.2", "Custom resource classes"),
    ("1.3", "member_of on GET /resource_providers"),
    ("1.4", "resources filter on GET /resource_providers"),
    ("1.5", "DELETE /resource_providers/{uuid}/inventories"),
    ("1.6", "Traits"),
    ("1.7", "PUT /resource_classes/{name} creates (idempotently) and takes no body"),
    ("1.8", "project_id and user_id required in PUT /allocations"),
    ("1.9", "GET /usages"),
    ("1.10", "GET /allocation_candidates"),
    ("1.11", "allocations link on resource providers"),
    ("1.12", "dict format of PUT /allocations and of allocation_requests"),
    ("1.13", "POST /allocations for several consumers (moves)"),
    ("1.14", "Nested providers: parent_provider_uuid, root_provider_uuid, in_tree"),
    ("1.15", "last-modified and cache-control headers"),
    ("1.16", "limit on GET /allocation_candidates"),
    ("1.17", "required traits on GET /allocation_candidates; traits in provider summaries"),
    ("1.18", "required traits on GET /resource_providers"),
    ("1.19", "aggregates carry the provider generation and check it"),
    ("1.20", "POST /resource_providers returns the provider"),
    ("1.21", "member_of on GET /allocation_candidates"),
    ("1.22", "forbidden traits (!TRAIT)"),
    ("1.23", "error codes in error bodies"),
    ("1.24", "several member_of parameters"),
    ("1.25", "granular request groups (resourcesN, requiredN, member_ofN, group_policy)"),
    ("1.26", "inventories with reserved equal to total"),
    ("1.27", "provider summaries list every resource class with inventory"),
    ("1.28", "consumer generations"),
    ("1.29", "nested providers in allocation candidates"),
    ("1.30", "POST /reshaper"),
    ("1.31", "in_tree and in_treeN on GET /allocation_candidates"),
    ("1.32", "forbidden aggregates (member_of=!uuid, !in:)"),
    ("1.33", "string suffixes on request groups"),
    ("1.34", "mappings in allocation requests"),
    ("1.35", "root_required on GET /allocation_candidates"),
    ("1.36", "same_subtree and resourceless request groups"),
    ("1.37", "re-parenting and un-parenting providers"),
    ("1.38", "consumer types"),
    ("1.39", "any-traits: required=in:A,B and repeated required"),
]

def _error(kind: str, wanted: str) -> Exception:
    if kind == "invalid":
        return exc.BadRequest(f"Invalid microversion: invalid version string: {wanted}")
    err = exc.VersionNotAcceptable(f"Invalid microversion: Unacceptable version header: {wanted}")
    err.extra_fields = {"max_version": MICROVERSIONS.max_str,  # type: ignore[attr-defined]
                        "min_version": MICROVERSIONS.min_str}
    return err


MICROVERSIONS = Microversions(SERVICE_TYPE, VERSIONS, errors=_error)
MIN, MAX = MICROVERSIONS.min, MICROVERSIONS.max
MIN_STR, MAX_STR = MICROVERSIONS.min_str, MICROVERSIONS.max_str


def parse_header(value: str | None) -> tuple[int, int]:
    """The version asked for in ``OpenStack-API-Version: placement X.Y`` (or the minimum)."""
    return MICROVERSIONS.parse(value)


context_hook = MICROVERSIONS.context_hook


def min_version(version: str, handler: Callable[..., Any]) -> Callable[..., Any]:
    """Gate a route on a microversion: below it the route does not exist (404), as upstream."""
    return MICROVERSIONS.gate(version, handler, lambda: exc.NotFound("The resource could not be found."))


def VersionHeaders(app: Any) -> Any:  # noqa: N802 - kept as the name placement's app factory uses
    return MICROVERSIONS.headers_app(app)


async def list_versions(req: Request):
    return json_response({"versions": [{
        "id": "v" + MIN_STR, "max_version": MAX_STR, "min_version": MIN_STR, "status": "CURRENT",
        "links": [{"rel": "self", "href": ""}]}]})
