"""Conductor handlers for instances: schedule and build, reschedule on failure, moves, deletes."""

from __future__ import annotations

from typing import Any


def handlers(conductor: Any) -> dict[str, Any]:
    return {}
