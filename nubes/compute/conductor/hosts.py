"""Conductor handlers for hosts: service heartbeats, hypervisor reports, instances of a host."""

from __future__ import annotations

from typing import Any


def handlers(conductor: Any) -> dict[str, Any]:
    return {}
