"""Handlers for /os-instance_usage_audit_log[/{before_timestamp}] (admins): Nova's report of the
hosts' instance usage audits over the last completed audit period (a calendar month).

nubes' hosts do not run Nova's periodic usage audit (Nova's ``instance_usage_audit`` option, off by
default there too), so no host has a task log for any period: the report counts every compute
host as not run, with no instances and no errors, exactly what Nova answers with the audit off.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from nubes.core.api.http import Request, json_response
from nubes.core.db.base import utcnow
from nubes.compute import exceptions as exc

P = "os_compute_api:os-instance-usage-audit-log"
FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M:%S.%f")


def last_completed_month(before: datetime) -> tuple[datetime, datetime]:
    """Nova's ``last_completed_audit_period`` for the month unit: the month that ended before ``before``."""
    end = datetime(before.year, before.month, 1)
    begin = datetime(end.year - 1, 12, 1) if end.month == 1 else datetime(end.year, end.month - 1, 1)
    return begin, end


async def _report(req: Request, before: datetime) -> dict[str, Any]:
    begin, end = last_completed_month(before)
    services = await req.rt.extra["compute"].hosts.list_services(binary="nova-compute")
    hosts = sorted({svc.row.host for svc in services})
    done = 0
    status = "ALL" if done == len(hosts) else f"{done} of {len(hosts)}"
    return {"period_beginning": str(begin), "period_ending": str(end), "num_hosts": len(hosts),
            "num_hosts_done": done, "num_hosts_running": 0, "num_hosts_not_run": len(hosts),
            "hosts_not_run": hosts, "total_instances": 0, "total_errors": 0,
            "overall_status": f"{status} hosts done. 0 errors.", "log": {}}


async def list_audit_logs(req: Request):
    req.ctx.can(f"{P}:list", {"project_id": req.ctx.project_id})
    return json_response({"instance_usage_audit_logs": await _report(req, utcnow().replace(tzinfo=None))})


async def show_audit_log(req: Request):
    req.ctx.can(f"{P}:show", {"project_id": req.ctx.project_id})
    raw = req.path_params["before_timestamp"]
    for fmt in FORMATS:
        try:
            before = datetime.strptime(raw, fmt)
            break
        except ValueError:
            continue
    else:
        raise exc.BadRequest(f"Invalid timestamp for date {raw}")
    if (before.year, before.month) == (1, 1):
        raise exc.BadRequest(f"Invalid timestamp for date {raw}: no audit period ends before it.")
    return json_response({"instance_usage_audit_log": await _report(req, before)})
