"""Placement's configuration section: port, candidate ordering and the change-log horizon."""

from __future__ import annotations

from dataclasses import dataclass

from nubes.core.config import ServiceConfig


@dataclass
class PlacementConfig(ServiceConfig):
    port: int = 8778
    # As upstream's [placement] randomize_allocation_candidates: shuffle (or randomly sample
    # under ?limit=) the allocation candidates instead of returning them in provider order.
    randomize_allocation_candidates: bool = False
    # How many provider changes the change log keeps; a process whose in-memory index is
    # further behind than this reloads it whole.
    change_log_horizon: int = 20000
