"""Compute's policy checks, made in the API layer as Nova makes them: the server is read first (404
when the caller may not see it), then the action's rule is checked against the server's project and
user; the service then does the action and never evaluates a rule itself."""

from __future__ import annotations

from typing import Any

from nubes.compute import policies
from nubes.compute.service.server_actions import Owner
from nubes.core.api.http import Request

P = policies.P


async def server(req: Request, rule: str, server_id: str | None = None) -> Owner:
    """Check ``rule`` on the server of the path (or ``server_id``); returns its owner."""
    sid = server_id or req.path_params["server_id"]
    owner = await req.rt.extra["compute"].server_actions.owner(req.ctx, sid)
    req.ctx.can(rule, owner.target)
    return owner


def own(req: Request, rule: str) -> None:
    """Check ``rule`` on something of the caller's own project (a create, a list)."""
    req.ctx.can(rule, caller(req))


def allowed_own(req: Request, rule: str) -> bool:
    return req.ctx.allowed(rule, caller(req))


def caller(req: Request) -> dict[str, Any]:
    return {"project_id": req.ctx.project_id, "user_id": req.ctx.user_id}


async def unlock(req: Request) -> bool:
    """Nova's unlock: the unlock rule, then, for a lock of the other kind (the owner's undone by an
    admin, or an admin's by the owner), unlock_override. Returns whether the override was granted."""
    owner = await server(req, f"{P}:os-lock-server:unlock")
    expected = "owner" if owner.project_id == req.ctx.project_id else "admin"
    if owner.locked_by and owner.locked_by != expected:
        req.ctx.can(policies.UNLOCK_OVERRIDE, owner.target)
        return True
    return False
