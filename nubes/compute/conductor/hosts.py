"""Conductor handlers for hosts: service heartbeats, hypervisor reports, instances of a host.

Also the conductor's own service rows: ``nova-conductor`` and ``nova-scheduler`` for its host,
kept up by a heartbeat of their own (Nova lists them in ``os-services``).
"""

from __future__ import annotations

import asyncio
import logging
import socket
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError

from nubes.core.db.base import utcnow
from nubes.core.exceptions import BadRequest
from nubes.compute.db.models import ComputeNode, Instance, Service
from nubes.compute.db.queries import hosts as q
from nubes.compute.service import server_records

LOG = logging.getLogger(__name__)

NODE_FIELDS = ("vcpus", "memory_mb", "local_gb", "vcpus_used", "memory_mb_used", "local_gb_used",
               "running_vms", "hypervisor_type", "hypervisor_version", "host_ip", "cpu_info")
INT_FIELDS = ("vcpus", "memory_mb", "local_gb", "vcpus_used", "memory_mb_used", "local_gb_used",
              "running_vms", "hypervisor_version")
# The instance record agents get: the row's columns, JSON-able.
RECORD_FIELDS = ("id", "project_id", "user_id", "display_name", "display_description", "hostname", "host",
                 "node", "availability_zone", "flavor", "old_flavor", "new_flavor", "image_ref", "key_name",
                 "key_data", "user_data", "config_drive", "vm_state", "task_state", "power_state", "progress",
                 "launch_index", "reservation_id", "locked", "access_ip_v4", "access_ip_v6",
                 "auto_disk_config", "root_device_name", "security_groups", "request", "system_metadata",
                 "network_info", "launched_at", "terminated_at", "created_at", "updated_at")
ATTEMPTS = 5


def controller_host(conf: Any) -> str:
    return conf.host or socket.gethostname()


def instance_record(row: Instance) -> dict[str, Any]:
    """An instance as a plain, JSON-able dict: what a build or an action message carries
    (``server_records.record``, so an agent can re-drive one from it), and the other columns."""
    out = server_records.record(row)
    for name in RECORD_FIELDS:
        if name not in out:
            value = getattr(row, name, None)
            out[name] = value.isoformat() if isinstance(value, datetime) else value
    return out


async def heartbeat(db: Any, host: str, binary: str, node: dict[str, Any] | None = None) -> tuple[Service, bool]:
    """Create or refresh the (host, binary) service row and, for a compute agent, the hypervisor
    row it reported (by its uuid), in one transaction; safe against concurrent reporters.
    Returns the row and whether this report created it."""
    for attempt in range(ATTEMPTS):
        try:
            async with db.session() as s:
                row = await q.service(s, host, binary)
                now = utcnow()
                created = row is None
                if row is None:
                    row = Service(uuid=str(uuid.uuid4()), host=host, binary=binary,
                                  topic=q.TOPICS.get(binary, binary.removeprefix("nova-")),
                                  disabled=False, forced_down=False, report_count=0, created_at=now)
                    s.add(row)
                row.report_count = (row.report_count or 0) + 1
                row.last_seen_up = now
                row.updated_at = now
                if node is not None:
                    await _save_node(s, host, node)
            return row, created
        except IntegrityError:
            if attempt == ATTEMPTS - 1:
                raise
            await asyncio.sleep(0.01 * (attempt + 1))
    raise AssertionError("unreachable")


async def _save_node(s: Any, host: str, node: dict[str, Any]) -> None:
    values: dict[str, Any] = {f: node[f] for f in NODE_FIELDS if f in node}
    for f in INT_FIELDS:
        if f in values:
            values[f] = int(values[f] or 0)
    node_uuid = str(node["uuid"])
    row = await q.node_by_uuid(s, node_uuid)
    if row is None:
        # The same hypervisor reported under another uuid before: it is this one now.
        row = await q.node_by_hostname(s, node["hypervisor_hostname"])
        if row is None:
            row = ComputeNode(uuid=node_uuid, host=host, hypervisor_hostname=node["hypervisor_hostname"],
                              created_at=utcnow())
            s.add(row)
        row.uuid = node_uuid
    row.host = host
    row.hypervisor_hostname = node["hypervisor_hostname"]
    for key, value in values.items():
        setattr(row, key, value)
    row.updated_at = utcnow()


def _required(payload: dict, key: str) -> str:
    value = payload.get(key)
    if not isinstance(value, str) or not value:
        raise BadRequest(f"{key} is required (a non-empty string).")
    return value


def handlers(conductor: Any) -> dict[str, Any]:
    db = conductor.db

    async def service_report(payload: dict) -> dict[str, Any]:
        host = _required(payload, "host")
        binary = payload.get("binary") or q.COMPUTE_BINARY
        node = payload.get("node")
        if node is not None and (not isinstance(node, dict) or not node.get("uuid")
                                 or not node.get("hypervisor_hostname")):
            raise BadRequest("node needs a uuid and a hypervisor_hostname.")
        svc, created = await heartbeat(db, host, binary, node)
        # ``new``: the service row did not exist (first start, or deleted by an admin): the agent
        # sends its placement provider again.
        return {"disabled": bool(svc.disabled), "forced_down": bool(svc.forced_down),
                "disabled_reason": svc.disabled_reason, "new": created}

    async def instances_on_host(payload: dict) -> dict[str, Any]:
        host = _required(payload, "host")
        async with db.reader() as s:
            rows = await q.instances_of_host(s, host)
            moves = await q.moves_of_host(s, host)
            known = {r.id for r in rows}
            moving = await q.instances_by_ids(s, sorted({m.instance_id for m in moves} - known))
        records = [instance_record(r) for r in [*rows, *moving]]
        by_instance = {m.instance_id: m for m in moves}
        for rec in records:
            move = by_instance.get(rec["id"])
            if move is not None:
                rec["migration"] = {"id": move.uuid, "kind": move.migration_type, "status": move.status,
                                    "source_compute": move.source_compute, "dest_compute": move.dest_compute,
                                    "source_node": move.source_node, "dest_node": move.dest_node}
        return {"instances": records}

    return {"service_report": service_report, "instances_on_host": instances_on_host}


async def report_controller_services(conductor: Any) -> None:
    """Keep the conductor's and the scheduler's service rows up, every ``report_interval``."""
    host = controller_host(conductor.conf)
    failing = False
    while True:
        try:
            for binary in (q.CONDUCTOR_BINARY, q.SCHEDULER_BINARY):
                await heartbeat(conductor.db, host, binary)
            if failing:
                LOG.info("conductor heartbeats of %s work again", host)
            failing = False
        except asyncio.CancelledError:
            raise
        except Exception:
            if not failing:
                LOG.exception("conductor heartbeat of %s failed; retrying", host)
            failing = True
        await asyncio.sleep(conductor.conf.report_interval)
