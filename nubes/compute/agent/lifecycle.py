"""Agent handlers for an instance's life: build and run it, terminate it."""

from __future__ import annotations

from typing import Any


def handlers(agent: Any) -> dict[str, Any]:
    return {}
