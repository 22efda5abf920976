"""Placement during a move, as Nova keeps it since Queens: when a move starts, the instance's
allocation on the source is handed to the migration (consumer = the migration's uuid) and the
destination is claimed for the instance; a confirmed resize or a finished live migration drops
the migration's allocation, a revert or a failed move hands it back to the instance (replacing
what the instance held on the destination) — in one atomic ``POST /allocations`` each time."""

from __future__ import annotations

import logging
from typing import Any

from nubes.core.exceptions import ServiceUnavailable

LOG = logging.getLogger(__name__)
VERSION = {"OpenStack-API-Version": "placement 1.36"}
ATTEMPTS = 4


async def _read(clients: Any, consumer: str) -> tuple[dict[str, Any], int | None]:
    r = await clients.request("placement", "GET", f"/allocations/{consumer}", headers=VERSION)
    if r.status_code != 200:
        raise ServiceUnavailable(f"Placement refused to show the allocations of {consumer} ({r.status_code}).")
    body = r.json()
    allocs = body.get("allocations") or {}
    return allocs, (body.get("consumer_generation") if allocs else None)


async def allocations(clients: Any, consumer: str) -> dict[str, Any]:
    return (await _read(clients, consumer))[0]


async def hand_over(clients: Any, src: str, dst: str, project_id: str, user_id: str) -> bool:
    """Give ``dst`` what ``src`` holds (``dst``'s own allocations are replaced), leaving ``src`` none.
    False when ``src`` holds nothing."""
    for attempt in range(ATTEMPTS):
        src_allocs, src_gen = await _read(clients, src)
        if not src_allocs:
            return False
        _dst_allocs, dst_gen = await _read(clients, dst)
        body = {
            src: {"allocations": {}, "project_id": project_id, "user_id": user_id, "consumer_generation": src_gen},
            dst: {"allocations": {rp: {"resources": a["resources"]} for rp, a in src_allocs.items()},
                  "project_id": project_id, "user_id": user_id, "consumer_generation": dst_gen}}
        r = await clients.request("placement", "POST", "/allocations", json=body, headers=VERSION)
        if r.status_code == 204:
            return True
        if r.status_code != 409 or attempt == ATTEMPTS - 1:
            raise ServiceUnavailable(f"Placement refused to move allocations from {src} to {dst} "
                                     f"({r.status_code}): {r.text[:200]}")
        LOG.info("moving allocations %s -> %s: generation conflict, retrying", src, dst)
    return False


async def release(clients: Any, consumer: str) -> None:
    r = await clients.request("placement", "DELETE", f"/allocations/{consumer}", headers=VERSION)
    if r.status_code not in (204, 404):
        raise ServiceUnavailable(f"Placement refused to remove the allocations of {consumer} ({r.status_code}).")
