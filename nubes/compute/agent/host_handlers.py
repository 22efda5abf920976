"""The agent's own bus handlers, beside ``lifecycle``'s: what the API asks a host about its guests
and itself (console output, diagnostics, uptime) and the service's enabled state."""

from __future__ import annotations

from typing import Any

from nubes.compute import exceptions as exc
from nubes.compute.drivers.base import (
    CONSOLE_KINDS,
    ConsoleUnavailable,
    DriverError,
    InstanceNotFoundInDriver,
)
from nubes.core.exceptions import BadRequest, Conflict


def _instance(payload: dict) -> dict[str, Any]:
    record = payload.get("instance")
    if isinstance(record, dict) and record.get("id"):
        return record
    iid = payload.get("instance_id")
    if not isinstance(iid, str) or not iid:
        raise BadRequest("instance_id is required.")
    return {"id": iid}


def _tail(text: str, length: Any) -> str:
    if length is None or int(length) < 0:
        return text
    lines = text.splitlines()
    return "\n".join(lines[len(lines) - int(length):]) if int(length) else ""


def handlers(agent: Any) -> dict[str, Any]:
    driver = agent.driver

    async def get_console_output(payload: dict) -> dict[str, Any]:
        instance = _instance(payload)
        try:
            text = await driver.get_console_output(instance)
        except InstanceNotFoundInDriver:
            raise exc.InstanceNotFound(instance["id"]) from None
        except DriverError as e:
            raise exc.ConsoleLogOutputFailed(instance["id"], e.message) from None
        try:
            return {"output": _tail(text, payload.get("length"))}
        except (TypeError, ValueError):
            raise BadRequest(f"length must be an integer, not {payload.get('length')!r}.") from None

    async def get_console(payload: dict) -> dict[str, Any]:
        """Where a console proxy reaches the guest's ``kind`` console (the agent owns it)."""
        instance = _instance(payload)
        kind = payload.get("kind")
        if kind not in CONSOLE_KINDS:
            raise BadRequest(f"kind must be one of {', '.join(CONSOLE_KINDS)}, not {kind!r}.")
        try:
            ep = await driver.get_console(instance, kind)
        except InstanceNotFoundInDriver:
            raise exc.InstanceNotFound(instance["id"]) from None
        except ConsoleUnavailable:
            raise exc.InstanceNotReady(instance["id"]) from None
        except DriverError:
            raise exc.ConsoleTypeUnavailable(payload.get("console_type") or kind) from None
        return {"host": ep.host, "port": ep.port, "internal_access_path": ep.internal_access_path}

    async def get_diagnostics(payload: dict) -> dict[str, Any]:
        instance = _instance(payload)
        try:
            return await driver.get_diagnostics(instance)
        except InstanceNotFoundInDriver:
            raise exc.InstanceNotFound(instance["id"]) from None
        except DriverError as e:
            raise Conflict(f"Diagnostics of instance {instance['id']} are not available: {e.message}") from None

    async def get_host_uptime(payload: dict) -> dict[str, Any]:
        try:
            return {"uptime": await driver.get_host_uptime()}
        except (DriverError, NotImplementedError) as e:
            raise exc.UptimeUnavailable(agent.host, str(e)) from None

    async def set_host_enabled(payload: dict) -> dict[str, Any]:
        """The API changed the service's status: follow it now rather than at the next heartbeat."""
        enabled = payload.get("enabled")
        if not isinstance(enabled, bool):
            raise BadRequest("enabled must be a boolean.")
        await agent.set_disabled(not enabled)
        return {"enabled": enabled}

    return {"get_console_output": get_console_output, "get_console": get_console,
            "get_diagnostics": get_diagnostics,
            "get_host_uptime": get_host_uptime, "set_host_enabled": set_host_enabled}
