"""The work an API request handed to the conductor or a host, kept with the instance.

A bus message can be lost (the all-in-one's in-process queues die with the process) or its
handler cut off half-way; the database is what survives. So the arguments of an action that
are not otherwise in the instance's row (the image a snapshot uploads to, a rebuild's or a
rescue's admin password, the host a move or an unshelve asked for) are written with its task
state, in the same transaction, under ``Instance.request["pending"]``:

    {"action": "snapshot", "args": {"image_id": ...}, "request_id": "req-..."}

which is what the conductor's and the agents' recovery rebuild the message from
(``conductor.recovery``, ``agent.resume``). It is dropped when the task ends (passwords do not
stay behind), and ignored when its ``action`` is not the one the task state belongs to.
"""

from __future__ import annotations

from typing import Any

KEY = "pending"


def remember(row: Any, action: str, args: dict[str, Any] | None, request_id: str | None) -> None:
    req = dict(row.request or {})
    req[KEY] = {"action": action, "args": dict(args or {}), "request_id": request_id}
    row.request = req


def forget(row: Any) -> None:
    req = row.request or {}
    if KEY in req:
        row.request = {k: v for k, v in req.items() if k != KEY}


def of(record: dict[str, Any], action: str | tuple[str, ...] | None = None) -> dict[str, Any]:
    """The pending work of an instance record (``request.pending``), or {} when there is none or
    it belongs to another action than ``action`` (one name, or several)."""
    found = ((record.get("request") or {}).get(KEY)) or {}
    if not isinstance(found, dict):
        return {}
    if action is not None and found.get("action") not in ((action,) if isinstance(action, str) else action):
        return {}
    return found


def remember_data(row: Any, key: str, value: Any) -> None:
    """Add what a later step of the pending work needs (a move's migration data) to it."""
    req = dict(row.request or {})
    work = dict(req.get(KEY) or {})
    work[key] = value
    req[KEY] = work
    row.request = req
