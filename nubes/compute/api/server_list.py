"""GET /servers and /servers/detail: Nova's query filters, sorting and paging per microversion.

Non-admins' filters are limited to Nova's list (others are dropped silently, as Nova does);
unknown parameters are ignored below 2.75 and refused with 400 from 2.75 on.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from nubes.core.api.http import Request, json_response
from nubes.core.jsondoc import INT64_MAX
from nubes.compute import exceptions as exc
from nubes.compute.api import links
from nubes.compute.api import validation as v
from nubes.compute.db.queries.instances import InstanceFilters
from nubes.compute.service.server_status import states_for
from nubes.compute.service.servers import ListQuery

USER_FILTERS = {"reservation_id", "name", "status", "image", "flavor", "ip", "changes-since", "all_tenants"}
USER_FILTERS_BY_VERSION = [
    ((2, 5), {"ip6"}), ((2, 26), {"tags", "tags-any", "not-tags", "not-tags-any"}),
    ((2, 66), {"changes-before"}), ((2, 73), {"locked"}),
    ((2, 83), {"availability_zone", "config_drive", "key_name", "created_at", "launched_at", "terminated_at",
               "power_state", "task_state", "vm_state", "progress", "user_id"})]
ADMIN_FILTERS = {"host", "node", "deleted", "project_id", "tenant_id", "uuid", "hostname", "access_ip_v4",
                 "access_ip_v6", "launch_index", "image_ref", "kernel_id", "ramdisk_id", "root_device_name",
                 "display_name", "display_description", "description", "locked_by", "auto_disk_config",
                 "soft_deleted"}
PAGING = {"limit", "marker", "sort_key", "sort_dir", "fields"}
SORT_KEYS = ["access_ip_v4", "access_ip_v6", "auto_disk_config", "availability_zone", "config_drive",
             "created_at", "display_description", "display_name", "host", "hostname", "image_ref",
             "instance_type_id", "kernel_id", "key_name", "launch_index", "launched_at", "locked_by", "node",
             "power_state", "progress", "project_id", "ramdisk_id", "root_device_name", "task_state",
             "terminated_at", "updated_at", "user_id", "uuid", "vm_state"]
IGNORED_SORT_KEYS = {"architecture", "cell_name", "cleaned", "default_ephemeral_device", "default_swap_device",
                     "deleted", "deleted_at", "disable_terminate", "ephemeral_gb", "ephemeral_key_uuid", "id",
                     "key_data", "launched_on", "locked", "memory_mb", "os_type", "reservation_id", "root_gb",
                     "shutdown_terminate", "user_data", "vcpus", "vm_mode"}
COLUMN_FILTERS = {"host": "host", "node": "node", "reservation_id": "reservation_id", "key_name": "key_name",
                  "availability_zone": "availability_zone", "uuid": "uuid", "hostname": "hostname",
                  "user_id": "user_id", "launch_index": "launch_index", "image_ref": "image_ref",
                  "access_ip_v4": "access_ip_v4", "access_ip_v6": "access_ip_v6", "progress": "progress",
                  "power_state": "power_state"}


def allowed_filters(version: tuple[int, int]) -> set[str]:
    out = set(USER_FILTERS)
    for since, names in USER_FILTERS_BY_VERSION:
        if version >= since:
            out |= names
    return out


def _time(name: str, raw: str) -> datetime:
    try:
        dt = datetime.fromisoformat(raw)
    except ValueError:
        raise exc.BadRequest(f"Invalid input for query parameters {name}. Value: {raw}. "
                             f"'{raw}' is not a 'date-time'") from None
    if dt.tzinfo is None:
        from datetime import UTC

        dt = dt.replace(tzinfo=UTC)
    return dt


def _params(req: Request) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for k, val in req.query_params.multi_items():
        out.setdefault(k, []).append(val)
    return out


def _visible_params(req: Request, params: dict[str, list[str]]) -> dict[str, list[str]]:
    ctx, version = req.ctx, req.ctx.api_version
    known = allowed_filters(version) | ADMIN_FILTERS | PAGING | {"ip6", "changes-before", "locked", "tags",
                                                                 "tags-any", "not-tags", "not-tags-any"}
    unknown = sorted(k for k in params if k not in known)
    if unknown and version >= (2, 75):
        raise exc.BadRequest("Additional properties are not allowed ("
                             + ", ".join(repr(k) for k in unknown)
                             + (" was" if len(unknown) == 1 else " were") + " unexpected)")
    if ctx.allowed("os_compute_api:servers:allow_all_filters", {"project_id": ctx.project_id}):
        allowed = known
    else:
        allowed = allowed_filters(version) | PAGING
    return {k: val for k, val in params.items() if k in allowed}


def _sort(req: Request, params: dict[str, list[str]]) -> list[tuple[str, str]]:
    keys, dirs = params.get("sort_key", []), params.get("sort_dir", [])
    for d in dirs:
        if d not in ("asc", "desc"):
            raise exc.BadRequest(f"Invalid input for query parameters sort_dir. Value: {d}. "
                                 f"'{d}' is not one of ['asc', 'desc']")
    out = []
    for i, key in enumerate(keys):
        if key in IGNORED_SORT_KEYS:
            continue
        if key not in SORT_KEYS:
            raise exc.BadRequest(f"Invalid input for query parameters sort_key. Value: {key}. "
                                 f"'{key}' is not one of {SORT_KEYS}")
        if key in ("host", "node") and not req.ctx.is_admin:
            raise exc.Forbidden(f"Only administrators can sort servers by {key}")
        out.append(("uuid" if key == "uuid" else key, dirs[i] if i < len(dirs) else (dirs[0] if dirs else "desc")))
    return out or [("created_at", "desc")]


def _limit(req: Request, params: dict[str, list[str]]) -> int:
    max_limit = int(req.rt.service_conf.osapi_max_limit)
    raw = params.get("limit", [None])[-1]
    if raw is None:
        return max_limit
    try:
        n = int(raw)
    except ValueError:
        raise exc.BadRequest("limit param must be an integer") from None
    if n < 0:
        raise exc.BadRequest("limit param must be positive")
    return min(n, max_limit)


def _csv(params: dict[str, list[str]], name: str) -> list[str]:
    return [t for raw in params.get(name, []) for t in raw.split(",") if t]


def build_query(req: Request, params: dict[str, list[str]]) -> tuple[ListQuery, bool]:
    """The list query and whether all projects are listed."""
    ctx, version = req.ctx, req.ctx.api_version
    one = {k: val[-1] for k, val in params.items()}
    f = InstanceFilters()
    all_tenants = "all_tenants" in one and (one["all_tenants"] == "" or v.as_bool(one["all_tenants"]))
    if not all_tenants:
        f.project_id = ctx.project_id
    elif "project_id" in one or "tenant_id" in one:
        f.project_id = one.get("project_id") or one.get("tenant_id")
    for param, column in COLUMN_FILTERS.items():
        if param in one:
            # Nova matches these as text too: a value no integer column holds matches nothing.
            f.equal[column] = int(one[param]) if column in ("power_state", "progress", "launch_index") and \
                one[param].isdigit() and int(one[param]) <= INT64_MAX else one[param]
    if "image" in one:
        f.equal["image_ref"] = one["image"].rstrip("/").rsplit("/", 1)[-1]
    if "flavor" in one:
        f.flavor_id = one["flavor"].rstrip("/").rsplit("/", 1)[-1]
    if "vm_state" in params:
        f.vm_states = params["vm_state"]
    if "task_state" in params:
        f.task_states = [None if t in ("", "None") else t for t in params["task_state"]]
    if "config_drive" in one:
        f.equal["config_drive"] = "True" if v.as_bool(one["config_drive"]) else ""
    if "locked" in one:
        if one["locked"].lower() not in ("true", "false", "1", "0", "yes", "no", "t", "f", "on", "off", "y", "n"):
            raise exc.BadRequest(f"Unrecognized value '{one['locked']}', acceptable values are: '0', '1', "
                                 "'f', 'false', 'n', 'no', 'off', 'on', 't', 'true', 'y', 'yes'")
        f.locked = one["locked"].lower() in ("true", "1", "yes", "t", "on", "y")
    _states(ctx, version, params, f)
    for name, attr in (("changes-since", "changes_since"), ("changes-before", "changes_before"),
                       ("created_at", "created_at"), ("launched_at", "launched_at"),
                       ("terminated_at", "terminated_at")):
        if name in one:
            setattr(f, attr, _time(name, one[name]))
    if f.changes_since and f.changes_before and f.changes_since > f.changes_before:
        raise exc.BadRequest("The value of changes-since must be less than or equal to changes-before.")
    if "deleted" in one:
        f.deleted = v.as_bool(one["deleted"])
    elif f.vm_states == ["deleted"] or "changes-since" in one or "changes-before" in one:
        f.deleted = True if f.vm_states == ["deleted"] else None
    f.tags, f.tags_any = _csv(params, "tags"), _csv(params, "tags-any")
    f.not_tags, f.not_tags_any = _csv(params, "not-tags"), _csv(params, "not-tags-any")
    q = ListQuery(f, _sort(req, params), _limit(req, params), one.get("marker"),
                  name=one.get("name") or one.get("display_name"), ip=one.get("ip"), ip6=one.get("ip6"))
    return q, all_tenants


def _states(ctx: Any, version: tuple[int, int], params: dict[str, list[str]], f: InstanceFilters) -> None:
    statuses = params.get("status")
    if not statuses:
        return
    vm, task = states_for(statuses)
    if not vm:
        if version >= (2, 38):
            raise exc.BadRequest("Invalid status value")
        f.vm_states = []
        return
    if vm == ["deleted"] and not ctx.is_admin:
        raise exc.Forbidden("Only administrators may list deleted instances")
    f.vm_states = vm
    if "default" not in task:
        f.task_states = task


async def respond(req: Request, view: Any, rule: str, collection: str):
    ctx = req.ctx
    ctx.can(rule, {"project_id": ctx.project_id, "user_id": ctx.user_id})
    params = _visible_params(req, _params(req))
    q, all_tenants = build_query(req, params)
    if all_tenants:
        ctx.can(f"{rule}:get_all_tenants", {"project_id": ctx.project_id, "user_id": ctx.user_id})
    rows = await req.rt.extra["compute"].servers.list(ctx, q)
    body: dict[str, Any] = {"servers": [view(req, r) for r in rows]}
    if q.limit and len(rows) == q.limit:
        body["servers_links"] = links.next_link(req, collection, rows[-1].row.id)
    return json_response(body)
